# Secrets never reach output (../shared/DESIGN.md, "Principles"): header values and URL query
# values that carry credentials are replaced before a record leaves the core. Only the raw
# capture file (--raw --output) keeps bytes as captured, and it is created with mode 0600.
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["SECRET_HEADERS", "SECRET_QUERY_KEYS", "REDACTED", "redact_headers", "redact_url", "redact_bytes", "StreamRedactor"]

REDACTED = "[REDACTED]"

# Header names (lower case) whose values are credentials or session state.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "openai-organization-key",
    }
)

# Query parameters that carry API keys (Gemini's ?key=, some proxies' ?api_key=).
SECRET_QUERY_KEYS = frozenset({"key", "api_key", "apikey", "access_token", "token"})


_WS_KEY = re.compile(r"((?:openai-insecure-api-key|[a-z-]*api-key)\.)[^,\s]+", re.I)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` (lower-case names) with secret values replaced. The scheme of an
    Authorization value is kept ("Bearer [REDACTED]"): it tells which auth was used."""
    out = {}
    for name, value in headers.items():
        if name == "sec-websocket-protocol":  # OpenAI Realtime puts the key in a subprotocol
            out[name] = _WS_KEY.sub(r"\1" + REDACTED, value)
        elif name in SECRET_HEADERS:
            scheme, sep, _ = value.partition(" ")
            out[name] = f"{scheme} {REDACTED}" if sep and name.endswith("authorization") else REDACTED
        else:
            out[name] = value
    return out


def redact_url(url: str | None) -> str | None:
    """``url`` with the values of SECRET_QUERY_KEYS replaced; unparsable URLs are returned with
    their whole query replaced rather than risk leaking it."""
    if not url or "?" not in url:
        return url
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url.split("?", 1)[0] + "?" + REDACTED
    if not any(k.lower() in SECRET_QUERY_KEYS for k, _ in pairs):
        return url
    query = urlencode(
        [(k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="[]"
    )
    return urlunsplit(parts._replace(query=query))


# Raw previews (``--raw`` on a terminal) show captured bytes, so secrets are masked in the
# bytes themselves: header lines by name, key= query values, and well-known API key shapes
# (which also catches HPACK literals that are not Huffman-coded).
_RAW_PATTERNS = [
    (re.compile(rb"(?im)^((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key|cookie|set-cookie)(:[ \t]*)[^\r\n]*"),
     rb"\1\2" + REDACTED.encode()),
    (re.compile(rb"([?&](?:key|api_key|apikey|access_token|token)=)[^&\s#\"']*", re.I), rb"\1" + REDACTED.encode()),
    (re.compile(rb"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,})"),
     REDACTED.encode()),
]


def redact_bytes(data: bytes) -> bytes:
    """``data`` with secret header values, key= query values and API-key-shaped tokens
    replaced by [REDACTED]. For previews of raw captured bytes, not for capture files."""
    for pattern, repl in _RAW_PATTERNS:
        data = pattern.sub(repl, data)
    return data


_SECRET_LINE_START = re.compile(
    rb"(?i)^\s*((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key|cookie|set-cookie)\s*:")
_SECRET_QUERY_OPEN = re.compile(rb"(?i)[?&](?:key|api_key|apikey|access_token|token)=[^&\s#\"']*$")
_FIRST_VALUE_END = re.compile(rb"[&\s#\"']")


class StreamRedactor:
    """:func:`redact_bytes` across the reads and writes of one byte stream: a secret header
    line or ``key=`` value cut between two TLS calls is hidden in both. Keeps the unfinished
    last line of each stream (at most MAX_TAIL bytes) and at most MAX_STREAMS streams."""

    MAX_TAIL = 4096
    MAX_STREAMS = 4096

    def __init__(self) -> None:
        self._tails: dict[object, bytes] = {}

    def redact(self, stream: object, data: bytes) -> bytes:
        tail = self._tails.pop(stream, b"")
        nl = data.find(b"\n")
        first = data if nl < 0 else data[:nl]
        out = redact_bytes(data)
        if tail and (_SECRET_LINE_START.match(tail + first) or _SECRET_QUERY_OPEN.search(tail)):
            # the first bytes continue a secret begun in the previous call: hide up to its end
            end = len(first.rstrip(b"\r")) if _SECRET_LINE_START.match(tail + first) else _value_end(first)
            out = REDACTED.encode() + redact_bytes(data[end:])
        last_nl = data.rfind(b"\n")
        rest = tail + data if last_nl < 0 else data[last_nl + 1 :]  # the unfinished last line
        if len(self._tails) >= self.MAX_STREAMS:
            self._tails.pop(next(iter(self._tails)))
        self._tails[stream] = rest[-self.MAX_TAIL :]
        return out

    def forget(self, stream: object) -> None:
        self._tails.pop(stream, None)


def _value_end(line: bytes) -> int:
    m = _FIRST_VALUE_END.search(line)
    return m.start() if m else len(line)
