"""The optional TOML config file shared by every edge (server, ERP, MQTT, OPC UA).

Path: ``$AAS_QUANTUM_CONFIG``, else ``~/.config/aas-quantum/config.toml``. Each edge reads its own
table (``[server]``, ``[erp]``, ``[mqtt]``, ``[opcua]``); secrets belong here or in the
environment, never in code.
"""

from __future__ import annotations

import math
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


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(value: Any, name: str) -> bool:
    """A boolean setting from TOML (a bool) or the environment (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def parse_number(value: Any, name: str, positive: bool = False) -> float:
    """A finite, non-negative (or with ``positive``, strictly positive) number setting."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ConfigError(f"{name} must be a {'positive' if positive else 'non-negative'} number, got {value!r}")
    return number
