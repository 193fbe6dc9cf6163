"""Text that leaves the process: URLs without their secrets, terminal output without control codes.

Every human-readable message, table cell and summary field that carries a URL or text from the
inputs goes through here, so a password in ``http://alice:PW@host`` or an escape sequence in a
designation never reaches a terminal, a log, a result file or an MQTT payload.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from rich.markup import escape

# C0 controls except tab and newline, DEL and the C1 controls (ESC starts ANSI/OSC sequences)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# query parameters that carry a credential: gateways and webhooks take API keys, tokens and signatures there
_SECRET_PARAMETER = re.compile(r"key|token|secret|pass|auth|sig|credential", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` removed and the values of credential-like query parameters
    (``apikey``, ``access_token``, ``sig``, ...) shown as ``***``; the rest is kept as written."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    query = "&".join(_redact_parameter(item) for item in parts.query.split("&")) if parts.query else ""
    if parts.username is None and parts.password is None and query == parts.query:
        return url
    # the netloc after its user info, as written: the port is not parsed, so one that is no number
    # (``:1883x``) still comes back without the password, for the message that says it is wrong
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_parameter(item: str) -> str:
    name, equals, value = item.partition("=")
    return f"{name}=***" if equals and value and _SECRET_PARAMETER.search(name) else item


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\x1b`` escapes, safe to print on a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def terminal_text(value: object) -> str:
    """Data for a rich console: control characters shown as escapes and rich markup inert (an id such as
    ``[bold]`` or a designation with brackets prints as written)."""
    return escape(printable(str(value)))
