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


def redact_url(url: str) -> str:
    """``scheme://host:port/path`` with any ``user:password@`` removed (query and fragment kept)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.username is None and parts.password is None:
        return url
    # the netloc after its user info, as written: the port is not parsed, so one that is no number
    # (``:1883x``) still comes back without the password, for the message that says it is wrong
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\x1b`` escapes, safe to print on a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def terminal_text(value: object) -> str:
    """Data for a rich console: control characters shown as escapes and rich markup inert (an id such as
    ``[bold]`` or a designation with brackets prints as written)."""
    return escape(printable(str(value)))
