"""Against a real BaSyx AAS server (Python SDK 1.2.1): read, optimise, write back, faults."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from aas_quantum import contract
from aas_quantum.aas.files import read_files, write_json
from aas_quantum.aas.ids import b64
from aas_quantum.aas.mapping import catalog_objects, product_shell, read_catalog, submodels_with
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, AasServerError, ServerSettings, product_shell_ids, read_environment
from aas_quantum.cli import app
from aas_quantum.problem import build_problem

import generate
from tests.support import DRONE_SHELL, LARGE, MEDIUM, SMALL, FaultProxy, statuses_first


def file_problem(path: Path):
    env = read_files([path])
    return build_problem(read_catalog(env, product_shell(env)))


@pytest.mark.parametrize("path", [SMALL, MEDIUM, LARGE], ids=lambda p: p.stem)
def test_files_and_server_give_identical_problems(basyx_server, path: Path):
    url, _ = basyx_server(path)
    with AasClient(ServerSettings.resolve(url)) as client:
        shell_id = product_shell(read_files([path])).id
        env = read_environment(client, shell_id)
        assert build_problem(read_catalog(env, env.objects.get(shell_id))) == file_problem(path)


def input_texts(url: str) -> dict[str, str]:
    with httpx.Client() as http:
        shell = http.get(f"{url}/shells/{b64(DRONE_SHELL)}").json()
        ids = [r["keys"][-1]["value"] for r in shell["submodels"]]
        return {i: http.get(f"{url}/submodels/{b64(i)}").text for i in ids
                if i != result_submodel_id(DRONE_SHELL)}


def test_optimise_against_server_writes_result_and_rerun_replaces(basyx_server, cli, tmp_path: Path):
    url, _ = basyx_server(SMALL)
    before = input_texts(url)
    args = ["optimize", "--server", url, "--solver", "exact", "--out", str(tmp_path), "--json"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["outputs"]["server"].endswith(b64(result_submodel_id(DRONE_SHELL)))

    with AasClient(ServerSettings.resolve(url)) as client:
        result = client.submodel(result_submodel_id(DRONE_SHELL))
        assert result.administration.version == "1"
        kpis = {e.id_short: e.value for e in result.get_referable("KPIs").value}
        assert float(kpis["TotalCost"]) == pytest.approx(summary["kpis"]["total_cost"])
        assert len(result.get_referable("Selection").value) == 6

        second = cli.invoke(app, args)
        assert second.exit_code == 0, second.output
        result = client.submodel(result_submodel_id(DRONE_SHELL))
        assert result.administration.version == "2"
        refs = [r.key[-1].value for r in client.shell(DRONE_SHELL).submodel]
        assert refs.count(result_submodel_id(DRONE_SHELL)) == 1
        results = [sm for sm in client.submodels_by_semantic_id("urn:aas-quantum:submodel:BomOptimizationResult:1:0")]
        assert len(results) == 1
    assert input_texts(url) == before  # inputs byte-identical


def test_dry_run_writes_nothing(basyx_server, cli, tmp_path: Path):
    url, _ = basyx_server(SMALL)
    result = cli.invoke(app, ["optimize", "--server", url, "--solver", "greedy", "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "nothing written (no files, nothing to the server)" in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())  # no local files either
    with AasClient(ServerSettings.resolve(url)) as client:
        assert client.submodel_or_none(result_submodel_id(DRONE_SHELL)) is None


def test_server_down_before_run(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "1")
    from tests.support import free_port

    result = cli.invoke(app, ["optimize", "--server", f"http://127.0.0.1:{free_port()}/api/v3.0", "--out",
                              str(tmp_path)])
    assert result.exit_code == 3
    assert "cannot reach the AAS server" in " ".join(result.output.split())


def test_503_twice_then_success(basyx_server, cli, tmp_path: Path, monkeypatch):
    url, _ = basyx_server(SMALL)
    proxy = FaultProxy(url, statuses_first([503, 503]))
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "3")
    try:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
    finally:
        proxy.close()
    assert result.exit_code == 0, result.output
    assert "written to" in result.output


def test_500_on_a_read_is_retried_but_not_on_a_post(basyx_server):
    """A threaded BaSyx Python server answers 500 when a listing races a concurrent write: reads
    try again; a POST is not repeated blindly (the caller checks what the server holds)."""
    url, _ = basyx_server(SMALL)
    seen: list[str] = []

    def first_of_each_500(method: str, path: str) -> int | None:
        seen.append(method)
        return 500 if seen.count(method) == 1 else None
    proxy = FaultProxy(url, first_of_each_500)
    try:
        with AasClient(dataclasses.replace(ServerSettings.resolve(proxy.url, retries=2), backoff_s=0.01)) as client:
            assert client.shell(DRONE_SHELL).id == DRONE_SHELL  # 500, then the answer
            assert seen == ["GET", "GET"]
            with pytest.raises(AasServerError, match="HTTP 500") as failed:
                client.request("POST", "/submodels", retry_transport=False, json={})
            assert failed.value.status == 500 and seen.count("POST") == 1
    finally:
        proxy.close()


def test_401_is_a_clear_auth_error_without_retry(basyx_server, cli, tmp_path: Path):
    url, _ = basyx_server(SMALL)
    proxy = FaultProxy(url, lambda method, path: 401)
    try:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--out", str(tmp_path)])
    finally:
        proxy.close()
    assert result.exit_code == 3
    assert "HTTP 401 not authorised" in " ".join(result.output.split())
    assert proxy.requests == 1


def test_malformed_submodel_on_server_is_named(basyx_server, cli, tmp_path: Path):
    objects = catalog_objects(generate.drone(), "urn:aas-quantum:sample:drone")
    path = tmp_path / "bad.json"
    write_json(path, objects)
    data = json.loads(path.read_text())
    position = next(s for s in data["submodels"] if s["id"].endswith("ComponentVariants/0020"))
    quantity = next(e for e in position["submodelElements"] if e["idShort"] == "Quantity")
    quantity.update(valueType="xs:string", value="four")
    path.write_text(json.dumps(data))
    url, _ = basyx_server(path)
    result = cli.invoke(app, ["optimize", "--server", url, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "wrong value type: Quantity must be numeric" in message
    assert "ComponentVariants/0020" in message and b64("urn:aas-quantum:sample:drone:aas/sm/ComponentVariants/0020") \
        in message


def test_all_products_on_one_server(basyx_server, cli, tmp_path: Path):
    url, _ = basyx_server(SMALL, MEDIUM)
    result = cli.invoke(app, ["optimize", "--server", url, "--all", "--solver", "greedy", "--out", str(tmp_path),
                              "--json"])
    assert result.exit_code == 0, result.output
    summaries = json.loads(result.output)
    assert {s["product_id"] for s in summaries} == {"urn:aas-quantum:sample:drone:QX5-Inspect",
                                                    "urn:aas-quantum:sample:ebike:MidDrive-250"}


def spec_form_server(method: str, path: str):
    """What BaSyx Java does with ``GET /submodels?semanticId=``: it decodes the base64url *value* of
    the semantic id key (the AAS API v3.0 form) and compares it with key values, so the BaSyx Python
    server's Reference-JSON form finds nothing. Emulated in front of the Python server."""
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    if method != "GET" or not parts.path.endswith("/submodels") or "semanticId" not in query:
        return None
    raw = query["semanticId"][0]
    value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    if value.startswith("{"):
        return json.dumps({"paging_metadata": {}, "result": []})  # no key value is a Reference JSON
    reference = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}
    rest = {k: v[0] for k, v in query.items() if k != "semanticId"}
    return "forward", f"{parts.path}?{urlencode({'semanticId': b64(json.dumps(reference)), **rest})}"


def test_a_server_reading_the_spec_semantic_id_form_shows_products_and_suppliers(basyx_server, cli, tmp_path):
    """On a server that implements only the spec's semanticId form the products and the suppliers are
    found (before, the suppliers were invisible and --all did nothing); the form is remembered."""
    url, _ = basyx_server(SMALL)
    proxy = FaultProxy(url, spec_form_server)
    try:
        with AasClient(ServerSettings.resolve(proxy.url)) as client:
            assert product_shell_ids(client) == [DRONE_SHELL]
            offers = client.submodels_by_semantic_id(contract.SUPPLIER_OFFERS)
            in_file = {sm.id for sm in submodels_with(read_files([SMALL]), contract.SUPPLIER_OFFERS)}
            assert {sm.id for sm in offers} == in_file and in_file
            asked = proxy.requests
            client.submodels_by_semantic_id(contract.SUPPLIER_OFFERS)
            # the spec form straight away (remembered): its page, then the empty page the Python server's
            # cursor leads to (it sends a cursor on the last page too)
            assert proxy.requests == asked + 2
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--all", "--solver", "exact", "--json",
                                  "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["kpis"]["gap_to_optimum_pct"] == 0.0
    finally:
        proxy.close()


def test_the_python_servers_reference_form_is_the_fallback(basyx_server):
    url, _ = basyx_server(SMALL)
    with AasClient(ServerSettings.resolve(url)) as client:
        assert product_shell_ids(client) == [DRONE_SHELL]
        assert client._semantic_query == "reference"  # the spec form was refused with 400


def test_separate_shell_and_submodel_repositories(basyx_server, cli, tmp_path):
    """BaSyx Java is usually deployed as separate AAS and submodel repositories: with --server for the
    shells and --submodel-server for the submodels, every call goes to its own service (each proxy
    refuses the other kind) and the result is written to the submodel repository."""
    url, _ = basyx_server(SMALL)

    def only(kind: str):
        return lambda method, path: None if urlsplit(path).path.startswith(f"/api/v3.0/{kind}") else 418

    with FaultProxy(url, only("shells")) as shells, FaultProxy(url, only("submodels")) as submodels:
        result = cli.invoke(app, ["optimize", "--server", shells.url, "--submodel-server", submodels.url,
                                  "--all", "--solver", "exact", "--json", "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert shells.requests > 0 and submodels.requests > 0
        summary = json.loads(result.output)
        assert summary["outputs"]["server"] == f"{submodels.url}/submodels/{b64(result_submodel_id(DRONE_SHELL))}"
        read_back = cli.invoke(app, ["result", "--server", shells.url, "--submodel-server", submodels.url,
                                     "--shell", DRONE_SHELL])
        assert read_back.exit_code == 0 and "(version 1)" in read_back.output and "KPIs.TotalCost" in read_back.output
