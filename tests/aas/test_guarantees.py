"""The guarantees the README states for write-back to a real BaSyx server, each under the fault that
threatens it (a loopback fault proxy between the client and the server)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from basyx.aas import model

from aas_quantum.aas.ids import b64
from aas_quantum.aas.result import result_submodel, result_submodel_id
from aas_quantum.aas.server import (
    AasClient,
    AasServerError,
    ServerSettings,
    result_write_lock,
    write_lock_id,
    write_lock_submodel,
    write_result,
)
from aas_quantum.aas.server import run_of as _run_of
from aas_quantum.cli import app
from aas_quantum.errors import ConfigError
from aas_quantum.run import optimize
from aas_quantum.summary import RunSummary

from tests.support import DRONE_SHELL, DRONE_STEM, SMALL, FaultProxy, free_port

RESULT_ID = result_submodel_id(DRONE_SHELL)
RESULT_PATH = f"/submodels/{b64(RESULT_ID)}"


def references(url: str) -> list[str]:
    with AasClient(ServerSettings.resolve(url)) as client:
        return [r.key[-1].value for r in client.shell(DRONE_SHELL).submodel]


def server_result(url: str):
    with AasClient(ServerSettings.resolve(url)) as client:
        return client.submodel_or_none(RESULT_ID)


def local_outputs(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob(f"{DRONE_STEM}.result.*"))


def test_local_outputs_are_written_before_any_remote_call(basyx_server, cli, tmp_path, monkeypatch):
    """A server that fails right after the solve (here: a login page instead of JSON for every call
    about the result) loses no work: the local result files exist and the error names the URL."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "1")
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, lambda method, path: "html" if b64(RESULT_ID) in path else None) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "exact", "--out", str(tmp_path)])
    message = " ".join(result.output.split())
    assert result.exit_code == 3, result.output
    assert "not valid JSON" in message and b64(RESULT_ID) in message
    assert local_outputs(tmp_path) == [f"{DRONE_STEM}.result.aasx", f"{DRONE_STEM}.result.json"]
    saved = json.loads((tmp_path / f"{DRONE_STEM}.result.json").read_text())
    assert saved["submodels"][0]["id"] == RESULT_ID


def test_server_stopped_after_the_solve_keeps_local_outputs_and_leaves_the_server_clean(basyx_server, cli,
                                                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "1")
    url, process = basyx_server(SMALL)

    def stop_on_first_write_call(method: str, path: str) -> None:
        if b64(RESULT_ID) in path and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    with FaultProxy(url, stop_on_first_write_call) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "exact", "--out", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "cannot reach the AAS server" in " ".join(result.output.split())
    assert len(local_outputs(tmp_path)) == 2
    restarted, _ = basyx_server(SMALL, port=int(url.split(":")[2].split("/")[0]))
    assert server_result(restarted) is None and RESULT_ID not in references(restarted)


def write_lock(url: str) -> model.Submodel | None:
    with AasClient(ServerSettings.resolve(url)) as client:
        return client.submodel_or_none(write_lock_id(RESULT_ID))


def test_lost_replies_to_create_and_reference_give_one_reference_and_no_orphan(basyx_server, cli, tmp_path):
    """The server applies the POSTs of the write lock, the result and its reference but the replies are
    lost: the client checks what arrived instead of retrying blindly (409) or deleting what a reference
    points to, and releases the lock."""
    url, _ = basyx_server(SMALL)
    dropped: list[str] = []

    def lose_first_create_replies(method: str, path: str) -> str | None:
        # creates in order: the write lock, the result (both POST /submodels), the reference
        kind = "refs" if path.endswith("/submodel-refs") else "submodel" if path.startswith("/api/v3.0/submodels") \
            else None
        if method == "POST" and kind and dropped.count(kind) < (2 if kind == "submodel" else 1):
            dropped.append(kind)
            return "drop"
        return None

    with FaultProxy(url, lose_first_create_replies) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert dropped == ["submodel", "submodel", "refs"]
    assert references(url).count(RESULT_ID) == 1
    written = server_result(url)
    assert written is not None and written.administration.version == "1"
    assert write_lock(url) is None


def test_a_dangling_reference_is_repaired_by_the_next_run(basyx_server, cli, tmp_path):
    url, _ = basyx_server(SMALL)
    assert cli.invoke(app, ["optimize", "--server", url, "--solver", "greedy", "--out", str(tmp_path)]).exit_code == 0
    with AasClient(ServerSettings.resolve(url)) as client:
        client.delete_submodel(RESULT_ID)  # e.g. removed by hand; the shell still references it
    again = cli.invoke(app, ["optimize", "--server", url, "--solver", "greedy", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert references(url).count(RESULT_ID) == 1 and server_result(url) is not None


def test_a_reference_the_server_keeps_refusing_leaves_no_orphan_result(basyx_server, cli, tmp_path, monkeypatch):
    """Every POST of the shell's reference answers 500: the result this run created is withdrawn again, so
    the server holds neither an unreferenced result nor a lock; the local outputs keep the run's result."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "1")
    url, _ = basyx_server(SMALL)
    refused: list[str] = []

    def refuse_references(method: str, path: str) -> int | None:
        if method == "POST" and path.endswith("/submodel-refs"):
            refused.append(path)
            return 500
        return None

    with FaultProxy(url, refuse_references) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert refused and "could not reference the result" in " ".join(result.output.split())
    assert server_result(url) is None and RESULT_ID not in references(url) and write_lock(url) is None
    assert local_outputs(tmp_path) == [f"{DRONE_STEM}.result.aasx", f"{DRONE_STEM}.result.json"]


def test_a_result_the_server_will_neither_reference_nor_delete_is_referenced_by_the_next_run(
        basyx_server, cli, tmp_path, monkeypatch):
    """The stated exception: when the server refuses the withdrawal too, the result stays unreferenced
    until the next run, which references it once (and writes its own version on top)."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "1")
    url, _ = basyx_server(SMALL)

    def refuse_reference_and_delete(method: str, path: str) -> int | None:
        refs = method == "POST" and path.endswith("/submodel-refs")
        return 500 if refs or (method == "DELETE" and path.endswith(RESULT_PATH)) else None

    with FaultProxy(url, refuse_reference_and_delete) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert server_result(url) is not None and RESULT_ID not in references(url)
    again = cli.invoke(app, ["optimize", "--server", url, "--solver", "greedy", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert references(url).count(RESULT_ID) == 1
    assert server_result(url).administration.version == "2"


def _drone_result(problem, finished: dt.datetime):
    """A greedy result for the drone whose run (its ``Finished`` time and its run id) is ``finished``."""
    report = optimize(problem, "greedy")
    report = dataclasses.replace(report, finished=finished)
    return result_submodel(problem, RunSummary.of(report, str(finished)), RESULT_ID, 2)


def test_concurrent_writers_never_lose_an_update(basyx_server, cli, tmp_path, load):
    """Two runs that both read version 1 start writing at the same moment (the proxy holds both
    creates of the write lock until both have arrived): each result gets its own version, the final
    one is 3, one reference, no lock left. (Without the lock, under load, both wrote version 2: each
    read its own PUT back before the other's landed.)"""
    url, _ = basyx_server(SMALL)
    assert cli.invoke(app, ["optimize", "--server", url, "--solver", "greedy", "--out", str(tmp_path)]).exit_code == 0
    barrier, held = threading.Barrier(2, timeout=20), []

    def hold_first_two_lock_creates(method: str, path: str) -> None:
        if method == "POST" and urlsplit(path).path.endswith("/submodels") and len(held) < 2:
            held.append(path)
            barrier.wait()

    results = [_drone_result(load(SMALL).problem, dt.datetime(2030, 1, 1, 12, 0, second, tzinfo=dt.UTC))
               for second in (1, 2)]
    written: list = []
    errors: list[BaseException] = []
    with FaultProxy(url, hold_first_two_lock_creates) as proxy:
        def write(result) -> None:
            try:
                with AasClient(ServerSettings.resolve(proxy.url)) as client:
                    written.append(write_result(client, DRONE_SHELL, result, read_version=1))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(r,)) for r in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert len(held) == 2
    assert sorted(w.administration.version for w in written) == ["2", "3"]
    assert server_result(url).administration.version == "3"
    assert references(url).count(RESULT_ID) == 1
    assert write_lock(url) is None


def test_a_write_lock_left_by_a_dead_run_is_broken_and_a_live_one_is_waited_for(basyx_server, load):
    """A lock older than its lifetime (a run died holding it) is removed and the write goes through; a
    fresh lock of another run makes the write wait, then fail naming that run, with the result untouched."""
    url, _ = basyx_server(SMALL)
    problem = load(SMALL).problem
    first, second = (_drone_result(problem, dt.datetime(2030, 1, 1, 12, 0, s, tzinfo=dt.UTC)) for s in (1, 2))
    with AasClient(ServerSettings.resolve(url)) as client:
        an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        client.post_submodel(write_lock_submodel(RESULT_ID, "dead-run", an_hour_ago))
        assert write_result(client, DRONE_SHELL, first).administration.version == "1"
        assert write_lock(url) is None
        client.post_submodel(write_lock_submodel(RESULT_ID, "live-run", dt.datetime.now(dt.UTC)))
        with pytest.raises(AasServerError, match=r"run live-run .* still holds its write lock after 1 s"):
            write_result(client, DRONE_SHELL, second, lock_wait_s=1.0)
    kept = server_result(url)
    assert kept is not None and kept.administration.version == "1"
    assert _run_of(kept) == _run_of(first)
    assert write_lock(url) is not None  # the live run's lock is not ours to remove


def test_a_lock_taken_after_a_long_wait_is_stamped_when_taken(basyx_server):
    """A run that waited out another run's lock (here until it went stale) stamps its own lock when it
    takes it: stamped when the wait began, it would look stale at once and the next run would break it."""
    url, _ = basyx_server(SMALL)
    ttl_s = 2.0
    with AasClient(ServerSettings.resolve(url)) as client:
        client.post_submodel(write_lock_submodel(RESULT_ID, "other-run", dt.datetime.now(dt.UTC)))
        with result_write_lock(client, RESULT_ID, "this-run", ttl_s=ttl_s):
            held = write_lock(url)
            assert held is not None and _run_of(held) == "this-run"
            acquired = next(e.value for e in held.submodel_element if e.id_short == "AcquiredAt")
            assert (dt.datetime.now(dt.UTC) - acquired).total_seconds() < ttl_s / 2
    assert write_lock(url) is None


def test_oauth2_token_is_renewed_when_it_expires(basyx_server, cli, tmp_path, monkeypatch):
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, oauth_secret="s3cret", token_uses=4) as proxy:
        monkeypatch.setenv("AAS_QUANTUM_TOKEN_URL", proxy.token_url)
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_ID", "aas-quantum")
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_SECRET", "s3cret")
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert proxy.requests > 8 and proxy.token_requests >= 3  # tokens of 4 calls each: renewed on 401
    monkeypatch.delenv("AAS_QUANTUM_TOKEN_URL")  # read the server directly, not through the proxy
    assert references(url).count(RESULT_ID) == 1


def test_oauth2_refusal_names_the_endpoint_without_echoing_secrets(basyx_server, cli, tmp_path, monkeypatch):
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, oauth_secret="s3cret") as proxy:
        monkeypatch.setenv("AAS_QUANTUM_TOKEN_URL", proxy.token_url)
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_ID", "aas-quantum")
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_SECRET", "wrong-secret")
        refused = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_SECRET", "s3cret")
        accepted = cli.invoke(app, ["optimize", "--server", proxy.url, "--solver", "greedy", "--out", str(tmp_path)])
        tokens = proxy.token_requests
    message = " ".join(refused.output.split())
    assert refused.exit_code == 3 and "token request" in message and "invalid_client" in message
    assert "wrong-secret" not in refused.output and "bad secret" not in refused.output  # the body is not echoed
    assert accepted.exit_code == 0, accepted.output
    assert tokens == 2  # one per run: the token is reused for every call of a run


@pytest.mark.parametrize("body, expected", [('{"token_type": "Bearer"}', "no access_token"),
                                            ("<html>sign in</html>", "no access_token")])
def test_token_endpoint_without_a_token_is_a_clear_error(basyx_server, cli, tmp_path, monkeypatch, body, expected):
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, oauth_secret="s3cret", token_body=body) as proxy:
        monkeypatch.setenv("AAS_QUANTUM_TOKEN_URL", proxy.token_url)
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_ID", "aas-quantum")
        monkeypatch.setenv("AAS_QUANTUM_CLIENT_SECRET", "s3cret")
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--out", str(tmp_path)])
    assert result.exit_code == 3 and expected in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unreachable_token_endpoint_is_named_not_the_aas_server(basyx_server, cli, tmp_path, monkeypatch):
    """The token request fails before the API call it precedes; the message named the AAS server's URL as
    unreachable, sending the user to a server that was up."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "0")
    url, _ = basyx_server(SMALL)
    token_url = f"http://127.0.0.1:{free_port()}/token"
    monkeypatch.setenv("AAS_QUANTUM_TOKEN_URL", token_url)
    monkeypatch.setenv("AAS_QUANTUM_CLIENT_ID", "aas-quantum")
    monkeypatch.setenv("AAS_QUANTUM_CLIENT_SECRET", "s3cret-value")
    result = cli.invoke(app, ["optimize", "--server", url, "--out", str(tmp_path)])
    message = " ".join(result.output.split())
    assert result.exit_code == 3, message
    assert f"token request to {token_url}: cannot reach the token endpoint" in message
    assert "cannot reach the AAS server" not in message and "s3cret-value" not in message


def test_password_in_the_server_url_is_never_echoed(basyx_server, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "0")
    url, _ = basyx_server(SMALL)
    with_password = url.replace("http://", "http://alice:Pa55word@")
    ok = cli.invoke(app, ["optimize", "--server", with_password, "--solver", "greedy", "--json", "--out",
                          str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["outputs"]["server"].startswith(url)
    down = cli.invoke(app, ["optimize", "--server", f"http://alice:Pa55word@127.0.0.1:{free_port()}/api/v3.0",
                            "--out", str(tmp_path)])
    assert down.exit_code == 3 and "cannot reach" in " ".join(down.output.split())
    for text in (ok.output, down.output, *(p.read_bytes().decode("latin-1") for p in tmp_path.iterdir())):
        assert "Pa55word" not in text


@pytest.mark.parametrize("path_part, body", [(f"/shells/{b64(DRONE_SHELL)}", '{"id": 5}'),
                                             ("/shells?", "[1, 2]"),
                                             ("/submodels?", '{"result": 7}')])
def test_malformed_server_answers_name_the_url(basyx_server, cli, tmp_path, path_part, body):
    url, _ = basyx_server(SMALL)
    with FaultProxy(url, lambda method, path: body if path_part in path else None) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--shell", DRONE_SHELL, "--all", "--out",
                                  str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "127.0.0.1" in result.output


def test_an_oversized_answer_is_refused(basyx_server, cli, tmp_path, monkeypatch):
    url, _ = basyx_server(SMALL)
    monkeypatch.setenv("AAS_QUANTUM_MAX_RESPONSE_MB", "0.001")  # 1 kB: the drone's submodels are larger
    result = cli.invoke(app, ["optimize", "--server", url, "--out", str(tmp_path)])
    assert result.exit_code == 3 and "larger than 0.001 MB" in " ".join(result.output.split())


@pytest.mark.parametrize("text, verify", [("true", True), ("1", True), ("yes", True), ("false", False),
                                          ("0", False), ("off", False)])
def test_verify_tls_is_a_boolean(monkeypatch, text, verify):
    monkeypatch.setenv("AAS_QUANTUM_VERIFY_TLS", text)
    assert ServerSettings.resolve("https://aas.example/api/v3.0").verify is verify


def test_verify_tls_rejects_other_words(monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_VERIFY_TLS", "maybe")
    with pytest.raises(ConfigError, match=r"AAS_QUANTUM_VERIFY_TLS / \[server\] verify must be true or false"):
        ServerSettings.resolve("https://aas.example/api/v3.0")


def test_optimize_takes_the_server_from_the_config_file(basyx_server, cli, tmp_path, monkeypatch):
    url, _ = basyx_server(SMALL)
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nbase_url = "{url}"\n')
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(config))
    monkeypatch.delenv("AAS_QUANTUM_SERVER", raising=False)
    result = cli.invoke(app, ["optimize", "--solver", "greedy", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert server_result(url) is not None


def test_result_without_a_result_is_a_usage_error_not_infeasible(basyx_server, cli):
    url, _ = basyx_server(SMALL)
    result = cli.invoke(app, ["result", "--server", url, "--shell", DRONE_SHELL])
    assert result.exit_code == 2 and "run `aas-quantum optimize`" in " ".join(result.output.split())


def test_write_result_reports_a_server_that_never_takes_the_create(basyx_server, load):
    """Nothing arrives (every POST refused at the door): a plain error, nothing deleted, nothing referenced."""
    url, _ = basyx_server(SMALL)
    result = _drone_result(load(SMALL).problem, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with FaultProxy(url, lambda method, path: "refuse" if method == "POST" else None) as proxy, \
            AasClient(ServerSettings.resolve(proxy.url, retries=0)) as client, \
            pytest.raises(AasServerError, match="cannot reach"):
        write_result(client, DRONE_SHELL, result)
    assert server_result(url) is None and RESULT_ID not in references(url)


@pytest.mark.parametrize("cursors", ["two that alternate", "a new one every page"])
def test_a_server_that_pages_in_a_loop_is_an_error_not_a_hang(basyx_server, cli, tmp_path, cursors):
    """Every page of the submodel listing holds the same submodel and names a next cursor (alternating, or a
    fresh one each time): the listing never ended. It is a server error naming the URL."""
    url, _ = basyx_server(SMALL)
    page = {"n": 0}
    first = httpx.get(f"{url}/submodels", params={"limit": "1"}).json()["result"][0]

    def loop(method: str, path: str) -> str | None:
        if method != "GET" or not path.startswith("/api/v3.0/submodels?"):
            return None
        page["n"] += 1
        cursor = "ab"[page["n"] % 2] if cursors == "two that alternate" else f"page-{page['n']}"
        return json.dumps({"result": [first], "paging_metadata": {"cursor": cursor}})

    with FaultProxy(url, loop) as proxy:
        result = cli.invoke(app, ["optimize", "--server", proxy.url, "--shell", DRONE_SHELL, "--solver", "greedy",
                                  "--out", str(tmp_path)])
    message = " ".join(result.output.split())
    assert result.exit_code == 3, message
    assert f"GET {proxy.url}/submodels: the server pages in a loop" in message
    assert page["n"] <= 3 and not list(tmp_path.iterdir())


class _QuotingServer:
    """A loopback AAS server that refuses every call quoting the request's Authorization header back, as
    some gateways do in their error pages: with ``status`` and a JSON message, or 200 with an HTML page."""

    def __init__(self, status: int, html: bool = False) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                quoted = f"credentials {self.headers.get('Authorization', '')} refused"
                body = (f"<html>{quoted}</html>" if html else json.dumps({"messages": [{"text": quoted}]})).encode()
                self.send_response(200 if html else status)
                self.send_header("Content-Type", "text/html" if html else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3.0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> _QuotingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status, html", [(401, False), (400, False), (403, False), (200, True)])
def test_credentials_a_server_quotes_back_are_never_echoed(cli, tmp_path, monkeypatch, status, html):
    """The server's words are shown with its errors (and a listing's body that is not JSON); a bearer
    token, a basic-auth header and its password that the server quotes from the request are cut out of
    them (they appeared in the message)."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "0")
    basic = base64.b64encode(b"alice:Pa55word").decode()
    with _QuotingServer(status, html) as server:
        monkeypatch.setenv("AAS_QUANTUM_TOKEN", "T0KEN-abc.def")
        bearer = cli.invoke(app, ["optimize", "--server", server.url, "--all", "--out", str(tmp_path)])
        monkeypatch.delenv("AAS_QUANTUM_TOKEN")
        with_password = server.url.replace("http://", "http://alice:Pa55word@")
        password = cli.invoke(app, ["optimize", "--server", with_password, "--all", "--out", str(tmp_path)])
    for result in (bearer, password):
        message = " ".join(result.output.split())
        assert result.exit_code == 3, message
        assert "credentials *** refused" in message
        for secret in ("T0KEN-abc", "Pa55word", basic, basic[:12]):
            assert secret not in message


@pytest.mark.parametrize("flag", ["--server", "--registry"])
def test_a_server_url_with_a_query_is_refused_without_echoing_it(cli, tmp_path, flag):
    # the client appends API paths to the base URL, so a query there (a gateway's ?apikey=) would be
    # sent garbled; the key belongs in the token setting, and the message must not repeat it
    url = "http://127.0.0.1:1/api/v3.0?apikey=K3y-v4lue"
    result = cli.invoke(app, ["optimize", flag, url, "--out", str(tmp_path)])
    message = " ".join(result.output.split())
    assert result.exit_code == 2, message
    assert "takes no query" in message and "AAS_QUANTUM_TOKEN" in message
    assert "K3y-v4lue" not in message and "apikey=***" in message
