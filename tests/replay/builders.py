# Build capture files (schema llmspy.capture/1, ../../shared/DESIGN.md) from hand-written HTTP
# exchanges, for end-to-end tests of the core and `llmspy replay`.
#
# Approach: an exchange is written as a Request and a Response (plain data). They are turned
# into a *conversation*: the bytes each side wrote, in wire order, as ("client"|"server",
# bytes) segments. HTTP/1.1 bytes are written here by hand (RFC 9112: request line, headers,
# Content-Length or chunked body); HTTP/2 bytes come from a real h2 client/server pair
# (H2Connection on both sides), so frames and HPACK are valid without writing any by hand.
# A conversation is then cut into capture events for a traced CLIENT (client bytes = "send")
# or a traced SERVER (client bytes = "recv"), with chosen read sizes / split points, and
# written as JSON Lines with base64 data.
#
# Nothing here imports llmspy except where a test asks for CaptureEvent objects
# (events_from_lines) or runs the Tracker (run_tracker), so builders stay independent of the
# code under test.
from __future__ import annotations

import base64
import json
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BEARER_SECRET",
    "X_API_KEY_SECRET",
    "GOOG_HEADER_SECRET",
    "GOOG_URL_SECRET",
    "AZURE_KEY_SECRET",
    "COOKIE_SECRET",
    "PLANTED_MARK",
    "PLANTED_VALUES",
    "Request",
    "Response",
    "Segment",
    "Splitter",
    "encode_body",
    "http1_request",
    "http1_response",
    "http1_conversation",
    "h2_conversation",
    "sse",
    "whole",
    "natural",
    "every",
    "recut",
    "at",
    "crlf_splits",
    "utf8_splits",
    "random_splits",
    "capture_lines",
    "dump_lines",
    "write_capture",
    "events_from_lines",
    "run_tracker",
    "records_of",
    "comparable",
]

# -- planted secrets -----------------------------------------------------------------------------
# Every planted value contains PLANTED_MARK, so one grep of any output finds any leak.
PLANTED_MARK = "PLANTED"
BEARER_SECRET = "sk-llmspy-PLANTED-0123456789abcdef"
X_API_KEY_SECRET = "sk-ant-api03-llmspy-PLANTED-xapikey-0001"
GOOG_HEADER_SECRET = "AIzaSyLLMSPY-PLANTED-goog-header-00000"
GOOG_URL_SECRET = "AIzaSyLLMSPY-PLANTED-url-key-000000000"
AZURE_KEY_SECRET = "llmspyPLANTEDazureapikey0123456789"
COOKIE_SECRET = "sid=llmspy-PLANTED-cookie-42"
PLANTED_VALUES = (
    BEARER_SECRET,
    X_API_KEY_SECRET,
    GOOG_HEADER_SECRET,
    GOOG_URL_SECRET,
    AZURE_KEY_SECRET,
    COOKIE_SECRET,
)


# -- exchanges -----------------------------------------------------------------------------------
@dataclass
class Request:
    """A request as the client writes it. ``target`` is path + query; ``headers`` exclude
    Host and Content-Length (added by the encoder)."""

    method: str
    host: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, host: str, target: str, body: Any, headers=(), method: str = "POST") -> Request:
        data = json.dumps(body, ensure_ascii=False).encode()
        return cls(method, host, target, [("Content-Type", "application/json"), *headers], data)


@dataclass
class Response:
    """A response as the server writes it. ``parts`` are the body as the server flushed it
    (one SSE event, one NDJSON line, ...). ``framing``: "chunked" (one chunk per part unless
    ``chunk_sizes`` re-cuts the body), "length" (Content-Length), or "close" (the body ends
    when the connection does; HTTP/1.1 only). ``encoding``: None, "gzip", "br" or "zstd",
    applied as a stream flushed after every part (as servers do for SSE)."""

    status: int
    headers: list[tuple[str, str]]
    parts: list[bytes]
    framing: str = "chunked"
    encoding: str | None = None
    chunk_sizes: list[int] | None = None
    reason: str = ""

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


def sse(*events: Any, event_names: Iterable[str | None] | None = None, eol: str = "\n") -> list[bytes]:
    """SSE parts (WHATWG HTML §9.2): one ``data:`` line per event (JSON-encoded unless str),
    an optional ``event:`` line, and a blank line. Returns one part per event."""
    names = list(event_names) if event_names is not None else [None] * len(events)
    out = []
    for name, ev in zip(names, events, strict=True):
        data = ev if isinstance(ev, str) else json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
        text = (f"event: {name}{eol}" if name else "") + f"data: {data}{eol}{eol}"
        out.append(text.encode())
    return out


def encode_body(parts: list[bytes], encoding: str | None) -> list[bytes]:
    """Content-encode ``parts`` as one stream, flushed after each part (RFC 9110 §8.4.1)."""
    if encoding is None:
        return list(parts)
    if encoding == "gzip":
        c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        out = [c.compress(p) + c.flush(zlib.Z_SYNC_FLUSH) for p in parts]
        out[-1] += c.flush()
        return out
    if encoding == "br":
        import brotli

        c = brotli.Compressor()
        out = [c.process(p) + c.flush() for p in parts]
        out[-1] += c.finish()
        return out
    if encoding == "zstd":
        import zstandard

        c = zstandard.ZstdCompressor().compressobj()
        out = [c.compress(p) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for p in parts]
        out[-1] += c.flush()
        return out
    raise ValueError(encoding)


# A conversation: what each side wrote, in wire order.
Segment = tuple[str, bytes]  # ("client" | "server", bytes)


def http1_request(req: Request) -> bytes:
    """RFC 9112 §3: request line, Host, the headers, Content-Length when there is a body."""
    lines = [f"{req.method} {req.target} HTTP/1.1", f"Host: {req.host}"]
    lines += [f"{k}: {v}" for k, v in req.headers]
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(req.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body


def http1_response(resp: Response) -> list[bytes]:
    """The server's writes: the head, then one write per (encoded) body part (RFC 9112 §6,
    §7.1 chunked coding; a final 0-size chunk ends a chunked body)."""
    parts = [p for p in encode_body(resp.parts, resp.encoding)]
    headers = list(resp.headers)
    if resp.encoding:
        headers.append(("Content-Encoding", resp.encoding))
    if resp.framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
    elif resp.framing == "length":
        headers.append(("Content-Length", str(sum(map(len, parts)))))
    else:
        headers.append(("Connection", "close"))
    reason = resp.reason or {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(resp.status, "Status")
    head = "\r\n".join([f"HTTP/1.1 {resp.status} {reason}"] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n"
    writes = [head.encode("latin-1")]
    if resp.framing == "chunked":
        if resp.chunk_sizes:
            parts = recut(b"".join(parts), resp.chunk_sizes)
        writes += [b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p]
        writes.append(b"0\r\n\r\n")
    else:
        writes += [p for p in parts if p]
    return writes


def recut(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes, cycling through ``sizes``."""
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(data[i : i + n])
        i, k = i + n, k + 1
    return out


def http1_conversation(exchanges: list[tuple[Request, Response]]) -> list[Segment]:
    """Keep-alive HTTP/1.1: each request, then its response, on one connection."""
    conv: list[Segment] = []
    for req, resp in exchanges:
        conv.append(("client", http1_request(req)))
        conv += [("server", w) for w in http1_response(resp)]
    return conv


# HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2); Host becomes :authority.
_H2_DROP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def h2_conversation(exchanges: list[tuple[Request, Response]], interleave: bool = True) -> list[Segment]:
    """HTTP/2 bytes from a real h2 client and server: preface, SETTINGS (and their ACKs),
    one stream per exchange (ids 1, 3, 5, ...). All requests are sent first; with
    ``interleave`` the responses' HEADERS and DATA frames then alternate between streams
    part by part, else each response is sent whole in turn. Flow control is kept open by
    acknowledging received DATA, so bodies of any size pass."""
    import h2.config
    import h2.connection
    import h2.events

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    conv: list[Segment] = []

    def pump() -> None:
        while True:
            moved = False
            for name, src, dst in (("client", client, server), ("server", server, client)):
                data = src.data_to_send()
                if data:
                    moved = True
                    conv.append((name, data))
                    for ev in dst.receive_data(data):
                        if isinstance(ev, h2.events.DataReceived) and ev.flow_controlled_length:
                            dst.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if not moved:
                return

    client.initiate_connection()
    server.initiate_connection()
    pump()
    sids = []
    for req, _ in exchanges:
        sid = client.get_next_available_stream_id()
        sids.append(sid)
        headers = [(":method", req.method), (":scheme", "https"), (":authority", req.host), (":path", req.target)]
        headers += [(k.lower(), v) for k, v in req.headers if k.lower() not in _H2_DROP]
        if req.body:
            headers.append(("content-length", str(len(req.body))))
        client.send_headers(sid, headers, end_stream=not req.body)
        if req.body:
            client.send_data(sid, req.body, end_stream=True)
        pump()

    # per stream: the list of server actions, HEADERS first, then one DATA per part
    plans = []
    for sid, (_, resp) in zip(sids, exchanges):
        parts = [p for p in encode_body(resp.parts, resp.encoding) if p]
        headers = [(":status", str(resp.status))]
        headers += [(k.lower(), v) for k, v in resp.headers if k.lower() not in _H2_DROP]
        if resp.encoding:
            headers.append(("content-encoding", resp.encoding))
        if resp.framing == "length":
            headers.append(("content-length", str(sum(map(len, parts)))))
        steps: list[Callable[[], None]] = [lambda sid=sid, h=headers, e=not parts: server.send_headers(sid, h, end_stream=e)]
        for i, p in enumerate(parts):
            steps.append(lambda sid=sid, p=p, last=(i == len(parts) - 1): _h2_send(server, sid, p, last, pump))
        plans.append(steps)
    if interleave:
        while any(plans):
            for steps in plans:
                if steps:
                    steps.pop(0)()
                    pump()
    else:
        for steps in plans:
            for step in steps:
                step()
                pump()
    return conv


def _h2_send(server, sid: int, data: bytes, end: bool, pump) -> None:
    # DATA frames of at most the peer's max frame size (16 KiB by default)
    size = server.max_outbound_frame_size
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        server.send_data(sid, piece, end_stream=end and i + size >= len(data))
        pump()


# -- splitting into reads ------------------------------------------------------------------------
# A splitter cuts the bytes of one run (consecutive writes of one side) into the pieces that
# one SSL_read / SSL_write call saw.
Splitter = Callable[[bytes], list[bytes]]


def whole(data: bytes) -> list[bytes]:
    """The whole run in one read: headers and the first events together."""
    return [data]


natural = None  # keep the writers' own segments (one event per write)


def every(n: int) -> Splitter:
    """Reads of ``n`` bytes (1 = byte by byte)."""
    return lambda data: [data[i : i + n] for i in range(0, len(data), n)] or [b""]


def at(*offsets: int) -> Splitter:
    """Cut at the given offsets of the run (ignoring those out of range)."""

    def split(data: bytes) -> list[bytes]:
        cuts = sorted({o for o in offsets if 0 < o < len(data)})
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]

    return split


def _cut_where(pred: Callable[[bytes, int], bool]) -> Splitter:
    def split(data: bytes) -> list[bytes]:
        cuts = [i for i in range(1, len(data)) if pred(data, i)]
        return at(*cuts)(data)

    return split


# Every CR|LF pair cut between the CR and the LF.
crlf_splits: Splitter = _cut_where(lambda d, i: d[i - 1] == 0x0D and d[i] == 0x0A)
# Every multi-byte UTF-8 sequence cut after its lead byte (and after each continuation byte).
utf8_splits: Splitter = _cut_where(lambda d, i: 0x80 <= d[i] < 0xC0 and d[i - 1] >= 0x80)


def random_splits(seed: int, max_read: int = 64) -> Splitter:
    """Reads of random sizes 1..max_read, reproducible from ``seed``."""

    def split(data: bytes) -> list[bytes]:
        rnd = random.Random(seed)
        out, i = [], 0
        while i < len(data):
            n = rnd.randint(1, max_read)
            out.append(data[i : i + n])
            i += n
        return out or [b""]

    return split


def _runs(conv: list[Segment]) -> list[tuple[str, list[bytes]]]:
    runs: list[tuple[str, list[bytes]]] = []
    for side, data in conv:
        if runs and runs[-1][0] == side:
            runs[-1][1].append(data)
        else:
            runs.append((side, [data]))
    return runs


def capture_lines(
    conv: list[Segment],
    *,
    traced: str = "client",
    split: Splitter | None = None,
    order: str = "natural",
    conn: str = "4242:0x55d0c0a8b2a0",
    server: str | None = "api.openai.com",
    pid: int = 4242,
    tid: int = 4243,
    comm: str = "python3",
    t0: float = 1764460800.0,
    dt: float = 0.001,
    close: bool = True,
) -> list[dict]:
    """Capture-file lines (dicts, llmspy.capture/1) for one connection.

    ``traced``: "client" (client bytes are ``send``) or "server" (client bytes are ``recv``,
    as when a TLS server is traced). ``split``: None keeps each write as one event; a
    Splitter re-cuts each run of one side's consecutive writes. ``order``: "natural" (wire
    order), or "client_first" (every client event before every server event, as when
    per-CPU buffers drain one direction first). ``close`` adds the final close event."""
    pieces: list[tuple[str, bytes]] = []
    for side, writes in _runs(conv):
        chunks = writes if split is None else split(b"".join(writes))
        pieces += [(side, c) for c in chunks if c]
    if order == "client_first":
        pieces = [p for p in pieces if p[0] == "client"] + [p for p in pieces if p[0] == "server"]
    elif order != "natural":
        raise ValueError(order)
    lines = []
    for i, (side, data) in enumerate(pieces):
        sent = (side == "client") == (traced == "client")
        lines.append(_line(t0 + i * dt, pid, tid, comm, conn, "send" if sent else "recv", server, data))
    if close:
        lines.append(_line(t0 + len(pieces) * dt, pid, tid, comm, conn, "close", server, b""))
    return lines


def _line(ts, pid, tid, comm, conn, direction, server, data: bytes) -> dict:
    return {
        "ts": round(ts, 6),
        "pid": pid,
        "tid": tid,
        "comm": comm,
        "conn": conn,
        "dir": direction,
        "server": server,
        "len": len(data),
        "truncated": False,
        "data": base64.b64encode(data).decode("ascii"),
    }


def dump_lines(lines: list[dict]) -> bytes:
    """JSON Lines bytes of a capture file."""
    return b"".join(json.dumps(d, separators=(",", ":")).encode() + b"\n" for d in lines)


def write_capture(path, lines: list[dict]) -> str:
    with open(path, "wb") as f:
        f.write(dump_lines(lines))
    return str(path)


# -- running the core ----------------------------------------------------------------------------
def events_from_lines(lines: list[dict]):
    from llmspy.core.capture import CaptureEvent

    return [CaptureEvent.from_dict(d) for d in lines]


def run_tracker(lines: list[dict], mode: str = "smart") -> list:
    """Every output of a Tracker fed ``lines``, then flushed (as replay does)."""
    from llmspy.core.tracker import Tracker

    tracker = Tracker(source="replay", mode=mode)
    out: list = []
    last = 0.0
    for ev in events_from_lines(lines):
        last = max(last, ev.ts)
        out += tracker.feed(ev)
    out += tracker.flush(last)
    return out


def records_of(outputs: list) -> list:
    """The finished records among ``outputs`` (CallDone), in order."""
    from llmspy.core.events import CallDone

    return [o.record for o in outputs if isinstance(o, CallDone)]


def comparable(record) -> dict:
    """A record as a dict without what legitimately differs between captures of the same
    bytes: the id and the timing."""
    d = record.to_dict()
    d.pop("id", None)
    d.pop("timing", None)
    return d
