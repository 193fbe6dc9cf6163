"""Package data shipped from the top-level folders (``submodels/``, ``erp_export/``, ``schemas/``)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

# The ERP export's file formats (here so that ``--help`` lists them without loading the exporter)
ERP_FORMATS = ("xlsx", "csv", "json")


def data_dir(name: str) -> Traversable:
    """The folder ``name`` as installed (``aas_quantum.data.<name>``) or, in a source checkout, the repo folder.

    Editable installs do not map the ``aas_quantum.data`` parent package, hence the fallback.
    """
    try:
        return resources.files(f"aas_quantum.data.{name}")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / name


def erp_profile_names() -> list[str]:
    """The ERP export profiles shipped with the package (here so that ``--help`` lists them without loading
    the exporter)."""
    return sorted(p.name.removesuffix(".toml") for p in data_dir("erp_export").iterdir() if p.name.endswith(".toml"))
