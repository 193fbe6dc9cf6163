"""Discovery through the AAS Registry and Submodel Registry, as BaSyx Java is deployed: the client is
given only the registries; shells and submodels are read from their descriptors' endpoints, each on
its own repository service, and the new result is described in both registries.

The registry here is a small loopback server speaking the AAS API v3.0 registry calls the client
uses (the BaSyx Java registry cannot run on this machine); the repositories are the real BaSyx
Python server behind two proxies that each refuse the other kind of call."""

from __future__ import annotations

import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from aas_quantum.aas.ids import b64
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server import AasClient, AasServerError, ServerSettings
from aas_quantum.cli import app

from tests.support import SMALL, FaultProxy

DRONE_SHELL = "urn:aas-quantum:sample:drone:aas"


class LoopbackRegistry:
    """AAS Registry (``/shell-descriptors``) and Submodel Registry (``/submodel-descriptors``) in one
    loopback server, paged like the spec (``limit`` / ``cursor``)."""

    def __init__(self, shells: list[dict], submodels: list[dict]) -> None:
        self.shells, self.submodels, self.posts = shells, submodels, 0
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                items = {"/shell-descriptors": registry.shells, "/submodel-descriptors": registry.submodels}.get(
                    parts.path)
                if items is None:
                    return self._answer(404, {"messages": [{"text": "not found"}]})
                query = parse_qs(parts.query)
                # pages of at most 2, whatever the client asks: the client must follow the cursor
                limit, start = min(2, int(query.get("limit", ["100"])[0])), int(query.get("cursor", ["0"])[0])
                page = items[start:start + limit]
                more = {"cursor": str(start + limit)} if start + limit < len(items) else {}
                self._answer(200, {"result": page, "paging_metadata": more})

            def do_POST(self) -> None:
                descriptor = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = urlsplit(self.path).path
                registry.posts += 1
                if path == "/submodel-descriptors":
                    target = registry.submodels
                else:
                    encoded = path.split("/")[2]
                    shell = next((s for s in registry.shells if b64(s["id"]) == encoded), None)
                    if shell is None:
                        return self._answer(404, {"messages": [{"text": "no such shell descriptor"}]})
                    target = shell.setdefault("submodelDescriptors", [])
                if any(d["id"] == descriptor["id"] for d in target):
                    return self._answer(409, {"messages": [{"text": "exists"}]})
                target.append(descriptor)
                self._answer(201, descriptor)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _descriptors(url: str, shell_base: str, submodel_base: str) -> tuple[list[dict], list[dict]]:
    """Descriptors of everything on the server, with endpoints on the given repository services."""
    def submodel(sm: dict) -> dict:
        return {"id": sm["id"], "idShort": sm.get("idShort", ""), "semanticId": sm.get("semanticId"),
                "endpoints": [{"interface": "SUBMODEL-3.0",
                               "protocolInformation": {"href": f"{submodel_base}/submodels/{b64(sm['id'])}"}}]}

    with httpx.Client(timeout=10) as client:
        shells = client.get(f"{url}/shells", params={"limit": 1000}).json()["result"]
        submodels = {sm["id"]: sm for sm in client.get(f"{url}/submodels", params={"limit": 1000}).json()["result"]}
    shell_descriptors = [
        {"id": s["id"], "idShort": s.get("idShort", ""), "globalAssetId": s["assetInformation"]["globalAssetId"],
         "endpoints": [{"interface": "AAS-3.0",
                        "protocolInformation": {"href": f"{shell_base}/shells/{b64(s['id'])}"}}],
         "submodelDescriptors": [submodel(submodels[r["keys"][-1]["value"]]) for r in s.get("submodels", [])]}
        for s in shells]
    return shell_descriptors, [submodel(sm) for sm in submodels.values()]


def _only(kind: str):
    return lambda method, path: None if urlsplit(path).path.startswith(f"/api/v3.0/{kind}") else 418


def test_registries_alone_find_products_suppliers_and_describe_the_result(basyx_server, cli, tmp_path):
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, _only("shells")) as shell_repo, FaultProxy(url, _only("submodels")) as submodel_repo:
        shells, submodels = _descriptors(url, shell_repo.url, submodel_repo.url)
        with LoopbackRegistry(shells, submodels) as registry:
            args = ["optimize", "--registry", registry.url, "--submodel-registry", registry.url, "--all",
                    "--solver", "exact", "--json", "--out", str(tmp_path)]
            done = cli.invoke(app, args)
            assert done.exit_code == 0, done.output
            summary = json.loads(done.output)
            result_id = result_submodel_id(DRONE_SHELL)
            # written to the submodel repository the other submodels are described in, and described
            assert summary["outputs"]["server"] == f"{submodel_repo.url}/submodels/{b64(result_id)}"
            drone = next(s for s in registry.shells if s["id"] == DRONE_SHELL)
            assert [d["id"] for d in drone["submodelDescriptors"]].count(result_id) == 1
            assert [d["id"] for d in registry.submodels].count(result_id) == 1
            assert shell_repo.requests > 0 and submodel_repo.requests > 0

            again = cli.invoke(app, args)  # the second run finds the result by its descriptor
            assert again.exit_code == 0, again.output
            assert [d["id"] for d in drone["submodelDescriptors"]].count(result_id) == 1
            read_back = cli.invoke(app, ["result", "--registry", registry.url, "--shell", DRONE_SHELL])
            assert read_back.exit_code == 0, read_back.output
            assert "(version 2)" in read_back.output
    with AasClient(ServerSettings.resolve(url)) as client:
        assert client.submodel(result_id).administration.version == "2"


def test_registry_pages_are_followed(basyx_server):
    url, _ = basyx_server(SMALL)
    shells, submodels = _descriptors(url, url, url)
    assert len(shells) > 2
    with LoopbackRegistry(shells, submodels) as registry, \
            AasClient(ServerSettings.resolve(registry_url=registry.url)) as client:
        endpoints = client.endpoints()
        assert endpoints is not None and set(endpoints.shells) == {s["id"] for s in shells}
        assert {s.id for s in client.shells()} == {s["id"] for s in shells}


def test_registry_without_repository_for_an_undescribed_submodel_says_so():
    with LoopbackRegistry([], []) as registry, \
            AasClient(ServerSettings.resolve(registry_url=registry.url)) as client, \
            pytest.raises(AasServerError, match="no repository URL is given"):
        client.submodel_or_none("urn:nowhere")
