"""What a run writes to a server: its result submodel, and the submodels the tool owns, each referenced once from
the shell. The BaSyx servers have no conditional PUT, so concurrent runs take turns under a write lock, and every
lost reply is checked against what the server holds before anything is written again."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import logging
import math
import random
import time
from collections.abc import Iterator

from basyx.aas import model

from aas_quantum.aas.files import AasJsonEncoder
from aas_quantum.aas.ids import b64
from aas_quantum.aas.result import next_version
from aas_quantum.aas.server.client import AasClient
from aas_quantum.aas.server.errors import AasServerError

log = logging.getLogger(__name__)


def run_of(submodel: model.Submodel) -> str:
    """What tells one run's result from another's: its ``RunId``, else (a result written before results
    carried one) its ``Finished`` text. Timestamps are no identity: a server's round trip of
    xs:dateTime can move the microseconds by one, and a run would take its own write for another's."""
    values = {e.id_short: str(e.value) for e in submodel.submodel_element
              if isinstance(e, model.Property) and e.id_short in ("RunId", "Finished")}
    return values.get("RunId") or values.get("Finished", "")


def _with_version(result: model.Submodel, version: int) -> model.Submodel:
    copied = copy.deepcopy(result)
    copied.administration = model.AdministrativeInformation(version=str(version), revision="0")
    return copied


WRITE_LOCK_TTL_S = 60.0  # a write lock older than this was left by a run that died: it is broken
# how long a run waits for another run's write lock: longer than a lock lives, so a dead run's lock
# delays the next run but never fails it
WRITE_LOCK_WAIT_S = 90.0


def write_lock_id(result_id: str) -> str:
    return f"{result_id}/write-lock"


def write_lock_submodel(result_id: str, run_id: str, acquired: dt.datetime) -> model.Submodel:
    """The lock a run holds while it writes ``result_id`` (see ``result_write_lock``)."""
    return model.Submodel(write_lock_id(result_id), id_short="ResultWriteLock", submodel_element=[
        model.Property("RunId", model.datatypes.String, run_id),
        model.Property("AcquiredAt", model.datatypes.DateTime, acquired)])


def _acquired_at(lock: model.Submodel) -> dt.datetime | None:
    value = next((e.value for e in lock.submodel_element if isinstance(e, model.Property)
                  and e.id_short == "AcquiredAt"), None)
    return value if isinstance(value, dt.datetime) and value.tzinfo is not None else None


@contextlib.contextmanager
def result_write_lock(client: AasClient, result_id: str, run_id: str, ttl_s: float = WRITE_LOCK_TTL_S,
                      wait_s: float = WRITE_LOCK_WAIT_S) -> Iterator[None]:
    """Hold the result's write lock: a submodel naming the run, created by POST, which the server
    creates for one caller only (409 for the others). The BaSyx servers have no conditional PUT
    (If-Match), so without it two runs could both write version n + 1, each read its own write back
    before the other's landed, and one result would be lost.

    A lost reply to the create is checked (the lock naming this run is held); a lock older than
    ``ttl_s`` was left by a run that died and is removed; after ``wait_s`` a clear error names the
    holder. Released by DELETE (if that fails, the lock expires after ``ttl_s``)."""
    lock_id = write_lock_id(result_id)
    deadline = time.monotonic() + wait_s
    while True:
        failure: AasServerError | None = None
        try:  # stamped when it is taken, not when the wait began: a long wait must not make it look stale
            if client.post_submodel(write_lock_submodel(result_id, run_id, dt.datetime.now(dt.UTC))
                                    ).status_code != 409:
                break
        except AasServerError as exc:  # the reply may be lost while the lock was created: look
            failure = exc
        held = client.submodel_or_none(lock_id)
        if held is None and failure is not None:
            raise failure  # nothing arrived: a plain failure
        if held is not None and run_of(held) == run_id:
            break
        if held is not None:
            since = _acquired_at(held)
            age_s = (dt.datetime.now(dt.UTC) - since).total_seconds() if since else math.inf
            if age_s > ttl_s:
                log.warning("removing the write lock of %s left by run %s (%s s old, more than %g s)", result_id,
                            run_of(held), "unknown" if since is None else f"{age_s:.0f}", ttl_s)
                client.delete_submodel(lock_id, missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise AasServerError(f"{client.url(f'/submodels/{b64(result_id)}')}: run {run_of(held)} has been "
                                     f"writing this result since {since} and still holds its write lock after "
                                     f"{wait_s:g} s; the local outputs hold this run's result")
        time.sleep(random.uniform(0.05, 0.25))  # waiting runs retry apart
    try:
        yield
    finally:
        try:
            client.delete_submodel(lock_id, missing_ok=True)
        except AasServerError as exc:
            log.warning("could not release the write lock of %s (%s); it expires after %g s", result_id, exc, ttl_s)


def write_result(client: AasClient, shell_id: str, result: model.Submodel, read_version: int = 0,
                 attempts: int = 5, lock_wait_s: float = WRITE_LOCK_WAIT_S) -> model.Submodel:
    """Write the result submodel and reference it from the shell exactly once; returns what was written.

    Idempotent under lost replies and retries, and safe against concurrent runs:

    - the whole write happens under the result's write lock (``result_write_lock``), so concurrent runs
      write one after the other;
    - the version is re-read right before writing; if another run wrote since ``read_version`` (the
      version this run saw when it read its inputs), this result goes on top of it (version + 1)
      rather than overwriting it under the same number;
    - a create (POST) whose reply was lost, or that meets 409, is checked against the server: if
      this run's result is there, it is done; otherwise it is written again;
    - after writing, the result is read back: if another run wrote the same version at the same
      moment, the write is repeated one version higher (bounded by ``attempts``);
    - the reference is added only if the shell does not already hold it (409 or a lost reply is
      checked the same way), and nothing a reference points to is ever deleted.
    """
    mine = run_of(result)
    with result_write_lock(client, result.id, mine, wait_s=lock_wait_s):
        return _write_locked(client, shell_id, result, mine, read_version, attempts)


def _write_locked(client: AasClient, shell_id: str, result: model.Submodel, mine: str, read_version: int,
                  attempts: int) -> model.Submodel:
    for _ in range(attempts):
        current = client.submodel_or_none(result.id)
        if current is not None and run_of(current) == mine:
            written = current  # an earlier attempt of this run got through; its reply was lost
        else:
            version = next_version(current)
            if current is not None and version - 1 != read_version:
                log.info("result %s moved from version %s to %s since this run read it; writing version %s",
                         result.id, read_version, version - 1, version)
            written = _with_version(result, version)
            if current is None:
                try:
                    client.post_submodel(written)
                except AasServerError:
                    if client.submodel_or_none(result.id) is None:
                        raise  # nothing arrived: a plain failure
                    continue  # something arrived (ours, or a concurrent run's): look again
            else:
                client.put_submodel(written)
            check = client.submodel_or_none(result.id)
            if check is None or run_of(check) != mine:
                if check is not None and next_version(check) > version + 1:
                    written = check  # a later run already replaced ours: our version was written, not lost
                else:
                    continue  # a concurrent run wrote the same version: go one higher
        try:
            _ensure_reference(client, shell_id, result.id)
        except AasServerError:
            if current is None:  # this run created the result: without its reference it would be an orphan
                _withdraw_unreferenced(client, shell_id, result.id)
            raise
        client.register_submodel(shell_id, written)
        return written
    raise AasServerError(f"{client.url(f'/submodels/{b64(result.id)}')}: another run kept replacing the result "
                         f"while this one wrote it ({attempts} attempts); the local outputs hold this run's result")


def _withdraw_unreferenced(client: AasClient, shell_id: str, result_id: str) -> None:
    """Remove a result this run created but could not reference, so the server holds no orphan; only when
    the shell is seen not to reference it (a reference whose reply was lost must keep its result). If the
    server cannot even tell, or refuses the delete, the result stays and the next run references it."""
    try:
        if not _references(client, shell_id, result_id):
            client.delete_submodel(result_id, missing_ok=True)
            return
    except AasServerError as exc:
        log.warning("the result %s stays unreferenced (the server failed: %s); the next run references it",
                    result_id, exc)


def install_submodel(client: AasClient, shell_id: str, submodel: model.Submodel) -> bool:
    """Create or replace a submodel the tool owns (not a result: it has no versions) and reference it once
    from the shell. Returns False when the server held exactly this submodel and reference already."""
    current = client.submodel_or_none(submodel.id)
    canonical = json.loads(json.dumps(submodel, cls=AasJsonEncoder))
    same = current is not None and json.loads(json.dumps(current, cls=AasJsonEncoder)) == canonical
    if current is None:
        if client.post_submodel(submodel).status_code == 409:  # created meanwhile (or a lost reply): replace
            client.put_submodel(submodel)
    elif not same:
        client.put_submodel(submodel)
    referenced = _references(client, shell_id, submodel.id)
    _ensure_reference(client, shell_id, submodel.id)
    client.register_submodel(shell_id, submodel)
    return not (same and referenced)


def _references(client: AasClient, shell_id: str, submodel_id: str) -> bool:
    return any(r.key[-1].value == submodel_id for r in client.shell(shell_id).submodel)


def _ensure_reference(client: AasClient, shell_id: str, submodel_id: str, attempts: int = 3) -> None:
    for _ in range(attempts):
        if _references(client, shell_id, submodel_id):
            return
        try:
            client.add_submodel_ref(shell_id, submodel_id)  # a 409 means it is there: checked above next time
        except AasServerError:
            continue  # a lost reply: the loop checks whether the reference arrived
    if not _references(client, shell_id, submodel_id):
        raise AasServerError(f"{client.url(f'/shells/{b64(shell_id)}/submodel-refs')}: could not reference the "
                             f"result {submodel_id} from the shell; the next run completes it")
