"""What a batch runs: every product of its sources under every scenario, before anything runs.

A run is one product under one scenario. Sources are package files (with shared supplier files)
or the AAS server; scenarios come from a TOML file. What can be refused up front is refused here,
before a worker starts: a scenario file that does not parse, a scenario name that cannot name a
folder, a product id two sources hold (its results would replace each other).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aas_quantum.aas.server import ServerSettings
from aas_quantum.app import FileRepository, Repository, RequestOverrides, ServerRepository, failure
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, Location

# characters: a scenario's results are a folder named after it, and 60 characters of any script fit the
# 255 bytes a file system allows a name
SCENARIO_NAME_MAX = 60


@dataclass(frozen=True)
class Scenario:
    """A what-if: solver settings and overrides of the request submodel, applied to every product."""

    name: str = "baseline"
    method: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    overrides: RequestOverrides = field(default_factory=RequestOverrides)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "parameters": dict(self.parameters),
                "overrides": self.overrides.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scenario:
        return cls(data["name"], data.get("method"), dict(data.get("parameters") or {}),
                   RequestOverrides.of(data.get("overrides") or {}))


def load_scenarios(path: Path | None) -> list[Scenario]:
    """``[[scenario]]`` tables of a TOML file: ``name``, ``method``, ``[scenario.parameters]`` (solver
    parameters), ``[scenario.limits]`` / ``[scenario.weights]`` (RequestOverrides fields) and
    ``exclude_suppliers``. Without a file: one scenario, the requests as they are."""
    if path is None:
        return [Scenario()]
    from aas_quantum import solvers

    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the scenario file: {exc}") from exc
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no [[scenario]] tables")
    scenarios = []
    for i, table in enumerate(tables):
        where = f"{path}: scenario {i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a [[scenario]] table, got {table!r}")
        unknown = sorted(set(table) - {"name", "method", "parameters", "limits", "weights", "exclude_suppliers"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        name = table.get("name")
        if not isinstance(name, str) or not name or any(c in name for c in "/\\") or name.startswith(".") \
                or not name.isprintable():
            raise ConfigError(f"{where}: name must be a non-empty folder name, got {name!r}")
        if len(name) > SCENARIO_NAME_MAX:
            raise ConfigError(f"{where}: name {name[:40]!r}... is {len(name)} characters long; a scenario name "
                              f"names a folder and may have at most {SCENARIO_NAME_MAX}")
        sections = {key: table.get(key, {}) for key in ("limits", "weights", "parameters")}
        for key, section in sections.items():
            if not isinstance(section, dict):
                raise ConfigError(f"{where} ({name}): [scenario.{key}] must be a table, got {section!r}")
        origin = {key: f"[scenario.{part}] {key}" for part in ("limits", "weights") for key in sections[part]}
        origin["exclude_suppliers"] = "exclude_suppliers"
        try:
            overrides = RequestOverrides.of({**sections["limits"], **sections["weights"],
                                             **({"exclude_suppliers": table["exclude_suppliers"]}
                                                if "exclude_suppliers" in table else {})},
                                            origin.__getitem__)
            method = table.get("method")
            parameters = {k: solvers.parse_parameter(k, v, f"[scenario.parameters] {k}")
                          for k, v in sections["parameters"].items()}
            if method is not None:
                solvers.spec(method)
                solvers.check_parameters(method, parameters)
        except AasQuantumError as exc:
            raise ConfigError(f"{where} ({name}): {exc}") from exc
        scenarios.append(Scenario(name, method, parameters, overrides))
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"{path}: scenario names repeat: {', '.join(repeated)}")
    return scenarios


@dataclass(frozen=True)
class Source:
    """Where a product's inputs are: files (a package, plus shared supplier files), or the AAS server."""

    files: tuple[str, ...] = ()
    server: ServerSettings | None = None

    def repository(self) -> Repository:
        if self.server is not None:
            return ServerRepository(self.server)
        return FileRepository([Path(f) for f in self.files])

    @property
    def label(self) -> str:
        """How messages and the manifest name the source: its package file, or "server"."""
        return self.files[0] if self.files else "server"

    def file_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in self.files:
            digest.update(Path(name).read_bytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class BatchRun:
    source: Source
    shell_id: str
    scenario: Scenario

    @property
    def key(self) -> str:
        return f"{self.scenario.name}/{self.shell_id}"


def input_files(paths: Sequence[Path], list_file: Path | None = None) -> list[Path]:
    """Packages to run: files, folders (their .aasx/.json/.xml, sorted), glob patterns, and the lines of a list file."""
    given = list(paths)
    if list_file is not None:
        base = list_file.parent
        given += [base / line.strip() for line in list_file.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    found: list[Path] = []
    for path in given:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in (".aasx", ".json", ".xml"))
        elif any(c in str(path) for c in "*?["):
            found += sorted(Path().glob(str(path))) if not path.is_absolute() else sorted(
                Path(path.anchor).glob(str(path.relative_to(path.anchor))))
        elif path.is_file():
            found.append(path)
        else:
            raise BomInputError("no such file or folder", Location(str(path)))
    return list(dict.fromkeys(found))


def plan(files: Sequence[Path], shared: Sequence[Path], server: ServerSettings | None, scenarios: Sequence[Scenario],
         ) -> tuple[list[BatchRun], list[tuple[str, str, int]]]:
    """Every product x scenario, and the sources that could not even be listed (with the reason and its exit class).

    A product id held by two sources is refused before anything runs: a run's key, its manifest row
    and its result files are named by the product id, so one of the two results would replace the
    other (and every re-run would redo one of them)."""
    sources: list[Source] = [Source(files=(str(f), *map(str, shared))) for f in files]
    if server is not None:
        sources.append(Source(server=server))
    runs: list[BatchRun] = []
    broken: list[tuple[str, str, int]] = []  # (source, why, exit class)
    holders: dict[str, list[str]] = {}
    for source in sources:
        try:
            repository = source.repository()
            try:
                products = repository.products()
            finally:
                repository.close()
        except Exception as exc:  # a broken package is that package's failure, not the batch's
            code, reason = failure(exc)  # bad input (2), the server (3) or a bug (1), as a run's failure says
            broken.append((source.label, reason, code))
            continue
        for shell_id in products:
            holders.setdefault(shell_id, []).append(source.label)
        runs += [BatchRun(source, shell_id, scenario) for scenario in scenarios for shell_id in products]
    repeated = [f"product {shell_id} is in {' and '.join(labels)}" for shell_id, labels in holders.items()
                if len(labels) > 1]
    if repeated:
        raise BomInputError("; ".join(repeated) + ": a batch keeps one result per product id and scenario; give "
                            "each package its own product id, or run the packages in separate batches (--out)")
    return runs, broken
