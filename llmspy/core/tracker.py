# Connection reassembly: captured TLS reads and writes -> HTTP exchanges -> records.
#
# The eBPF front end and `llmspy replay` give the Tracker one CaptureEvent per SSL_read /
# SSL_write (and a "close" when the connection ends). Per connection (pid + SSL*) it
#   1. sniffs the first bytes of either direction to learn the protocol and which side the
#      traced process is: a request line or the HTTP/2 client preface is sent by the client,
#      a status line by the server (a traced TLS *server* reads the request: MACHINE.md);
#   2. feeds both directions to an HTTP1Parser or HTTP2Parser, mapping send/recv to the
#      request/response side by that role;
#   3. routes the parser's message events to one Exchange per stream, which builds the record.
# Time only enters with events (``ts``); nothing here reads a clock, so ``expire(now)`` takes
# the front end's idea of now. Memory is bounded: sniff buffers, connection count and idle
# time all have named limits.
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from ..record import Connection, Process
from .capture import CLOSE, RECV, SEND, CaptureEvent
from .events import REQUEST, RESPONSE, CallDone, HTTPEvent, Notice, Output, ProtocolError, RequestHead
from .exchange import Exchange
from .http1 import HTTP1Parser
from .http2 import HTTP2Parser

__all__ = ["Tracker", "Mute", "MODES", "wanted", "visible"]

MODES = ("llm", "smart", "all")

# Bytes needed to tell protocols apart: the HTTP/2 client preface is the longest marker.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SNIFF_BYTES = len(H2_PREFACE)
# A request line's method token: RFC 9110 methods are short; 20 bytes covers extensions.
_REQUEST_START = re.compile(rb"^[A-Z][A-Z0-9_-]{0,19} [^\s]")
_STATUS_START = b"HTTP/1."
# Connections tracked at once; the least recently used is flushed beyond this.
MAX_CONNECTIONS = 4096
# Idle connections are forgotten after this many seconds (open exchanges are flushed
# incomplete). Long enough for a slow reasoning model's first token.
IDLE_TIMEOUT_S = 600.0
# Bytes a truncated capture event lost are replaced by zeros (see Tracker._parse) up to
# this many, in steps of PADDING_STEP; a larger loss cannot be a real single TLS call.
MAX_PADDING_BYTES = 256 << 20
PADDING_STEP = 1 << 20
# Non-LLM, non-JSON response bytes after which a connection is muted in smart/llm modes:
# bulk downloads are not worth copying out of the kernel.
BULK_MUTE_BYTES = 1 << 20


@dataclass(slots=True)
class Mute(Output):
    """Stop capturing this connection (front ends with a kernel mute map act on it)."""

    conn: str
    reason: str


def wanted(record, mode: str) -> bool:
    """Whether ``mode`` shows ``record``: "llm" only LLM calls; "smart" LLM calls plus
    HTTP exchanges with a JSON request or response; "all" every exchange."""
    if mode == "all" or record.kind == "llm":
        return True
    if mode == "llm":
        return False
    for headers in (record.request.headers, record.response.headers):
        ct = headers.get("content-type", "").split(";")[0].strip().lower()
        if ct == "application/json" or ct.endswith("+json"):
            return True
    return False


def _lost(ev: CaptureEvent) -> int:
    """Bytes of the TLS call that the capture did not copy."""
    return max(ev.len - len(ev.data), 0) if ev.truncated else 0


def visible(event: Output, mode: str) -> bool:
    """Whether ``mode`` shows an output event: notices always; a finished record when
    ``wanted``; start and delta events for LLM calls (every exchange in "all" mode)."""
    record = getattr(event, "record", None)
    if record is None:
        return True
    if isinstance(event, CallDone):
        return wanted(record, mode)
    return record.kind == "llm" or mode == "all"


def _sniff(data: bytes) -> tuple[str, str] | None:
    """(protocol, sender) from a direction's first bytes: ("h2"|"h1", "client"|"server"),
    ("none", "") when not HTTP, None when more bytes are needed."""
    head = data[:SNIFF_BYTES]
    if H2_PREFACE.startswith(head) or head.startswith(H2_PREFACE):
        return ("h2", "client") if len(head) >= SNIFF_BYTES else None
    if head.startswith(_STATUS_START):
        return ("h1", "server")
    if _STATUS_START.startswith(head):
        return None
    if _REQUEST_START.match(head):
        return ("h1", "client")
    if re.fullmatch(rb"[A-Z][A-Z0-9_-]{0,19} ?", head):
        return None  # a method token (and its space) still arriving
    if len(head) >= 9 and _looks_like_h2_frame(head):
        return ("h2-mid", "")
    return ("none", "")


def _looks_like_h2_frame(head: bytes) -> bool:
    # RFC 9113 §4.1: 24-bit length, type, flags, R + 31-bit stream id. Mid-connection capture
    # shows frames without the preface; accept known types with a plausible length.
    length = int.from_bytes(head[0:3], "big")
    return head[3] <= 0x09 and length <= (1 << 24) - 1 and (head[5] & 0x80) == 0


def _is_settings_frame(head: bytes) -> bool:
    # RFC 9113 §6.5: type 0x4 on stream 0, a multiple of 6 bytes long; not an ACK (flag 0x1).
    length = int.from_bytes(head[0:3], "big")
    return head[3] == 0x4 and not head[4] & 0x1 and head[5:9] == b"\0\0\0\0" and length % 6 == 0


@dataclass(slots=True)
class _Conn:
    key: str
    connection: Connection
    process: Process
    last_ts: float
    role: str | None = None  # traced process is "client" or "server"
    protocol: str | None = None  # "h1", "h2", "none"
    parser: HTTP1Parser | HTTP2Parser | None = None
    sniffed: dict[str, bytearray] = field(default_factory=lambda: {SEND: bytearray(), RECV: bytearray()})
    exchanges: dict[int, Exchange] = field(default_factory=dict)
    pending: list = field(default_factory=list)  # (dir, data, ts, lost bytes) until sniffed
    muted: bool = False
    llm_seen: bool = False
    bulk_bytes: int = 0  # bytes since the last finished exchange


class Tracker:
    """All connections of one capture. ``feed(CaptureEvent) -> list[Output]``.

    ``mode`` ("llm", "smart", "all") filters which records come out; ``source`` is the record's
    source ("ebpf", "replay"). Outputs: CallStarted / CallDelta for LLM calls (and for every
    exchange in "all" mode), CallDone for wanted records, Notice, and Mute for connections
    not worth capturing. Never raises on bad input.
    """

    def __init__(self, source: str = "replay", mode: str = "smart", max_body: int | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.source = source
        self.mode = mode
        self.max_body = max_body
        self._conns: OrderedDict[str, _Conn] = OrderedDict()

    # -- input ------------------------------------------------------------------------------
    def feed(self, ev: CaptureEvent) -> list[Output]:
        if ev.dir == CLOSE:
            return self.close(ev.conn, ev.ts)
        c = self._conns.get(ev.conn)
        out: list[Output] = []
        if c is None:
            out += self._evict()
            c = self._conns[ev.conn] = _Conn(
                key=ev.conn,
                connection=Connection(id=ev.conn, server=ev.server),
                process=Process(pid=ev.pid, tid=ev.tid, comm=ev.comm or None, exe=ev.exe),
                last_ts=ev.ts,
            )
        else:
            self._conns.move_to_end(ev.conn)
        c.last_ts = ev.ts
        if ev.server and not c.connection.server:
            c.connection.server = ev.server
        if c.muted or not ev.data:
            return out
        if c.parser is None:
            return out + self._sniff_feed(c, ev)
        return out + self._parse(c, ev.dir, ev.data, ev.ts, _lost(ev))

    def close(self, conn: str, ts: float) -> list[Output]:
        """The connection ended: let the parser finish close-delimited bodies, then flush."""
        c = self._conns.pop(conn, None)
        if c is None:
            return []
        out: list[Output] = []
        if c.parser is not None:
            out += self._route(c, c.parser.close(None, ts))
        for ex in list(c.exchanges.values()):
            out += self._filter(c, ex.flush(ts))
        return out

    def close_pid(self, pid: int, ts: float) -> list[Output]:
        """The process exited: close all its connections."""
        out: list[Output] = []
        for key in [k for k, c in self._conns.items() if c.process.pid == pid]:
            out += self.close(key, ts)
        return out

    def flush(self, ts: float) -> list[Output]:
        """End of input: close every connection; open exchanges come out incomplete."""
        out: list[Output] = []
        for key in list(self._conns):
            out += self.close(key, ts)
        return out

    def expire(self, now: float) -> list[Output]:
        """Close connections idle for more than IDLE_TIMEOUT_S seconds before ``now``, and
        flush (incomplete) exchanges idle that long on connections that stay open (an
        HTTP/2 server whose client vanished without RST_STREAM keeps the stream forever)."""
        out: list[Output] = []
        for key, c in [(k, c) for k, c in self._conns.items() if now - c.last_ts > IDLE_TIMEOUT_S]:
            out += self.close(key, c.last_ts)
        for c in list(self._conns.values()):
            for ex in [x for x in c.exchanges.values() if x.last_ts is not None and now - x.last_ts > IDLE_TIMEOUT_S]:
                out += self._filter(c, ex.flush(ex.last_ts))
        return out

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # -- internals --------------------------------------------------------------------------
    def _evict(self) -> list[Output]:
        out: list[Output] = []
        while len(self._conns) >= MAX_CONNECTIONS:
            key, c = next(iter(self._conns.items()))
            out += self.close(key, c.last_ts)
        return out

    def _sniff_feed(self, c: _Conn, ev: CaptureEvent) -> list[Output]:
        buf = c.sniffed[ev.dir]
        buf += ev.data[: SNIFF_BYTES - len(buf)] if len(buf) < SNIFF_BYTES else b""
        verdict = _sniff(bytes(buf))
        if verdict is None:
            # keep the whole data for replay into the parser once decided
            c.pending.append((ev.dir, ev.data, ev.ts, _lost(ev)))
            return []
        protocol, sender = verdict
        if protocol == "none":
            c.protocol = "none"
            c.muted = True
            return [Mute(c.key, "not HTTP")]
        if protocol == "h2-mid":
            # RFC 9113 §3.4: a client writes the preface first; a server's first frame is a
            # SETTINGS frame. So SETTINGS as the first bytes the traced process writes, before
            # it read anything, is an HTTP/2 server at the connection start. Otherwise the
            # capture began mid-connection: assume we are the client.
            server_start = ev.dir == SEND and not c.sniffed[RECV] and _is_settings_frame(bytes(buf))
            protocol, role = "h2", "server" if server_start else "client"
        else:
            role = sender if ev.dir == SEND else ("server" if sender == "client" else "client")
        c.role = c.connection.role = role
        c.protocol = protocol
        c.connection.http_version = "2" if protocol == "h2" else "1.1"
        c.parser = HTTP2Parser() if protocol == "h2" else HTTP1Parser()
        out: list[Output] = []
        pending, c.pending = c.pending + [(ev.dir, ev.data, ev.ts, _lost(ev))], []
        for direction, data, ts, lost in pending:
            out += self._parse(c, direction, data, ts, lost)
        return out

    def _side(self, c: _Conn, direction: str) -> str:
        client_sends = (direction == SEND) == (c.role == "client")
        return REQUEST if client_sends else RESPONSE

    def _parse(self, c: _Conn, direction: str, data: bytes, ts: float, lost: int) -> list[Output]:
        side = self._side(c, direction)
        out = self._route(c, c.parser.feed(side, data, ts))
        if lost > 0:
            # The call moved more than the capture could copy. Stand-in zero bytes keep the
            # message framing (Content-Length, chunk sizes, HTTP/2 frame lengths) intact so
            # the exchanges after this one still parse; the record says truncated.
            out.append(Notice(f"connection {c.key}: {lost} bytes of a {direction} call were not captured (over the capture cap)"))
            for ex in c.exchanges.values():
                ex.mark_lost(side)
            if lost <= MAX_PADDING_BYTES:
                for off in range(0, lost, PADDING_STEP):
                    out += self._route(c, c.parser.feed(side, bytes(min(PADDING_STEP, lost - off)), ts))
        c.bulk_bytes += len(data)
        if c.bulk_bytes >= BULK_MUTE_BYTES and self.mode != "all" and not c.muted:
            out += self._mute_bulk(c, ts)
        return out

    def _mute_bulk(self, c: _Conn, ts: float) -> list[Output]:
        """Mute a connection moving bulk non-LLM, non-JSON data (a download through the
        same TLS library): its open exchanges are flushed incomplete."""
        for ex in c.exchanges.values():
            if ex.record.kind == "llm" or any(
                (ct or "").split(";")[0].strip().lower().endswith("json")
                for ct in (ex.request_content_type, ex.response_content_type)
            ):
                return []
        if c.llm_seen or not c.exchanges:
            return []
        c.muted = True
        out: list[Output] = [Mute(c.key, "bulk non-JSON transfer")]
        for ex in list(c.exchanges.values()):
            out += self._filter(c, ex.flush(ts))
        return out

    def _route(self, c: _Conn, events: list[HTTPEvent]) -> list[Output]:
        out: list[Output] = []
        for ev in events:
            if isinstance(ev, ProtocolError):
                out.append(Notice(f"connection {c.key} ({c.connection.server or 'unknown host'}): {ev.message}"))
                if ev.stream_id in c.exchanges:
                    out += self._filter(c, c.exchanges[ev.stream_id].flush(ev.ts))
                continue
            ex = c.exchanges.get(ev.stream_id)
            if ex is None:
                ex = c.exchanges[ev.stream_id] = Exchange(
                    source=self.source,
                    connection=Connection(
                        id=c.connection.id,
                        server=c.connection.server,
                        port=c.connection.port,
                        http_version=c.connection.http_version,
                        role=c.connection.role,
                    ),
                    process=c.process,
                    **({"max_body": self.max_body} if self.max_body else {}),
                )
                if not isinstance(ev, RequestHead):
                    # capture began after this exchange's head: nothing known of the request
                    ex.handle(RequestHead(ev.ts, ev.stream_id, None, None, None, None, c.connection.http_version or "1.1"))
            out += self._filter(c, ex.handle(ev))
        return out

    def _filter(self, c: _Conn, outputs: list[Output]) -> list[Output]:
        """Connection bookkeeping for finished exchanges, then the mode's filter."""
        out: list[Output] = []
        for o in outputs:
            done = isinstance(o, CallDone)
            if done:
                c.bulk_bytes = 0
                c.exchanges = {sid: ex for sid, ex in c.exchanges.items() if ex.record is not o.record}
                c.llm_seen = c.llm_seen or o.record.kind == "llm"
            if visible(o, self.mode):
                out.append(o)
            if done:
                out += self._maybe_mute(c, o.record)
        return out

    def _maybe_mute(self, c: _Conn, rec) -> list[Output]:
        # In llm-only mode a connection whose first finished call was not an LLM call is
        # muted (clients open separate connections per API host); smart mode mutes only bulk
        # non-JSON transfers (see _mute_bulk).
        if c.muted or self.mode == "all" or c.llm_seen:
            return []
        if self.mode == "llm":
            c.muted = True
            return [Mute(c.key, "not an LLM API")]
        return []

