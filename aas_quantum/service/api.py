"""``aas-quantum serve``: the AAS server extension, an HTTP service over the job store.

- ``POST /operations/optimize``: BaSyx operation delegation (``OperationVariable[]`` in and out);
  waits up to ``wait_s`` for the run, else answers ``queued``/``running`` with the job id.
- ``POST /operations/optimize/invoke-async``, ``GET /operation-status/{handleId}``,
  ``GET /operation-results/{handleId}``: the AAS API v3.0 asynchronous shape.
- ``/submodel/submodel-elements/Optimize/...``: the AAS API v3.2 Submodel Service paths of the operation
  (``invoke``, ``invoke-async``, ``operation-status``, ``operation-results``, their ``$value`` forms).
- ``/jobs``: create, list, follow, cancel. ``/health`` (liveness), ``/ready`` (AAS server, broker,
  job store), ``/metrics`` (Prometheus).

Every route but ``/health`` (``/openapi.json`` and the docs included) needs an API key
(``X-API-Key``) or bearer token, checked from the headers before any body is read. The service is a
thin root: jobs run through ``execute`` (``JobRunner``), like every other way of using the tool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import ipaddress
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from aas_quantum.aas import b64, unb64
from aas_quantum.aas.server import ServerSettings
from aas_quantum.app import Listener, Repository, RunOutcome, RunPublisher, RunRequest, ServerRepository
from aas_quantum.bulk import long_running
from aas_quantum.config import Layers, config_section, parse_url
from aas_quantum.errors import AasQuantumError, ConfigError
from aas_quantum.service import operation
from aas_quantum.service.jobs import FINISHED, Job, JobSpec, JobState, JobStore, check_location, open_store
from aas_quantum.service.observe import Metrics
from aas_quantum.service.watch import ChangeWatcher
from aas_quantum.service.worker import JobRunner, check_spec

log = logging.getLogger(__name__)


OPERATION = "/submodel/submodel-elements/Optimize"  # the operation's path in the AAS API's Submodel Service
V32_ROUTES = ("/invoke", "/invoke/$value", "/invoke-async", "/invoke-async/$value", "/operation-status/{handleId}",
              "/operation-results/{handleId}", "/operation-results/{handleId}/$value")


def default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "aas-quantum"


@dataclass(frozen=True)
class ServiceSettings:
    host: str = "127.0.0.1"
    port: int = 8090
    data_dir: Path = field(default_factory=default_data_dir)
    jobs: str = ""  # job store: postgresql://... or sqlite:///path; empty: <data_dir>/jobs.sqlite
    workers: int = 1  # jobs run at once by this instance
    wait_s: float = 10.0  # how long the delegation endpoint waits for a run before answering with the job id
    api_key: str | None = field(default=None, repr=False)
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)  # [service.api_keys] name = "key"
    allow_anonymous: bool = False
    # comma-separated networks (CIDR) that may call the delegation endpoint without a key: BaSyx Java's
    # delegation sends no credentials, so its host is trusted by address (e.g. "10.0.3.0/24")
    trusted_networks: str = ""
    # comma-separated addresses (CIDR) of reverse proxies whose X-Forwarded-For names the caller; empty: the
    # header is ignored and the caller is the peer of the connection
    trusted_proxies: str = ""
    max_body_bytes: int = 1 << 20  # a larger request body is refused (413), read no further than this
    tls_cert: Path | None = None
    tls_key: Path | None = None
    instance_id: str = field(default_factory=socket.gethostname)
    lease_s: float = 30.0  # a running job without heartbeat for this long is requeued
    shutdown_grace_s: float = 30.0
    watch: str = "off"  # re-optimisation on change: off | mqtt (BaSyx eventing) | poll
    events_url: str | None = None  # the broker BaSyx publishes its events to (watch = mqtt)
    sm_repository_ids: str = "+"  # comma-separated repoIds of sm-repository/<repoId>/... topics
    aas_repository_ids: str = "+"
    poll_interval_s: float = 30.0
    debounce_s: float = 2.0

    @classmethod
    def resolve(cls, **given: Any) -> ServiceSettings:
        """Arguments, then ``AAS_QUANTUM_SERVICE_*`` environment variables, then ``[service]`` (keys:
        ``[service.api_keys]``) in the config file."""
        values = Layers.of("service", "AAS_QUANTUM_SERVICE_").typed(
            cls, {k: v for k, v in given.items() if v is not None}, skip=("api_keys",))
        settings = cls(api_keys=given.get("api_keys") or config_section("service.api_keys"), **values)
        if not settings.credentials() and not settings.allow_anonymous:
            raise ConfigError("the service has no API key: set AAS_QUANTUM_SERVICE_API_KEY, api_key in [service] or "
                              "[service.api_keys] name = \"key\" (or allow_anonymous = true in [service] explicitly)")
        if (settings.tls_cert is None) != (settings.tls_key is None):
            raise ConfigError("TLS needs both tls_cert and tls_key ([service] / AAS_QUANTUM_SERVICE_TLS_*)")
        networks(settings.trusted_networks, "trusted_networks")
        networks(settings.trusted_proxies, "trusted_proxies")
        if settings.max_body_bytes < 1:
            raise ConfigError("[service] max_body_bytes must be at least 1")
        if settings.watch not in ("off", "mqtt", "poll"):
            raise ConfigError(f"[service] watch must be off, mqtt or poll, got {settings.watch!r}")
        if settings.watch == "mqtt" and not settings.events_url:
            raise ConfigError("watch = mqtt needs events_url, the broker BaSyx publishes its events to")
        check_location(settings.jobs)
        if settings.port > 65535:  # the environment and the file are not bounded by the flag's range
            raise ConfigError(f"{Layers.of('service', 'AAS_QUANTUM_SERVICE_').where('port')} must be a port "
                              f"number (0-65535), got {settings.port}")
        if settings.events_url:
            parse_url(settings.events_url, ("mqtt", "mqtts"), "events URL (--events, [service] events_url)",
                      "mqtt://host:1883 or mqtts://host:8883")
        return settings

    def credentials(self) -> list[str]:
        return [k for k in (self.api_key, *self.api_keys.values()) if k]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str, setting: str) -> list[Network]:
    """The comma-separated CIDRs of a setting (a bare address is its own network)."""
    try:
        return [ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip()]
    except ValueError as exc:
        raise ConfigError(f"[service] {setting}: {exc}") from None


def address_in(host: str | None, within: list[Network]) -> bool:
    """Whether a peer address lies in one of the networks; an IPv4-mapped IPv6 peer (``::ffff:10.0.3.5``,
    what a dual-stack socket reports for an IPv4 caller) is matched as the IPv4 address it carries."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in within)


class _Gate:
    """Authentication as ASGI middleware: it decides from the headers and the peer alone, before anything
    reads or parses the body, so a keyless caller gets 401 whatever it sends (a FastAPI dependency would
    run after the body was read and validated). The peer is the connection's unless uvicorn was told to
    believe a trusted proxy's X-Forwarded-For (``trusted_proxies``)."""

    def __init__(self, app: ASGIApp, keys: list[bytes], trusted: list[Network], anonymous: bool) -> None:
        self.app, self.keys, self.trusted, self.anonymous = app, keys, trusted, anonymous

    def allows(self, scope: Scope) -> bool:
        if scope["path"] == "/health" or (self.anonymous and not self.keys):
            return True
        client = scope.get("client")
        if self.trusted and scope["path"] == "/operations/optimize" and client and address_in(client[0],
                                                                                              self.trusted):
            return True
        headers = Headers(scope=scope)
        given = headers.get("x-api-key", "")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
        return bool(given) and any(hmac.compare_digest(given.encode(), k) for k in self.keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allows(scope):
            await self.app(scope, receive, send)
            return
        refused = JSONResponse({"detail": "an API key (X-API-Key) or bearer token is required"}, status_code=401,
                               headers={"WWW-Authenticate": "Bearer"})
        await refused(scope, receive, send)


class _Constant(str):
    """A ``NaN``/``Infinity`` the JSON parser met (Python's json takes them, JSON itself has no such number),
    or a number too large for a float (``1e400``, which Python would read as infinity)."""


def _float(text: str) -> float | _Constant:
    number = float(text)
    return number if math.isfinite(number) else _Constant(text)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise HTTPException(422, f"key {key!r} appears twice in one JSON object")
        seen[key] = value
    return seen


def strict_json(body: bytes) -> Any:
    """A request body as JSON has it: ``NaN``, ``Infinity`` and a key given twice are refused naming
    where (the path, and the operation variable's idShort when inside one), not passed on as a float
    that fails a range check silently or breaks the response."""
    try:
        value = json.loads(body, parse_constant=_Constant, parse_float=_float, object_pairs_hook=_refuse_duplicates)
    except RecursionError:
        raise HTTPException(422, "the JSON body nests too deeply") from None
    pending: list[tuple[Any, str, str | None]] = [(value, "body", None)]
    while pending:  # iterative: a body nested as deep as the parser allows must not overflow here
        item, path, variable = pending.pop()
        if isinstance(item, _Constant):
            named = f" (input variable {variable})" if variable else ""
            raise HTTPException(422, f"{path}{named}: {item} is not a finite number")
        if isinstance(item, dict):
            variable = item["idShort"] if isinstance(item.get("idShort"), str) else variable
            pending.extend((v, f"{path}.{k}", variable) for k, v in item.items())
        elif isinstance(item, list):
            pending.extend((v, f"{path}[{i}]", variable) for i, v in enumerate(item))
    return value


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class _StrictJsonRoute(APIRoute):
    """Routes whose JSON bodies go through ``strict_json`` (FastAPI parses with ``Request.json``)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            response: Response = await handler(_StrictJsonRequest(request.scope, request.receive))
            return response
        return strict


# ------------------------------------------------------------------------------- API models


class SubmodelElementModel(BaseModel):
    """An AAS submodel element as JSON; the service reads Properties (idShort, value)."""

    model_config = ConfigDict(extra="allow")
    modelType: str = "Property"
    idShort: str | None = None
    valueType: str | None = None
    value: str | None = None


class OperationVariableModel(BaseModel):
    value: SubmodelElementModel


class OperationRequestModel(BaseModel):
    """The AAS API v3.0 ``OperationRequest`` (the async call's body)."""

    model_config = ConfigDict(extra="allow")
    inputArguments: list[OperationVariableModel] = []


class RefusalModel(BaseModel):
    """Why a request was refused: a sentence, or FastAPI's list of validation errors."""

    detail: str | list[dict[str, Any]]


class MessageModel(BaseModel):
    messageType: Literal["Info", "Warning", "Error", "Exception"]
    text: str


ExecutionState = Literal["Initiated", "Running", "Completed", "Canceled", "Failed", "Timeout"]


class OperationStatusModel(BaseModel):
    executionState: ExecutionState
    success: bool
    messages: list[MessageModel] = []


class OperationResultModel(OperationStatusModel):
    outputArguments: list[OperationVariableModel] = []


class JobSpecModel(BaseModel):
    product: str
    method: str | None = None
    parameters: dict[str, float | int | str | bool] = {}
    overrides: dict[str, float | list[str]] = {}
    dry_run: bool = False


class JobModel(BaseModel):
    job_id: str
    run_id: str
    state: str
    origin: str
    product: str | None
    method: str | None
    progress: float
    stage: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    worker: str | None
    error: str
    outcome: dict[str, Any] | None

    @classmethod
    def of(cls, job: Job) -> JobModel:
        return cls(job_id=job.job_id, run_id=job.run_id, state=job.state.value, origin=job.spec.origin,
                   product=job.spec.product, method=job.spec.method, progress=job.progress, stage=job.stage,
                   created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                   attempts=job.attempts, worker=job.worker, error=job.error,
                   outcome=dict(job.outcome) if job.outcome else None)


class ResultModel(BaseModel):
    """The AAS API ``Result``: why a request was refused, as messages."""

    messages: list[MessageModel]


class OperationRequestAsyncModel(BaseModel):
    """The AAS API v3.2 ``OperationRequestAsync`` (documentation of the body; it is read by ``_invocation``)."""

    model_config = ConfigDict(extra="allow")
    inputArguments: list[OperationVariableModel] = []
    clientTimeoutDuration: Annotated[str, Field(description="xs:duration in days to seconds, e.g. PT60S")]


class OperationRequestAsyncValueOnlyModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    inputArguments: dict[str, str | float] = {}
    clientTimeoutDuration: Annotated[str, Field(description="xs:duration in days to seconds, e.g. PT60S")]


class OperationResultValueOnlyModel(OperationStatusModel):
    outputArguments: dict[str, str | float] = {}


class HandleModel(BaseModel):
    handleId: str


_EXECUTION_STATE: dict[JobState, ExecutionState] = {
    JobState.QUEUED: "Initiated", JobState.RUNNING: "Running", JobState.DONE: "Completed", JobState.FAILED: "Failed",
    JobState.CANCELLED: "Canceled", JobState.TIMEOUT: "Timeout"}


def _status(job: Job) -> OperationStatusModel:
    state: ExecutionState = _EXECUTION_STATE[job.state]
    ok = job.state is JobState.DONE and (job.outcome or {}).get("status") in ("optimal", "feasible")
    if job.state is JobState.DONE and not ok:
        state = "Failed"  # the run ended, but without a selection (infeasible, bad input, server error)
    messages = [MessageModel(messageType="Error", text=job.error)] if job.error else []
    return OperationStatusModel(executionState=state, success=ok, messages=messages)


# ---------------------------------------------------------------------------------- the app


@dataclass
class Service:
    settings: ServiceSettings
    store: JobStore
    runner: JobRunner
    metrics: Metrics
    ready_checks: dict[str, Callable[[], None]] = field(default_factory=dict)  # name -> raises when not ready

    def submit(self, spec: JobSpec, dedupe_key: str | None = None) -> Job:
        job, created = self.store.submit(spec, dedupe_key)
        if created:
            log.info("job %s queued for %s (%s)", job.job_id, spec.product, spec.origin)
        self.runner.wake()
        return job

    async def wait(self, job_id: str, seconds: float) -> Job:
        """The job once finished, or as it is after ``seconds``. Waiting holds no thread (only each look
        at the store takes one briefly): a burst of delegations waiting ``wait_s`` each used to take every
        threadpool thread, and every other route queued behind them."""
        deadline = time.monotonic() + seconds
        while True:
            job = await run_in_threadpool(self.store.get, job_id)
            if job is None:
                raise HTTPException(404, f"no job {job_id}")
            if job.state in FINISHED or time.monotonic() >= deadline:
                return job
            await asyncio.sleep(0.05)


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="aas-quantum", version="1", description=__doc__.split("\n\n")[0] if __doc__ else "",
                  responses={401: {"description": "no or a wrong API key / bearer token"}})
    app.router.route_class = _StrictJsonRoute
    settings = service.settings
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes)
    app.add_middleware(_Gate, keys=[k.encode() for k in settings.credentials()],  # outermost: before the limit
                       trusted=networks(settings.trusted_networks, "trusted_networks"),
                       anonymous=settings.allow_anonymous)
    refused: dict[int | str, dict[str, Any]] = {
        413: {"description": f"the body is larger than max_body_bytes ({settings.max_body_bytes})"},
        422: {"model": RefusalModel, "description": "the input names what is wrong"}}

    @app.exception_handler(AasQuantumError)
    async def refused_or_failed(request: Request, exc: AasQuantumError) -> JSONResponse:
        """Bad input is the caller's (400); an AAS server or broker we depend on failing is a bad gateway
        (502); anything else is ours (500), whatever its class."""
        status = {2: 400, 3: 502, 4: 502}.get(exc.exit_code, 500)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    def job_or_404(job_id: str) -> Job:
        job = service.store.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job

    def spec_of(body: Any) -> JobSpec:
        """The job an operation's variables (or a ``JobSpec``) ask for, checked before it is queued."""
        try:
            spec = body if isinstance(body, JobSpec) else operation.job_spec(body)
            check_spec(spec, service.runner.template.method)
        except AasQuantumError as exc:
            raise HTTPException(422, str(exc)) from exc
        return spec

    @app.get("/health")
    async def health() -> dict[str, str]:
        """On the event loop, touching nothing shared: it answers while every threadpool thread is busy."""
        return {"status": "ok"}

    @app.get("/ready", responses={503: {"description": "a dependency is not reachable"}})
    def ready() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, check in {"job_store": service.store.ping, "worker": service.runner.check,
                            **service.ready_checks}.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"{type(exc).__name__}: {exc}"[:300]
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition"}})
    def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/operations/optimize", response_model=list[OperationVariableModel],
              responses=refused)
    async def optimize(body: Annotated[list[OperationVariableModel], Body()]) -> list[dict[str, Any]]:
        """BaSyx operation delegation: input variables in, output variables out (synchronously, up to wait_s)."""
        spec = spec_of([v.model_dump(exclude_none=True) for v in body])
        job = await run_in_threadpool(service.submit, spec)
        return operation.output_variables(await service.wait(job.job_id, service.settings.wait_s))

    @app.post("/operations/optimize/invoke-async", status_code=202,
              response_model=HandleModel, responses=refused)
    def invoke_async(body: OperationRequestModel, response: Response) -> HandleModel:
        spec = spec_of(body.model_dump(exclude_none=True))
        job = service.submit(spec)
        response.headers["Location"] = f"/operation-status/{job.job_id}"
        return HandleModel(handleId=job.job_id)

    @app.get("/operation-status/{handleId}", response_model=OperationStatusModel,
             responses={404: {"description": "no such operation"}})
    def operation_status(handleId: str) -> OperationStatusModel:
        return _status(job_or_404(handleId))

    @app.get("/operation-results/{handleId}", response_model=OperationResultModel,
             responses={404: {"description": "no such operation"}})
    def operation_results(handleId: str) -> OperationResultModel:
        job = job_or_404(handleId)
        status = _status(job)
        return OperationResultModel(**status.model_dump(), outputArguments=[
            OperationVariableModel.model_validate(v) for v in operation.output_variables(job)])

    # ------------------------------------------------ AAS API v3.2: the Submodel Service paths of Optimize

    def result_refused(status: int, text: str) -> JSONResponse:
        return JSONResponse(ResultModel(messages=[MessageModel(messageType="Error", text=text)]).model_dump(),
                            status_code=status)

    def operation_result(job: Job, value_only: bool) -> dict[str, Any]:
        variables = operation.output_variables(job)
        return {**_status(job).model_dump(),
                "outputArguments": operation.value_only(variables) if value_only else variables}

    def handle_job(handle: str) -> Job | None:
        job_id = unb64(handle)
        return service.store.get(job_id) if job_id else None

    async def invocation(request: Request, value_only: bool, asynchronous: bool | None) -> Response:
        """One invocation: the body read as strict JSON (after the gate let the caller in), the job queued
        with the caller's clientTimeoutDuration as its deadline; ``asynchronous`` None: ``?async=`` says."""
        if asynchronous is None:
            flag = request.query_params.get("async", "false").lower()
            if flag not in ("true", "false"):
                return result_refused(400, f"query parameter async must be true or false, got {flag!r}")
            asynchronous = flag == "true"
        try:
            body = strict_json(await request.body())
        except HTTPException as exc:
            return result_refused(400, str(exc.detail))
        except ValueError as exc:  # not JSON at all (or not UTF-8)
            return result_refused(400, f"the body is not JSON: {exc}")
        if not isinstance(body, dict):
            return result_refused(400, "the body must be an OperationRequest object ({\"inputArguments\": ..., "
                                       "\"clientTimeoutDuration\": \"PT60S\"})")
        timeout = body.get("clientTimeoutDuration")
        if asynchronous and timeout is None:
            return result_refused(400, "clientTimeoutDuration is required for an asynchronous invocation "
                                       "(OperationRequestAsync), e.g. \"PT60S\"")
        try:
            seconds = operation.timeout_seconds(timeout) if timeout is not None else None
            arguments = body.get("inputArguments", {} if value_only else [])
            spec = spec_of(operation.from_value_only(arguments) if value_only else {"inputArguments": arguments})
        except AasQuantumError as exc:
            return result_refused(400, str(exc))
        except HTTPException as exc:
            return result_refused(400, str(exc.detail))
        if seconds is not None:
            spec = dataclasses.replace(spec, deadline=time.time() + seconds)
        job = await run_in_threadpool(service.submit, spec)
        if asynchronous:
            return Response(status_code=202, headers={"Location": f"{OPERATION}/operation-status/{b64(job.job_id)}"})
        job = await service.wait(job.job_id, seconds if seconds is not None else settings.wait_s)
        return JSONResponse(operation_result(job, value_only))

    def invoker(value_only: bool, asynchronous: bool | None) -> Callable[[Request], Any]:
        async def invoke(request: Request) -> Response:
            return await invocation(request, value_only, asynchronous)
        return invoke

    invoked: dict[int | str, dict[str, Any]] = {
        202: {"description": "accepted: Location names the status resource", "headers": {
            "Location": {"schema": {"type": "string"}}}},
        400: {"model": ResultModel, "description": "the input names what is wrong"},
        413: refused[413]}

    def body_doc(model: type[BaseModel]) -> dict[str, Any]:
        return {"requestBody": {"required": True, "content": {"application/json": {
            "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}

    for suffix, value_only, asynchronous in (("/invoke", False, None), ("/invoke/$value", True, None),
                                             ("/invoke-async", False, True), ("/invoke-async/$value", True, True)):
        model = OperationResultValueOnlyModel if value_only else OperationResultModel
        app.add_api_route(
            f"{OPERATION}{suffix}", invoker(value_only, asynchronous), methods=["POST"], name=f"v32{suffix}",
            status_code=202, response_class=Response, openapi_extra=body_doc(
                OperationRequestAsyncValueOnlyModel if value_only else OperationRequestAsyncModel),
            responses={**invoked, **({} if asynchronous else {200: {"model": model}})},
            summary=("Asynchronously" if asynchronous else "Invokes (?async=true: asynchronously)") +
            f" the Optimize operation (AAS API v3.2{', value-only' if value_only else ''})")

    def results(value_only: bool) -> Callable[[str], Response]:
        def result(handleId: str) -> Response:
            job = handle_job(handleId)
            if job is None:
                return result_refused(404, f"no operation with handle {handleId}")
            return JSONResponse(operation_result(job, value_only))
        return result

    @app.get(f"{OPERATION}/operation-status/{{handleId}}", response_model=OperationStatusModel,
             responses={302: {"description": "finished: Location names the result resource",
                              "headers": {"Location": {"schema": {"type": "string"}}}},
                        404: {"model": ResultModel, "description": "no such operation"}})
    def v32_status(handleId: str) -> Response:
        """The BaseOperationResult while the run is initiated or running; once it ended, 302 to its result."""
        job = handle_job(handleId)
        if job is None:
            return result_refused(404, f"no operation with handle {handleId}")
        if job.state in FINISHED:
            return Response(status_code=302, headers={"Location": f"{OPERATION}/operation-results/{handleId}"})
        return JSONResponse(_status(job).model_dump())

    for suffix, value_only in (("", False), ("/$value", True)):
        app.add_api_route(f"{OPERATION}/operation-results/{{handleId}}{suffix}", results(value_only), methods=["GET"],
                          name=f"v32 results{suffix}", response_class=Response, responses={
                              200: {"model": OperationResultValueOnlyModel if value_only else OperationResultModel},
                              404: {"model": ResultModel, "description": "no such operation"}})

    @app.post("/jobs", status_code=202, response_model=JobModel, responses=refused)
    def create_job(body: JobSpecModel) -> JobModel:
        spec = spec_of(JobSpec(body.product, body.method, dict(body.parameters), dict(body.overrides), body.dry_run,
                               "api"))
        return JobModel.of(service.submit(spec))

    @app.get("/jobs", response_model=list[JobModel])
    def list_jobs(state: Annotated[JobState | None, Query()] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobModel]:
        return [JobModel.of(job) for job in service.store.list(state, limit)]

    @app.get("/jobs/{job_id}", response_model=JobModel,
             responses={404: {"description": "no such job"}})
    def get_job(job_id: str) -> JobModel:
        return JobModel.of(job_or_404(job_id))

    @app.delete("/jobs/{job_id}", response_model=JobModel,
                responses={404: {"description": "no such job"}})
    def cancel_job(job_id: str) -> JobModel:
        """Cancel a queued job; a running one stops at its next stage boundary."""
        job = service.store.cancel(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return JobModel.of(job)

    return app


# ---------------------------------------------------------------------------------- the root


def build_service(settings: ServiceSettings, repository: Callable[[], Repository], template: RunRequest,
                  listeners: list[Listener], ready_checks: dict[str, Callable[[], None]] | None = None) -> Service:
    """Store, runner and metrics, wired; nothing started."""
    store = open_store(settings.jobs, settings.data_dir, retry_s=settings.lease_s)  # beyond that, others take over
    metrics = Metrics(store.counts)
    runner = JobRunner(store, repository, template, listeners, worker_id=settings.instance_id,
                       concurrency=settings.workers, lease_s=settings.lease_s, finished=metrics.finished)
    return Service(settings, store, runner, metrics, dict(ready_checks or {}))


def serve(settings: ServiceSettings, server: ServerSettings, template: RunRequest,
          publisher: RunPublisher | None = None) -> None:
    """Run the service until SIGINT/SIGTERM: runner, change watcher, HTTP (uvicorn)."""
    long_running()  # run after run: each run's package goes back to the collector when it ends
    import contextlib

    import uvicorn

    from aas_quantum.aas.server import AasClient

    def repository() -> Repository:
        return ServerRepository(server)

    def server_reachable() -> None:
        with AasClient(dataclasses.replace(server, retries=0, timeout_s=5.0)) as client:
            client.request("GET", "/shells", params={"limit": "1"})

    checks: dict[str, Callable[[], None]] = {"aas_server": server_reachable}
    if publisher is not None and publisher.mqtt is not None:
        mqtt = publisher.mqtt
        checks["mqtt_broker"] = lambda: _require(mqtt.connected, "not connected")
    service = build_service(settings, repository, template, [publisher] if publisher else [], checks)
    watcher: ChangeWatcher | None = None
    subscriber = None
    if settings.watch != "off":
        watcher = ChangeWatcher(repository, service.submit, settings.debounce_s)
        service.runner.finished = _chain(service.runner.finished, lambda job, outcome: watcher.refresh(
            [job.spec.product]) if watcher is not None and job.spec.product else None)
        if settings.watch == "mqtt":
            from aas_quantum.publish import MqttSettings
            from aas_quantum.service.events import EventSubscriber

            # connected here, not in the lifespan: a TLS failure is the command's error, not uvicorn's traceback
            subscriber = EventSubscriber(MqttSettings.resolve(settings.events_url,
                                                              client_id=f"aas-quantum-events-{settings.instance_id}"),
                                         watcher.changed, settings.sm_repository_ids, settings.aas_repository_ids
                                         ).connect()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        service.runner.start()
        stop_polling = threading.Event()
        if watcher is not None:
            await asyncio.to_thread(watcher.refresh)
            watcher.start()
            service.ready_checks["watcher"] = watcher.check
            if subscriber is not None:
                subscriber.start()
                service.ready_checks["event_broker"] = subscriber.check
            else:
                threading.Thread(target=_poll_loop, args=(watcher, settings.poll_interval_s, stop_polling),
                                 name="poll", daemon=True).start()
        log.info("serving on %s:%s (instance %s, %d worker(s), watch %s)", settings.host, settings.port,
                 settings.instance_id, settings.workers, settings.watch)
        yield
        stop_polling.set()
        if subscriber is not None:
            subscriber.stop()
        if watcher is not None:
            watcher.stop()
        await asyncio.to_thread(service.runner.stop, settings.shutdown_grace_s)
        service.store.close()

    app = create_app(service)
    app.router.lifespan_context = lifespan
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any local process could then
    # claim a trusted network's address
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=settings.trusted_proxies or None,
                ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
                ssl_keyfile=str(settings.tls_key) if settings.tls_key else None)


def _chain(first: Callable[[Job, RunOutcome | None], None] | None, second: Callable[[Job, RunOutcome | None], None]
           ) -> Callable[[Job, RunOutcome | None], None]:
    def both(job: Job, outcome: RunOutcome | None) -> None:
        if first is not None:
            first(job, outcome)
        second(job, outcome)
    return both


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ConnectionError(what)


def _poll_loop(watcher: ChangeWatcher, interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        try:
            watcher.poll()
        except Exception as exc:  # the server is away: the next round tries again
            log.warning("polling failed: %s", exc)
