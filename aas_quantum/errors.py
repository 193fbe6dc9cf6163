"""Errors users act on. Each maps to a CLI exit code and names where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a value came from: file (or server URL), submodel id and idShort path."""

    source: str = ""
    submodel_id: str = ""
    path: str = ""

    def child(self, path: str) -> Location:
        joined = f"{self.path}.{path}" if self.path and not path.startswith("[") else f"{self.path}{path}"
        return Location(self.source, self.submodel_id, joined)

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.submodel_id:
            parts.append(f"submodel {self.submodel_id}")
        if self.path:
            parts.append(f"element {self.path}")
        return ", ".join(parts) or "<unknown location>"


class AasQuantumError(Exception):
    """Base of the errors the CLI turns into an exit code instead of a traceback."""

    exit_code = 1


class BomInputError(AasQuantumError):
    """The input data is wrong; the message says where and what."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class InfeasibleError(AasQuantumError):
    """No selection satisfies every limit; ``reasons`` names the limits that cannot be met."""

    exit_code = 1

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("problem is infeasible: " + "; ".join(reasons))


class NoSolutionError(AasQuantumError):
    """No method found a selection within its limits (time, iterations); nothing is proven infeasible."""

    exit_code = 5

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("no solution within the time limit (nothing proves the problem infeasible): "
                         + "; ".join(reasons))


class ConfigError(AasQuantumError):
    """A config file, ERP profile or connection setting is wrong; the message names it."""

    exit_code = 2

