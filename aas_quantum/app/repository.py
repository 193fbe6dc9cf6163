"""Where a run's inputs come from and where its result goes back to, in the spirit of
basyx-python-sdk's ``backend`` split: the run knows a ``Repository``, not files or HTTP.

- ``FileRepository``: AASX / JSON / XML files in. The files are never modified; the result is
  the output folder's package (see ``outputs.ResultFiles``).
- ``ServerRepository``: an AAS server (the AAS API client is the transport only): product
  discovery, reading a product's environment, writing its result submodel back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import mapping
from aas_quantum.aas.files import AasEnvironment, AasJsonEncoder, read_files
from aas_quantum.aas.ids import b64
from aas_quantum.aas.mapping import semantic_key
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, ServerSettings, product_shell_ids, read_environment, write_result
from aas_quantum.bulk import release_the_run, run_input
from aas_quantum.errors import BomInputError


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
