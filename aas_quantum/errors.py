"""Errors users act on. Each maps to a CLI exit code and names where the problem is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """The command line's exit codes: every error class and the CLI's help take them from here, so a new
    code cannot be raised without being documented."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    AAS_SERVER = 3
    BROKER = 4
    NO_SOLUTION = 5


EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.FAILED: 'infeasible (or an internal error: any exception that is not an AasQuantumError, a ValueError '
                     'included, with a message starting "internal error")',
    ExitCode.BAD_INPUT: "bad input or configuration",
    ExitCode.AAS_SERVER: "AAS server error",
    ExitCode.BROKER: "MQTT broker / OPC UA server error",
    ExitCode.NO_SOLUTION: "no feasible selection found within the limits (nothing proves the problem infeasible)",
}


def exit_codes_text() -> str:
    """The exit codes as one sentence, for --help."""
    return "Exit codes: " + ", ".join(f"{code.value} {EXIT_MEANINGS[code]}" for code in ExitCode) + "."


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

    exit_code: ExitCode = ExitCode.FAILED


class BomInputError(AasQuantumError):
    """The input data is wrong; the message says where and what."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class InfeasibleError(AasQuantumError):
    """No selection satisfies every limit; ``reasons`` names the limits that cannot be met."""

    exit_code = ExitCode.FAILED

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("problem is infeasible: " + "; ".join(reasons))


class NoSolutionError(AasQuantumError):
    """No method found a selection within its limits (time, iterations); nothing is proven infeasible."""

    exit_code = ExitCode.NO_SOLUTION

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("no solution within the time limit (nothing proves the problem infeasible): "
                         + "; ".join(reasons))


class ConfigError(AasQuantumError):
    """A config file, ERP profile or connection setting is wrong; the message names it."""

    exit_code = ExitCode.BAD_INPUT

