"""The optional TOML config file shared by every edge (server, ERP, MQTT, OPC UA).

Path: ``$AAS_QUANTUM_CONFIG``, else ``~/.config/aas-quantum/config.toml``. Each edge reads its own
table (``[server]``, ``[erp]``, ``[mqtt]``, ``[opcua]``); secrets belong here or in the
environment, never in code.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from aas_quantum.errors import ConfigError


def config_file() -> Path:
    return Path(os.environ.get("AAS_QUANTUM_CONFIG", Path.home() / ".config" / "aas-quantum" / "config.toml"))


def config_section(name: str) -> dict[str, Any]:
    """The ``[name]`` table of the config file ({} when the file or the table is absent)."""
    path = config_file()
    if not path.is_file():
        return {}
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get(name, {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return section
