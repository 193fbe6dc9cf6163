"""AAS Part 2 HTTP API v3.0 client (httpx) and the server <-> environment glue.

httpx rather than a generated AAS client: the handful of calls needed (shells, submodels,
submodel-refs, paging) are plain JSON over HTTP, httpx gives timeouts, TLS and transports, and the
payloads are (de)serialised by basyx-python-sdk's JSON adapter so the metamodel stays the SDK's.

Identifiers in paths are base64url without padding. Retries (bounded, exponential backoff) on
connection errors, 429 and 502/503/504, and on 500 for idempotent methods (a threaded BaSyx
Python server answers 500 when a listing races a concurrent write); never on other 4xx. Every
error names the URL, the status and the server's message. Settings come from arguments, the
environment (``AAS_QUANTUM_*``) or a TOML config file; secrets are never logged.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import json
import logging
import math
import os
import random
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.aas.files import AasEnvironment, AasJsonEncoder, json_decoder
from aas_quantum.aas.ids import b64, unb64
from aas_quantum.aas.mapping import assets_to_complete, semantic_key
from aas_quantum.aas.registry import Endpoints, submodel_descriptor
from aas_quantum.aas.result import next_version, result_submodel_id
from aas_quantum.bulk import paused_gc
from aas_quantum.config import Layers, config_file, parse_bool, parse_number, parse_url
from aas_quantum.errors import AasQuantumError, BomInputError, ConfigError, Location
from aas_quantum.sanitize import printable, redact_url

T = TypeVar("T")
log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})  # 500 on these is worth another try
MAX_RESPONSE_MB = 256.0  # default guard against a runaway (or hostile) response body


class AasServerError(AasQuantumError):
    """The AAS server could not be reached or refused a request."""

    exit_code = 3

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status  # the HTTP status of a refusal (None: no answer)
        super().__init__(message)


@dataclass(frozen=True)
class ServerSettings:
    """Connection settings; ``base_url`` never carries credentials (they move to ``basic_auth``).

    ``base_url`` is the AAS (shell) repository; ``submodel_url`` the submodel repository when it is a
    separate service (BaSyx Java deployments run them apart), else the same server. With a
    ``registry_url`` (AAS Registry) and/or ``submodel_registry_url``, shells and submodels are found
    by their descriptors' endpoints and ``base_url`` may be empty.
    """

    base_url: str
    submodel_url: str | None = None
    registry_url: str | None = None
    submodel_registry_url: str | None = None
    token: str | None = field(default=None, repr=False)
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    verify: bool | str = True  # False, True or a CA bundle path
    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 0.5
    max_response_mb: float = MAX_RESPONSE_MB

    @staticmethod
    def configured(base_url: str | None = None) -> bool:
        """Whether a server or registry is given by argument, environment or config file."""
        layers = Layers.of("server", "AAS_QUANTUM_")
        return bool(_server_url(base_url) or layers.get("registry_url", None, env="AAS_QUANTUM_REGISTRY")
                    or layers.get("submodel_registry_url", None, env="AAS_QUANTUM_SUBMODEL_REGISTRY"))

    @classmethod
    def resolve(cls, base_url: str | None = None, **overrides: Any) -> ServerSettings:
        """Arguments win over ``AAS_QUANTUM_*`` environment variables, which win over ``[server]``
        in the config file (the variables keep their historical names, e.g. AAS_QUANTUM_TIMEOUT)."""
        layers = Layers.of("server", "AAS_QUANTUM_")

        def pick(name: str, env_name: str, default: Any = None) -> Any:
            return layers.get(name, overrides.get(name), default, env=env_name)

        def number(name: str, env_name: str, default: float) -> float:
            return parse_number(pick(name, env_name, default), layers.where(name, env_name))

        registry = pick("registry_url", "AAS_QUANTUM_REGISTRY")
        submodel_registry = pick("submodel_registry_url", "AAS_QUANTUM_SUBMODEL_REGISTRY")
        url = _server_url(base_url) or ""
        if not url and not registry and not submodel_registry:
            raise AasServerError("no AAS server given (--server, AAS_QUANTUM_SERVER or base_url in "
                                 f"{config_file()}; or a registry: --registry, AAS_QUANTUM_REGISTRY)")
        submodel_url = pick("submodel_url", "AAS_QUANTUM_SUBMODEL_SERVER")
        for given in filter(None, (url, submodel_url, registry, submodel_registry)):
            parse_url(given, ("http", "https"), "AAS server or registry URL", "http(s)://host:port/api/v3.0")
        parts = urlsplit(url or registry or submodel_registry)
        basic = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
        verify: bool | str = parse_bool(pick("verify", "AAS_QUANTUM_VERIFY_TLS", True),
                                        layers.where("verify", "AAS_QUANTUM_VERIFY_TLS"))
        ca_bundle = pick("ca_bundle", "AAS_QUANTUM_CA_BUNDLE")
        if ca_bundle:
            if not os.path.isfile(ca_bundle):
                raise ConfigError(f"CA bundle {ca_bundle!r} (AAS_QUANTUM_CA_BUNDLE / [server] ca_bundle) is not a file")
            verify = ca_bundle
        return cls(
            base_url=redact_url(url).rstrip("/"),
            submodel_url=redact_url(submodel_url).rstrip("/") if submodel_url else None,
            registry_url=redact_url(registry).rstrip("/") if registry else None,
            submodel_registry_url=redact_url(submodel_registry).rstrip("/") if submodel_registry else None,
            token=pick("token", "AAS_QUANTUM_TOKEN"),
            token_url=pick("token_url", "AAS_QUANTUM_TOKEN_URL"), client_id=pick("client_id", "AAS_QUANTUM_CLIENT_ID"),
            client_secret=pick("client_secret", "AAS_QUANTUM_CLIENT_SECRET"), basic_auth=basic,
            verify=verify, timeout_s=number("timeout_s", "AAS_QUANTUM_TIMEOUT", 30.0),
            retries=int(number("retries", "AAS_QUANTUM_RETRIES", 4)),
            max_response_mb=number("max_response_mb", "AAS_QUANTUM_MAX_RESPONSE_MB", MAX_RESPONSE_MB),
        )


def _server_url(base_url: str | None) -> str | None:
    """The server URL by precedence: argument, then AAS_QUANTUM_SERVER, then base_url in [server]."""
    return Layers.of("server", "AAS_QUANTUM_").get("base_url", base_url or None, env="AAS_QUANTUM_SERVER") or None


def _server_message(response: httpx.Response) -> str:
    """The server's own words, shortened and made printable (they end up on a terminal)."""
    try:
        body = response.json()
    except ValueError:
        return _server_words(response, response.text, 300)
    messages = body.get("messages") if isinstance(body, dict) else None
    if isinstance(messages, list) and messages:
        return _server_words(response, "; ".join(str(m.get("text", m) if isinstance(m, dict) else m)
                                                 for m in messages), 300)
    return _server_words(response, json.dumps(body), 300)


def _server_words(response: httpx.Response, text: str, limit: int) -> str:
    """``text`` from the server without the credentials the request carried, then shortened and printable.

    A server may quote the request back in its error ("invalid credentials Bearer ..."): the token, the
    basic-auth header and its password are cut out before the text is shortened, so no prefix survives.
    """
    header = response.request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    secrets = [header, credential]
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError):
            secrets.append(base64.b64decode(credential).decode().partition(":")[2])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return printable(text[:limit])


class ClientCredentials(httpx.Auth):
    """OAuth2 client-credentials flow (e.g. Keycloak): fetches a token, renews it before it expires
    and once more when the server answers 401 (a token revoked or expired early)."""

    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url, self.client_id, self._secret = token_url, client_id, client_secret
        self._token: str | None = None
        self._expires_at = math.inf

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.token_url, data={"grant_type": "client_credentials",
                                                           "client_id": self.client_id,
                                                           "client_secret": self._secret})

    def _store(self, response: httpx.Response) -> None:
        where = redact_url(self.token_url)
        if response.status_code != 200:
            # the body of a refused token request is not echoed: it may repeat what was sent
            error = _oauth_error(response)
            raise AasServerError(f"token request to {where} failed: HTTP {response.status_code}"
                                 + (f" ({error})" if error else "") + "; check the client id and secret")
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AasServerError(f"token request to {where}: the answer has no access_token (not an OAuth2 "
                                 "token endpoint?)")
        self._token = token
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else math.inf
        self._expires_at = time.monotonic() + max(lifetime - 30.0, lifetime / 2)  # renew before expiry

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or time.monotonic() >= self._expires_at:
            self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


def _oauth_error(response: httpx.Response) -> str:
    """The RFC 6749 ``error`` code (e.g. invalid_client) if the body has one: a fixed vocabulary, safe."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) and error.replace("_", "").isalpha() and len(error) < 40 else ""


def _auth(settings: ServerSettings) -> httpx.Auth | None:
    if settings.token_url and settings.client_id:
        return ClientCredentials(settings.token_url, settings.client_id, settings.client_secret or "")
    if settings.token:
        return _Bearer(settings.token)
    if settings.basic_auth:
        return httpx.BasicAuth(*settings.basic_auth)
    return None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class AasClient:
    """Shell and submodel repository calls of the AAS API v3.0."""

    def __init__(self, settings: ServerSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx.Client(timeout=settings.timeout_s, verify=settings.verify, transport=transport,
                                  auth=_auth(settings))
        self._semantic_query: str | None = None  # the semanticId query form this server answered
        self._endpoints: Endpoints | None = None  # from the registries, read on first use

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- transport

    def request(self, method: str, path: str, missing_ok: bool = False, retry_transport: bool = True,
                conflict_ok: bool = False, **kwargs: Any) -> httpx.Response:
        """One API call with bounded retries; ``missing_ok`` / ``conflict_ok`` return a 404 / 409
        response instead of raising. ``retry_transport=False`` for calls that are not idempotent
        (POST): the caller checks what the server holds before trying again."""
        url = self.url(path)
        for attempt in range(self.settings.retries + 1):
            try:
                response = self._send(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.settings.retries or not retry_transport:
                    raise self._unreachable(method, url, exc) from exc
                self._sleep(attempt, None)
                continue
            retryable = response.status_code in RETRY_STATUS or (
                response.status_code == 500 and method in IDEMPOTENT_METHODS)
            if retryable and attempt < self.settings.retries:
                log.warning("%s %s: HTTP %d, trying again (%d of %d)", method, redact_url(url),
                            response.status_code, attempt + 1, self.settings.retries)
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code in (401, 403):
                raise AasServerError(f"{method} {url}: HTTP {response.status_code} not authorised; check the "
                                     f"token or client credentials ({_server_message(response)})")
            if (response.status_code == 404 and missing_ok) or (response.status_code == 409 and conflict_ok):
                return response
            if response.status_code >= 400:
                raise AasServerError(f"{method} {url}: HTTP {response.status_code} {_server_message(response)}",
                                     response.status_code)
            return response
        raise AssertionError("unreachable")

    def _unreachable(self, method: str, url: str, exc: httpx.TransportError) -> AasServerError:
        """The call that failed: the API call, or the OAuth2 token request the auth flow sent before it (a
        token endpoint that is down is not the AAS server)."""
        auth = self._http.auth
        try:
            failed = str(exc.request.url)
        except RuntimeError:  # raised before a request was made
            failed = url
        if isinstance(auth, ClientCredentials) and failed == auth.token_url:
            return AasServerError(f"token request to {redact_url(auth.token_url)}: cannot reach the token endpoint "
                                  f"({type(exc).__name__}: {redact_url(str(exc))}), before {method} {url}")
        return AasServerError(f"{method} {url}: cannot reach the AAS server ({type(exc).__name__}: "
                              f"{redact_url(str(exc))})")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send and read the body, refusing bodies above ``max_response_mb`` before they fill memory."""
        limit = int(self.settings.max_response_mb * 2**20)
        request = self._http.build_request(method, self.url(path), **kwargs)
        response = self._http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(method, path)
            chunks, size = [], 0
            for chunk in response.iter_bytes():  # decoded: a compressed bomb is counted as it inflates
                size += len(chunk)
                if size > limit:
                    raise self._too_large(method, path)
                chunks.append(chunk)
        finally:
            response.close()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")}
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request)

    def _too_large(self, method: str, path: str) -> AasServerError:
        return AasServerError(f"{method} {self.url(path)}: the answer is larger than "
                              f"{self.settings.max_response_mb:g} MB (AAS_QUANTUM_MAX_RESPONSE_MB)")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.settings.backoff_s * 2 ** attempt
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(min(delay, 30.0))

    def url(self, path: str) -> str:
        """The absolute URL of an API path (absolute URLs pass through).

        A shell or submodel a registry describes goes to its descriptor's endpoint; other submodel
        calls to ``submodel_url``, else to the repository most described submodels live in, else to
        ``base_url``."""
        if path.startswith(("http://", "https://")):
            return path
        endpoints = self.endpoints()
        if endpoints is not None:
            kind, _, rest = path.lstrip("/").partition("/")
            encoded, slash, tail = rest.partition("/")
            known = {"shells": endpoints.shells, "submodels": endpoints.submodels}.get(kind, {})
            href = known.get(unb64(encoded)) if encoded and "?" not in encoded else None
            if href:
                return href + slash + tail
        if path.startswith("/submodels"):
            base = self.settings.submodel_url or (endpoints.submodel_repository if endpoints else "") \
                or self.settings.base_url
        else:
            base = self.settings.base_url
        if not base:
            raise AasServerError(f"{path}: the registries describe no endpoint for it and no repository URL is "
                                 "given (--server / --submodel-server)")
        return f"{base}{path}"

    def endpoints(self) -> Endpoints | None:
        """The registries' descriptors (read once per client), or None without a registry."""
        if self._endpoints is None and (self.settings.registry_url or self.settings.submodel_registry_url):
            found = Endpoints()
            if self.settings.registry_url:
                for descriptor in self._paged(f"{self.settings.registry_url}/shell-descriptors"):
                    if isinstance(descriptor, dict):
                        found.add_shell(descriptor)
            if self.settings.submodel_registry_url:
                for descriptor in self._paged(f"{self.settings.submodel_registry_url}/submodel-descriptors"):
                    if isinstance(descriptor, dict):
                        found.add_submodel(descriptor)
            found.finish()
            self._endpoints = found
        return self._endpoints

    def register_submodel(self, shell_id: str, submodel: model.Submodel) -> None:
        """Describe a submodel this client created in the registries (a 409 means it is described)."""
        endpoints = self.endpoints()
        if endpoints is None or submodel.id in endpoints.submodels:
            return
        href = self.url(f"/submodels/{b64(submodel.id)}")
        descriptor = submodel_descriptor(submodel.id, submodel.id_short or "", semantic_key(submodel), href)
        if self.settings.registry_url:
            self.request("POST", f"{self.settings.registry_url}/shell-descriptors/{b64(shell_id)}/submodel-descriptors",
                         json=descriptor, conflict_ok=True)
        if self.settings.submodel_registry_url:
            self.request("POST", f"{self.settings.submodel_registry_url}/submodel-descriptors", json=descriptor,
                         conflict_ok=True)
        endpoints.add_submodel(descriptor)

    # ---------------------------------------------------------------- reading

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise AasServerError(f"{response.request.method} {redact_url(str(response.request.url))}: the server "
                                 f"answered HTTP {response.status_code} with a body that is not JSON "
                                 f"({_server_words(response, response.text, 120)!r})") from None

    def _paged(self, path: str, params: dict[str, str] | None = None, limit: int = 100) -> Iterator[dict]:
        """Every item of a paged listing. A cursor that comes back, or a page holding only items already
        listed, is a server that pages in a loop: an error, not a listing read for ever."""
        cursor: str | None = None
        cursors: set[str] = set()
        listed: set[str] = set()
        while True:
            query = {**(params or {}), "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
            body = self._json(self.request("GET", path, params=query))
            results = body.get("result") if isinstance(body, dict) else None
            paging = body.get("paging_metadata") if isinstance(body, dict) else None
            if not isinstance(results, list) or not isinstance(paging or {}, dict):
                raise AasServerError(f"GET {self.url(path)}: expected a paged result "
                                     f"{{\"result\": [...], \"paging_metadata\": {{...}}}}, got "
                                     f"{printable(json.dumps(body)[:120])}")
            yield from results
            ids = {str(item.get("id")) for item in results if isinstance(item, dict)}
            repeated = bool(ids) and ids <= listed
            listed |= ids
            previous, cursor = cursor, (paging or {}).get("cursor")
            if not cursor or not results or cursor == previous:  # a server may send fewer than the limit
                return
            if not isinstance(cursor, str) or cursor in cursors or repeated:
                raise AasServerError(f"GET {self.url(path)}: the server pages in a loop: cursor "
                                     f"{printable(json.dumps(cursor)[:60])} "
                                     + ("follows a page of items already listed" if repeated else "came back"))
            cursors.add(cursor)

    @staticmethod
    def _decode(data: Any, url: str, kind: type[T]) -> T:
        """An AAS object of type ``kind`` from JSON text or a parsed item, or an error naming the URL."""
        text = data if isinstance(data, str) else json.dumps(data)
        try:
            obj = json.loads(text, cls=json_decoder(failsafe=False))
        except ValueError as exc:
            raise AasServerError(f"GET {url}: the server's answer is not valid JSON ({exc})") from exc
        except Exception as exc:  # the SDK raises many types; the user needs the URL and the reason
            raise BomInputError(f"the server returned an object the AAS metamodel rejects: {exc}",
                                Location(url)) from exc
        if not isinstance(obj, kind):
            found = type(obj).__name__ if isinstance(obj, model.Referable) else printable(text[:120])
            raise AasServerError(f"GET {url}: expected an AAS {kind.__name__}, the server answered {found}")
        return obj

    def shells(self) -> list[model.AssetAdministrationShell]:
        endpoints = self.endpoints()
        if endpoints is not None and endpoints.shells:  # the registry lists them; each is read where it lives
            return [self.shell(shell_id) for shell_id in endpoints.shells]
        return [self._decode(item, self.url("/shells"), model.AssetAdministrationShell)
                for item in self._paged("/shells")]

    def shell(self, shell_id: str) -> model.AssetAdministrationShell:
        path = f"/shells/{b64(shell_id)}"
        return self._decode(self.request("GET", path).text, self.url(path), model.AssetAdministrationShell)

    def submodel(self, submodel_id: str) -> model.Submodel:
        path = f"/submodels/{b64(submodel_id)}"
        return self._decode(self.request("GET", path).text, self.url(path), model.Submodel)

    def submodel_or_none(self, submodel_id: str) -> model.Submodel | None:
        path = f"/submodels/{b64(submodel_id)}"
        response = self.request("GET", path, missing_ok=True)
        return None if response.status_code == 404 else self._decode(response.text, self.url(path), model.Submodel)

    def submodels_by_semantic_id(self, semantic_id: str) -> list[model.Submodel]:
        """Submodels whose semanticId is ``semantic_id``.

        Servers read the query differently: the AAS API v3.0 OpenAPI (and BaSyx Java) take the
        base64url of the key *value*; the BaSyx Python server takes the base64url of a Reference JSON
        and answers 400 to the spec form; a server may also ignore the filter. So the spec form goes
        first, then the Reference form, then every submodel filtered here; the first form that finds
        something is remembered for this server, and every answer is filtered here as well.
        """
        endpoints = self.endpoints()
        if endpoints is not None and endpoints.submodels:  # described: read those whose descriptor may match
            candidates = [i for i in endpoints.submodels if endpoints.semantic_ids.get(i, semantic_id) == semantic_id]
            return [sm for sm in map(self.submodel, candidates) if semantic_key(sm) == semantic_id]
        reference = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": semantic_id}]}
        forms = {"spec": {"semanticId": b64(semantic_id)}, "reference": {"semanticId": b64(json.dumps(reference))},
                 "all": {}}
        order = [self._semantic_query] if self._semantic_query else list(forms)
        for form in order:
            try:
                items = list(self._paged("/submodels", forms[form]))
            except AasServerError as exc:
                if exc.status == 400 and form != order[-1]:
                    continue  # this server does not read this form
                raise
            found = [sm for sm in (self._decode(item, self.url("/submodels"), model.Submodel) for item in items)
                     if semantic_key(sm) == semantic_id]
            if found or form == order[-1]:
                if found:
                    self._semantic_query = form
                return found
        return []

    # ---------------------------------------------------------------- writing

    def put_submodel(self, submodel: model.Submodel) -> None:
        self.request("PUT", f"/submodels/{b64(submodel.id)}", content=json.dumps(submodel, cls=AasJsonEncoder),
                     headers={"Content-Type": "application/json"})

    def post_submodel(self, submodel: model.Submodel) -> httpx.Response:
        """Create; not retried on a lost reply, and a 409 is returned, so the caller can check the server."""
        return self.request("POST", "/submodels", content=json.dumps(submodel, cls=AasJsonEncoder),
                            headers={"Content-Type": "application/json"}, retry_transport=False, conflict_ok=True)

    def delete_submodel(self, submodel_id: str, missing_ok: bool = False) -> None:
        self.request("DELETE", f"/submodels/{b64(submodel_id)}", missing_ok=missing_ok)

    def add_submodel_ref(self, shell_id: str, submodel_id: str) -> httpx.Response:
        """Reference; like ``post_submodel`` not retried blindly and 409 (already there) returned."""
        reference = {"type": "ModelReference", "keys": [{"type": "Submodel", "value": submodel_id}]}
        return self.request("POST", f"/shells/{b64(shell_id)}/submodel-refs", json=reference, retry_transport=False,
                            conflict_ok=True)


# -------------------------------------------------------------------- server <-> environment


def product_shell_ids(client: AasClient) -> list[str]:
    """Every shell that references a BomOptimizationRequest submodel."""
    request_ids = {sm.id for sm in client.submodels_by_semantic_id(contract.OPTIMIZATION_REQUEST)}
    return [s.id for s in client.shells() if any(r.key[-1].value in request_ids for r in s.submodel)]


@paused_gc()
def read_environment(client: AasClient, shell_id: str, supplier_shells: list[str] | None = None) -> AasEnvironment:
    """The product shell, the submodels it references and the SupplierOffers in scope.

    Scope: every SupplierOffers submodel on the server, or those of the listed supplier shells.
    A result submodel the shell references is read too: its version is where the next one starts.
    """
    env = AasEnvironment()
    shell = client.shell(shell_id)
    env.add(shell, client.url(f"/shells/{b64(shell_id)}"))
    for reference in shell.submodel:
        sm_id = reference.key[-1].value
        submodel = client.submodel_or_none(sm_id) if sm_id == result_submodel_id(shell_id) else client.submodel(sm_id)
        if submodel is not None:  # a dangling reference to an old result is repaired by the next write
            env.add(submodel, client.url(f"/submodels/{b64(sm_id)}"))
    _add_components(client, env)
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


def _component_assets(env: AasEnvironment) -> set[str]:
    """Assets whose own AAS the product's BoM needs: 02011 nodes and their SameAs alternatives, and the
    variants whose Nameplate and Technical Data must complete what the BoM leaves out (none for a product
    whose ComponentVariants state everything: no shell listing on each run)."""
    wanted: set[str] = set()
    for submodel in env.of_type(model.Submodel):
        if idta.is_hierarchy(submodel):
            wanted |= idta.referenced_assets(submodel)
        elif semantic_key(submodel) == contract.COMPONENT_VARIANTS:
            wanted |= assets_to_complete(submodel)
    return wanted


def _add_components(client: AasClient, env: AasEnvironment) -> None:
    """Read the component AAS the product points to, and those their own ComponentVariants point to
    (one shell listing, then their submodels)."""
    shells: list[model.AssetAdministrationShell] | None = None
    seen: set[str] = set()
    while wanted := _component_assets(env) - seen:
        seen |= wanted
        shells = client.shells() if shells is None else shells
        for shell in shells:
            if shell.asset_information.global_asset_id not in wanted or shell.id in env.origin:
                continue
            env.add(shell, client.url(f"/shells/{b64(shell.id)}"))
            for reference in shell.submodel:
                sm_id = reference.key[-1].value
                if sm_id not in env.origin and (submodel := client.submodel_or_none(sm_id)) is not None:
                    env.add(submodel, client.url(f"/submodels/{b64(sm_id)}"))


def run_of(submodel: model.Submodel) -> str:
    """What tells one run's result from another's: its ``RunId``, else (a result written before results
    carried one) its ``Finished`` text. Timestamps are no identity: a server's round trip of
    xs:dateTime can move the microseconds by one, and a run would take its own write for another's."""
    values = {e.id_short: str(e.value) for e in submodel.submodel_element
              if isinstance(e, model.Property) and e.id_short in ("RunId", "Finished")}
    return values.get("RunId") or values.get("Finished", "")


def _with_version(result: model.Submodel, version: int) -> model.Submodel:
    copied = copy.deepcopy(result)
    copied.administration = model.AdministrativeInformation(version=str(version), revision="0")
    return copied


WRITE_LOCK_TTL_S = 60.0  # a write lock older than this was left by a run that died: it is broken
# how long a run waits for another run's write lock: longer than a lock lives, so a dead run's lock
# delays the next run but never fails it
WRITE_LOCK_WAIT_S = 90.0


def write_lock_id(result_id: str) -> str:
    return f"{result_id}/write-lock"


def write_lock_submodel(result_id: str, run_id: str, acquired: dt.datetime) -> model.Submodel:
    """The lock a run holds while it writes ``result_id`` (see ``result_write_lock``)."""
    return model.Submodel(write_lock_id(result_id), id_short="ResultWriteLock", submodel_element=[
        model.Property("RunId", model.datatypes.String, run_id),
        model.Property("AcquiredAt", model.datatypes.DateTime, acquired)])


def _acquired_at(lock: model.Submodel) -> dt.datetime | None:
    value = next((e.value for e in lock.submodel_element if isinstance(e, model.Property)
                  and e.id_short == "AcquiredAt"), None)
    return value if isinstance(value, dt.datetime) and value.tzinfo is not None else None


@contextlib.contextmanager
def result_write_lock(client: AasClient, result_id: str, run_id: str, ttl_s: float = WRITE_LOCK_TTL_S,
                      wait_s: float = WRITE_LOCK_WAIT_S) -> Iterator[None]:
    """Hold the result's write lock: a submodel naming the run, created by POST, which the server
    creates for one caller only (409 for the others). The BaSyx servers have no conditional PUT
    (If-Match), so without it two runs could both write version n + 1, each read its own write back
    before the other's landed, and one result would be lost.

    A lost reply to the create is checked (the lock naming this run is held); a lock older than
    ``ttl_s`` was left by a run that died and is removed; after ``wait_s`` a clear error names the
    holder. Released by DELETE (if that fails, the lock expires after ``ttl_s``)."""
    lock_id = write_lock_id(result_id)
    deadline = time.monotonic() + wait_s
    while True:
        failure: AasServerError | None = None
        try:  # stamped when it is taken, not when the wait began: a long wait must not make it look stale
            if client.post_submodel(write_lock_submodel(result_id, run_id, dt.datetime.now(dt.UTC))
                                    ).status_code != 409:
                break
        except AasServerError as exc:  # the reply may be lost while the lock was created: look
            failure = exc
        held = client.submodel_or_none(lock_id)
        if held is None and failure is not None:
            raise failure  # nothing arrived: a plain failure
        if held is not None and run_of(held) == run_id:
            break
        if held is not None:
            since = _acquired_at(held)
            age_s = (dt.datetime.now(dt.UTC) - since).total_seconds() if since else math.inf
            if age_s > ttl_s:
                log.warning("removing the write lock of %s left by run %s (%s s old, more than %g s)", result_id,
                            run_of(held), "unknown" if since is None else f"{age_s:.0f}", ttl_s)
                client.delete_submodel(lock_id, missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise AasServerError(f"{client.url(f'/submodels/{b64(result_id)}')}: run {run_of(held)} has been "
                                     f"writing this result since {since} and still holds its write lock after "
                                     f"{wait_s:g} s; the local outputs hold this run's result")
        time.sleep(random.uniform(0.05, 0.25))  # waiting runs retry apart
    try:
        yield
    finally:
        try:
            client.delete_submodel(lock_id, missing_ok=True)
        except AasServerError as exc:
            log.warning("could not release the write lock of %s (%s); it expires after %g s", result_id, exc, ttl_s)


def write_result(client: AasClient, shell_id: str, result: model.Submodel, read_version: int = 0,
                 attempts: int = 5, lock_wait_s: float = WRITE_LOCK_WAIT_S) -> model.Submodel:
    """Write the result submodel and reference it from the shell exactly once; returns what was written.

    Idempotent under lost replies and retries, and safe against concurrent runs:

    - the whole write happens under the result's write lock (``result_write_lock``), so concurrent runs
      write one after the other;
    - the version is re-read right before writing; if another run wrote since ``read_version`` (the
      version this run saw when it read its inputs), this result goes on top of it (version + 1)
      rather than overwriting it under the same number;
    - a create (POST) whose reply was lost, or that meets 409, is checked against the server: if
      this run's result is there, it is done; otherwise it is written again;
    - after writing, the result is read back: if another run wrote the same version at the same
      moment, the write is repeated one version higher (bounded by ``attempts``);
    - the reference is added only if the shell does not already hold it (409 or a lost reply is
      checked the same way), and nothing a reference points to is ever deleted.
    """
    mine = run_of(result)
    with result_write_lock(client, result.id, mine, wait_s=lock_wait_s):
        return _write_locked(client, shell_id, result, mine, read_version, attempts)


def _write_locked(client: AasClient, shell_id: str, result: model.Submodel, mine: str, read_version: int,
                  attempts: int) -> model.Submodel:
    for _ in range(attempts):
        current = client.submodel_or_none(result.id)
        if current is not None and run_of(current) == mine:
            written = current  # an earlier attempt of this run got through; its reply was lost
        else:
            version = next_version(current)
            if current is not None and version - 1 != read_version:
                log.info("result %s moved from version %s to %s since this run read it; writing version %s",
                         result.id, read_version, version - 1, version)
            written = _with_version(result, version)
            if current is None:
                try:
                    client.post_submodel(written)
                except AasServerError:
                    if client.submodel_or_none(result.id) is None:
                        raise  # nothing arrived: a plain failure
                    continue  # something arrived (ours, or a concurrent run's): look again
            else:
                client.put_submodel(written)
            check = client.submodel_or_none(result.id)
            if check is None or run_of(check) != mine:
                if check is not None and next_version(check) > version + 1:
                    written = check  # a later run already replaced ours: our version was written, not lost
                else:
                    continue  # a concurrent run wrote the same version: go one higher
        try:
            _ensure_reference(client, shell_id, result.id)
        except AasServerError:
            if current is None:  # this run created the result: without its reference it would be an orphan
                _withdraw_unreferenced(client, shell_id, result.id)
            raise
        client.register_submodel(shell_id, written)
        return written
    raise AasServerError(f"{client.url(f'/submodels/{b64(result.id)}')}: another run kept replacing the result "
                         f"while this one wrote it ({attempts} attempts); the local outputs hold this run's result")


def _withdraw_unreferenced(client: AasClient, shell_id: str, result_id: str) -> None:
    """Remove a result this run created but could not reference, so the server holds no orphan; only when
    the shell is seen not to reference it (a reference whose reply was lost must keep its result). If the
    server cannot even tell, or refuses the delete, the result stays and the next run references it."""
    try:
        if not _references(client, shell_id, result_id):
            client.delete_submodel(result_id, missing_ok=True)
            return
    except AasServerError as exc:
        log.warning("the result %s stays unreferenced (the server failed: %s); the next run references it",
                    result_id, exc)


def install_submodel(client: AasClient, shell_id: str, submodel: model.Submodel) -> bool:
    """Create or replace a submodel the tool owns (not a result: it has no versions) and reference it once
    from the shell. Returns False when the server held exactly this submodel and reference already."""
    current = client.submodel_or_none(submodel.id)
    canonical = json.loads(json.dumps(submodel, cls=AasJsonEncoder))
    same = current is not None and json.loads(json.dumps(current, cls=AasJsonEncoder)) == canonical
    if current is None:
        if client.post_submodel(submodel).status_code == 409:  # created meanwhile (or a lost reply): replace
            client.put_submodel(submodel)
    elif not same:
        client.put_submodel(submodel)
    referenced = _references(client, shell_id, submodel.id)
    _ensure_reference(client, shell_id, submodel.id)
    client.register_submodel(shell_id, submodel)
    return not (same and referenced)


def _references(client: AasClient, shell_id: str, submodel_id: str) -> bool:
    return any(r.key[-1].value == submodel_id for r in client.shell(shell_id).submodel)


def _ensure_reference(client: AasClient, shell_id: str, submodel_id: str, attempts: int = 3) -> None:
    for _ in range(attempts):
        if _references(client, shell_id, submodel_id):
            return
        try:
            client.add_submodel_ref(shell_id, submodel_id)  # a 409 means it is there: checked above next time
        except AasServerError:
            continue  # a lost reply: the loop checks whether the reference arrived
    if not _references(client, shell_id, submodel_id):
        raise AasServerError(f"{client.url(f'/shells/{b64(shell_id)}/submodel-refs')}: could not reference the "
                             f"result {submodel_id} from the shell; the next run completes it")
