"""How requests authenticate: an API key sent as a bearer token, basic auth taken from the server URL, or an
OAuth2 client-credentials token renewed before it expires. A token endpoint's refusal is named by its error
code only: its body may repeat the secret that was sent."""

from __future__ import annotations

import math
import time
from collections.abc import Generator

import httpx

from aas_quantum.aas.server.errors import AasServerError
from aas_quantum.aas.server.settings import ServerSettings
from aas_quantum.sanitize import redact_url


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


def auth_for(settings: ServerSettings) -> httpx.Auth | None:
    """One credential per client, the renewable one first: client credentials, then a fixed token, then the
    URL's basic auth; None for a server that needs none."""
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
