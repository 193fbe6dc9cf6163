"""Identifiers in AAS API paths: base64url without padding (AAS Part 2), in one place for every edge
that builds or reads such a path (the HTTP client, MQTT topics, BaSyx event topics)."""

from __future__ import annotations

import base64


def b64(identifier: str) -> str:
    """The base64url path segment of an identifier (no padding, as the API specifies)."""
    return base64.urlsafe_b64encode(identifier.encode()).decode().rstrip("=")


def unb64(encoded: str) -> str:
    """The identifier a base64url path segment encodes; "" when it encodes none."""
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
