# Events of the sans-I/O core, as small frozen dataclasses (the h11/h2 shape).
#
# Two families:
#  * HTTP message events, produced by the passive parsers (http1.py, http2.py) from bytes, or
#    directly by the proxy front end from mitmproxy flows. They carry ``stream_id`` (the HTTP/2
#    stream id; for HTTP/1.1 the index of the exchange on the connection, 0, 1, 2, ...) and
#    ``ts``, the unix time in seconds (float) of the bytes that completed the event.
#  * Output events, produced by exchange.py / tracker.py for the front ends' sinks: a call
#    started, a piece of streamed text arrived, a call finished, a notice for the user.
#
# Body bytes in ``Data`` are after transfer framing (chunked, DATA frames) and *before*
# content-encoding: exchange.py decodes gzip/br/zstd.
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..record import LLMRecord

__all__ = [
    "Headers",
    "HTTPEvent",
    "RequestHead",
    "ResponseHead",
    "Data",
    "End",
    "Reset",
    "ProtocolError",
    "StreamItem",
    "Output",
    "CallStarted",
    "CallDelta",
    "CallDone",
    "Notice",
    "REQUEST",
    "RESPONSE",
]

# A header list in wire order: (lower-case name, value) pairs, both str (latin-1 decoded).
Headers = tuple[tuple[str, str], ...]

REQUEST = "request"
RESPONSE = "response"


def _short(data: bytes, limit: int = 24) -> str:
    # Truncated repr (h2's _bytes_representation): keeps payloads and secrets out of logs.
    return repr(data[:limit]) + (f"...(+{len(data) - limit} bytes)" if len(data) > limit else "")


@dataclass(frozen=True, slots=True)
class HTTPEvent:
    ts: float
    stream_id: int


@dataclass(frozen=True, slots=True)
class RequestHead(HTTPEvent):
    """A request's head. ``headers`` is None when it could not be decoded (HTTP/2 capture that
    began mid-connection: HPACK state unknown). ``target`` is the request-target (path and
    query); ``authority`` the Host header or :authority; ``scheme`` "https" unless stated."""

    method: str | None
    target: str | None
    authority: str | None
    headers: Headers | None
    http_version: str  # "1.1", "1.0" or "2"
    scheme: str = "https"


@dataclass(frozen=True, slots=True)
class ResponseHead(HTTPEvent):
    """A final (non-1xx) response head; ``headers`` None when unknown (see RequestHead)."""

    status: int | None
    headers: Headers | None
    http_version: str


@dataclass(frozen=True, slots=True)
class Data(HTTPEvent):
    """Body bytes of one side ("request" or "response"), still content-encoded."""

    side: str
    data: bytes

    def __repr__(self) -> str:
        return f"Data(ts={self.ts}, stream_id={self.stream_id}, side={self.side!r}, data={_short(self.data)})"


@dataclass(frozen=True, slots=True)
class End(HTTPEvent):
    """End of one side's message. ``trailers`` as Headers (empty when none). ``complete`` is
    False when the body ended early (connection closed before Content-Length was reached...)."""

    side: str
    trailers: Headers = ()
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Reset(HTTPEvent):
    """The exchange was cancelled: HTTP/2 RST_STREAM, or the connection closed mid-message."""

    error_code: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProtocolError(HTTPEvent):
    """Bytes that do not parse. The parser stops parsing that direction (stream_id -1 when the
    error is not tied to one stream); nothing is raised."""

    message: str


@dataclass(slots=True)
class StreamItem:
    """One item of a streamed body. For SSE: ``event`` is the event type (None when the
    stream gave none) and ``data`` the joined data lines. For NDJSON and JSON-array streams
    ``event`` is None and ``data`` the item's text. ``json`` is the parsed data, or None when
    ``data`` is not JSON (e.g. OpenAI's ``[DONE]``)."""

    data: str
    json: Any = None
    event: str | None = None
    id: str | None = None


# ---------------------------------------------------------------------------------------------
# Output events


@dataclass(slots=True)
class Output:
    pass


@dataclass(slots=True)
class CallStarted(Output):
    """A request was seen and classified; ``record`` has its request fields filled."""

    record: LLMRecord


@dataclass(slots=True)
class CallDelta(Output):
    """Streamed output as it arrives. ``kind`` is "text", "reasoning" or "tool" (arguments)."""

    record: LLMRecord
    text: str
    kind: str = "text"


@dataclass(slots=True)
class CallDone(Output):
    """The exchange ended (or was flushed: then ``record.complete`` is False)."""

    record: LLMRecord


@dataclass(slots=True)
class Notice(Output):
    """Something the user should know (a warning, once): level "info", "warning" or "error"."""

    message: str
    level: str = "warning"
