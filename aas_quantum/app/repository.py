"""Where a run's inputs come from and where its result goes back to, in the spirit of
basyx-python-sdk's ``backend`` split: the run knows a ``Repository``, not files or HTTP.

- ``FileRepository``: AASX / JSON / XML files in. The files are never modified; the result is
  the output folder's package (see ``outputs.ResultFiles``).
- ``ServerRepository``: an AAS server (the AAS API client is the transport only): product
  discovery, reading a product's environment, writing its result submodel back.

``ProductInput`` is what every root (CLI, batch runs, OPC UA server, service) reads a product
through, so a product maps to the same catalog whichever root runs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import AasEnvironment, AasJsonEncoder, b64, mapping, read_files, result_submodel_id
from aas_quantum.aas.mapping import SavedPick, semantic_key
from aas_quantum.aas.server import AasClient, ServerSettings, product_shell_ids, read_environment, write_result
from aas_quantum.app.request import RequestOverrides
from aas_quantum.bulk import release_the_run, run_input
from aas_quantum.catalog import Catalog
from aas_quantum.errors import BomInputError, ConfigError, Location
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.summary import RunSummary


@dataclass(frozen=True)
class WrittenResult:
    submodel: model.Submodel  # as stored (its version may be higher than asked: another run wrote meanwhile)
    location: str  # where it is, for messages (a URL without credentials)


class Repository(Protocol):
    def products(self) -> list[str]:
        """Ids of the product shells that carry a BomOptimizationRequest."""
        ...

    def product(self, shell_id: str | None) -> str:
        """``shell_id`` checked, or the only product; a clear error when there are none or several."""
        ...

    def read(self, shell_id: str) -> AasEnvironment:
        """The product shell, what it references (the previous result included) and the suppliers in scope."""
        ...

    def write_result(self, shell_id: str, result: model.Submodel, read_version: int) -> WrittenResult | None:
        """Store the result (None: this repository keeps results only in the output folder)."""
        ...

    def input_files(self) -> Sequence[Path]:
        """Local files the run reads, which no output may replace."""
        ...

    def close(self) -> None: ...


class FileRepository:
    def __init__(self, paths: Sequence[Path], lenient: bool = False) -> None:
        self.paths = tuple(paths)
        self.lenient = lenient  # skip defective objects (each skip is in ``warnings``)
        self._env: AasEnvironment | None = None

    def _environment(self) -> AasEnvironment:
        if self._env is None:  # read once: every product of a multi-product file shares it
            with run_input():  # read before the run starts (to list the products); released by the run or close
                self._env = read_files(self.paths, self.lenient)
        return self._env

    @property
    def warnings(self) -> list[str]:
        return list(self._environment().warnings)

    def products(self) -> list[str]:
        return [shell.id for shell in mapping.product_shells(self._environment())]

    def product(self, shell_id: str | None) -> str:
        return mapping.product_shell(self._environment(), shell_id).id

    def check_submodels(self) -> list[mapping.SubmodelCheck]:
        """The inputs' supplier and component submodels each checked alone (for files that hold no product)."""
        return mapping.check_submodels(self._environment())

    def read(self, shell_id: str) -> AasEnvironment:
        return self._environment()

    def write_result(self, shell_id: str, result: model.Submodel, read_version: int) -> WrittenResult | None:
        return None

    def input_files(self) -> Sequence[Path]:
        return self.paths

    def close(self) -> None:
        if self._env is not None:  # what _environment kept goes back to the collector with the environment
            self._env = None
            release_the_run()


class ServerRepository:
    def __init__(self, settings: ServerSettings, supplier_shells: Sequence[str] | None = None) -> None:
        self.client = AasClient(settings)
        self.supplier_shells = list(supplier_shells) if supplier_shells is not None else None

    def products(self) -> list[str]:
        return product_shell_ids(self.client)

    def product(self, shell_id: str | None) -> str:
        if shell_id is not None:
            return shell_id  # reading it says whether the server has it
        ids = self.products()
        if len(ids) != 1:
            raise BomInputError(f"the server has {len(ids)} product shells with a request; choose one with --shell "
                                "or use --all: " + ", ".join(ids))
        return ids[0]

    def read(self, shell_id: str) -> AasEnvironment:
        return read_environment(self.client, shell_id, self.supplier_shells)

    def write_result(self, shell_id: str, result: model.Submodel, read_version: int) -> WrittenResult:
        written = write_result(self.client, shell_id, result, read_version)
        return WrittenResult(written, self.client.url(f"/submodels/{b64(result.id)}"))

    def input_files(self) -> Sequence[Path]:
        return ()

    def close(self) -> None:
        self.client.close()


NO_SERVER = "give a server (--server, AAS_QUANTUM_SERVER or base_url in [server]) or a registry (--registry)"


def open_repository(inputs: Sequence[Path] | None, server: Callable[[], ServerSettings | None],
                    supplier_shells: Sequence[str] | None = None, lenient: bool = False) -> Repository:
    """Files when given (they win over a server from the environment, which is then not even read),
    else the AAS server."""
    if inputs:
        return FileRepository(inputs, lenient)
    settings = server()
    if settings is not None:
        return ServerRepository(settings, supplier_shells)
    raise ConfigError("give input files, or " + NO_SERVER.removeprefix("give "))


@dataclass(frozen=True)
class ProductInput:
    shell_id: str
    environment: AasEnvironment  # the product shell, what it references (its previous result too), the suppliers
    _catalog: Catalog | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def read(cls, repository: Repository, shell_id: str) -> ProductInput:
        return cls(shell_id, repository.read(shell_id))

    def catalog(self) -> Catalog:
        """Mapped only when asked (a root showing a saved result needs no catalog, nor inputs that still map),
        and once: a Pareto sweep builds a problem per bound from it."""
        if self._catalog is None:
            object.__setattr__(self, "_catalog", mapping.read_catalog(
                self.environment, mapping.product_shell(self.environment, self.shell_id)))
        assert self._catalog is not None
        return self._catalog

    def problem(self, overrides: RequestOverrides | None = None) -> BomProblem:
        """The problem a run solves: the catalog with the caller's ``overrides`` of the request applied."""
        return build_problem((overrides or RequestOverrides()).apply(self.catalog()))


def input_fingerprint(env: AasEnvironment, shell_id: str) -> str:
    """A hash of every input object but results (their write must not look like an input change): what the
    change watcher compares between polls and a batch run records to skip an unchanged re-run."""
    digest = hashlib.sha256()
    for identifier in sorted(env.origin):
        obj = env.objects.get_item(identifier)
        if identifier == result_submodel_id(shell_id) or (isinstance(obj, model.Submodel)
                                                         and semantic_key(obj) == contract.OPTIMIZATION_RESULT):
            continue
        if isinstance(obj, model.AssetAdministrationShell):  # without the result's reference
            refs = sorted({r.key[-1].value for r in obj.submodel} - {result_submodel_id(identifier)})
            digest.update(json.dumps([identifier, refs]).encode())
            continue
        digest.update(json.dumps(obj, cls=AasJsonEncoder, sort_keys=True).encode())
    return digest.hexdigest()


def read_saved_run(paths: Sequence[Path], shell_id: str | None
                   ) -> tuple[str, tuple[BomProblem, tuple[int, ...], RunSummary]]:
    """The product shell id and its saved run (problem, choice, summary) from a result package, or a
    result .json with the input files."""
    env = read_files(paths)
    if not mapping.product_shells(env):
        raise BomInputError("the files hold no product shell: a result .json holds only the result, so pass "
                            "the input files (or the product AASX) with it")
    shell = mapping.product_shell(env, shell_id)
    saved = mapping.saved_run(env, shell)
    if saved is None:
        raise BomInputError(f"no result submodel {result_submodel_id(shell.id)} in the inputs; run "
                            "`aas-quantum optimize` first")
    return shell.id, saved


@dataclass(frozen=True)
class SavedResult:
    submodel: model.Submodel
    summary: RunSummary  # without selection lines: only the inputs can rebuild those
    picks: tuple[SavedPick, ...]

    def figures(self) -> list[tuple[str, object]]:
        """The key figures as stored (not as recomputed): the submodel's properties, its KPIs and solver record."""
        found: list[tuple[str, object]] = []
        for element in self.submodel.submodel_element:
            if isinstance(element, model.Property):
                found.append((element.id_short or "", element.value))
            elif isinstance(element, model.SubmodelElementCollection) and element.id_short in ("KPIs", "SolverRecord"):
                found.extend((f"{element.id_short}.{item.id_short}", getattr(item, "value", ""))
                             for item in element.value)
        return found


def read_saved_result(result_file: Path | None, shell_id: str | None, server: Callable[[], ServerSettings]
                      ) -> SavedResult:
    """A product's result submodel, from a result file or (without one) the server, checked against itself;
    a result package holds its inputs, and the result is recomputed from them as a further check."""
    if result_file is not None:
        env = read_files([result_file])
        found = [sm for sm in mapping.submodels_with(env, contract.OPTIMIZATION_RESULT)
                 if shell_id is None or sm.id == result_submodel_id(shell_id)]
        if len(found) != 1:
            raise BomInputError(f"{len(found)} result submodels{' for ' + shell_id if shell_id else ''} in the "
                                "file; " + ("choose one with --shell" if found else "is it a result file?"),
                                Location(str(result_file)))
        submodel, where = found[0], str(result_file)
        products = [s for s in mapping.product_shells(env) if result_submodel_id(s.id) == submodel.id]
    else:
        if shell_id is None:
            raise ConfigError("give a result file, or --shell with a server")
        with AasClient(server()) as client:
            fetched = client.submodel_or_none(result_submodel_id(shell_id))
            where = client.url(f"/submodels/{b64(result_submodel_id(shell_id))}")
        if fetched is None:
            raise BomInputError(f"no result submodel {result_submodel_id(shell_id)} on {where}: run `aas-quantum "
                                "optimize` for this product first")
        submodel, products = fetched, []
    summary, picks = mapping.read_result(submodel, where)
    mapping.check_result(summary, picks, Location(where, submodel.id))
    if products:
        mapping.saved_run(env, products[0])
    return SavedResult(submodel, summary, picks)
