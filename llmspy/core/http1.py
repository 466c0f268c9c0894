# Passive HTTP/1.x parser: one observed connection, both directions, bytes in, events out.
#
# Approach. h11 does the parsing (start lines, headers, Content-Length, chunked with extensions
# and trailers, close-delimited bodies, HEAD/1xx/204/304, CONNECT and Upgrade); this module only
# wires it up as an observer, which h11 was not built to be:
#
#  * One h11.Connection *per message*, not one per connection with start_next_cycle(): an h11
#    connection only cycles once its own side has sent the other half of the exchange, and an
#    observer sends nothing; requests may also run ahead of responses (pipelining, early
#    responses). When a message ends, h11's ``trailing_data`` seeds the next message's connection.
#  * The request side uses ``our_role=SERVER`` (it reads what a client sends).
#  * The response side uses ``our_role=CLIENT`` and is first *told* request i by "sending" it a
#    copy of request i's head without its framing headers (the bytes h11 writes are dropped).
#    So h11 knows HEAD has no response body (RFC 9112 §6.3 rule 1) and that a 2xx to CONNECT
#    and 101 to Upgrade switch protocols (RFC 9110 §9.3.6, §15.2.2). Response framing does not
#    depend on the request's version, so the copy is sent as HTTP/1.1 (all h11 sends).
#
# Where h11 does not fit and this module decides itself:
#  * Capture that begins mid-connection (RFC 9112 does not cover it). Each direction starts by
#    hunting: bytes before the first request-line (RFC 9112 §3; a standard method, possibly
#    right after the tail of a body) or status-line (§4) are skipped and counted in
#    ``skipped_bytes``. Response bytes that arrive before any request was seen are skipped too:
#    they answer a request the capture missed, and pairing them with the next request would
#    shift every later pairing by one. Once a direction has found its first message, anything
#    unparsable is a ProtocolError and that direction stops.
#  * A connection closed inside a message: h11 raises; we emit End(complete=False) instead, or
#    Reset for a request whose response never started.
#  * After a switch of protocol (101, CONNECT 2xx) the rest of the connection is opaque: no events.
from __future__ import annotations

import re
from collections import deque

import h11

from .events import (
    REQUEST,
    RESPONSE,
    Data,
    End,
    Headers,
    HTTPEvent,
    ProtocolError,
    RequestHead,
    Reset,
    ResponseHead,
)

__all__ = [
    "HTTP1Parser",
    "MAX_HEAD_BYTES",
    "MAX_START_LINE_BYTES",
    "MAX_RESYNC_BYTES",
    "MAX_HELD_BYTES",
    "MAX_PENDING_REQUESTS",
]

# h11's max_incomplete_event_size: the longest head (start line + header fields), chunk-size
# line or trailer section we buffer before calling it malformed. 64 KiB is 4x h11's default and
# above what common servers accept (nginx 4x8 KiB, Node.js 16 KiB), so nothing a real server
# took is refused, and a stream of garbage without a blank line is refused soon.
MAX_HEAD_BYTES = 64 * 1024
# Longest start line kept while hunting for the first message: RFC 9112 §3 recommends
# supporting request-lines of at least 8000 octets.
MAX_START_LINE_BYTES = 8 * 1024
# Bytes a direction may skip hunting for its first start line before we call it not HTTP/1:
# room for the tail of one large request or response body the capture came in on.
MAX_RESYNC_BYTES = 1024 * 1024
# Bytes held while a direction cannot be parsed yet: response bytes with no request to answer
# (cross-direction reordering), request bytes after an Upgrade/CONNECT request until its
# response decides whether the protocol switched. 1 MiB absorbs reordering of a few reads.
MAX_HELD_BYTES = 1024 * 1024
# Requests parsed but not yet answered (pipelining). Clients pipeline a handful at most.
MAX_PENDING_REQUESTS = 100

# Start lines (RFC 9112 §3, §4) for hunting: mid-capture, only the methods of RFC 9110 §9.3
# and PATCH (RFC 5789) are looked for; at the very start any method token (RFC 9110 §5.6.2).
_REQUEST_LINE = re.compile(
    rb"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) [^\s]+ HTTP/1\.[01]\r?\n"
)
_ANY_REQUEST_LINE = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+ [^\s]+ HTTP/1\.[01]\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] [1-5][0-9][0-9][ \r\n]")
_HTTP2_PREFACE_START = b"PRI * HTTP/2.0"
_FRAMING_HEADERS = (b"content-length", b"transfer-encoding")


def _headers(fields) -> Headers:
    """h11 header fields (lower-case names, bytes) as llmspy Headers (latin-1 str pairs)."""
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in fields)


# The part of a library's error message that quotes the offending bytes ("illegal header line:
# bytearray(b'...')"): cut off, since those bytes may hold an API key (DESIGN.md: secrets never
# reach output, and ProtocolError messages are shown to the user).
_QUOTED_BYTES = re.compile(r"\s*:?\s*(?:bytearray\()?b['\"].*", re.S)


def safe_message(exc: Exception) -> str:
    """``exc``'s message without the bytes it quotes. Shared with http2.py."""
    return _QUOTED_BYTES.sub("", str(exc)) or type(exc).__name__


def _header_value(fields, name: bytes) -> bytes | None:
    for field_name, value in fields:
        if field_name == name:
            return value
    return None


class _Hunter:
    """Finds the first start line of a direction whose capture may begin inside a message.
    ``feed`` returns the bytes from that line on, or None while still looking. A start line
    may follow body bytes on the same line (a JSON body has no final LF), so ``anywhere`` is
    searched everywhere; ``at_start`` (any method token) is tried where nothing was skipped."""

    __slots__ = ("anywhere", "at_start", "buf", "skipped")

    def __init__(self, anywhere: re.Pattern[bytes], at_start: re.Pattern[bytes] | None = None) -> None:
        self.anywhere = anywhere
        self.at_start = at_start
        self.buf = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> bytes | None:
        self.buf += data
        start = None
        if self.at_start is not None and self.skipped == 0 and self.at_start.match(self.buf):
            start = 0
        else:
            match = self.anywhere.search(self.buf)
            start = match.start() if match else None
        if start is not None:
            self.skipped += start
            found = bytes(self.buf[start:])
            self.buf.clear()
            return found
        # A start line holds no LF before its end: an incomplete one lies after the last LF.
        keep_from = max(self.buf.rfind(b"\n") + 1, len(self.buf) - MAX_START_LINE_BYTES)
        self.skipped += keep_from
        del self.buf[:keep_from]
        return None


class _Direction:
    """Parsing state of one direction. ``index`` is the stream_id (exchange index) of the
    message being read; ``started`` is True between its head and its End."""

    __slots__ = (
        "side",
        "hunter",
        "synced",
        "conn",
        "index",
        "started",
        "held",
        "held_ts",
        "stopped",
        "closed",
    )

    def __init__(self, side: str, hunter: _Hunter) -> None:
        self.side = side
        self.hunter = hunter
        self.synced = False  # the first start line was found
        self.conn: h11.Connection | None = None
        self.index = 0
        self.started = False
        self.held = bytearray()  # bytes not yet given to h11 (see _pump)
        self.held_ts = 0.0
        self.stopped = False
        self.closed = False


class HTTP1Parser:
    """Passive observer of one HTTP/1.0 or HTTP/1.1 connection (RFC 9112), both directions.

    ``feed(side, data, ts)`` takes bytes of one direction: ``side`` is events.REQUEST (bytes the
    client sent) or events.RESPONSE (bytes the server sent), ``ts`` unix seconds of those bytes.
    It returns the events those bytes completed: RequestHead, ResponseHead (final responses;
    1xx are skipped, except 101 which ends the exchange), Data (body bytes after chunked
    decoding, still content-encoded, emitted as soon as they arrive), End (trailers from chunked
    bodies), Reset, ProtocolError. ``stream_id`` is the exchange index on the connection:
    request i pairs with response i. ``close(side, ts)`` reports the end of one direction, or
    of the connection when ``side`` is None; it ends close-delimited bodies.

    Never raises on bad input: unparsable bytes become one ProtocolError and that direction
    stops. ``skipped_bytes`` counts, per side, bytes skipped before the first message when the
    capture began mid-connection (see the module comment).
    """

    def __init__(self) -> None:
        self._request = _Direction(REQUEST, _Hunter(_REQUEST_LINE, _ANY_REQUEST_LINE))
        self._response = _Direction(RESPONSE, _Hunter(_STATUS_LINE))
        # Requests whose response has not ended; [0] is the one the response side answers.
        self._unanswered: deque[h11.Request] = deque()
        self._current_request: h11.Request | None = None  # the one the request side is reading
        self._switch_proposed_by: int | None = None  # exchange whose Upgrade/CONNECT is pending
        self._opaque = False

    @property
    def skipped_bytes(self) -> dict[str, int]:
        """Bytes skipped per side before its first message (capture began mid-connection)."""
        return {d.side: d.hunter.skipped for d in self._both()}

    def _both(self) -> tuple[_Direction, _Direction]:
        return (self._request, self._response)

    def _direction(self, side: str) -> _Direction:
        if side == REQUEST:
            return self._request
        if side == RESPONSE:
            return self._response
        raise ValueError(f"side must be {REQUEST!r} or {RESPONSE!r}, not {side!r}")

    # -- public API ---------------------------------------------------------------------------

    def feed(self, side: str, data: bytes, ts: float) -> list[HTTPEvent]:
        """Bytes of one direction in, the events they completed out (see the class doc)."""
        d = self._direction(side)
        events: list[HTTPEvent] = []
        if not data or self._opaque or d.stopped or d.closed:
            return events
        if d is self._response and not d.synced and not (self._request.started or self._request.index):
            d.hunter.skipped += len(data)  # answers a request the capture missed
            return events
        d.held += data
        d.held_ts = ts
        self._pump(events)
        if d is self._response and d.held and d.synced and not self._unanswered:
            if not b"HTTP/1.".startswith(bytes(d.held[:7])):  # RFC 9112 §4: not a status-line
                self._fail(d, "response bytes that do not start a status line", ts, events)
        if len(d.held) > MAX_HELD_BYTES and not d.stopped:
            self._fail(d, f"more than {MAX_HELD_BYTES} bytes wait for the other direction", ts, events)
        return events

    def close(self, side: str | None, ts: float) -> list[HTTPEvent]:
        """One direction (or, with None, the whole connection) ended; returns the events that
        completes: End of close-delimited bodies, End(complete=False) of cut messages, Reset
        of requests whose response never started."""
        directions = self._both() if side is None else (self._direction(side),)
        events: list[HTTPEvent] = []
        for d in directions:
            if d.closed:
                continue
            d.closed = True
            if self._opaque or d.stopped:
                continue
            hunted = d.hunter.buf or d.hunter.skipped
            if not d.synced and hunted and (d is self._request or self._unanswered):
                events.append(ProtocolError(ts, -1, f"{d.side} side ended before any HTTP/1 start line"))
            if d.conn is not None:
                d.conn.receive_data(b"")
                self._drain(d, ts, events, closing=True)
            if d is self._response:
                for offset in range(len(self._unanswered)):
                    events.append(Reset(ts, d.index + offset, None, "connection closed before the response"))
                self._unanswered.clear()
        return events

    # -- moving bytes --------------------------------------------------------------------------

    def _pump(self, events: list[HTTPEvent]) -> None:
        """Move held bytes into h11 wherever a direction can make progress, until none can."""
        progress = True
        while progress and not self._opaque:
            progress = False
            for d in self._both():
                if not d.held or d.stopped:
                    continue
                if d is self._request and self._switch_proposed_by is not None:
                    continue  # wait: did the response switch protocols?
                if d is self._response and not self._unanswered:
                    continue  # wait for the request this answers
                data, ts = bytes(d.held), d.held_ts
                d.held.clear()
                progress = True
                if not d.synced:
                    data = self._hunt(d, data, ts, events)
                    if data is None:
                        continue
                if d.conn is None:
                    try:
                        d.conn = self._new_connection(d)
                    except h11.LocalProtocolError as exc:  # not expected: see _new_connection
                        self._fail(d, f"cannot follow request {d.index}: {safe_message(exc)}", ts, events)
                        continue
                d.conn.receive_data(data)
                self._drain(d, ts, events)

    def _hunt(self, d: _Direction, data: bytes, ts: float, events: list[HTTPEvent]) -> bytes | None:
        """Skip to the first start line of direction ``d``; None while still looking."""
        if d is self._request and d.hunter.skipped == 0:
            if (bytes(d.hunter.buf) + data).startswith(_HTTP2_PREFACE_START):
                self._fail(d, "HTTP/2 connection preface on an HTTP/1 parser", ts, events)
                return None
        found = d.hunter.feed(data)
        if found is None and d.hunter.skipped > MAX_RESYNC_BYTES:
            self._fail(d, f"no HTTP/1 start line in the first {MAX_RESYNC_BYTES} bytes", ts, events)
        d.synced = found is not None
        return found

    def _new_connection(self, d: _Direction) -> h11.Connection:
        if d is self._request:
            return h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        request = self._unanswered[0]
        # h11 accepted these fields reading the request, so it accepts them sending it (as
        # HTTP/1.1, the only version h11 sends, with a Host: HTTP/1.0 requests may lack one).
        conn.send(
            h11.Request(
                method=request.method,
                target=request.target,
                headers=[(n, v) for n, v in request.headers if n not in _FRAMING_HEADERS]
                + ([] if _header_value(request.headers, b"host") else [(b"host", b"")]),
            )
        )
        conn.send(h11.EndOfMessage())
        return conn

    def _drain(self, d: _Direction, ts: float, events: list[HTTPEvent], closing: bool = False) -> None:
        """Turn h11 events of direction ``d`` into llmspy events until h11 needs more bytes."""
        while d.conn is not None:
            try:
                event = d.conn.next_event()
            except h11.RemoteProtocolError as exc:
                if not closing:
                    self._fail(d, f"malformed HTTP/1 {d.side}: {safe_message(exc)}", ts, events)
                elif d.started:  # cut short by the close (RFC 9112 §8), not malformed
                    events.append(End(ts, d.index, d.side, complete=False))
                    self._finish(d)
                d.conn = None
                return
            if event is h11.NEED_DATA or event is h11.PAUSED or type(event) is h11.ConnectionClosed:
                return
            if type(event) is h11.Request:
                self._on_request(event, ts, events)
            elif type(event) in (h11.Response, h11.InformationalResponse):
                self._on_response(event, ts, events)
            elif type(event) is h11.Data:
                if event.data:
                    events.append(Data(ts, d.index, d.side, bytes(event.data)))
            elif type(event) is h11.EndOfMessage:
                events.append(End(ts, d.index, d.side, _headers(event.headers)))
                d.held[:0] = d.conn.trailing_data[0]  # the next message starts here
                d.held_ts = ts
                d.conn = None
                self._finish(d)

    def _on_request(self, request: h11.Request, ts: float, events: list[HTTPEvent]) -> None:
        d = self._request
        if len(self._unanswered) >= MAX_PENDING_REQUESTS:
            self._fail(d, f"more than {MAX_PENDING_REQUESTS} requests without a response", ts, events)
            return
        host = _header_value(request.headers, b"host")
        events.append(
            RequestHead(
                ts,
                d.index,
                method=request.method.decode("latin-1"),
                target=request.target.decode("latin-1"),
                authority=host.decode("latin-1") if host is not None else None,
                headers=_headers(request.headers),
                http_version=request.http_version.decode("ascii"),
            )
        )
        d.started = True
        self._current_request = request
        self._unanswered.append(request)

    def _on_response(self, response, ts: float, events: list[HTTPEvent]) -> None:
        d = self._response
        switched = d.conn is not None and d.conn.their_state is h11.SWITCHED_PROTOCOL
        if type(response) is h11.InformationalResponse and not switched:
            return  # 100 Continue, 103 Early Hints...: the final response follows
        events.append(
            ResponseHead(
                ts,
                d.index,
                status=response.status_code,
                headers=_headers(response.headers),
                http_version=response.http_version.decode("ascii"),
            )
        )
        d.started = True
        if switched:  # 101 to an Upgrade, 2xx to CONNECT: the rest is another protocol
            events.append(End(ts, d.index, RESPONSE))
            self._opaque = True
            d.conn = None

    def _finish(self, d: _Direction) -> None:
        """Message ``d.index`` of direction ``d`` is over (ended or cut)."""
        d.started = False
        if d is self._request:
            request = self._current_request
            if (
                request is not None
                and (request.method == b"CONNECT" or _header_value(request.headers, b"upgrade") is not None)
                and any(pending is request for pending in self._unanswered)
            ):
                self._switch_proposed_by = d.index
        else:
            if self._unanswered:
                self._unanswered.popleft()
            if self._switch_proposed_by == d.index:
                self._switch_proposed_by = None  # declined: requests continue as HTTP/1
        d.index += 1

    def _fail(self, d: _Direction, message: str, ts: float, events: list[HTTPEvent]) -> None:
        events.append(ProtocolError(ts, d.index if d.started else -1, message))
        d.stopped = True
        d.conn = None
        d.held.clear()
