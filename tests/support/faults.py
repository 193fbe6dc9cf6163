"""A loopback HTTP proxy in front of an AAS server that injects faults per request, and rules for it."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable

import httpx

from aas_quantum.aas.ids import b64

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


