"""The AAS server extension end to end, with real parts: the BaSyx Python server, mosquitto, PostgreSQL
and ``aas-quantum serve`` as its own process (uvicorn). Delegation exactly as BaSyx Java sends it,
re-optimisation on BaSyx-format events and by polling, SIGKILL mid-write and restart, two instances
on one PostgreSQL queue, the Optimize operation on the twin, and the served OpenAPI under
schemathesis."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as paho
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from paho.mqtt.enums import CallbackAPIVersion
from schemathesis import checks

from aas_quantum.aas.ids import b64
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, ServerSettings
from aas_quantum.cli import app
from aas_quantum.service.jobs import SqliteJobStore
from aas_quantum.service.operation import DELEGATION_QUALIFIER, operations_submodel_id

from tests.support import (
    LARGE,
    MEDIUM,
    REPO,
    SERVICE_KEY,
    SMALL,
    FaultProxy,
    HeldRead,
    Subscriber,
    idta_findings,
    tls_certificates,
)

DRONE = "urn:aas-quantum:sample:drone:aas"
EBIKE = "urn:aas-quantum:sample:ebike-drive:aas"
CABINET = "urn:aas-quantum:sample:control-cabinet:aas"
pytestmark = pytest.mark.timeout(600)


def basyx_payload(product: str, solver: str | None = None) -> list[dict]:
    """The body BaSyx Java POSTs to the delegation URL: the Operation's input variables, each a full
    SubmodelElement (semanticId, description) with the value the caller filled in."""
    def variable(name: str, value: str | None, value_type: str = "xs:string") -> dict:
        element = {"modelType": "Property", "idShort": name, "valueType": value_type,
                   "semanticId": {"type": "ExternalReference",
                                  "keys": [{"type": "GlobalReference",
                                            "value": f"urn:aas-quantum:concept:Optimize{name}:1:0"}]},
                   "description": [{"language": "en", "text": name}]}
        if value is not None:
            element["value"] = value
        return {"value": element}

    return [variable("ProductId", product), variable("Solver", solver), variable("TimeLimit", None, "xs:double")]


def outputs(body: list[dict]) -> dict[str, str | None]:
    return {v["value"]["idShort"]: v["value"].get("value") for v in body}


def wait_for(check, timeout_s: float = 60.0, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval_s)
    raise AssertionError(f"not within {timeout_s} s: {check.__doc__ or check}")


def server_result(url: str, shell: str) -> tuple[dict, int]:
    """The result submodel's JSON and how often the shell references it."""
    with httpx.Client(timeout=30) as client:
        result = client.get(f"{url}/submodels/{b64(result_submodel_id(shell))}").json()
        refs = [r["keys"][-1]["value"] for r in client.get(f"{url}/shells/{b64(shell)}").json()["submodels"]]
    return result, refs.count(result_submodel_id(shell))


def kpi(result: dict, name: str) -> float:
    kpis = next(e for e in result["submodelElements"] if e["idShort"] == "KPIs")
    return float(next(e["value"] for e in kpis["value"] if e["idShort"] == name))


def run_id(result: dict) -> str:
    return next(e["value"] for e in result["submodelElements"] if e["idShort"] == "RunId")


HOLD_ENV = {"AAS_QUANTUM_TIMEOUT": "300"}  # the held read must not time out and be retried past the hold


def logged(service, *texts: str) -> bool:
    log = service.log.read_text()
    return any(text in log for text in texts)


# ------------------------------------------------------------------------------ delegation


def test_delegation_as_basyx_sends_it_writes_the_result_and_publishes_it(basyx_server, mosquitto, aas_service):
    url, _ = basyx_server(SMALL)
    broker = mosquitto()
    subscriber = Subscriber(broker.port, ["aas-quantum/+/result"])
    service = aas_service("--server", url, "--mqtt", broker.url)
    with service.http() as http:
        answer = http.post("/operations/optimize", json=basyx_payload(DRONE, "exact"))
    assert answer.status_code == 200, answer.text
    out = outputs(answer.json())
    assert out["Status"] == "done" and out["ResultSubmodelId"] == result_submodel_id(DRONE)
    result, references = server_result(url, DRONE)
    assert references == 1
    assert float(out["TotalCost"]) == pytest.approx(kpi(result, "TotalCost"), rel=1e-5)
    assert float(out["GapToOptimumPercent"]) == 0.0  # exact: the proven optimum
    (_topic, payload, _retained), = subscriber.drain(until=1)
    subscriber.close()
    assert payload["run_id"] == run_id(result) and payload["kpis"]["total_cost"] == pytest.approx(
        kpi(result, "TotalCost"))
    with service.http() as http:
        job = http.get(f"/jobs/{out['JobId']}").json()
        assert job["state"] == "done" and job["run_id"] == run_id(result) and job["origin"] == "operation"
        metrics = http.get("/metrics").text
    assert 'aas_quantum_runs_total{method="exact",outcome="ok"} 1.0' in metrics
    log_lines = [json.loads(line) for line in service.log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("job_id") == out["JobId"] and line.get("run_id") == job["run_id"] for line in log_lines)


def test_a_long_run_answers_at_once_with_its_job_and_the_async_shape_follows_it(basyx_server, aas_service):
    url, _ = basyx_server(MEDIUM)
    service = aas_service("--server", url, env={"AAS_QUANTUM_SERVICE_WAIT_S": "0.2"})
    with service.http() as http:
        answer = outputs(http.post("/operations/optimize", json=basyx_payload(EBIKE, "exact")).json())
        assert answer["Status"] in ("queued", "running") and answer["TotalCost"] is None
        started = http.post("/operations/optimize/invoke-async",
                            json={"inputArguments": basyx_payload(EBIKE, "greedy")})
        assert started.status_code == 202
        handle = started.json()["handleId"]
        assert started.headers["location"] == f"/operation-status/{handle}"
        status = wait_for(lambda: (s := http.get(f"/operation-status/{handle}").json())["executionState"]
                          in ("Completed", "Failed") and s)
        assert status["executionState"] == "Completed" and status["success"] is True
        final = http.get(f"/operation-results/{handle}").json()
        figures = outputs(final["outputArguments"])
        assert figures["Status"] == "done" and float(figures["TotalCost"]) > 0
        first = wait_for(lambda: (j := http.get(f"/jobs/{answer['JobId']}").json())["state"] == "done" and j)
        assert first["outcome"]["kpis"]["gap_to_optimum_pct"] == 0.0
        assert http.get("/operation-status/no-such-handle").status_code == 404


def test_every_route_but_health_needs_credentials(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    anonymous = httpx.Client(base_url=service.url, timeout=30)
    assert anonymous.get("/health").status_code == 200
    for method, path in [("GET", "/jobs"), ("GET", "/ready"), ("GET", "/metrics"), ("POST", "/operations/optimize"),
                         ("GET", "/jobs/x"), ("DELETE", "/jobs/x"), ("GET", "/operation-status/x"),
                         ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/no-such-route")]:
        assert anonymous.request(method, path).status_code == 401, path
        wrong = anonymous.request(method, path, headers={"Authorization": "Bearer not-the-key"})
        assert wrong.status_code == 401 and "not-the-key" not in wrong.text, path
    bearer = anonymous.get("/jobs", headers={"Authorization": f"Bearer {SERVICE_KEY}"})
    assert bearer.status_code == 200
    ready = anonymous.get("/ready", headers={"X-API-Key": SERVICE_KEY}).json()
    assert ready == {"ready": True, "checks": {"job_store": "ok", "worker": "ok", "aas_server": "ok"}}
    for path in ("/openapi.json", "/docs", "/redoc"):  # the key opens them like any other route
        assert anonymous.get(path, headers={"X-API-Key": SERVICE_KEY}).status_code == 200, path
    assert SERVICE_KEY not in service.log.read_text() and "not-the-key" not in service.log.read_text()


def _post_keyless(service, body: list[dict], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{service.url}/operations/optimize", json=body, headers=headers, timeout=60)


SPOOFED = [{"X-Forwarded-For": "10.9.9.5"}, {"X-Forwarded-For": "10.9.9.5, 127.0.0.1"},
           {"X-Forwarded-For": "127.0.0.1, 10.9.9.5"}, {"X-Forwarded-For": "10.9.9.5:4711"},
           {"Forwarded": "for=10.9.9.5"}, {"X-Real-IP": "10.9.9.5"}, {}]


def test_trusted_networks_let_in_the_peer_inside_and_no_forwarded_header_counts(basyx_server, aas_service):
    """The peer of the connection is what is matched: one inside trusted_networks calls the delegation
    without a key (only the delegation); one outside gets 401 whatever proxy headers it sends (uvicorn
    believed X-Forwarded-For from 127.0.0.1 by default, so any local process was 'in' 10.9.9.0/24)."""
    url, _ = basyx_server(SMALL)
    fast = {"AAS_QUANTUM_SERVICE_WAIT_S": "0.2"}
    outside = aas_service("--server", url, "--solver", "greedy",
                          env={**fast, "AAS_QUANTUM_SERVICE_TRUSTED_NETWORKS": "10.9.9.0/24"})
    for headers in SPOOFED:
        refused = _post_keyless(outside, basyx_payload(DRONE), headers)
        assert refused.status_code == 401, (headers, refused.text)
    with outside.http() as http:
        assert http.get("/jobs").json() == []  # nothing ran
    inside = aas_service("--server", url, "--solver", "greedy",
                         env={**fast, "AAS_QUANTUM_SERVICE_TRUSTED_NETWORKS": "127.0.0.0/8"})
    answer = _post_keyless(inside, basyx_payload(DRONE), {})
    assert answer.status_code == 200, answer.text
    assert outputs(answer.json())["JobId"]
    assert httpx.get(f"{inside.url}/jobs", timeout=30).status_code == 401  # trusted for the delegation only


def test_trusted_proxies_make_the_forwarded_address_the_one_matched(basyx_server, aas_service):
    """Behind a configured reverse proxy the caller is the address the proxy forwards (IPv4-mapped
    IPv6 included), not the proxy's own."""
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url, "--solver", "greedy",
                          env={"AAS_QUANTUM_SERVICE_WAIT_S": "0.2", "AAS_QUANTUM_SERVICE_TRUSTED_PROXIES": "127.0.0.1",
                               "AAS_QUANTUM_SERVICE_TRUSTED_NETWORKS": "10.9.9.0/24"})
    for forwarded in ("10.9.9.5", "::ffff:10.9.9.5", "10.9.9.5, 127.0.0.1", "192.0.2.7, 10.9.9.5"):
        answer = _post_keyless(service, basyx_payload(DRONE), {"X-Forwarded-For": forwarded})
        assert answer.status_code == 200, (forwarded, answer.text)
    for forwarded in ("192.0.2.7", "10.9.9.5, 192.0.2.7", "::ffff:192.0.2.7", "not-an-address"):
        refused = _post_keyless(service, basyx_payload(DRONE), {"X-Forwarded-For": forwarded})
        assert refused.status_code == 401, (forwarded, refused.text)
    assert _post_keyless(service, basyx_payload(DRONE), {}).status_code == 401  # the proxy itself is not in


def _raw(port: int, head: str, body: bytes = b"") -> int:
    """Send a request byte for byte (a body as long or as short as the test wants, whatever Content-Length
    says) and return the status line's code; the server must answer without waiting for more."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_keyless_bodies_are_refused_unread_and_large_ones_are_cut_off(basyx_server, aas_service):
    """401 comes from the headers alone, before the body is read or parsed; a body over max_body_bytes is
    413 as soon as that is known (a declared length over it: at once; a chunked one: once it passes it),
    not after reading it all."""
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url, env={"AAS_QUANTUM_SERVICE_MAX_BODY_BYTES": str(1 << 20)})
    port = service.port

    def head(length: int | None, key: bool) -> str:
        return ("POST /operations/optimize HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
                + (f"X-API-Key: {SERVICE_KEY}\n" if key else "")
                + (f"Content-Length: {length}\n" if length is not None else "Transfer-Encoding: chunked\n"))

    deep = b"[" * 100_000
    for body in (b"{not json", deep, json.dumps([{"value": {"idShort": "ProductId", "value": 1}}]).encode()):
        assert _raw(port, head(len(body), key=False), body) == 401, body[:20]
    assert _raw(port, head(40_000_000, key=False)) == 401  # 40 MB announced, none sent: answered unread
    assert _raw(port, head(len(deep), key=True), deep) == 422  # with the key: refused for what it is
    assert _raw(port, head(40_000_000, key=True), b"[" * 1000) == 413  # over the limit by its length alone
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * (64 * 1024))
    assert _raw(port, head(None, key=True), chunk * 17) == 413  # 1.06 MiB of an endless chunked body
    with service.http() as http:
        assert http.get("/jobs").json() == []
        assert http.get("/health").status_code == 200  # the service is fine afterwards


def test_health_answers_while_a_burst_of_delegations_waits(basyx_server, aas_service):
    """A delegation waits up to wait_s for its run. Sixty of them (more than the 40 threads of the service's
    threadpool) wait on jobs that cannot finish: the worker's first read hangs in the proxy until the test
    releases it. /health and /jobs answer while every one of the sixty is still pending (each waiting call
    held a thread before, and /health queued behind them)."""
    url, _ = basyx_server(SMALL)
    release = threading.Event()

    def rule(method: str, path: str) -> None:
        release.wait(240)
        return None

    burst = 60
    env = {"AAS_QUANTUM_SERVICE_WAIT_S": "240", "AAS_QUANTUM_TIMEOUT": "300"}
    with FaultProxy(url, rule) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "greedy", env=env)

        def delegate(_: int) -> httpx.Response:
            with httpx.Client(base_url=service.url, headers={"X-API-Key": SERVICE_KEY}, timeout=300) as http:
                return http.post("/operations/optimize", json=basyx_payload(DRONE))

        with ThreadPoolExecutor(burst) as pool:
            calls = [pool.submit(delegate, i) for i in range(burst)]
            try:
                wait_for(lambda: service.log.read_text().count("queued for") >= 40, 120)
                with service.http() as http:
                    health = http.get("/health", timeout=60)
                    listed = http.get("/jobs", params={"limit": 1000}, timeout=60)
                still_pending = sum(not call.done() for call in calls)
                assert health.status_code == 200 and listed.status_code == 200
                assert still_pending == burst
            finally:
                release.set()
                with service.http() as http:  # let the waits end: the queued jobs are cancelled
                    for job in http.get("/jobs", params={"state": "queued", "limit": 1000}).json():
                        http.delete(f"/jobs/{job['job_id']}")
            answers = [call.result(timeout=240) for call in calls]
    assert all(a.status_code == 200 for a in answers)
    assert sorted({outputs(a.json())["Status"] for a in answers}) in (["cancelled", "done"], ["cancelled"])


def test_bad_operation_input_is_a_422_naming_it(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)

    def variable(name: str, value: str) -> dict:
        return {"value": {"modelType": "Property", "idShort": name, "valueType": "xs:string", "value": value}}

    with service.http() as http:
        bad_solver = http.post("/operations/optimize", json=basyx_payload(DRONE, "quantum-magic"))
        assert bad_solver.status_code == 422 and "quantum-magic" in bad_solver.text
        no_product = http.post("/operations/optimize", json=basyx_payload("", "exact"))
        assert no_product.status_code == 422 and "ProductId" in no_product.text
        twice = http.post("/operations/optimize", json=[variable("ProductId", DRONE), variable("ProductId", EBIKE)])
        assert twice.status_code == 422 and "ProductId is given twice" in twice.text, twice.text
        for limit in ("0", "-1", "NaN", "inf"):
            refused = http.post("/operations/optimize", json=[variable("ProductId", DRONE),
                                                              variable("TimeLimit", limit)])
            assert refused.status_code == 422 and "TimeLimit" in refused.text, (limit, refused.text)
        for parameters, named in (({"reps": 0}, "reps"), ({"not_a_parameter": 1}, "not_a_parameter"),
                                  ({"time_limit_s": 0}, "time_limit_s")):
            refused = http.post("/jobs", json={"product": DRONE, "parameters": parameters})  # no method named
            assert refused.status_code == 422 and named in refused.text, (parameters, refused.text)
        assert http.get("/jobs").json() == []  # nothing refused was queued
        unknown_product = outputs(http.post("/operations/optimize",
                                            json=basyx_payload("urn:nowhere", "exact")).json())
        assert unknown_product["Status"] == "failed" and "urn:nowhere" in unknown_product["Message"]


def test_nan_and_infinity_in_any_body_are_422_naming_where(basyx_server, aas_service):
    """JSON has no NaN or Infinity, Python's parser takes them: a NaN in an operation variable broke the
    validation error's own response (500 with a traceback), one in a job's parameters reached the solver."""
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    product = '{"value": {"modelType": "Property", "idShort": "ProductId", "value": "DRONE"}}'

    def variable(name: str, constant: str) -> str:  # written out: json.dumps would not write NaN as a constant
        return f'{{"value": {{"modelType": "Property", "idShort": "{name}", "value": {constant}}}}}'

    bodies = [
        ("/operations/optimize", f'[{product}, {variable("TimeLimit", "NaN")}]', "TimeLimit"),
        ("/operations/optimize", f'[{product}, {variable("Budget", "-Infinity")}]', "Budget"),
        ("/operations/optimize/invoke-async",
         f'{{"inputArguments": [{product}, {variable("MaxTotalWeight", "Infinity")}]}}', "MaxTotalWeight"),
        ("/jobs", '{"product": "DRONE", "parameters": {"time_limit_s": NaN}}', "parameters.time_limit_s"),
        ("/jobs", '{"product": "DRONE", "overrides": {"budget": Infinity}}', "overrides.budget"),
        ("/jobs", '{"product": "DRONE", "overrides": {"budget": 1e400}}', "overrides.budget"),
        ("/jobs", '{"product": "DRONE", "product": "urn:other"}', "product"),
    ]
    with service.http() as http:
        for path, body, named in bodies:
            refused = http.post(path, content=body.replace("DRONE", DRONE),
                                headers={"Content-Type": "application/json"})
            assert refused.status_code == 422 and named in refused.json()["detail"], (path, body, refused.text)
        assert http.get("/jobs").json() == []
    assert "Traceback" not in service.log.read_text()
@pytest.mark.parametrize("body", [
    # the hybrid with patience 0 and a NaN time limit blocked the worker and its queue for good
    '{"product": "%s", "method": "hybrid", "parameters": {"time_limit_s": NaN, "patience": 0}} time_limit_s',
    '{"product": "%s", "parameters": {"time_limit_s": Infinity}} time_limit_s',
    '{"product": "%s", "parameters": {"reps": 0}} reps (--reps) must be a number >= 1',
    '{"product": "%s", "parameters": {"bogus": 1}} unknown solver parameter',  # no method named
    '{"product": "%s", "overrides": {"max_total_weight_kg": Infinity}} overrides.max_total_weight_kg',
    '{"product": "%s", "overrides": {"co2_price_per_kg": NaN}} overrides.co2_price_per_kg',
    '{"product": "%s", "overrides": {"budget": -5}} override budget must be a non-negative number',
    '{"product": "%s", "overrides": {"lot_size": 0}} override lot_size must be a positive number',
    '{"product": "%s", "overrides": {"cost": -1}} override cost must be a non-negative number',
])
def test_a_job_number_no_run_could_use_is_refused_before_it_is_queued(basyx_server, aas_service, body):
    """Each was accepted (202) and failed, hung or answered "infeasible" at run time, blaming the
    server's request element; now it is refused up front naming the parameter or override."""
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    document, _, named = (body % DRONE).partition("} ")
    with service.http() as http:
        refused = http.post("/jobs", content=document + "}", headers={"Content-Type": "application/json"})
        assert refused.status_code in (400, 422) and named in refused.text, refused.text
        assert "BomOptimizationRequest" not in refused.text
        assert http.get("/jobs").json() == []  # nothing was queued


def test_an_optimize_call_with_time_limit_zero_is_refused_before_it_is_queued(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url)
    payload = basyx_payload(DRONE)  # no Solver: the request's method decides later, the value is checked now
    payload[2]["value"]["value"] = "0"
    with service.http() as http:
        refused = http.post("/operations/optimize", json=payload)
        assert refused.status_code in (400, 422) and "TimeLimit" in refused.text and "> 0" in refused.text
        assert http.get("/jobs").json() == []


# ------------------------------------------------------------------------ re-optimisation


def _set_price(url: str, part: str, price: float) -> dict:
    """Change the UnitPrice of every offer of ``part`` on the server; returns the changed submodel's JSON."""
    with httpx.Client(timeout=30) as client:
        submodels = client.get(f"{url}/submodels", params={"limit": 1000}).json()["result"]
        for submodel in submodels:
            offers = next((e for e in submodel.get("submodelElements", []) if e.get("idShort") == "Offers"), None)
            if offers is None:
                continue
            touched = False
            for offer in offers["value"]:
                values = {e["idShort"]: e for e in offer["value"]}
                if values["PartNumber"]["value"] == part:
                    values["UnitPrice"]["value"] = str(price)
                    touched = True
            if touched:
                assert client.put(f"{url}/submodels/{b64(submodel['id'])}", json=submodel).status_code in (200, 204)
                return submodel
    raise AssertionError(f"no offer of {part}")


def _selection(result: dict) -> dict[str, tuple[str, float]]:
    lines = next(e for e in result["submodelElements"] if e["idShort"] == "Selection")["value"]
    picked = {}
    for line in lines:
        values = {e["idShort"]: e.get("value") for e in line["value"]}
        picked[values["PartNumber"]] = (values["SupplierId"], float(values["UnitPrice"]))
    return picked


def _expected_total(url: str, cli, tmp_path: Path) -> float:
    """What an exact run on the server's current data costs (a dry run writes nothing to the server)."""
    done = cli.invoke(app, ["optimize", "--server", url, "--shell", DRONE, "--solver", "exact", "--dry-run",
                            "--json", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)["kpis"]["total_cost"]


def _jobs(http: httpx.Client, origin: str) -> list[dict]:
    return [j for j in http.get("/jobs").json() if j["origin"] == origin]


def test_a_basyx_update_event_reoptimises_and_a_burst_gives_one_run(basyx_server, mosquitto, aas_service, cli,
                                                                    tmp_path):
    url, _ = basyx_server(SMALL)
    broker = mosquitto()
    service = aas_service("--server", url, "--solver", "exact", "--watch", "mqtt", "--events", broker.url,
                          env={"AAS_QUANTUM_SERVICE_DEBOUNCE_S": "1.5"})
    publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    with service.http() as http:
        wait_for(lambda: http.get("/ready").json()["checks"].get("event_broker") == "ok")
        first = outputs(http.post("/operations/optimize", json=basyx_payload(DRONE)).json())
        assert first["Status"] == "done"
        before, _ = server_result(url, DRONE)
        # what BaSyx Java publishes after the service's own write: the result created, the shell updated
        # with its new reference; neither is a change of the product's inputs
        with httpx.Client(timeout=30) as client:
            shell = client.get(f"{url}/shells/{b64(DRONE)}").json()
        publisher.publish("sm-repository/aas-env/submodels/created", json.dumps(before), qos=1).wait_for_publish()
        publisher.publish("aas-repository/aas-env/shells/updated", json.dumps(shell), qos=1).wait_for_publish()
        time.sleep(3)  # longer than the debounce window
        assert _jobs(http, "event") == []
        part, (supplier, price) = next(iter(_selection(before).items()))
        changed = _set_price(url, part, price * 3)  # the chosen part becomes expensive
        publisher.publish("sm-repository/aas-env/submodels/updated", json.dumps(changed), qos=1).wait_for_publish()
        job = wait_for(lambda: [j for j in _jobs(http, "event") if j["state"] == "done"], 90)[0]
        after, references = server_result(url, DRONE)
        assert references == 1 and run_id(after) == job["run_id"]
        assert kpi(after, "TotalCost") == pytest.approx(_expected_total(url, cli, tmp_path), rel=1e-6)
        assert _selection(after).get(part, (supplier, price * 3))[1] == pytest.approx(price * 3)

        # a burst of 10 element events within the debounce window: exactly one more run
        encoded = b64(changed["id"])
        for i in range(10):
            publisher.publish(f"sm-repository/aas-env/submodels/{encoded}/submodelElements/Offers[{i}]/updated",
                              b"{}", qos=1).wait_for_publish()
            time.sleep(0.05)
        wait_for(lambda: len(_jobs(http, "event")) == 2 and all(j["state"] == "done" for j in _jobs(http, "event")),
                 30)
        time.sleep(3)  # longer than the window: nothing else arrives, the service's own write is no change
        assert len(_jobs(http, "event")) == 2
    publisher.loop_stop()
    publisher.disconnect()


def test_polling_detects_a_change_without_events_and_ignores_its_own_writes(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url, "--solver", "greedy", "--watch", "poll",
                          env={"AAS_QUANTUM_SERVICE_POLL_INTERVAL_S": "0.5", "AAS_QUANTUM_SERVICE_DEBOUNCE_S": "0.2"})
    with service.http() as http:
        first = outputs(http.post("/operations/optimize", json=basyx_payload(DRONE)).json())
        assert first["Status"] == "done"
        time.sleep(2.5)  # several polls after the service's own write: no change
        assert _jobs(http, "event") == []
        before, _ = server_result(url, DRONE)
        part, (_, price) = next(iter(_selection(before).items()))
        _set_price(url, part, price * 3)
        job = wait_for(lambda: [j for j in _jobs(http, "event") if j["state"] == "done"], 30)[0]
        after, references = server_result(url, DRONE)
        assert run_id(after) == job["run_id"] and references == 1
        time.sleep(2.5)
        assert len(_jobs(http, "event")) == 1


def _input_submodel(url: str) -> dict:
    """A submodel the drone's run reads (a supplier's offers): an event about it concerns the drone."""
    with httpx.Client(timeout=30) as client:
        return next(s for s in client.get(f"{url}/submodels", params={"limit": 1000}).json()["result"]
                    if any(e.get("idShort") == "Offers" for e in s.get("submodelElements", [])))


def _publisher(port: int) -> paho.Client:
    publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    return publisher


def _event_jobs_done(http: httpx.Client, count: int) -> list[dict]:
    """Wait until ``count`` event jobs have run to done."""
    return wait_for(lambda: len(done := [j for j in _jobs(http, "event") if j["state"] == "done"]) >= count
                    and done, 90)


MALFORMED_EVENTS = [  # each raised in paho's thread before: no later event created a job
    ("sm-repository/aas-env/submodels/updated", {"id": "x", "semanticId": "y"}),
    ("sm-repository/aas-env/submodels/updated", {"id": "x", "semanticId": {"keys": ["a"]}}),
    ("aas-repository/aas-env/shells/updated", {"id": DRONE, "submodels": [{"keys": "x"}]}),
]


def test_a_malformed_event_is_logged_once_and_acknowledged_and_the_watcher_goes_on(basyx_server, mosquitto,
                                                                                   aas_service, tmp_path):
    url, _ = basyx_server(SMALL)
    broker = mosquitto()
    directory = tmp_path / "svc"
    directory.mkdir()
    args = ("--server", url, "--solver", "greedy", "--watch", "mqtt", "--events", broker.url)
    env = {"AAS_QUANTUM_SERVICE_DEBOUNCE_S": "0.2", "AAS_QUANTUM_SERVICE_INSTANCE_ID": "node-a"}
    service = aas_service(*args, env=env, directory=directory)
    publisher = _publisher(broker.port)
    good = json.dumps(_input_submodel(url))
    try:
        with service.http() as http:
            wait_for(lambda: http.get("/ready").json()["checks"].get("event_broker") == "ok")
            for topic, body in MALFORMED_EVENTS:
                publisher.publish(topic, json.dumps(body), qos=1).wait_for_publish()
            publisher.publish("sm-repository/aas-env/submodels/updated", good, qos=1).wait_for_publish()
            _event_jobs_done(http, 1)  # the good event after the bad ones still re-optimises
            ready = http.get("/ready")
            assert ready.status_code == 200 and ready.json()["checks"]["watcher"] == "ok", ready.text
        logged = service.log.read_text().count("ignored a malformed event")
        assert logged == len(MALFORMED_EVENTS)  # once each, naming the topic and the field
        assert "semanticId must be a reference object" in service.log.read_text()
        service.stop()
        # the bad events were acknowledged: the persistent session does not hand them over again
        restarted = aas_service(*args, env=env, directory=directory)
        with restarted.http() as http:
            wait_for(lambda: http.get("/ready").json()["checks"].get("event_broker") == "ok")
            publisher.publish("sm-repository/aas-env/submodels/updated", good, qos=1).wait_for_publish()
            _event_jobs_done(http, 2)
        assert restarted.log.read_text().count("ignored a malformed event") == logged  # nothing redelivered
    finally:
        publisher.loop_stop()
        publisher.disconnect()


def test_the_watcher_reconnects_after_the_broker_restarts(basyx_server, mosquitto, aas_service):
    url, _ = basyx_server(SMALL)
    broker = mosquitto()
    service = aas_service("--server", url, "--solver", "greedy", "--watch", "mqtt", "--events", broker.url,
                          env={"AAS_QUANTUM_SERVICE_DEBOUNCE_S": "0.2", "AAS_QUANTUM_MQTT_RECONNECT_MAX_S": "2"})
    with service.http() as http:
        wait_for(lambda: http.get("/ready").json()["checks"].get("event_broker") == "ok")
        broker.stop()
        down = wait_for(lambda: (r := http.get("/ready")).status_code == 503 and r.json())
        assert down["checks"]["event_broker"].startswith("ConnectionError")  # names what is missing
        broker.start()  # same port, same persistence
        wait_for(lambda: http.get("/ready").status_code == 200, 90)
        publisher = _publisher(broker.port)
        try:
            publisher.publish("sm-repository/aas-env/submodels/updated", json.dumps(_input_submodel(url)),
                              qos=1).wait_for_publish()
            _event_jobs_done(http, 1)
        finally:
            publisher.loop_stop()
            publisher.disconnect()


# ------------------------------------------------------------------------ crashes and scale


def test_sigkill_mid_write_then_restart_writes_the_result_exactly_once(basyx_server, aas_service, tmp_path):
    """The service dies after the result submodel reached the server but before the shell references it;
    after a restart the job is run again under its run id: the result is the same version, referenced once."""
    url, _ = basyx_server(SMALL)
    reached, killed = threading.Event(), threading.Event()
    blocked = threading.Event()
    blocked.set()

    def rule(method: str, path: str):
        if method == "POST" and urlsplit(path).path.endswith("/submodel-refs") and blocked.is_set():
            reached.set()
            killed.wait(120)  # held until the process is dead: its run cannot see the refusal and fail first
            return "refuse"  # the reference never arrives from the killed process
        return None

    env = {"AAS_QUANTUM_SERVICE_INSTANCE_ID": "node-a", "AAS_QUANTUM_RETRIES": "0", **HOLD_ENV}
    with FaultProxy(url, rule) as proxy:
        directory = tmp_path / "svc"
        directory.mkdir()
        service = aas_service("--server", proxy.url, "--solver", "exact", env=env, directory=directory)
        with service.http() as http:
            job = http.post("/jobs", json={"product": DRONE}).json()
        assert reached.wait(60)
        service.kill()
        killed.set()
        with AasClient(ServerSettings.resolve(url)) as client:
            half = client.submodel(result_submodel_id(DRONE))
            assert half.administration.version == "1"
            assert result_submodel_id(DRONE) not in [r.key[-1].value for r in client.shell(DRONE).submodel]
        blocked.clear()
        restarted = aas_service("--server", proxy.url, "--solver", "exact", env=env, directory=directory)
        with restarted.http() as http:
            done = wait_for(lambda: (j := http.get(f"/jobs/{job['job_id']}").json())["state"] == "done" and j, 90)
    assert done["attempts"] == 2 and done["run_id"] == job["run_id"]
    result, references = server_result(url, DRONE)
    assert references == 1 and result["administration"]["version"] == "1" and run_id(result) == job["run_id"]


def test_two_instances_on_one_postgresql_run_every_job_exactly_once(basyx_server, aas_service, postgres, tmp_path):
    from tests.support import SAMPLES

    idta = SAMPLES / "conveyor-drive-idta.aasx"
    url, _ = basyx_server(SMALL, MEDIUM, LARGE, idta)
    products = [DRONE, EBIKE, CABINET, "urn:aas-quantum:sample:conveyor-drive:aas"]
    common = ("--server", url, "--solver", "greedy", "--jobs", postgres, "--workers", "2")
    first = aas_service(*common, env={"AAS_QUANTUM_SERVICE_INSTANCE_ID": "node-a"})
    second = aas_service(*common, env={"AAS_QUANTUM_SERVICE_INSTANCE_ID": "node-b"})
    with first.http() as http_a, second.http() as http_b:
        ids = [(http_a if i % 2 else http_b).post("/jobs", json={"product": products[i % 4]}).json()["job_id"]
               for i in range(20)]
        jobs = wait_for(lambda: (js := [http_a.get(f"/jobs/{i}").json() for i in ids]) and all(
            j["state"] == "done" for j in js) and js, 240, 1.0)
    bad = [{k: j.get(k) for k in ("attempts", "outcome", "error", "worker", "product", "stage")} for j in jobs
           if not (j["attempts"] == 1 and j["outcome"]["status"] in ("optimal", "feasible"))]
    assert not bad, bad  # names the job and why, when it fails under load
    assert len({j["run_id"] for j in jobs}) == 20
    assert {j["worker"] for j in jobs} == {"node-a", "node-b"}
    for product in products:  # five writes each: the version advanced exactly five times
        result, references = server_result(url, product)
        assert references == 1 and result["administration"]["version"] == "5", product


def test_cancel_a_queued_job_at_once_and_a_running_one_before_it_writes(basyx_server, aas_service):
    url, _ = basyx_server(SMALL)
    held = HeldRead(DRONE)  # the first job is still running when it is cancelled, however fast the solve
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "anneal", env=HOLD_ENV)
        with service.http() as http:
            running = http.post("/jobs", json={"product": DRONE}).json()
            waiting = http.post("/jobs", json={"product": DRONE}).json()
            assert held.reached.wait(120)
            assert http.delete(f"/jobs/{waiting['job_id']}").json()["state"] == "cancelled"
            asked = http.delete(f"/jobs/{running['job_id']}").json()
            assert asked["state"] == "running"
            held.release()  # it reads, then learns of the cancel at its first heartbeat of the solve
            done = wait_for(lambda: (j := http.get(f"/jobs/{running['job_id']}").json())["state"] != "running"
                            and j, 60)
            assert done["state"] == "cancelled"
            assert http.get(f"/jobs/{waiting['job_id']}").json()["started_at"] is None  # it never ran
            assert http.delete("/jobs/no-such-job").status_code == 404
    with httpx.Client(timeout=30) as client:  # the cancelled run stopped before its write-back
        assert client.get(f"{url}/submodels/{b64(result_submodel_id(DRONE))}").status_code == 404


def test_sigterm_requeues_a_running_job_and_the_restart_completes_it(basyx_server, aas_service, tmp_path):
    url, _ = basyx_server(SMALL)
    directory = tmp_path / "svc"
    directory.mkdir()
    env = {"AAS_QUANTUM_SERVICE_SHUTDOWN_GRACE_S": "0.5", "AAS_QUANTUM_SERVICE_INSTANCE_ID": "node-a", **HOLD_ENV}
    held = HeldRead(DRONE)  # the job is still reading its inputs when the grace runs out, however fast the machine
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "anneal", env=env, directory=directory)
        with service.http() as http:
            job = http.post("/jobs", json={"product": DRONE}).json()
        assert held.reached.wait(120)
        service.stop()  # SIGTERM: the job cannot finish within the grace period, so it goes back to the queue
        held.release()
        assert "running job(s) requeued" in service.log.read_text()  # uvicorn's shutdown ran (it then re-raises
        # SIGTERM, so the exit status is -15 by design)
        restarted = aas_service("--server", proxy.url, "--solver", "anneal", env=env, directory=directory)
        with restarted.http() as http:
            done = wait_for(lambda: (j := http.get(f"/jobs/{job['job_id']}").json())["state"] == "done" and j, 90)
    assert done["attempts"] == 2 and done["outcome"]["status"] in ("optimal", "feasible")
    result, references = server_result(url, DRONE)
    assert references == 1 and result["administration"]["version"] == "1" and run_id(result) == job["run_id"]


def test_a_postgresql_outage_during_a_job_fails_no_run_and_kills_no_worker(basyx_server, aas_service,
                                                                           postgres_cluster):
    """PostgreSQL stops while a job runs and comes back once the job has failed to record its outcome: the
    run is not failed by its missed heartbeats, its outcome is recorded after the reconnect, /ready says
    503 naming the store meanwhile, and the worker lives on to run the next job."""
    url, _ = basyx_server(SMALL)
    held = HeldRead(DRONE)
    env = {"AAS_QUANTUM_SERVICE_LEASE_S": "300", **HOLD_ENV}  # store retries outlast any restart of PostgreSQL
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "greedy", "--jobs", postgres_cluster.dsn, env=env)
        with service.http() as http:
            job = http.post("/jobs", json={"product": DRONE}).json()
            assert held.reached.wait(120)  # running: claimed, reading its inputs
            postgres_cluster.stop()
            down = wait_for(lambda: (r := http.get("/ready")).status_code == 503 and r.json())
            assert down["checks"]["job_store"] != "ok" and down["checks"]["worker"] == "ok", down
            held.release()  # the run goes on: solve, write, then record its outcome in the missing store
            wait_for(lambda: logged(service, f"during finish of job {job['job_id']}",
                                    f"recording the outcome of job {job['job_id']}", "Exception in thread"), 120)
            postgres_cluster.start()
            done = wait_for(lambda: (j := http.get(f"/jobs/{job['job_id']}").json())["state"] not in (
                "queued", "running") and j, 120)
            assert done["state"] == "done" and done["outcome"]["status"] in ("optimal", "feasible"), done
            wait_for(lambda: http.get("/ready").status_code == 200)
            after = http.post("/jobs", json={"product": DRONE}).json()  # the worker is alive
            wait_for(lambda: http.get(f"/jobs/{after['job_id']}").json()["state"] == "done", 120)
    result, references = server_result(url, DRONE)
    assert references == 1 and result["administration"]["version"] == "2" and run_id(result) == after["run_id"]


def test_a_sqlite_lock_held_past_the_retries_requeues_the_job_and_loses_no_solve(basyx_server, aas_service,
                                                                                 tmp_path):
    """Another writer holds the SQLite job store while a job finishes, for longer than the store retries:
    the job goes back to the queue under its run id and, the lock released, runs again to done; its
    result is written once."""
    import sqlite3

    url, _ = basyx_server(SMALL)
    held = HeldRead(DRONE)
    directory = tmp_path / "svc"
    directory.mkdir()
    env = {"AAS_QUANTUM_SERVICE_LEASE_S": "4", **HOLD_ENV}  # store retries and lease: 4 s
    with FaultProxy(url, held) as proxy:
        service = aas_service("--server", proxy.url, "--solver", "greedy", env=env, directory=directory)
        with service.http() as http:
            job = http.post("/jobs", json={"product": DRONE}).json()
        assert held.reached.wait(120)
        lock = sqlite3.connect(directory / "data" / "jobs.sqlite", isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            held.release()
            wait_for(lambda: logged(service, f"job {job['job_id']} could not be requeued either",
                                    "Exception in thread"), 180)
        finally:
            lock.rollback()
            lock.close()
        with service.http() as http:
            done = wait_for(lambda: (j := http.get(f"/jobs/{job['job_id']}").json())["state"] not in (
                "queued", "running") and j, 120)
            assert http.get("/ready").status_code == 200
    assert done["state"] == "done" and done["outcome"]["status"] in ("optimal", "feasible"), done
    assert done["attempts"] >= 2 and done["run_id"] == job["run_id"]
    result, references = server_result(url, DRONE)  # the re-run's write was recognised as the same run's
    assert references == 1 and result["administration"]["version"] == "1" and run_id(result) == job["run_id"]


def test_tls_is_served_directly_with_certificate_settings(basyx_server, aas_service, tmp_path):
    from tests.support import tls_certificates

    certificates = tls_certificates(tmp_path)
    url, _ = basyx_server(SMALL)
    service = aas_service("--server", url, ca=certificates["ca"],
                          env={"AAS_QUANTUM_SERVICE_TLS_CERT": str(certificates["server"]),
                               "AAS_QUANTUM_SERVICE_TLS_KEY": str(certificates["server-key"])})
    with service.http() as http:
        assert http.get("/jobs").status_code == 200
    with pytest.raises(httpx.TransportError):  # plain HTTP is not answered
        httpx.get(f"http://127.0.0.1:{service.port}/health", timeout=5)


# ------------------------------------------------------------------------ the operation on the twin


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` cannot be written by the service process: chmod for an ordinary user; as root (whom
    permissions do not stop) the immutable attribute, or a skip where the file system has none."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {path} read-only for root here (chattr +i: {made.stderr.strip()})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["the store", "its folder"])
def test_a_job_store_the_service_cannot_write_is_refused_at_start_naming_it(tmp_path, what):
    data = tmp_path / "data"
    SqliteJobStore(data / "jobs.sqlite").close()
    if what == "its folder":
        (data / "jobs.sqlite").unlink()
        for extra in data.iterdir():
            extra.unlink()
    with unwritable(data / "jobs.sqlite" if what == "the store" else data):
        started = subprocess.run(
            [sys.executable, "-m", "aas_quantum.cli", "serve", "--server", "http://127.0.0.1:9/api/v3.0",
             "--port", "0", "--data-dir", str(data)], capture_output=True, text=True, timeout=120, cwd=REPO,
            env={**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": SERVICE_KEY,
                 "AAS_QUANTUM_CONFIG": str(tmp_path / "none.toml")})
    message = " ".join(started.stderr.split())
    assert started.returncode == 2, started.stderr[-3000:]  # bad configuration, as cli.py's header says
    assert "Traceback" not in started.stderr and f"job store {data / 'jobs.sqlite'}" in message
    assert "make it (and its folder) writable, or give another --jobs or --data-dir" in message


def test_install_operation_is_idempotent_and_carries_the_delegation(basyx_server, cli, tmp_path):
    url, _ = basyx_server(SMALL)
    args = ["install-operation", "--server", url, "--shell", DRONE, "--service-url",
            "http://aas-quantum.example:8090/operations/optimize"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0 and "installed" in first.output, first.output
    with httpx.Client(timeout=30) as client:
        before = client.get(f"{url}/submodels/{b64(operations_submodel_id(DRONE))}").text
    second = cli.invoke(app, args)
    assert second.exit_code == 0 and "unchanged" in second.output, second.output
    with httpx.Client(timeout=30) as client:
        submodel = client.get(f"{url}/submodels/{b64(operations_submodel_id(DRONE))}").json()
        assert json.dumps(submodel) == json.dumps(json.loads(before))
        refs = [r["keys"][-1]["value"] for r in client.get(f"{url}/shells/{b64(DRONE)}").json()["submodels"]]
    assert refs.count(operations_submodel_id(DRONE)) == 1
    (op,) = submodel["submodelElements"]
    assert op["modelType"] == "Operation" and op["idShort"] == "Optimize"
    assert [(q["type"], q["value"]) for q in op["qualifiers"]] == [
        (DELEGATION_QUALIFIER, "http://aas-quantum.example:8090/operations/optimize")]
    assert next(v["value"]["idShort"] for v in op["inputVariables"]) == "ProductId"
    written = tmp_path / "operations.json"
    written.write_text(json.dumps({"submodels": [submodel]}))
    assert idta_findings(written, "json") == []  # what lands in the twin passes the IDTA test engine
    moved = cli.invoke(app, [*args[:-1], "http://elsewhere:8090/operations/optimize"])
    assert moved.exit_code == 0 and "installed" in moved.output
    secret = cli.invoke(app, [*args[:-1], "http://user:pw@elsewhere:8090/operations/optimize"])
    assert secret.exit_code == 2 and "pw" not in secret.output


def test_served_openapi_passes_schemathesis(tmp_path):
    """No 5xx and no response outside the schema, for generated requests to every route (the real app,
    in-process, over a real SQLite store; jobs stay queued: no runner is started)."""
    from hypothesis import given

    from aas_quantum.app.request import RunRequest
    from aas_quantum.service.api import ServiceSettings, build_service, create_app

    settings_ = ServiceSettings.resolve(data_dir=tmp_path, api_key=SERVICE_KEY, wait_s=0.05)
    service = build_service(settings_, _no_repository, RunRequest(out=tmp_path / "out"), [])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service), headers={"X-API-Key": SERVICE_KEY})
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers={"X-API-Key": SERVICE_KEY}, checks=SCHEMA_CHECKS)

        check()
        checked.append(operation.label)
    assert len(checked) >= 11  # every route was exercised


@pytest.mark.parametrize("error", [RuntimeError, ValueError])
def test_an_unexpected_error_inside_a_solver_fails_the_job_as_internal_not_as_bad_input(tmp_path, monkeypatch,
                                                                                      error):
    """The job is accepted (the request was fine) and fails marked internal (exit class 1, "internal error"),
    not refused as the caller's fault; in-process, over a file repository and a real SQLite store."""
    from fastapi.testclient import TestClient

    from aas_quantum.app.repository import FileRepository
    from aas_quantum.app.request import RunRequest
    from aas_quantum.service.api import ServiceSettings, build_service, create_app
    from aas_quantum.solvers.anneal import AnnealSolver

    def broken(self, problem, options):
        raise error("the solver broke")

    monkeypatch.setattr(AnnealSolver, "solve", broken)
    settings_ = ServiceSettings.resolve(data_dir=tmp_path, api_key=SERVICE_KEY, wait_s=0.05)
    service = build_service(settings_, lambda: FileRepository([SMALL]), RunRequest(out=tmp_path / "out"), [])
    service.runner.start()
    try:
        with TestClient(create_app(service), headers={"X-API-Key": SERVICE_KEY}) as http:
            created = http.post("/jobs", json={"product": DRONE, "method": "anneal"})
            assert created.status_code == 202, created.text
            job_id = created.json()["job_id"]

            def finished() -> dict | None:
                job = http.get(f"/jobs/{job_id}").json()
                return job if job["state"] not in ("queued", "running") else None

            job = wait_for(finished)
            status = http.get(f"/operation-status/{job_id}").json()
    finally:
        service.runner.stop(5.0)
        service.store.close()
    assert job["outcome"]["status"] == "failed" and job["outcome"]["exit_code"] == 1
    assert job["error"].startswith(f"internal error: {error.__name__}: the solver broke")
    assert status["executionState"] == "Failed" and not status["success"]
    assert status["messages"][0]["text"].startswith("internal error")


@pytest.mark.parametrize("error, status", [("ConfigError", 400), ("AasServerError", 502), ("AasQuantumError", 500)])
def test_a_refusal_is_the_callers_fault_only_when_the_input_is_bad(tmp_path, monkeypatch, error, status):
    """Every AasQuantumError was a 400: an AAS server outage or a fault of ours told the caller to fix the
    request. The status follows the error's exit class: bad input 400, a dependency 502, the rest 500."""
    from fastapi.testclient import TestClient

    from aas_quantum import errors
    from aas_quantum.aas.server import AasServerError
    from aas_quantum.app.repository import FileRepository
    from aas_quantum.app.request import RunRequest
    from aas_quantum.service.api import ServiceSettings, build_service, create_app

    raised = AasServerError if error == "AasServerError" else getattr(errors, error)
    settings_ = ServiceSettings.resolve(data_dir=tmp_path, api_key=SERVICE_KEY)
    service = build_service(settings_, lambda: FileRepository([SMALL]), RunRequest(out=tmp_path / "out"), [])

    def submit(spec):
        raise raised("refused on purpose")

    monkeypatch.setattr(service, "submit", submit)
    try:
        with TestClient(create_app(service), headers={"X-API-Key": SERVICE_KEY}) as http:
            answer = http.post("/jobs", json={"product": DRONE, "method": "greedy"})
    finally:
        service.store.close()
    assert answer.status_code == status, answer.text
    assert "refused on purpose" in answer.json()["detail"]


# no 5xx, every status code, content type, header and body as documented; a schema-valid body the
# service refuses for its meaning (an unknown product, a misspelt solver) is a documented 422, not a failure
SCHEMA_CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                 checks.response_headers_conformance, checks.response_schema_conformance]


def _no_repository():
    raise AssertionError("no run starts in the schema test")


def _serve_until_it_exits(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aas_quantum.cli", "serve", "--server", "http://127.0.0.1:9/api/v3.0", "--port", "0",
         "--data-dir", str(tmp_path / "data"), *args], capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": SERVICE_KEY,
             "AAS_QUANTUM_CONFIG": str(tmp_path / "none.toml"), **env})


@pytest.mark.timeout(180)
def test_an_event_broker_whose_certificate_does_not_verify_stops_the_start_naming_it(mosquitto, tmp_path):
    # it used to start, retry the handshake in paho's loop for ever and say only "not connected" in /ready
    (tmp_path / "other").mkdir()
    certs, stranger = tls_certificates(tmp_path), tls_certificates(tmp_path / "other")
    broker = mosquitto(f"cafile {certs['ca']}\ncertfile {certs['server']}\nkeyfile {certs['server-key']}\n")
    events = f"mqtts://127.0.0.1:{broker.port}"
    started = _serve_until_it_exits(tmp_path, "--watch", "mqtt", "--events", events,
                                    env={"AAS_QUANTUM_MQTT_CA_FILE": str(stranger["ca"])})
    message = " ".join(started.stderr.split())
    assert started.returncode == 4, started.stderr[-3000:]
    assert "Traceback" not in started.stderr and f"MQTT broker 127.0.0.1:{broker.port}: TLS handshake failed" in message


@pytest.mark.timeout(180)
def test_a_postgresql_store_that_is_down_stops_the_start_naming_it(postgres_cluster, tmp_path):
    postgres_cluster.stop()
    started = _serve_until_it_exits(tmp_path, "--jobs", postgres_cluster.dsn,
                                    env={"AAS_QUANTUM_SERVICE_LEASE_S": "1"})
    message = " ".join(started.stderr.split())
    assert started.returncode == 2, started.stderr[-3000:]
    assert "Traceback" not in started.stderr
    assert f"job store 'postgresql://127.0.0.1:{postgres_cluster.port}/postgres': cannot connect within 1 s" in message
