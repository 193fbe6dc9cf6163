"""Where a run's AAS server connection comes from: arguments, then the environment (``AAS_QUANTUM_*``), then the
``[server]`` table of the TOML config file. Credentials move out of URLs and stay out of reprs and logs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from aas_quantum.aas.server.errors import AasServerError
from aas_quantum.config import Layers, config_file, parse_bool, parse_number, parse_url
from aas_quantum.errors import ConfigError
from aas_quantum.sanitize import redact_url

MAX_RESPONSE_MB = 256.0  # default guard against a runaway (or hostile) response body


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
            given_parts = parse_url(given, ("http", "https"), "AAS server or registry URL",
                                    "http(s)://host:port/api/v3.0")
            if given_parts.query or given_parts.fragment:
                # API paths are appended to the base URL, so a query (a gateway's ?apikey=) would go out garbled
                raise ConfigError(f"AAS server or registry URL {redact_url(given)!r} takes no query or fragment: "
                                  "give a bearer token in AAS_QUANTUM_TOKEN or token in [server], a user and "
                                  "password as http://user:password@host/...")
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
