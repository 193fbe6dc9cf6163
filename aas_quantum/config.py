"""Settings: one precedence for every edge (AAS server, ERP, MQTT, OPC UA).

A value given explicitly (a CLI flag, an argument, an operation input) wins over the environment
(``AAS_QUANTUM_...``), which wins over the optional TOML config file: ``$AAS_QUANTUM_CONFIG``,
else ``~/.config/aas-quantum/config.toml``, read once. Each edge reads its own table
(``[server]``, ``[erp]``, ``[mqtt]``, ``[opcua.server]``, ``[opcua.client]``) through ``Layers``,
which also parses the values to the settings' types; the settings are plain frozen dataclasses
(picklable, so worker processes get them as they are). Secrets belong in the file or the
environment, never in code.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from aas_quantum.errors import ConfigError
from aas_quantum.sanitize import redact_url


def config_file() -> Path:
    return Path(os.environ.get("AAS_QUANTUM_CONFIG", Path.home() / ".config" / "aas-quantum" / "config.toml"))


def config_section(name: str) -> dict[str, Any]:
    """The ``[name]`` table of the config file (a dotted name for a nested table; {} when absent)."""
    path = config_file()
    if not path.is_file():
        return {}
    stat = path.stat()
    section: Any = _parsed(path, stat.st_mtime_ns, stat.st_size)
    for part in name.split("."):
        section = section.get(part, {}) if isinstance(section, dict) else None
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
    return dict(section)


@functools.lru_cache(maxsize=4)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """The file, parsed once per version of it (mtime and size are the cache key)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


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


def parse_url(url: str, schemes: tuple[str, ...], what: str, example: str) -> SplitResult:
    """A URL setting, split and with its port read: urlsplit leaves the port to ``.port``, which raises a
    bare ValueError later (``mqtt://host:1883x``, a port above 65535). A malformed URL is a ConfigError
    naming the setting and the URL without its password."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for the ValueError it raises
    except ValueError as exc:
        raise ConfigError(f"{what} {redact_url(url)!r} is not a valid URL ({exc}); expected {example}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{what} must look like {example}, got {redact_url(url)!r}")
    return parts


@dataclass(frozen=True)
class Layers:
    """The layers of one settings table: given value > ``<env_prefix><NAME>`` > ``[table]``."""

    table: str  # dotted table name, e.g. "mqtt" or "opcua.client"
    env_prefix: str  # e.g. "AAS_QUANTUM_MQTT_"
    values: Mapping[str, Any]

    @classmethod
    def of(cls, table: str, env_prefix: str) -> Layers:
        return cls(table, env_prefix, config_section(table))

    def where(self, name: str, env: str | None = None) -> str:
        """How a user names the setting, for messages."""
        return f"{env or self.env_prefix + name.upper()} / [{self.table}] {name}"

    def get(self, name: str, given: Any = None, default: Any = None, env: str | None = None) -> Any:
        if given is not None:
            return given
        from_env = os.environ.get(env or self.env_prefix + name.upper())
        if from_env is not None:
            return from_env
        return self.values.get(name, default)

    def typed(self, settings: type, given: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """Every field of the dataclass ``settings`` that some layer sets, parsed to its annotated type
        (bool, int, float, str, Path; tables such as a node map only from the file). A key of the
        table that is no field is an error naming it."""
        fields = {f.name: f for f in dataclasses.fields(settings) if f.name not in skip}
        unknown = sorted(set(self.values) - set(fields) - set(skip))
        if unknown:
            raise ConfigError(f"[{self.table}]: unknown setting(s) {unknown}; known: {sorted(fields)}")
        hints = typing.get_type_hints(settings)
        values: dict[str, Any] = {}
        for name in fields:
            kind = base_type(hints[name])
            value = given.get(name) if given.get(name) is not None else \
                self.values.get(name) if kind is dict else self.get(name)
            if value is not None:
                values[name] = _parse(value, kind, self.where(name))
        return values


def base_type(annotation: Any) -> Any:
    """``int`` for ``int``, ``str`` for ``str | None``, ``dict`` for ``dict[str, str]``."""
    if isinstance(annotation, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) or annotation


def _parse(value: Any, kind: Any, where: str) -> Any:
    if kind is bool:
        return parse_bool(value, where)
    if kind is int:
        number = parse_number(value, where)
        if number != int(number):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return int(number)
    if kind is float:
        return parse_number(value, where)
    if kind is Path:
        return Path(str(value)).expanduser()
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        return dict(value)
    return str(value) if kind is str else value
