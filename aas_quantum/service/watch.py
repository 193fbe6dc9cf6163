"""Re-optimisation when what a product depends on changes.

``ChangeWatcher`` keeps, per product, the submodels its last read used (request, positions, IDTA
templates, component AAS, suppliers in scope) and the submodels its shell references. A change to
one of them schedules that product only; a new ``SupplierOffers`` submodel schedules every product
(suppliers in scope are all of them). Changes are debounced (a burst within ``debounce_s`` gives
one job) and deduplicated (one queued re-optimisation per product at a time: the job reads the
newest data when it runs). The service's own result writes (and the shell reference a first
result adds) are ignored. Two sources feed it: BaSyx MQTT eventing, or polling the repository
for servers without eventing (the BaSyx Python server), comparing a fingerprint of each product's
inputs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from aas_quantum import contract
from aas_quantum.aas import result_submodel_id
from aas_quantum.app import Repository, input_fingerprint
from aas_quantum.service.events import Change
from aas_quantum.service.jobs import JobSpec

log = logging.getLogger(__name__)


class ChangeWatcher:
    def __init__(self, repository: Callable[[], Repository], submit: Callable[[JobSpec, str], object],
                 debounce_s: float = 2.0) -> None:
        self.repository, self.submit, self.debounce_s = repository, submit, debounce_s
        self.inputs: dict[str, set[str]] = {}  # product shell id -> submodel ids its last read used
        self.refs: dict[str, frozenset[str]] = {}  # product shell id -> its submodel references (no result)
        self.fingerprints: dict[str, str] = {}
        self._due: dict[str, float] = {}  # product -> when its debounced job is submitted
        self._lock = threading.Lock()  # guards the dicts above; never held while calling out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._submitter, name="change-debounce", daemon=True)

    # ------------------------------------------------------------------ index

    def _read(self, repository: Repository, shell_id: str) -> tuple[set[str], frozenset[str], str]:
        env = repository.read(shell_id)
        shell = env.objects.get_item(shell_id)
        result = result_submodel_id(shell_id)
        refs = frozenset(r.key[-1].value for r in shell.submodel) - {result}
        return set(env.origin) - {shell_id, result}, refs, input_fingerprint(env, shell_id)

    def refresh(self, products: list[str] | None = None) -> None:
        """Re-read what the products depend on (all products when ``products`` is None)."""
        repository = self.repository()
        try:
            for shell_id in products if products is not None else repository.products():
                try:
                    inputs, refs, fingerprint = self._read(repository, shell_id)
                except Exception as exc:  # a broken product: its own run will say why
                    log.warning("cannot index the inputs of %s: %s", shell_id, exc)
                    continue
                with self._lock:
                    self.inputs[shell_id], self.refs[shell_id] = inputs, refs
                    self.fingerprints[shell_id] = fingerprint
        finally:
            repository.close()

    # ------------------------------------------------------------------ changes

    def affected(self, change: Change) -> list[str]:
        """The products a change concerns."""
        with self._lock:
            if change.kind == "shell":
                if change.identifier not in self.refs:
                    return []  # not a product (a supplier or component shell): its submodels' events count
                refs = frozenset(change.submodel_refs) - {result_submodel_id(change.identifier)}
                same = change.action == "updated" and refs == self.refs[change.identifier]
                return [] if same else [change.identifier]  # e.g. the first result's reference: no change
            if change.semantic_id == contract.OPTIMIZATION_RESULT or change.identifier in {
                    result_submodel_id(p) for p in self.refs}:  # an element event carries no semanticId
                return []
            found = [p for p, ids in self.inputs.items() if change.identifier in ids]
            if not found and change.semantic_id == contract.SUPPLIER_OFFERS:
                found = list(self.inputs)  # a new supplier is in every product's scope
            return found

    def changed(self, change: Change) -> None:
        """Called from the event thread: schedule the affected products (debounced), never blocks."""
        products = self.affected(change)
        if products:
            due = time.monotonic() + self.debounce_s
            with self._lock:
                for product in products:
                    self._due[product] = due  # a burst keeps pushing the deadline: one job at its end
            log.info("%s %s %s: re-optimising %s", change.kind, change.identifier, change.action,
                     ", ".join(products))

    def schedule(self, product: str) -> None:
        with self._lock:
            self._due[product] = time.monotonic() + self.debounce_s

    def poll(self) -> list[str]:
        """Compare every product's input fingerprint with the last one; schedule those that differ."""
        with self._lock:
            known = dict(self.fingerprints)
        repository = self.repository()
        changed = []
        try:
            for shell_id in repository.products():
                try:
                    inputs, refs, fingerprint = self._read(repository, shell_id)
                except Exception as exc:
                    log.warning("polling %s: %s", shell_id, exc)
                    continue
                with self._lock:
                    self.inputs[shell_id], self.refs[shell_id] = inputs, refs
                    self.fingerprints[shell_id] = fingerprint
                if known.get(shell_id) not in (None, fingerprint):
                    changed.append(shell_id)
        finally:
            repository.close()
        for shell_id in changed:
            self.schedule(shell_id)
        return changed

    # ------------------------------------------------------------------ threads

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def check(self) -> None:
        """Raise when changes would no longer be turned into jobs (readiness)."""
        if not self._thread.is_alive():
            raise RuntimeError("the change watcher's submitter thread stopped")

    def _submitter(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                ready = [p for p, due in self._due.items() if due <= now]
            for product in ready:
                try:
                    self.submit(JobSpec(product=product, origin="event"), f"reoptimize:{product}")
                except Exception as exc:  # the store is away: keep the product due, try again next round
                    log.warning("cannot queue the re-optimisation of %s (retrying): %s", product, exc)
                    continue
                with self._lock:
                    if self._due.get(product, now + 1) <= now:  # not pushed back by a newer change meanwhile
                        del self._due[product]

