"""AAS Registry and Submodel Registry (AAS API v3.0 Part 2): where each shell and submodel is served.

BaSyx Java is usually deployed as an AAS repository, a submodel repository and the two registries,
each its own service. The registries' descriptors carry the endpoint (``href``) of every shell and
submodel, so a client needs only the registry URLs. This module reads descriptors into plain
records and writes the descriptor of a new submodel; ``server.AasClient`` routes its calls by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHELL_INTERFACES = ("AAS-3.0", "AAS-3.1", "AAS-REPOSITORY-3.0")
SUBMODEL_INTERFACES = ("SUBMODEL-3.0", "SUBMODEL-3.1", "SUBMODEL-REPOSITORY-3.0")


@dataclass
class Endpoints:
    """What the registries say: shell and submodel id -> endpoint href, submodel id -> semanticId."""

    shells: dict[str, str] = field(default_factory=dict)
    submodels: dict[str, str] = field(default_factory=dict)
    semantic_ids: dict[str, str] = field(default_factory=dict)
    submodel_repository: str = ""  # where new submodels go: the repository most submodels are served from

    def add_shell(self, descriptor: dict[str, Any]) -> None:
        href = _href(descriptor, SHELL_INTERFACES)
        if isinstance(descriptor.get("id"), str) and href:
            self.shells[descriptor["id"]] = href
        for sub in descriptor.get("submodelDescriptors") or []:
            if isinstance(sub, dict):
                self.add_submodel(sub)

    def add_submodel(self, descriptor: dict[str, Any]) -> None:
        href = _href(descriptor, SUBMODEL_INTERFACES)
        if not isinstance(descriptor.get("id"), str) or not href:
            return
        self.submodels[descriptor["id"]] = href
        keys = (descriptor.get("semanticId") or {}).get("keys") or []
        if keys and isinstance(keys[0], dict) and isinstance(keys[0].get("value"), str):
            self.semantic_ids[descriptor["id"]] = keys[0]["value"]

    def finish(self) -> None:
        bases = [repository_base(href, "/submodels/") for href in self.submodels.values()]
        counted = {b: bases.count(b) for b in bases if b}
        self.submodel_repository = max(counted, key=lambda b: counted[b]) if counted else ""


def _href(descriptor: dict[str, Any], interfaces: tuple[str, ...]) -> str:
    """The endpoint of the first interface this client speaks (``interface`` may be absent: then any)."""
    endpoints = [e for e in descriptor.get("endpoints") or [] if isinstance(e, dict)]
    for endpoint in sorted(endpoints, key=lambda e: e.get("interface") not in interfaces):
        href = (endpoint.get("protocolInformation") or {}).get("href")
        if isinstance(href, str) and href.startswith(("http://", "https://")):
            return href.rstrip("/")
    return ""


def repository_base(href: str, marker: str) -> str:
    """``http://sm-repo:8081/submodels/abc`` -> ``http://sm-repo:8081`` (the repository the href is in)."""
    head, found, _ = href.rpartition(marker)
    return head if found else ""


def submodel_descriptor(submodel_id: str, id_short: str, semantic_id: str, href: str) -> dict[str, Any]:
    return {
        "id": submodel_id, "idShort": id_short,
        "semanticId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": semantic_id}]},
        "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {"href": href}}],
    }
