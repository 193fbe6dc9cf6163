"""AAS Part 2 HTTP API v3.0 client (httpx) and the server <-> environment glue.

httpx rather than a generated AAS client: the handful of calls needed (shells, submodels,
submodel-refs, paging) are plain JSON over HTTP, httpx gives timeouts, TLS and transports, and the
payloads are (de)serialised by basyx-python-sdk's JSON adapter so the metamodel stays the SDK's.

Identifiers in paths are base64url without padding. Retries (bounded, exponential backoff) on
connection errors, 429 and 502/503/504; never on other 4xx. Every error names the URL, the status
and the server's message. Settings come from arguments, the environment (``AAS_QUANTUM_*``) or a
TOML config file; secrets are never logged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder, StrictAASFromJsonDecoder

from aas_quantum import contract
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.mapping import semantic_key
from aas_quantum.config import config_file, config_section
from aas_quantum.errors import AasQuantumError, BomInputError, Location

RETRY_STATUS = frozenset({429, 502, 503, 504})


class AasServerError(AasQuantumError):
    """The AAS server could not be reached or refused a request."""

    exit_code = 3


def b64(identifier: str) -> str:
    return base64.urlsafe_b64encode(identifier.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class ServerSettings:
    base_url: str
    token: str | None = field(default=None, repr=False)
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    verify: bool | str = True  # False, True or a CA bundle path
    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 0.5

    @classmethod
    def resolve(cls, base_url: str | None = None, **overrides: Any) -> ServerSettings:
        """Arguments win over ``AAS_QUANTUM_*`` environment variables, which win over the config file."""
        config = config_section("server")
        env = os.environ

        def pick(name: str, env_name: str, default: Any = None) -> Any:
            if overrides.get(name) is not None:
                return overrides[name]
            return env.get(env_name, config.get(name, default))

        url = base_url or env.get("AAS_QUANTUM_SERVER") or config.get("base_url")
        if not url:
            raise AasServerError("no AAS server given (--server, AAS_QUANTUM_SERVER or base_url in "
                                 f"{config_file()})")
        verify: bool | str = pick("verify", "AAS_QUANTUM_VERIFY_TLS", True)
        if isinstance(verify, str) and verify.lower() in ("0", "false", "no"):
            verify = False
        ca_bundle = pick("ca_bundle", "AAS_QUANTUM_CA_BUNDLE")
        return cls(
            base_url=url.rstrip("/"), token=pick("token", "AAS_QUANTUM_TOKEN"),
            token_url=pick("token_url", "AAS_QUANTUM_TOKEN_URL"), client_id=pick("client_id", "AAS_QUANTUM_CLIENT_ID"),
            client_secret=pick("client_secret", "AAS_QUANTUM_CLIENT_SECRET"),
            verify=ca_bundle or verify, timeout_s=float(pick("timeout_s", "AAS_QUANTUM_TIMEOUT", 30.0)),
            retries=int(pick("retries", "AAS_QUANTUM_RETRIES", 4)),
        )


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    messages = body.get("messages") if isinstance(body, dict) else None
    if messages:
        return "; ".join(str(m.get("text", m)) for m in messages)
    return json.dumps(body)[:300]


class AasClient:
    """Shell and submodel repository calls of the AAS API v3.0."""

    def __init__(self, settings: ServerSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout_s, verify=settings.verify,
                                  transport=transport)
        self._token: str | None = settings.token

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- transport

    def _auth_header(self) -> dict[str, str]:
        s = self.settings
        if self._token is None and s.token_url and s.client_id:
            response = self._http.post(s.token_url, data={"grant_type": "client_credentials",
                                                          "client_id": s.client_id,
                                                          "client_secret": s.client_secret or ""})
            if response.status_code != 200:
                raise AasServerError(f"token request to {s.token_url} failed: HTTP {response.status_code} "
                                     f"{_server_message(response)}")
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def request(self, method: str, path: str, missing_ok: bool = False, **kwargs: Any) -> httpx.Response:
        """One API call with bounded retries; ``missing_ok`` returns a 404 response instead of raising."""
        url = f"{self.settings.base_url}{path}"
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(self.settings.retries + 1):
            try:
                headers = {**extra_headers, **self._auth_header()}
                response = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.settings.retries:
                    raise AasServerError(f"{method} {url}: cannot reach the AAS server ({exc})") from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUS and attempt < self.settings.retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code in (401, 403):
                raise AasServerError(f"{method} {url}: HTTP {response.status_code} not authorised; check the "
                                     f"token or client credentials ({_server_message(response)})")
            if response.status_code == 404 and missing_ok:
                return response
            if response.status_code >= 400:
                raise AasServerError(f"{method} {url}: HTTP {response.status_code} {_server_message(response)}")
            return response
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.settings.backoff_s * 2 ** attempt
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(min(delay, 30.0))

    def url(self, path: str) -> str:
        return f"{self.settings.base_url}{path}"

    # ---------------------------------------------------------------- reading

    def _paged(self, path: str, params: dict[str, str] | None = None, limit: int = 100) -> Iterator[dict]:
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
            body = self.request("GET", path, params=query).json()
            results = body.get("result", [])
            yield from results
            cursor = (body.get("paging_metadata") or {}).get("cursor")
            if not cursor or len(results) < limit:
                return

    @staticmethod
    def _decode(data: dict | str, url: str) -> Any:
        text = data if isinstance(data, str) else json.dumps(data)
        try:
            return json.loads(text, cls=StrictAASFromJsonDecoder)
        except Exception as exc:  # the SDK raises many types; the user needs the URL and the reason
            raise BomInputError(f"the server returned an object the AAS metamodel rejects: {exc}",
                                Location(url)) from exc

    def shells(self) -> list[model.AssetAdministrationShell]:
        return [self._decode(item, self.url("/shells")) for item in self._paged("/shells")]

    def shell(self, shell_id: str) -> model.AssetAdministrationShell:
        path = f"/shells/{b64(shell_id)}"
        return self._decode(self.request("GET", path).text, self.url(path))

    def submodel(self, submodel_id: str) -> model.Submodel:
        path = f"/submodels/{b64(submodel_id)}"
        return self._decode(self.request("GET", path).text, self.url(path))

    def submodel_or_none(self, submodel_id: str) -> model.Submodel | None:
        path = f"/submodels/{b64(submodel_id)}"
        response = self.request("GET", path, missing_ok=True)
        return None if response.status_code == 404 else self._decode(response.text, self.url(path))

    def submodels_by_semantic_id(self, semantic_id: str) -> list[model.Submodel]:
        reference = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": semantic_id}]}
        query = {"semanticId": b64(json.dumps(reference))}
        return [self._decode(item, self.url("/submodels")) for item in self._paged("/submodels", query)]

    # ---------------------------------------------------------------- writing

    def put_submodel(self, submodel: model.Submodel) -> None:
        self.request("PUT", f"/submodels/{b64(submodel.id)}", content=json.dumps(submodel, cls=AASToJsonEncoder),
                     headers={"Content-Type": "application/json"})

    def post_submodel(self, submodel: model.Submodel) -> None:
        self.request("POST", "/submodels", content=json.dumps(submodel, cls=AASToJsonEncoder),
                     headers={"Content-Type": "application/json"})

    def delete_submodel(self, submodel_id: str) -> None:
        self.request("DELETE", f"/submodels/{b64(submodel_id)}")

    def add_submodel_ref(self, shell_id: str, submodel_id: str) -> None:
        reference = {"type": "ModelReference", "keys": [{"type": "Submodel", "value": submodel_id}]}
        self.request("POST", f"/shells/{b64(shell_id)}/submodel-refs", json=reference)


# -------------------------------------------------------------------- server <-> environment


def product_shell_ids(client: AasClient) -> list[str]:
    """Every shell that references a BomOptimizationRequest submodel."""
    request_ids = {sm.id for sm in client.submodels_by_semantic_id(contract.OPTIMIZATION_REQUEST)}
    return [s.id for s in client.shells() if any(r.key[-1].value in request_ids for r in s.submodel)]


def read_environment(client: AasClient, shell_id: str, supplier_shells: list[str] | None = None) -> AasEnvironment:
    """The product shell, the submodels it references and the SupplierOffers in scope.

    Scope: every SupplierOffers submodel on the server, or those of the listed supplier shells.
    """
    env = AasEnvironment()
    shell = client.shell(shell_id)
    env.add(shell, client.url(f"/shells/{b64(shell_id)}"))
    for reference in shell.submodel:
        sm_id = reference.key[-1].value
        env.add(client.submodel(sm_id), client.url(f"/submodels/{b64(sm_id)}"))
    if supplier_shells is None:
        suppliers = client.submodels_by_semantic_id(contract.SUPPLIER_OFFERS)
    else:
        suppliers = []
        for sid in supplier_shells:
            for reference in client.shell(sid).submodel:
                submodel = client.submodel(reference.key[-1].value)
                if semantic_key(submodel) == contract.SUPPLIER_OFFERS:
                    suppliers.append(submodel)
    for submodel in suppliers:
        if submodel.id not in env.origin:
            env.add(submodel, client.url(f"/submodels/{b64(submodel.id)}"))
    return env


def write_result(client: AasClient, shell_id: str, result: model.Submodel, existing: model.Submodel | None
                 ) -> None:
    """Create the result submodel (``existing`` is None) or replace it, then reference it from the
    shell exactly once.

    Each step is one request; if the reference cannot be added after a new result was created,
    the new result is deleted again, so the server is left as it was or with the complete result.
    """
    if existing is not None:
        client.put_submodel(result)
    else:
        client.post_submodel(result)
    shell = client.shell(shell_id)
    if any(r.key[-1].value == result.id for r in shell.submodel):
        return
    try:
        client.add_submodel_ref(shell_id, result.id)
    except AasServerError:
        if existing is None:
            # best effort: if the server is gone, the reference was never added either
            with contextlib.suppress(AasServerError):
                client.delete_submodel(result.id)
        raise
