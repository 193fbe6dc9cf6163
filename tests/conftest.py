"""Shared fixtures: sample paths, catalogue writers and the IDTA test-engine check."""

from __future__ import annotations

import functools
import http.server
import json
import os
import queue
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from typer.testing import CliRunner

from aas_quantum.aas.files import read_files, write_aasx
from aas_quantum.aas.ids import b64
from aas_quantum.aas.mapping import catalog_objects, product_shell, read_catalog
from aas_quantum.aas.result import output_stem
from aas_quantum.catalog import Catalog
from aas_quantum.erp import ErpDocument, erp_document
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.report import Report
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions
from aas_quantum.summary import RunSummary

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SMALL, MEDIUM, LARGE = SAMPLES / "drone.aasx", SAMPLES / "ebike-drive.aasx", SAMPLES / "control-cabinet.aasx"
DRONE_SHELL = "urn:aas-quantum:sample:drone:aas"
DRONE_STEM = output_stem(DRONE_SHELL)  # file name stem of the drone's outputs
MMKP_DIR = REPO.parent / "shared" / "benchmarks" / "mmkp"

sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(SAMPLES))


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@dataclass(frozen=True)
class Sample:
    """An AAS file as the tests use it: the catalogue read from it and the problem built from that."""

    catalog: Catalog
    problem: BomProblem


@functools.cache
def _read(path: Path, stamp: tuple[int, int]) -> Sample:
    env = read_files([path])
    catalog = read_catalog(env, product_shell(env))
    return Sample(catalog, build_problem(catalog))


@pytest.fixture(scope="session")
def load() -> Callable[[Path], Sample]:
    """``load(path)``: the catalogue and problem of an AAS file (read once per file version and session)."""
    def read(path: Path) -> Sample:
        info = Path(path).stat()
        return _read(Path(path), (info.st_mtime_ns, info.st_size))
    return read


def write_catalog(catalog: Catalog, path: Path, namespace: str = "urn:aas-quantum:test") -> Path:
    write_aasx(path, catalog_objects(catalog, namespace))
    return path


def check_file(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    """Run IDTA's aas_test_engines on a file (exit 0 = compliant)."""
    tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
    return subprocess.run([tool, "check_file", str(path), "--format", fmt], capture_output=True, text=True,
                          timeout=300)


def idta_findings(path: Path, fmt: str) -> list[str]:
    """Every warning and error aas_test_engines reports for a file (its JSON report's leaves at level >= 1)."""
    tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
    done = subprocess.run([tool, "check_file", str(path), "--format", fmt, "--output", "json"],
                          capture_output=True, text=True, timeout=300)
    found: list[str] = []

    def walk(node: dict) -> None:
        if not node["s"] and node["l"] >= 1:
            found.append(node["m"])
        for child in node["s"]:
            walk(child)

    walk(json.loads(done.stdout))
    return found


SERVER_PYTHON = REPO / ".basyx-server-venv" / "bin" / "python"
SERVE_SCRIPT = REPO / "tests" / "basyx" / "serve.py"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def basyx_server(tmp_path_factory):
    """Start the BaSyx Python server (SDK 1.2.1, own venv) on 127.0.0.1: ``start(*files) -> (url, process)``."""
    processes: list[subprocess.Popen] = []

    def start(*files: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
        if not SERVER_PYTHON.exists():
            pytest.fail(f"{SERVER_PYTHON} is missing: `make test` creates the BaSyx server environment")
        port = port or free_port()
        log = tmp_path_factory.mktemp("basyx") / "server.log"
        with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server
            process = subprocess.Popen([str(SERVER_PYTHON), str(SERVE_SCRIPT), "--port", str(port),
                                        *map(str, files)], stdout=subprocess.PIPE, stderr=sink, text=True)
        processes.append(process)
        line = process.stdout.readline()
        if not line.startswith("ready"):
            process.kill()
            pytest.fail(f"BaSyx server did not start: {line} {log.read_text()}")
        return f"http://127.0.0.1:{port}/api/v3.0", process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1 with persistence, stoppable and restartable on the same port."""

    def __init__(self, directory: Path, extra_config: str = "", anonymous: bool = True) -> None:
        self.directory = directory
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence true\npersistence_location {directory}/\nautosave_interval 1\n"
            f"log_dest file {directory}/mosquitto.log\nlog_type all\n"
            # as root mosquitto would switch to its own user, which cannot write the test directory
            + ("user root\n" if os.geteuid() == 0 else "") + extra_config)
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        import socket
        import time

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed: `make test` installs the Debian package")
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        pytest.fail(f"mosquitto did not start: {(self.directory / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto writes its persistence file before exiting
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture
def mosquitto(tmp_path_factory):
    """``start(extra_config="", anonymous=True) -> Mosquitto``; every broker is stopped afterwards."""
    brokers: list[Mosquitto] = []

    def start(extra_config: str = "", anonymous: bool = True) -> Mosquitto:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"), extra_config, anonymous)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.stop()


Rule = Callable[[str, str], "int | str | tuple[str, str] | None"]


def statuses_first(statuses: list[int]) -> Rule:
    """A proxy rule answering the first requests with ``statuses``, then forwarding."""
    pending = list(statuses)
    lock = threading.Lock()

    def rule(method: str, path: str) -> int | None:
        with lock:
            return pending.pop(0) if pending else None
    return rule


class FaultProxy:
    """A real HTTP proxy on 127.0.0.1 in front of an AAS server, injecting faults per request.

    ``rule(method, path)`` decides: None forwards; an int answers that status (JSON error body);
    ``"html"`` answers 200 with an HTML page (a login portal); ``"drop"`` forwards, then closes the
    connection without answering (the reply is lost, the effect is not); ``"refuse"`` closes without
    forwarding; ``("forward", path)`` forwards to another path (a server that reads a request
    differently); any other string is sent as a 200 JSON body. With ``oauth_secret`` it is also an
    OAuth2 client-credentials token endpoint at ``/token`` and refuses API calls without a valid
    token; each token is valid for ``token_uses`` calls (None: unlimited). While ``rule`` decides,
    ``peer.address`` is the (host, port) the request came from (which process sent it).
    """

    def __init__(self, upstream: str, rule: Rule | None = None, oauth_secret: str | None = None,
                 token_uses: int | None = None, token_body: str | None = None) -> None:
        self.upstream, self.rule, self.requests = upstream, rule or (lambda method, path: None), 0
        self.oauth_secret, self.token_uses, self.token_body = oauth_secret, token_uses, token_body
        self.token_requests, self.tokens = 0, {}
        self.lock = threading.Lock()
        self.peer = threading.local()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.oauth_secret is not None and self.path == "/token":
                    self._token(body.decode())
                    return
                with proxy.lock:
                    proxy.requests += 1
                if proxy.oauth_secret is not None and not proxy.authorised(self.headers.get("Authorization", "")):
                    self._send(401, b'{"messages": [{"text": "token expired or invalid"}]}')
                    return
                proxy.peer.address = self.client_address
                action = proxy.rule(self.command, self.path)
                if isinstance(action, int):
                    self._send(action, json.dumps({"messages": [{"text": f"injected {action}"}]}).encode())
                    return
                if action == "html":
                    self._send(200, b"<html><body>Please log in</body></html>", "text/html")
                    return
                if action == "refuse":
                    self.close_connection = True
                    return
                if isinstance(action, str) and action != "drop":
                    self._send(200, action.encode())
                    return
                path = action[1] if isinstance(action, tuple) else self.path
                try:
                    upstream = httpx.request(self.command, proxy.upstream + path.removeprefix("/api/v3.0"),
                                             content=body or None,
                                             headers={"Content-Type": self.headers.get("Content-Type", "")})
                except httpx.TransportError:
                    self.close_connection = True  # upstream gone: the client sees a dropped connection
                    return
                if action == "drop":
                    self.close_connection = True
                    return
                self._send(upstream.status_code, upstream.content,
                           upstream.headers.get("Content-Type", "application/json"))

            def _token(self, form: str) -> None:
                with proxy.lock:
                    proxy.token_requests += 1
                    token = f"token-{proxy.token_requests}"
                    ok = f"client_secret={proxy.oauth_secret}" in form and "grant_type=client_credentials" in form
                    if ok:
                        proxy.tokens[token] = proxy.token_uses
                if proxy.token_body is not None:
                    self._send(200, proxy.token_body.encode())
                elif ok:
                    self._send(200, json.dumps({"access_token": token, "token_type": "Bearer"}).encode())
                else:
                    self._send(401, json.dumps({"error": "invalid_client",
                                                "error_description": f"bad secret in {form}"}).encode())

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3.0"
        self.token_url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorised(self, header: str) -> bool:
        with self.lock:
            token = header.removeprefix("Bearer ")
            if token not in self.tokens:
                return False
            uses = self.tokens[token]
            if uses is not None:
                if uses <= 0:
                    return False
                self.tokens[token] = uses - 1
            return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HeldRead:
    """A ``FaultProxy`` rule holding the first read of a shell until ``release()``: a job that is mid-run for
    exactly as long as the test needs, on a fast machine as on a slow one."""

    def __init__(self, shell: str) -> None:
        self.segment, self.reached, self._released = b64(shell), threading.Event(), threading.Event()
        self._armed, self._lock = True, threading.Lock()

    def __call__(self, method: str, path: str) -> None:
        with self._lock:
            take = self._armed and method == "GET" and self.segment in path
            self._armed = self._armed and not take
        if take:
            self.reached.set()
            self._released.wait(240)

    def release(self) -> None:
        self._released.set()


class Subscriber:
    """A real paho client collecting (topic, payload, retain) in arrival order."""

    def __init__(self, port: int, topics: list[str], client_id: str = "", persistent: bool = False,
                 tls: dict | None = None, auth: tuple[str, str] | None = None) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.subscribed = threading.Event()  # acknowledged: nothing published from now on is missed
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        if tls:
            self.client.tls_set(**tls)
        if auth:
            self.client.username_pw_set(*auth)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, json.loads(m.payload), m.retain))
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.subscribed.set()
        self.client.reconnect_delay_set(0.2, 1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(30):
            pytest.fail(f"the test subscriber got no SUBACK for {topics}")

    def drain(self, quiet_s: float = 1.0, total_s: float = 30.0, until: int | None = None) -> list:
        """Messages until none arrives for ``quiet_s`` (or ``until`` of them have arrived)."""
        got, deadline = [], time.monotonic() + total_s
        while time.monotonic() < deadline and (until is None or len(got) < until):
            try:
                got.append(self.messages.get(timeout=quiet_s if until is None else deadline - time.monotonic()))
            except queue.Empty:
                if until is None:
                    break
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


SERVICE_KEY = "test-service-key"  # the API key the service processes of the tests accept


class ServiceProcess:
    """``aas-quantum serve`` as a real process on 127.0.0.1 (uvicorn), started, killed and restarted by tests."""

    def __init__(self, directory: Path, args: list[str], env: dict[str, str] | None = None,
                 ca: Path | None = None) -> None:
        self.directory, self.args, self.ca = directory, args, ca  # ca: the service speaks TLS, signed by it
        self.port = free_port()
        self.env = {**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": SERVICE_KEY,
                    "AAS_QUANTUM_CONFIG": str(directory / "none.toml"), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log = directory / "service.log"

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> ServiceProcess:
        import time

        with self.log.open("a") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aas_quantum.cli", "serve", "--port", str(self.port), "--data-dir",
                 str(self.directory / "data"), *self.args], stdout=sink, stderr=sink, env=self.env, cwd=REPO)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1, verify=self.verify()).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the service did not start: {self.log.read_text()[-3000:]}")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": SERVICE_KEY}, timeout=60,
                            verify=self.verify())

    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def aas_service(tmp_path_factory):
    """``start(*args, env=None) -> ServiceProcess``: a real service process; all are stopped afterwards."""
    services: list[ServiceProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, directory: Path | None = None,
              ca: Path | None = None) -> ServiceProcess:
        service = ServiceProcess(directory or tmp_path_factory.mktemp("service"), list(args), env, ca)
        services.append(service)
        return service.start()

    yield start
    for service in services:
        service.stop()


class PostgresCluster:
    """A real PostgreSQL (Debian's package) on 127.0.0.1 in a throw-away cluster, stoppable and restartable
    on the same port (an outage in the middle of a test)."""

    def __init__(self) -> None:
        import glob
        import tempfile

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            pytest.fail("PostgreSQL is not installed: `make test` installs the Debian package postgresql")
        self.bin_dir = Path(bins[-1])
        self.directory = Path(tempfile.mkdtemp(prefix="aasq-pg-", dir="/tmp"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.directory, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        subprocess.run([*self.as_user, str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                        "postgres"], check=True, capture_output=True, timeout=120)
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def start(self) -> PostgresCluster:
        import psycopg

        self.process = subprocess.Popen(
            [*self.as_user, str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k",
             str(self.directory), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    pytest.fail("PostgreSQL did not start")
                time.sleep(0.2)

    def stop(self) -> None:
        """Fast shutdown: every connection is cut, as in an outage (runuser passes no SIGINT on, so pg_ctl)."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run([*self.as_user, str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast",
                            "-w"], check=True, capture_output=True, timeout=60)
            self.process.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def postgres_cluster():
    """A started ``PostgresCluster`` (``stop()``/``start()`` keep its data and port); removed afterwards."""
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@pytest.fixture
def postgres(postgres_cluster):
    """A real PostgreSQL in a throw-away cluster: its DSN."""
    return postgres_cluster.dsn


@pytest.fixture(scope="module")
def solved() -> tuple[BomProblem, Report, ErpDocument]:
    """The e-bike drive solved exactly, and its ERP document: what the ERP export tests write."""
    env = read_files([MEDIUM])
    problem = build_problem(read_catalog(env, product_shell(env)))
    report = optimize(problem, "exact", SolveOptions())
    return problem, report, erp_document(problem, report.solution.choice, RunSummary.of(report, "run-1"))
