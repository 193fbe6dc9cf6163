"""AAS API v3.2 invocation of ``Optimize`` on a real service process against a real BaSyx server: the
Submodel Service paths, ``202`` + ``Location``, the status resource's ``200``/``302``, the result resource,
value-only bodies, ``clientTimeoutDuration``; every body validated against the IDTA OpenAPI schemas
vendored under ``tests/fixtures/aas_api`` (CC BY 4.0)."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from aas_quantum.aas.ids import b64
from aas_quantum.aas.result import result_submodel_id

from tests.service.test_service import DRONE, HOLD_ENV, basyx_payload, outputs, wait_for
from tests.support import FIXTURE_DIR, SMALL, FaultProxy, HeldRead

pytestmark = pytest.mark.timeout(600)

OPERATION = "/submodel/submodel-elements/Optimize"
SPEC = FIXTURE_DIR / "aas_api"
PART1 = "https://api.swaggerhub.com/domains/Plattform_i40/Part1-MetaModel-Schemas/V3.2.0"
PART2 = "https://api.swaggerhub.com/domains/Plattform_i40/Part2-API-Schemas/V3.2.0"


@cache
def _registry() -> Registry:
    documents = {PART1: "Part1-MetaModel-Schemas.yaml", PART2: "Part2-API-Schemas.yaml"}
    return Registry().with_resources(
        (uri, Resource.from_contents(yaml.safe_load((SPEC / name).read_text()), default_specification=DRAFT7))
        for uri, name in documents.items())


def conforms(body: Any, schema: str) -> None:
    """``body`` is a valid Part 2 ``schema`` (OperationResult, BaseOperationResult, Result, ...)."""
    jsonschema.Draft7Validator({"$ref": f"{PART2}#/components/schemas/{schema}"}, registry=_registry()).validate(body)


def specified_paths() -> set[str]:
    """The operation paths of the Submodel Service Specification, for the Optimize operation."""
    paths = yaml.safe_load((SPEC / "SubmodelServiceSpecification-V3.2_SSP-001.yaml").read_text())["paths"]
    return {p.replace("{idShortPath}", "Optimize") for p in paths if "{idShortPath}/" in p and (
        "invoke" in p or "operation-" in p)}


def handle_of(started: httpx.Response) -> str:
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    prefix = f"{OPERATION}/operation-status/"
    assert location.startswith(prefix), location
    return location.removeprefix(prefix)


def finished_status(http: httpx.Client, handle: str, timeout_s: float = 120) -> httpx.Response:
    """The status resource once it redirects (the run ended)."""
    return wait_for(lambda: (r := http.get(f"{OPERATION}/operation-status/{handle}")).status_code == 302 and r,
                    timeout_s)


def result_of(http: httpx.Client, handle: str, value_only: bool = False) -> dict:
    status = finished_status(http, handle)
    suffix = "/$value" if value_only else ""
    assert status.headers["location"] == f"{OPERATION}/operation-results/{handle}"
    result = http.get(status.headers["location"] + suffix)
    assert result.status_code == 200, result.text
    conforms(result.json(), "OperationResultValueOnly" if value_only else "OperationResult")
    return result.json()


def request(product: str, solver: str = "greedy", timeout: str = "PT600S") -> dict:
    return {"inputArguments": basyx_payload(product, solver), "clientTimeoutDuration": timeout}


def test_the_routes_are_the_specifications_paths():
    """Every path the service offers for Optimize is one the Submodel Service Specification names."""
    from aas_quantum.service.api import V32_ROUTES

    assert {f"{OPERATION}{suffix}" for suffix in V32_ROUTES} == specified_paths()


def test_invoke_async_answers_202_the_status_follows_the_run_and_redirects_to_its_result(basyx_server,
                                                                                         aas_service):
    url, _ = basyx_server(SMALL)
    held = HeldRead(DRONE)  # running for as long as the test looks at it
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "greedy", env=HOLD_ENV)
        with service.http() as http:
            started = http.post(f"{OPERATION}/invoke-async", json=request(DRONE))
            handle = handle_of(started)
            assert started.content == b""  # the accepted answer is its Location
            assert held.reached.wait(120)
            running = http.get(f"{OPERATION}/operation-status/{handle}")
            assert running.status_code == 200 and "location" not in running.headers
            assert running.json()["executionState"] == "Running" and running.json()["success"] is False
            conforms(running.json(), "BaseOperationResult")
            held.release()
            result = result_of(http, handle)
            assert result["executionState"] == "Completed" and result["success"] is True
            figures = outputs(result["outputArguments"])
            assert figures["Status"] == "done" and figures["ResultSubmodelId"] == result_submodel_id(DRONE)
            with httpx.Client(timeout=30) as client:
                written = client.get(f"{url}/submodels/{b64(result_submodel_id(DRONE))}")
            assert written.status_code == 200
            values = http.get(f"{OPERATION}/operation-results/{handle}/$value").json()
            conforms(values, "OperationResultValueOnly")
            assert values["outputArguments"]["TotalCost"] == pytest.approx(float(figures["TotalCost"]), rel=1e-5)
            assert values["outputArguments"]["Status"] == "done"

            # value-only in, invoke?async=true as the alias, and a product that is not there: Failed
            alias = http.post(f"{OPERATION}/invoke/$value", params={"async": "true"}, json={
                "inputArguments": {"ProductId": "urn:no-such-product", "Solver": "greedy"},
                "clientTimeoutDuration": "PT10M"})
            failed = result_of(http, handle_of(alias), value_only=True)
            assert failed["executionState"] == "Failed" and failed["success"] is False
            assert failed["messages"][0]["messageType"] == "Error" and "no-such-product" in failed["messages"][0][
                "text"]
            async_alias = http.post(f"{OPERATION}/invoke", params={"async": "true"}, json=request(DRONE))
            assert result_of(http, handle_of(async_alias))["executionState"] == "Completed"

            # synchronous invoke: the OperationResult itself
            sync = http.post(f"{OPERATION}/invoke/$value", json={"inputArguments": {"ProductId": DRONE,
                                                                                      "Solver": "greedy"}})
            assert sync.status_code == 200, sync.text
            conforms(sync.json(), "OperationResultValueOnly")
            assert sync.json()["executionState"] == "Completed" and sync.json()["outputArguments"]["Status"] == "done"
            missing = http.get(f"{OPERATION}/operation-status/{b64('no-such-job')}")
            assert missing.status_code == 404
            conforms(missing.json(), "Result")


def test_client_timeout_stops_a_run_that_has_not_written_and_a_cancel_is_canceled(basyx_server, aas_service):
    """A run still reading when its clientTimeoutDuration passes stops before it writes (Timeout); one still
    queued past its deadline stops before it solves (Timeout); a cancelled one is Canceled; one within its
    time completes and is written."""
    url, _ = basyx_server(SMALL)
    held = HeldRead(DRONE)
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "greedy", env=HOLD_ENV)
        with service.http() as http:
            posted = time.time()
            slow = handle_of(http.post(f"{OPERATION}/invoke-async", json=request(DRONE, timeout="PT2S")))
            assert held.reached.wait(120)
            queued = handle_of(http.post(f"{OPERATION}/invoke-async", json=request(DRONE, timeout="PT1S")))
            cancelled = handle_of(http.post(f"{OPERATION}/invoke-async", json=request(DRONE)))
            kept = handle_of(http.post(f"{OPERATION}/invoke-async", json=request(DRONE)))
            initiated = http.get(f"{OPERATION}/operation-status/{cancelled}")
            assert initiated.status_code == 200 and initiated.json()["executionState"] == "Initiated"
            assert http.delete(f"/jobs/{_job_id(cancelled)}").json()["state"] == "cancelled"
            wait_for(lambda: time.time() > posted + 2.5, 10)  # both deadlines pass while the run is held
            held.release()
            for handle in (slow, queued):
                timed_out = result_of(http, handle)
                assert timed_out["executionState"] == "Timeout" and timed_out["success"] is False, timed_out
                assert "clientTimeoutDuration" in timed_out["messages"][0]["text"]
            assert http.get(f"/jobs/{_job_id(queued)}").json()["started_at"] is not None
            assert result_of(http, cancelled)["executionState"] == "Canceled"
            assert result_of(http, kept)["executionState"] == "Completed"
    with httpx.Client(timeout=30) as client:  # one write: the kept run's
        written = client.get(f"{url}/submodels/{b64(result_submodel_id(DRONE))}").json()
    assert written["administration"]["version"] == "1"


def _job_id(handle: str) -> str:
    from aas_quantum.aas.ids import unb64

    return unb64(handle)


NAN_BODY = ('{"inputArguments": [{"value": {"modelType": "Property", "idShort": "ProductId", "value": "x"}}, '
            '{"value": {"modelType": "Property", "idShort": "Budget", "value": NaN}}], '
            '"clientTimeoutDuration": "PT60S"}')


@pytest.mark.parametrize(("path", "body", "named"), [
    ("/invoke-async", NAN_BODY, "Budget"),
    ("/invoke-async/$value", '{"inputArguments": {"ProductId": "x", "TimeLimit": Infinity}, '
                             '"clientTimeoutDuration": "PT60S"}', "TimeLimit"),
    ("/invoke-async", '{"inputArguments": []}', "clientTimeoutDuration"),
    ("/invoke-async", '{"inputArguments": [], "clientTimeoutDuration": "60s"}', "clientTimeoutDuration"),
    ("/invoke-async", '{"inputArguments": [], "clientTimeoutDuration": "P1M"}', "clientTimeoutDuration"),
    ("/invoke-async/$value", '{"inputArguments": {"ProductId": "x", "Colour": "red"}, '
                             '"clientTimeoutDuration": "PT60S"}', "Colour"),
    ("/invoke-async/$value", '{"inputArguments": [1, 2], "clientTimeoutDuration": "PT60S"}', "inputArguments"),
    ("/invoke-async", '[1, 2]', "OperationRequest"),
    ("/invoke?async=maybe", '{"inputArguments": []}', "async"),
])
def test_bad_input_is_a_400_result_naming_what_is_wrong(basyx_server, aas_service, path, body, named):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    with service.http() as http:
        refused = http.post(f"{OPERATION}{path}", content=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 400, refused.text
        conforms(refused.json(), "Result")
        assert named in refused.json()["messages"][0]["text"], refused.text
        assert http.get("/jobs").json() == []


def test_every_v32_route_needs_the_key_before_the_body_is_read(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    anonymous = httpx.Client(base_url=service.url, timeout=30)
    for path in sorted(specified_paths()):
        path = path.replace("{handleId}", b64("x"))
        method = "GET" if "operation-" in path else "POST"
        refused = anonymous.request(method, path, content=b"{not json at all", headers={
            "Content-Type": "application/json", "Authorization": "Bearer not-the-key"})
        assert refused.status_code == 401, (path, refused.text)
        assert "not json" not in refused.text and "not-the-key" not in refused.text
    with service.http() as http:  # the same body with the key: the route is there and refuses the body
        for path in sorted(p for p in specified_paths() if "invoke" in p):
            refused = http.post(path, content=b"{not json at all", headers={"Content-Type": "application/json"})
            assert refused.status_code == 400 and refused.json()["messages"], (path, refused.text)
        assert http.get("/jobs").json() == []
