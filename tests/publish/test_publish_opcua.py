"""OPC UA: the plugin's asyncua server (security, users, tree, Optimize) and the client node-map mode."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import Client, Server, ua

from aas_quantum.cli import app
from aas_quantum.errors import BomInputError
from aas_quantum.publish.opcua import (
    NAMESPACE_URI,
    OpcUaClientSettings,
    OpcUaError,
    OpcUaResultServer,
    OpcUaServerSettings,
    connect_client,
    eu_information,
    write_nodes,
)
from aas_quantum.summary import RunSummary

from tests.support import DRONE_SHELL, DRONE_STEM, SMALL, FaultProxy, HeldRead, free_port

PRODUCT_KEY = "QX5-Inspect"


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    """Greedy and exact summaries of the drone (they differ in total cost)."""
    from typer.testing import CliRunner

    out = tmp_path_factory.mktemp("runs")
    runs = {}
    for solver in ("greedy", "exact"):
        result = CliRunner().invoke(app, ["optimize", str(SMALL), "--solver", solver, "--json", "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs[solver] = json.loads(result.output)
    assert runs["greedy"]["kpis"]["total_cost"] != pytest.approx(runs["exact"]["kpis"]["total_cost"])
    return runs


def _server_settings(tmp_path: Path, **changes) -> OpcUaServerSettings:
    return OpcUaServerSettings(**{"endpoint": f"opc.tcp://127.0.0.1:{free_port()}/aas-quantum",
                                  "cert_dir": tmp_path / "server-pki", "users": {"operator": "pa55"}} | changes)


def _client_settings(tmp_path: Path, url: str, **changes) -> OpcUaClientSettings:
    return OpcUaClientSettings(**{"url": url, "username": "operator", "password": "pa55",
                                  "cert_dir": tmp_path / "client-pki", "nodes": {"TotalCost": "unused"}} | changes)


async def _read_tree(client: Client, folder: str = "Products") -> dict[str, object]:
    """Every variable under AasQuantum/Products (or another folder), by browse path."""
    ns = await client.get_namespace_index(NAMESPACE_URI)
    products = client.get_node(ua.NodeId(folder, ns))
    values: dict[str, object] = {}

    async def walk(node, path: str) -> None:
        for child in await node.get_children():
            try:
                name = (await child.read_browse_name()).Name
                if await child.read_node_class() == ua.NodeClass.Variable:
                    values[f"{path}{name}"] = await child.read_value()
                else:
                    await walk(child, f"{path}{name}/")
            except ua.uaerrors.BadNodeIdUnknown:  # removed between browse and read: a finished job expiring
                continue
    await walk(products, "" if folder == "Products" else f"{folder}/")
    return values


async def _optimize(client: Client, product: str) -> list[str]:
    """Call ``AasQuantum.Optimize(product)`` and return its answer: [Status, JobId]."""
    ns = await client.get_namespace_index(NAMESPACE_URI)
    return await client.get_node(ua.NodeId("AasQuantum", ns)).call_method(ua.QualifiedName("Optimize", ns), product)


async def _job_done(client: Client, job_id: str, timeout_s: float = 120.0) -> dict[str, object]:
    """Follow ``Jobs/<job id>`` until its State is done or failed; its variables."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        job = {k.removeprefix(f"Jobs/{job_id}/"): v for k, v in (await _read_tree(client, "Jobs")).items()
               if k.startswith(f"Jobs/{job_id}/")}
        if job.get("State") in ("done", "failed") or asyncio.get_running_loop().time() > deadline:
            return job
        await asyncio.sleep(0.2)


def test_tree_values_optimize_and_security(tmp_path, summaries):
    greedy, exact = summaries["greedy"], summaries["exact"]
    queued: list[str] = []

    def submit(product_id: str) -> str:
        if product_id != exact["product_id"]:
            raise BomInputError(f"unknown product {product_id!r}")
        queued.append(product_id)
        return f"job-{len(queued)}"

    async def scenario() -> None:
        server = await OpcUaResultServer(_server_settings(tmp_path), submit).start()
        try:
            await server.show(RunSummary.from_json(greedy))
            url = server.settings.endpoint
            client = await connect_client(_client_settings(tmp_path, url))  # Basic256Sha256 SignAndEncrypt + user
            try:
                tree = await _read_tree(client)
                key = PRODUCT_KEY
                assert tree[f"{key}/TotalCost"] == pytest.approx(greedy["kpis"]["total_cost"])
                assert tree[f"{key}/Solver"] == "greedy" and tree[f"{key}/Status"] == greedy["status"]
                assert tree[f"{key}/ProductId"] == greedy["product_id"]
                assert isinstance(tree[f"{key}/LastRun"], dt.datetime)
                assert tree[f"{key}/ImprovementVsGreedyPercent"] == pytest.approx(0.0)
                assert tree[f"{key}/GapToOptimumPercent"] == pytest.approx(greedy["kpis"]["gap_to_optimum_pct"])
                for line in greedy["selection"]:
                    base = f"{key}/Positions/{line['position_id']}/"
                    assert tree[base + "PartNumber"] == line["part_number"]
                    assert tree[base + "SupplierId"] == line["supplier_id"]
                    assert tree[base + "Quantity"] == pytest.approx(line["quantity"])
                    assert tree[base + "UnitPrice"] == pytest.approx(line["unit_price"])
                    assert tree[base + "LeadTimeDays"] == pytest.approx(line["lead_time_days"])
                ns = await client.get_namespace_index(NAMESPACE_URI)
                gap = client.get_node(ua.NodeId(f"{key}.GapToOptimumPercent", ns))
                (units,) = [p for p in await gap.get_properties()
                            if (await p.read_browse_name()).Name == "EngineeringUnits"]
                assert (await units.read_value()).UnitId == eu_information("P1", "%", "percent").UnitId
                assert await gap.read_data_type_as_variant_type() == ua.VariantType.Double

                status, job_id = await client.get_node(ua.NodeId("AasQuantum", ns)).call_method(
                    ua.QualifiedName("Optimize", ns), greedy["product_id"])
                assert (status, job_id) == ("queued", "job-1") and queued == [greedy["product_id"]]
                assert (await _read_tree(client, "Jobs"))["Jobs/job-1/State"] == "queued"
                await server.follow("job-1", greedy["product_id"], "solving", 0.3, "exact")
                solving = await _read_tree(client)
                assert solving[f"{key}/Status"] == "solving"
                assert (await _read_tree(client, "Jobs"))["Jobs/job-1/Progress"] == pytest.approx(0.3)
                await server.follow("job-1", greedy["product_id"], "done", 1.0, run_id=exact["run_id"],
                                    summary=RunSummary.from_json(exact))
                after = await _read_tree(client)
                assert after[f"{key}/TotalCost"] == pytest.approx(exact["kpis"]["total_cost"])
                assert after[f"{key}/Solver"] == "exact"
                assert after[f"{key}/LastRun"] >= tree[f"{key}/LastRun"]
                job = await _job_done(client, "job-1")
                assert job["State"] == "done" and job["RunId"] == exact["run_id"]
                unknown, no_job = await client.get_node(ua.NodeId("AasQuantum", ns)).call_method(
                    ua.QualifiedName("Optimize", ns), "no-such-product")
                assert unknown.startswith("failed") and "no-such-product" in unknown and no_job == ""
            finally:
                await client.disconnect()

            signed = await connect_client(_client_settings(tmp_path, url, security="Sign"))
            await signed.disconnect()
            with pytest.raises(OpcUaError, match=r"BadUserAccessDenied|BadIdentityToken"):
                await connect_client(_client_settings(tmp_path, url, username=None, password=None))
            with pytest.raises(OpcUaError, match=r"BadUserAccessDenied|BadIdentityToken"):
                await connect_client(_client_settings(tmp_path, url, password="wrong"))
            with pytest.raises(OpcUaError):  # the server offers no endpoint without security
                await connect_client(_client_settings(tmp_path, url, security="None"))
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_anonymous_and_none_only_when_configured_and_certificate_reused(tmp_path, summaries):
    async def scenario() -> bytes:
        settings = _server_settings(tmp_path, users={}, allow_anonymous=True, allow_none_security=True)
        server = await OpcUaResultServer(settings).start()
        try:
            await server.show(RunSummary.from_json(summaries["exact"]))
            client = await connect_client(_client_settings(tmp_path, settings.endpoint, username=None, password=None,
                                                           security="None"))
            tree = await _read_tree(client)
            await client.disconnect()
            assert tree[f"{PRODUCT_KEY}/Solver"] == "exact"
        finally:
            await server.stop()
        return (tmp_path / "server-pki" / "server-cert.der").read_bytes()

    first = asyncio.run(scenario())
    second = asyncio.run(scenario())
    assert first == second  # generated on the first start, reused afterwards


def test_server_settings_refuse_an_open_server_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(tmp_path / "none.toml"))
    from aas_quantum.errors import ConfigError

    with pytest.raises(ConfigError, match="no users"):
        OpcUaServerSettings.resolve()
    with pytest.raises(ConfigError, match="finished_jobs_kept must be at least 1"):
        OpcUaServerSettings.resolve(users={"operator": "pa55"}, finished_jobs_kept=0)


def test_client_mode_writes_into_a_separate_server(tmp_path, summaries):
    exact = summaries["exact"]

    async def scenario() -> None:
        plant = Server()
        await plant.init()
        url = f"opc.tcp://127.0.0.1:{free_port()}/plant"
        plant.set_endpoint(url)
        plant.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await plant.register_namespace("urn:plant")
        line = await plant.nodes.objects.add_object(ua.NodeId("Line7", ns), ua.QualifiedName("Line7", ns))
        cost = await line.add_variable(ua.NodeId("Line7.BomCost", ns), "BomCost", ua.Variant(0.0, ua.VariantType.Float))
        solver = await line.add_variable(ua.NodeId("Line7.Solver", ns), "Solver", "")
        run = await line.add_variable(ua.NodeId("Line7.LastRun", ns), "LastRun", "")
        parts = []
        for index in range(1, len(exact["selection"]) + 1):
            part = await line.add_variable(ua.NodeId(f"Line7.Pos{index}.Part", ns), f"Pos{index}Part", "")
            lead = await line.add_variable(ua.NodeId(f"Line7.Pos{index}.Lead", ns), f"Pos{index}Lead",
                                           ua.Variant(0, ua.VariantType.Int32))
            parts.append((part, lead))
        for node in (cost, solver, run, *[n for pair in parts for n in pair]):
            await node.set_writable()
        await plant.start()
        try:
            settings = OpcUaClientSettings(
                url=url, security="None", cert_dir=tmp_path / "pki",
                nodes={"TotalCost": f"ns={ns};s=Line7.BomCost", "Solver": f"ns={ns};s=Line7.Solver",
                       "LastRun": f"ns={ns};s=Line7.LastRun"},
                position_nodes={"PartNumber": f"ns={ns};s=Line7.Pos{{index}}.Part",
                                "LeadTimeDays": f"ns={ns};s=Line7.Pos{{index}}.Lead"})
            written = await write_nodes(settings, RunSummary.from_json(exact))
            assert written == 3 + 2 * len(exact["selection"])
            assert await cost.read_value() == pytest.approx(exact["kpis"]["total_cost"], rel=1e-6)
            assert await solver.read_value() == "exact"
            assert await run.read_value() == dt.datetime.fromisoformat(exact["finished"]).isoformat()
            for (part, lead), line_values in zip(parts, exact["selection"], strict=True):
                assert await part.read_value() == line_values["part_number"]
                assert await lead.read_value() == round(line_values["lead_time_days"])
            broken = OpcUaClientSettings(url=url, security="None", cert_dir=tmp_path / "pki",
                                         nodes={"TotalCost": f"ns={ns};s=Line7.Missing"})
            with pytest.raises(OpcUaError, match=r"Line7\.Missing"):
                await write_nodes(broken, RunSummary.from_json(exact))
        finally:
            await plant.stop()

    asyncio.run(scenario())


@contextlib.contextmanager
def opcua_server_process(tmp_path: Path, out: Path, solver: str, inputs: tuple[str, ...] = (str(SMALL),),
                         server_config: str = "", env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """``aas-quantum opcua-server`` (on the drone, unless ``inputs`` say otherwise) in a child process: yields
    (endpoint, its ready line)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[opcua.server]\ncert_dir = "{tmp_path / "pki"}"\n{server_config}\n'
                      '[opcua.users]\noperator = "pa55"\n')
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/aas-quantum"
    command = [sys.executable, "-m", "aas_quantum.cli", "opcua-server", *inputs, "--out", str(out),
               "--endpoint", endpoint, "--solver", solver]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=os.environ | {"AAS_QUANTUM_CONFIG": str(config), "COLUMNS": "200", **(env or {})})
    try:
        line = process.stdout.readline()
        assert line.startswith("ready"), line + process.stdout.read()
        yield endpoint, line
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_opcua_server_command_serves_the_latest_result(tmp_path, summaries):
    out = tmp_path / "out"
    from typer.testing import CliRunner

    assert CliRunner().invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out", str(out)]).exit_code == 0
    with opcua_server_process(tmp_path, out, "exact") as (endpoint, ready):
        assert "1 result(s)" in ready

        async def check() -> None:
            client = await connect_client(_client_settings(tmp_path, endpoint))
            try:
                tree = await _read_tree(client)
                assert tree[f"{PRODUCT_KEY}/Solver"] == "greedy"
                assert tree[f"{PRODUCT_KEY}/TotalCost"] == pytest.approx(summaries["greedy"]["kpis"]["total_cost"])
                status, job_id = await _optimize(client, PRODUCT_KEY)
                assert status == "queued" and job_id  # at once: the run is a job
                job = await _job_done(client, job_id)
                assert job["State"] == "done" and job["Progress"] == pytest.approx(1.0), job
                after = await _read_tree(client)
                assert after[f"{PRODUCT_KEY}/Solver"] == "exact" and after[f"{PRODUCT_KEY}/Status"] == "done"
                assert after[f"{PRODUCT_KEY}/RunId"] == job["RunId"]
                assert after[f"{PRODUCT_KEY}/TotalCost"] == pytest.approx(summaries["exact"]["kpis"]["total_cost"])
            finally:
                await client.disconnect()

        asyncio.run(check())
    saved = json.loads((out / f"{DRONE_STEM}.result.json").read_text())
    method = next(e for e in saved["submodels"][0]["submodelElements"] if e["idShort"] == "SolverRecord")
    assert {"idShort": "Method", "value": "exact"}.items() <= next(
        v for v in method["value"] if v["idShort"] == "Method").items()


def test_a_failing_job_leaves_status_failed_not_solving(tmp_path, summaries):
    greedy = summaries["greedy"]

    async def scenario() -> None:
        server = await OpcUaResultServer(_server_settings(tmp_path), lambda product_id: "job-7").start()
        try:
            await server.show(RunSummary.from_json(greedy))
            client = await connect_client(_client_settings(tmp_path, server.settings.endpoint))
            try:
                assert await _optimize(client, PRODUCT_KEY) == ["queued", "job-7"]
                await server.follow("job-7", greedy["product_id"], "solving", 0.3, "qaoa")
                await server.follow("job-7", greedy["product_id"], "failed",
                                    message="the one-hot subspace is too large")
                assert (await _read_tree(client))[f"{PRODUCT_KEY}/Status"] == "failed"
                job = await _job_done(client, "job-7")
                assert job["Message"] == "the one-hot subspace is too large"
            finally:
                await client.disconnect()
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_opcua_server_optimize_accepts_the_last_segment_before_any_result(tmp_path, summaries):
    """No result yet in --out: Optimize("QX5-Inspect") (the README's short form) must still find the product."""
    with opcua_server_process(tmp_path, tmp_path / "out", "greedy") as (endpoint, ready):
        assert "0 result(s)" in ready

        async def check() -> None:
            client = await connect_client(_client_settings(tmp_path, endpoint))
            try:
                status, job_id = await _optimize(client, PRODUCT_KEY)
                assert status == "queued"
                assert (await _job_done(client, job_id))["State"] == "done"
                assert (await _read_tree(client))[f"{PRODUCT_KEY}/TotalCost"] == pytest.approx(
                    summaries["greedy"]["kpis"]["total_cost"])
            finally:
                await client.disconnect()

        asyncio.run(check())


def test_optimize_queues_one_job_per_product_and_finished_job_nodes_expire(tmp_path, basyx_server):
    """20 calls while a run is held mid-read give one more job, not 20; with finished_jobs_kept = 2 only
    the two most recent finished jobs keep their node under Jobs/."""
    url, _ = basyx_server(SMALL)
    with FaultProxy(url) as proxy, opcua_server_process(
            tmp_path, tmp_path / "out", "greedy", ("--server", proxy.url), "finished_jobs_kept = 2",
            {"AAS_QUANTUM_TIMEOUT": "300"}) as (endpoint, _ready):
        held = HeldRead(DRONE_SHELL)
        proxy.rule = held  # from now on: the first run holds in its read until released

        async def check() -> None:
            client = await connect_client(_client_settings(tmp_path, endpoint))
            try:
                status, first = await _optimize(client, PRODUCT_KEY)
                assert status == "queued"
                assert await asyncio.to_thread(held.reached.wait, 120)  # the first job runs, held
                answers = [await _optimize(client, PRODUCT_KEY) for _ in range(20)]
                ids = {job_id for _, job_id in answers}
                assert {s for s, _ in answers} == {"queued"} and len(ids) == 1 and first not in ids, answers
                (second,) = ids
                held.release()
                assert (await _job_done(client, first))["State"] == "done"
                assert (await _job_done(client, second))["State"] == "done"
                later = []
                for _ in range(3):  # one after the other: each finished before the next call
                    later.append((await _optimize(client, PRODUCT_KEY))[1])
                    assert (await _job_done(client, later[-1]))["State"] == "done"
                jobs = {key.split("/")[1] for key in await _read_tree(client, "Jobs")}
                assert jobs == set(later[-2:]), jobs  # the older four expired
            finally:
                await client.disconnect()

        asyncio.run(check())
