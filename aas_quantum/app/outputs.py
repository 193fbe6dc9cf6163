"""The run's local outputs: result AASX + JSON and ERP files in one folder, written before any
remote call and never over an input file."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from basyx.aas import model

from aas_quantum.aas import AasEnvironment, output_objects, output_stem, write_aasx, write_json
from aas_quantum.errors import ConfigError


def check_output_folder(out: Path) -> None:
    """Check before any solving that ``out`` is (or can become) a folder this process writes to.

    Nothing is created here: a run that fails before writing leaves no trace.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    existing = next(p for p in (out.absolute(), *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".aas-quantum-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out} is not writable: {exc.strerror or exc}") from exc


def refuse_overwriting_inputs(paths: Sequence[Path], inputs: Sequence[Path]) -> None:
    """Outputs never replace an input file (e.g. a result package used as input, written to its own folder)."""
    protected = {p.resolve() for p in inputs}
    clash = [p for p in paths if p.resolve() in protected]
    if clash:
        raise ConfigError(f"writing {clash[0]} would replace an input file; choose another --out")


@dataclass(frozen=True)
class ResultFiles:
    """Where one product's result goes: ``<out>/<stem>.result.aasx`` and ``.json``."""

    stem: str  # the product's output name, shared with its ERP files
    aasx: Path
    json: Path

    @classmethod
    def of(cls, out: Path, shell_id: str, name: str) -> ResultFiles:
        """``name`` is the product's (``BomProblem.name``): its files say what its ERP files and reports say."""
        stem = output_stem(shell_id, name)
        return cls(stem, out / f"{stem}.result.aasx", out / f"{stem}.result.json")

    def write(self, env: AasEnvironment, shell_id: str, result: model.Submodel) -> None:
        """The inputs plus the result as a package, and the result alone as JSON (each atomically)."""
        write_aasx(self.aasx, output_objects(env, shell_id, result), env.files, env.references)
        write_json(self.json, [result], indent=None)  # one line: 15 MB and 6 s indented at 2,000 positions


def plot_path(plot: Path | None, stem: str, each: bool) -> Path | None:
    """The plot file asked for, as given for one product; when several products share it (``each``), the
    product's file ``stem`` added so no product's figure replaces another's."""
    if plot is None or not each:
        return plot
    return plot.with_name(f"{plot.stem}.{stem}{plot.suffix}")
