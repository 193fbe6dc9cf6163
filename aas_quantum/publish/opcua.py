"""OPC UA (asyncua): a server exposing the latest decision per product, and a client mode that writes
the same values into an existing server's nodes.

Server address space (namespace ``urn:aas-quantum:opcua``, string node ids so node maps stay stable):

    Objects/AasQuantum                       Optimize(productId: String) -> Status, JobId: String
      Products/<product>                     ProductId, Status, LastRun, TotalCost, Currency,
                                             ImprovementVsGreedyPercent, GapToOptimumPercent, Solver,
                                             RunId
        Positions/<position>                 PositionId, PartNumber, SupplierId, Quantity, UnitPrice,
                                             LeadTimeDays
      Jobs/<job id>                          ProductId, State, Progress, Stage, Message, RunId

``Optimize`` queues a job and answers at once (``queued`` and the job id); the job's node and the
product's ``Status`` follow the run (``solving``, then ``done`` with the new values, or ``failed``).
The nodes of finished jobs are kept for the ``finished_jobs_kept`` most recent ones, then removed
(a server that runs for months would otherwise grow a node per job).

Percentages and days carry ``EngineeringUnits`` (UNECE codes, OPC UA Part 8). Security: Basic256Sha256
Sign and SignAndEncrypt with a certificate created on first start and reused; users and passwords
from config. Anonymous sessions and the None policy exist only when configured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, Server, ua
from asyncua.common.node import Node
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from aas_quantum.config import Layers, config_section, parse_url
from aas_quantum.errors import AasQuantumError, ConfigError, ExitCode
from aas_quantum.problem import product_name
from aas_quantum.sanitize import redact_url
from aas_quantum.summary import RunSummary

log = logging.getLogger(__name__)
NAMESPACE_URI = "urn:aas-quantum:opcua"
UNECE_UNITS_URI = "http://www.opcfoundation.org/UA/units/un/cefact"
SECURITY_MODES = ("Sign", "SignAndEncrypt")


class OpcUaError(AasQuantumError):
    exit_code = ExitCode.BROKER


def default_cert_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "aas-quantum" / "opcua"


# ------------------------------------------------------------------------------------ values


def product_values(summary: RunSummary) -> dict[str, Any]:
    """The product variables of a run."""
    kpis = summary.kpis
    return {
        "ProductId": summary.product_id, "Status": summary.status, "LastRun": summary.finished,
        "TotalCost": kpis.total_cost, "Currency": summary.currency,
        "ImprovementVsGreedyPercent": kpis.improvement_vs_greedy_pct or 0.0,
        "GapToOptimumPercent": kpis.gap_to_optimum_pct or 0.0, "Solver": summary.solver.method,
        "RunId": summary.run_id,
    }


def position_values(summary: RunSummary) -> list[dict[str, Any]]:
    return [{"PositionId": line.position_id, "PartNumber": line.part_number, "SupplierId": line.supplier_id,
             "Quantity": line.quantity, "UnitPrice": line.unit_price, "LeadTimeDays": line.lead_time_days}
            for line in summary.selection]


VARIANT_TYPES = {
    "ProductId": ua.VariantType.String, "Status": ua.VariantType.String, "LastRun": ua.VariantType.DateTime,
    "TotalCost": ua.VariantType.Double, "Currency": ua.VariantType.String,
    "ImprovementVsGreedyPercent": ua.VariantType.Double, "GapToOptimumPercent": ua.VariantType.Double,
    "Solver": ua.VariantType.String, "RunId": ua.VariantType.String,
    "PositionId": ua.VariantType.String, "PartNumber": ua.VariantType.String,
    "SupplierId": ua.VariantType.String, "Quantity": ua.VariantType.Double, "UnitPrice": ua.VariantType.Double,
    "LeadTimeDays": ua.VariantType.Double,
}
JOB_TYPES = {"ProductId": ua.VariantType.String, "State": ua.VariantType.String, "Progress": ua.VariantType.Double,
             "Stage": ua.VariantType.String, "Message": ua.VariantType.String, "RunId": ua.VariantType.String}
UNITS = {"ImprovementVsGreedyPercent": ("P1", "%", "percent"), "GapToOptimumPercent": ("P1", "%", "percent"),
         "LeadTimeDays": ("DAY", "d", "day")}


def eu_information(code: str, symbol: str, description: str) -> ua.EUInformation:
    """EUInformation of a UNECE Rec. 20 code; UnitId packs the code's characters (OPC UA Part 8, 5.6.3)."""
    unit_id = 0
    for char in code:
        unit_id = (unit_id << 8) | ord(char)
    return ua.EUInformation(NamespaceUri=UNECE_UNITS_URI, UnitId=unit_id,
                            DisplayName=ua.LocalizedText(symbol), Description=ua.LocalizedText(description))


# ------------------------------------------------------------------------------------ server


@dataclass(frozen=True)
class OpcUaServerSettings:
    endpoint: str = "opc.tcp://127.0.0.1:4840/aas-quantum"
    cert_dir: Path = field(default_factory=default_cert_dir)
    users: dict[str, str] = field(default_factory=dict, repr=False)
    allow_anonymous: bool = False
    allow_none_security: bool = False
    application_uri: str = "urn:aas-quantum:opcua:server"
    finished_jobs_kept: int = 100  # nodes of finished jobs under Jobs/, most recent first; older ones are removed

    @classmethod
    def resolve(cls, endpoint: str | None = None, **overrides: Any) -> OpcUaServerSettings:
        """Arguments, then ``AAS_QUANTUM_OPCUA_SERVER_*`` environment variables, then ``[opcua.server]``
        (users: ``[opcua.users]``) in the config file."""
        values = Layers.of("opcua.server", "AAS_QUANTUM_OPCUA_SERVER_").typed(
            cls, {**overrides, "endpoint": endpoint or None}, skip=("users",))
        settings = cls(users=overrides.get("users") or config_section("opcua.users"), **values)
        if not settings.users and not settings.allow_anonymous:
            raise ConfigError("the OPC UA server has no users: add [opcua.users] name = \"password\" to the config "
                              "file, or set allow_anonymous = true in [opcua.server] explicitly")
        parse_url(settings.endpoint, ("opc.tcp",), "OPC UA endpoint (--endpoint)", "opc.tcp://host:port/path")
        if settings.finished_jobs_kept < 1:
            raise ConfigError(f"[opcua.server] finished_jobs_kept must be at least 1 (a finished job's node is "
                              f"how a caller learns its outcome), got {settings.finished_jobs_kept}")
        return settings


class ConfigUserManager(UserManager):
    """Users and passwords from config; anonymous only when allowed."""

    def __init__(self, users: dict[str, str], allow_anonymous: bool) -> None:
        self.users = users
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is None:  # anonymous (X.509 user tokens are not offered)
            return User(role=UserRole.User, name="anonymous") if self.allow_anonymous else None
        expected = self.users.get(username)
        if expected is not None and password is not None and hmac.compare_digest(expected.encode(), password.encode()):
            return User(role=UserRole.User, name=username)
        log.warning("OPC UA: rejected user %r", username)
        return None


async def ensure_certificate(cert_dir: Path, application_uri: str, server: bool) -> tuple[Path, Path]:
    """A self-signed application certificate, created on first use and reused (renewed when invalid)."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cert_dir, 0o700)
    kind = "server" if server else "client"
    cert, key = cert_dir / f"{kind}-cert.der", cert_dir / f"{kind}-key.pem"
    await setup_self_signed_certificate(
        key, cert, application_uri, socket.gethostname(),
        [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": f"aas-quantum {kind}", "organizationName": "aas-quantum"})
    os.chmod(key, 0o600)
    return cert, key


Submit = Callable[[str], str]  # product id -> job id; raises when the product is unknown


class OpcUaResultServer:
    """The plugin's OPC UA server. ``submit(product_id) -> job id`` queues a run and returns at once;
    ``follow`` (called on the server's loop) shows the job's progress and, when done, its result."""

    def __init__(self, settings: OpcUaServerSettings, submit: Submit | None = None) -> None:
        self.settings = settings
        self.submit = submit
        self.server = Server(user_manager=ConfigUserManager(settings.users, settings.allow_anonymous))
        self.ns = 0
        self.products: dict[str, Node] = {}
        self.aliases: dict[str, str] = {}  # product key / shell id -> product id
        self.job_nodes: set[str] = set()  # jobs that have their node under Jobs/
        self._finished: deque[str] = deque()  # finished jobs with a node, oldest first
        self._lock = asyncio.Lock()

    async def start(self) -> OpcUaResultServer:
        s = self.settings
        await self.server.init()
        self.server.set_endpoint(s.endpoint)
        self.server.set_server_name("aas-quantum")
        await self.server.set_application_uri(s.application_uri)
        policies = [ua.SecurityPolicyType.Basic256Sha256_Sign, ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        if s.allow_none_security:
            policies.append(ua.SecurityPolicyType.NoSecurity)
        self.server.set_security_policy(policies)
        self.server.set_identity_tokens([ua.UserNameIdentityToken,
                                         *([ua.AnonymousIdentityToken] if s.allow_anonymous else [])])
        cert, key = await ensure_certificate(s.cert_dir, s.application_uri, server=True)
        await self.server.load_certificate(str(cert))
        await self.server.load_private_key(str(key))
        self.ns = await self.server.register_namespace(NAMESPACE_URI)
        root = await self.server.nodes.objects.add_object(self._id("AasQuantum"), ua.QualifiedName("AasQuantum",
                                                                                                     self.ns))
        self.folder = await root.add_folder(self._id("Products"), ua.QualifiedName("Products", self.ns))
        self.jobs = await root.add_folder(self._id("Jobs"), ua.QualifiedName("Jobs", self.ns))
        await root.add_method(
            self._id("Optimize"), ua.QualifiedName("Optimize", self.ns), self._optimize_method,
            [_argument("productId", "product id, product key or shell id", ua.VariantType.String)],
            [_argument("Status", "queued, or failed: reason", ua.VariantType.String),
             _argument("JobId", "the job; AasQuantum/Jobs/<JobId> follows it", ua.VariantType.String)])
        await self.server.start()
        log.info("OPC UA server at %s", s.endpoint)
        return self

    async def stop(self) -> None:
        await self.server.stop()

    def _id(self, path: str) -> ua.NodeId:
        return ua.NodeId(ua.String(path), ua.Int16(self.ns))

    async def show(self, summary: RunSummary, aliases: tuple[str, ...] = ()) -> None:
        """Create or update the nodes of the product ``summary`` is about."""
        async with self._lock:
            product_id = summary.product_id
            key = product_name(product_id)
            for alias in (product_id, key, *aliases):
                self.aliases[alias] = product_id
            node = self.products.get(product_id)
            if node is None:
                node = await self.folder.add_object(self._id(key), ua.QualifiedName(key, self.ns))
                for name, value in product_values(summary).items():
                    await self._variable(node, f"{key}.{name}", name, value)
                await node.add_folder(self._id(f"{key}.Positions"), ua.QualifiedName("Positions", self.ns))
                self.products[product_id] = node
            else:
                for name, value in product_values(summary).items():
                    await self._write(self._id(f"{key}.{name}"), name, value)
            positions = await self.server.get_node(self._id(f"{key}.Positions")).get_children()
            for child in positions:  # positions may change between runs: rebuild them
                await self.server.delete_nodes([child], recursive=True)
            folder = self.server.get_node(self._id(f"{key}.Positions"))
            for values in position_values(summary):
                pkey = f"{key}.Positions.{values['PositionId']}"
                position = await folder.add_object(self._id(pkey), ua.QualifiedName(values["PositionId"], self.ns))
                for name, value in values.items():
                    await self._variable(position, f"{pkey}.{name}", name, value)

    async def set_status(self, product_id: str, status: str) -> None:
        if product_id in self.products:
            await self._write(self._id(f"{product_name(product_id)}.Status"), "Status", status)

    async def _variable(self, parent: Node, node_id: str, name: str, value: Any) -> Node:
        variable = await parent.add_variable(self._id(node_id), ua.QualifiedName(name, self.ns),
                                             ua.Variant(value, VARIANT_TYPES[name]))
        if name in UNITS:
            await variable.add_property(self._id(f"{node_id}.EngineeringUnits"),
                                        ua.QualifiedName("EngineeringUnits", 0), eu_information(*UNITS[name]),
                                        varianttype=ua.VariantType.ExtensionObject)
        return variable

    async def _write(self, node_id: ua.NodeId, name: str, value: Any) -> None:
        await self.server.get_node(node_id).write_value(ua.Variant(value, VARIANT_TYPES[name]))

    async def _optimize_method(self, parent: ua.NodeId, product: ua.Variant) -> list[ua.Variant]:
        requested = product.Value if isinstance(product, ua.Variant) else product
        status, job_id = await self.run(str(requested))
        return [ua.Variant(status, ua.VariantType.String), ua.Variant(job_id, ua.VariantType.String)]

    async def run(self, requested: str) -> tuple[str, str]:
        """Queue one product's run (the ``Optimize`` method): ``("queued", job id)`` or ``("failed: why", "")``."""
        if self.submit is None:
            return "failed: this server has no inputs to optimise", ""
        product_id = self.aliases.get(requested, requested)
        try:  # the store is a file or a database: not on the loop
            job_id = await asyncio.get_running_loop().run_in_executor(None, self.submit, product_id)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, AasQuantumError) else f"{type(exc).__name__}: {exc}"
            log.warning("Optimize(%s) refused: %s", requested, reason)
            return f"failed: {reason}", ""
        if job_id not in self.job_nodes:  # the queued job a repeated call joins has its node (perhaps running)
            await self.follow(job_id, product_id, "queued")
        return "queued", job_id

    async def follow(self, job_id: str, product_id: str, state: str, progress: float | None = None, stage: str = "",
                     message: str = "", run_id: str = "", summary: RunSummary | None = None) -> None:
        """Show a job's state on its node and on the product's ``Status``; a summary when it is done."""
        if summary is not None:
            await self.show(summary)
            product_id = summary.product_id
        async with self._lock:
            values = {"ProductId": product_id, "State": state, "Progress": progress or 0.0, "Stage": stage,
                      "Message": message, "RunId": run_id}
            key = f"Jobs.{job_id}"
            if job_id not in self.job_nodes:
                self.job_nodes.add(job_id)
                node = await self.jobs.add_object(self._id(key), ua.QualifiedName(job_id, self.ns))
                for name, value in values.items():
                    await node.add_variable(self._id(f"{key}.{name}"), ua.QualifiedName(name, self.ns),
                                            ua.Variant(value, JOB_TYPES[name]))
            else:
                for name, value in values.items():
                    if value or name in ("State", "Progress"):
                        await self.server.get_node(self._id(f"{key}.{name}")).write_value(
                            ua.Variant(value, JOB_TYPES[name]))
            if state in ("done", "failed") and job_id not in self._finished:
                self._finished.append(job_id)
                while len(self._finished) > self.settings.finished_jobs_kept:
                    expired = self._finished.popleft()
                    self.job_nodes.discard(expired)
                    await self.server.delete_nodes([self.server.get_node(self._id(f"Jobs.{expired}"))],
                                                   recursive=True)
        await self.set_status(self.aliases.get(product_id, product_id), {"running": "solving"}.get(state, state))


def _argument(name: str, description: str, variant: ua.VariantType) -> ua.Argument:
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = ua.NodeId(ua.Int32(variant.value))
    argument.ValueRank = -1
    argument.Description = ua.LocalizedText(description)
    return argument


# ------------------------------------------------------------------------------------ client mode


@dataclass(frozen=True)
class OpcUaClientSettings:
    """Where to write: ``nodes`` maps product variable names to node ids; ``position_nodes`` maps
    position variable names to node id templates (``{index}`` from 1, ``{position_id}``)."""

    url: str
    nodes: dict[str, str] = field(default_factory=dict)
    position_nodes: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "SignAndEncrypt"  # Sign, SignAndEncrypt or None (only when configured)
    cert_dir: Path = field(default_factory=default_cert_dir)
    application_uri: str = "urn:aas-quantum:opcua:client"
    timeout_s: float = 10.0

    @classmethod
    def resolve(cls, url: str | None = None, **overrides: Any) -> OpcUaClientSettings:
        """Arguments, then ``AAS_QUANTUM_OPCUA_*`` environment variables (``_USERNAME``, ``_PASSWORD``, ...),
        then ``[opcua.client]`` in the config file."""
        values = Layers.of("opcua.client", "AAS_QUANTUM_OPCUA_").typed(cls, {**overrides, "url": url or None})
        if not values.get("url"):
            raise ConfigError("no OPC UA server given (--opcua, AAS_QUANTUM_OPCUA_URL or url in [opcua.client])")
        settings = cls(**values)
        parse_url(settings.url, ("opc.tcp",), "OPC UA server URL (--opcua)", "opc.tcp://host:4840")
        if settings.security not in (*SECURITY_MODES, "None"):
            raise ConfigError(f"[opcua.client] security must be Sign, SignAndEncrypt or None, "
                              f"got {settings.security!r}")
        unknown_names = (set(settings.nodes) - set(VARIANT_TYPES)) | (set(settings.position_nodes)
                                                                      - set(VARIANT_TYPES))
        if unknown_names:
            raise ConfigError(f"[opcua.client] node map: unknown value name(s) {sorted(unknown_names)}; "
                              f"known: {sorted(VARIANT_TYPES)}")
        if not settings.nodes and not settings.position_nodes:
            raise ConfigError("[opcua.client] has no node map: add nodes = { TotalCost = \"ns=2;s=...\", ... }")
        return settings


async def connect_client(settings: OpcUaClientSettings) -> Client:
    # asyncua probes the server every watchdog interval and drops the connection when a probe takes
    # longer than that interval (default 1 s): a server busy for a moment (an Optimize running, a
    # loaded machine) is not a lost connection, so the probe gets the request timeout
    client = Client(settings.url, timeout=settings.timeout_s, watchdog_intervall=settings.timeout_s)
    client.application_uri = settings.application_uri
    if settings.security != "None":
        cert, key = await ensure_certificate(settings.cert_dir, settings.application_uri, server=False)
        await client.set_security_string(f"Basic256Sha256,{settings.security},{cert},{key}")
    if settings.username:
        client.set_user(settings.username)
        client.set_password(settings.password or "")
    try:
        await client.connect()
    except (OSError, TimeoutError, ua.UaError) as exc:
        raise OpcUaError(f"OPC UA server {redact_url(settings.url)}: {type(exc).__name__}: {exc}") from exc
    return client


async def write_nodes(settings: OpcUaClientSettings, summary: RunSummary) -> int:
    """Write the run's values into the mapped nodes of an existing server; returns how many were written.

    Each value is converted to the target node's data type; a node that is missing or refuses the
    write is an ``OpcUaError`` naming it.
    """
    product = product_values(summary)
    writes: list[tuple[str, Any]] = [(node_id, product[name]) for name, node_id in settings.nodes.items()]
    for index, values in enumerate(position_values(summary), start=1):
        for name, template in settings.position_nodes.items():
            writes.append((template.format(index=index, position_id=values["PositionId"]), values[name]))
    client = await connect_client(settings)
    try:
        for node_id, value in writes:
            node = client.get_node(node_id)
            try:
                variant_type = await node.read_data_type_as_variant_type()
                await node.write_value(ua.DataValue(ua.Variant(_convert(value, variant_type), variant_type)))
            except ua.UaStatusCodeError as exc:
                raise OpcUaError(f"OPC UA server {redact_url(settings.url)}: cannot write node {node_id}: "
                                 f"{exc}") from exc
    finally:
        await client.disconnect()
    return len(writes)


def _convert(value: Any, variant_type: ua.VariantType) -> Any:
    if variant_type in (ua.VariantType.Double, ua.VariantType.Float):
        return float(value)
    if variant_type in (ua.VariantType.Int16, ua.VariantType.Int32, ua.VariantType.Int64, ua.VariantType.UInt16,
                        ua.VariantType.UInt32, ua.VariantType.UInt64):
        return round(float(value))
    if variant_type == ua.VariantType.String:
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return value
