"""AAS Part 2 HTTP API v3.0 client (httpx): the transport every server call goes through.

httpx rather than a generated AAS client: the handful of calls needed (shells, submodels,
submodel-refs, paging) are plain JSON over HTTP, httpx gives timeouts, TLS and transports, and the
payloads are (de)serialised by basyx-python-sdk's JSON adapter so the metamodel stays the SDK's.

Identifiers in paths are base64url without padding. Retries (bounded, exponential backoff) on
connection errors, 429 and 502/503/504, and on 500 for idempotent methods (a threaded BaSyx
Python server answers 500 when a listing races a concurrent write); never on other 4xx. Every
error names the URL, the status and the server's message, without the credentials the request carried.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from basyx.aas import model

from aas_quantum.aas.files import AasJsonEncoder, json_decoder
from aas_quantum.aas.ids import b64, unb64
from aas_quantum.aas.mapping import semantic_key
from aas_quantum.aas.registry import Endpoints, submodel_descriptor
from aas_quantum.aas.server.auth import ClientCredentials, auth_for
from aas_quantum.aas.server.errors import AasServerError
from aas_quantum.aas.server.settings import ServerSettings
from aas_quantum.errors import BomInputError, Location
from aas_quantum.sanitize import printable, redact_url

T = TypeVar("T")
log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})  # 500 on these is worth another try


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


class AasClient:
    """Shell and submodel repository calls of the AAS API v3.0."""

    def __init__(self, settings: ServerSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx.Client(timeout=settings.timeout_s, verify=settings.verify, transport=transport,
                                  auth=auth_for(settings))
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
        except MemoryError:  # an answer too large for this machine is not a defective object
            raise
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
