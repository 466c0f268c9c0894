# One HTTP request/response exchange -> one LLM record.
#
# The HTTP parsers (http1.py, http2.py) and the proxy front end both hand an Exchange the same
# HTTP message events (events.py); from there on every front end runs the same code, which is
# what makes their records identical. Layers, in order (STYLE.md "decoders in layers"):
#
#   Data (content-encoded) -> BodyDecoder (gzip/br/zstd, capped) -> framer (SSE / NDJSON /
#   JSON array) -> provider Accumulator -> record.response + CallDelta events
#
# The request body is buffered (capped) until its end, then parsed as JSON and classified by
# the provider registry. The response is streamed through the framer as it arrives, so the live
# view shows text before the call ends. Nothing here raises on bad input: undecodable bodies,
# broken JSON and cut streams leave fields None and set ``truncated`` / ``complete``.
from __future__ import annotations

import json
from typing import Any

from .. import providers
from ..cost import price
from ..providers.base import Accumulator, HTTPRequest, Provider
from ..record import Connection, LLMRecord, Process
from ..redact import redact_headers, redact_url
from .encoding import DEFAULT_MAX_BODY, BodyDecoder
from .events import (
    REQUEST,
    RESPONSE,
    CallDelta,
    CallDone,
    CallStarted,
    Data,
    End,
    Headers,
    HTTPEvent,
    Notice,
    Output,
    RequestHead,
    Reset,
    ResponseHead,
    StreamItem,
)
from .streams import make_framer

__all__ = ["Exchange", "headers_dict"]

# Whole (non-streamed) bodies kept for JSON parsing and the record's ``body`` field. Streamed
# bodies are not kept: their items are consumed as they arrive. 64 MiB holds a 16 MiB
# multimodal prompt after base64 growth with room to spare.
MAX_KEPT_BODY = DEFAULT_MAX_BODY


def headers_dict(headers: Headers | None) -> dict[str, str]:
    """Wire-order header pairs -> dict of lower-case names; repeated names joined with ", "
    (RFC 9110 §5.3), except set-cookie which is joined with "\\n" as it may contain commas."""
    out: dict[str, str] = {}
    for name, value in headers or ():
        name = name.lower()
        if name in out:
            out[name] += ("\n" if name == "set-cookie" else ", ") + value
        else:
            out[name] = value
    return out


def _split_authority(authority: str) -> tuple[str, int | None]:
    """"host:port" -> (host, port); IPv6 "[::1]:8443" kept bracketed; port None when absent."""
    host, sep, port = authority.rpartition(":")
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host.lower(), int(port)
    return authority.lower(), None


def _parse_json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _is_json_type(content_type: str | None) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    return ct == "application/json" or ct.endswith("+json")


class _Body:
    """One side's body: decoding, and either a kept buffer or a framer."""

    def __init__(self, content_encoding: str | None, cap: int):
        self.decoder = BodyDecoder(content_encoding, max_decoded=cap)
        self.kept = bytearray()
        self.cap = cap
        self.framer = None
        self.truncated = False
        self.size = 0  # decoded bytes seen
        self.wire_size = 0  # bytes as sent (content-coded), for Content-Length

    def take(self, decoded: bytes) -> bytes:
        self.size += len(decoded)
        if self.framer is None:
            room = self.cap - len(self.kept)
            if len(decoded) > room:
                self.truncated = True
                decoded = decoded[: max(room, 0)]
            self.kept += decoded
        return decoded

    @property
    def was_truncated(self) -> bool:
        return self.truncated or self.decoder.truncated or bool(self.framer is not None and self.framer.truncated)


class Exchange:
    """Builds one :class:`LLMRecord` from the HTTP message events of one exchange.

    ``handle(event) -> list[Output]`` takes RequestHead, ResponseHead, Data, End and Reset for
    this exchange in any order the wire allows (a response may start before the request body
    ends). ``flush(ts)`` ends it early (capture stopped, connection lost): the record is
    emitted with ``complete=False``. After a CallDone, ``done`` is True and further events are
    ignored. Never raises on bad input.
    """

    def __init__(
        self,
        *,
        source: str,
        connection: Connection,
        process: Process | None = None,
        max_body: int = MAX_KEPT_BODY,
    ):
        self.record = LLMRecord(source=source, connection=connection, process=process)
        self.max_body = max_body
        self.done = False
        self.last_ts: float | None = None  # ts of the last event handled (idle expiry)
        self._request_body: _Body | None = None
        self._response_body: _Body | None = None
        self._request_ended = False
        self._request_complete = True
        self._response_complete = True
        self._headers_unknown = False
        self._req: HTTPRequest | None = None
        self._provider: Provider | None = None
        self._acc: Accumulator | None = None
        self._announced = False
        self._response_ctype: str | None = None
        self._response_length: int | None = None  # Content-Length, when valid
        self._request_ctype: str | None = None
        self._notices: list[Notice] = []
        self._lost_sides: set[str] = set()  # sides whose bytes the capture could not copy
        self._raw_url: str | None = None  # unredacted: providers read ?key= style hints
        self._raw_request_headers: dict[str, str] = {}

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, ev: HTTPEvent) -> list[Output]:
        if self.done:
            return []
        self.last_ts = ev.ts
        try:
            if isinstance(ev, RequestHead):
                return self._request_head(ev)
            if isinstance(ev, ResponseHead):
                return self._response_head(ev)
            if isinstance(ev, Data):
                return self._data(ev)
            if isinstance(ev, End):
                return self._end(ev)
            if isinstance(ev, Reset):
                self._response_complete = False
                return self._finish(ev.ts)
        except Exception as e:  # a bug, not bad input: keep the event loop alive, say so once
            self.done = True
            return [Notice(f"internal error in exchange {self.record.id}: {type(e).__name__}: {e}", "error")]
        return []

    def flush(self, ts: float) -> list[Output]:
        """End the exchange now; what has not arrived is marked incomplete."""
        if self.done:
            return []
        if not self._request_ended:
            self._request_complete = False
        if not self._response_length_reached():
            self._response_complete = False
        return self._finish(ts)

    def _response_length_reached(self) -> bool:
        """Every Content-Length byte of the response arrived: then a missing end cut nothing
        (an HTTP/2 client may stop reading before the END_STREAM frame, as curl does; RFC 9113
        §8.1.1 makes any further DATA malformed)."""
        body = self._response_body
        return body is not None and self._response_length is not None and body.wire_size == self._response_length

    # -- request ----------------------------------------------------------------------------
    def _request_head(self, ev: RequestHead) -> list[Output]:
        rec = self.record
        rec.timing.start = ev.ts
        rec.connection.http_version = ev.http_version
        hdrs = headers_dict(ev.headers)
        self._headers_unknown = ev.headers is None
        self._raw_request_headers = hdrs
        rec.request.method = ev.method
        host = ev.authority or rec.connection.server
        if host:
            name, port = _split_authority(host)
            if rec.connection.server is None:
                rec.connection.server = name
            if rec.connection.port is None:
                rec.connection.port = port or (443 if ev.scheme == "https" else 80)
        if ev.target is not None and host:
            if ev.target.startswith(("http://", "https://")):  # absolute-form (RFC 9112 §3.2.2)
                self._raw_url = ev.target
            else:
                target = ev.target if ev.target.startswith("/") else "/" + ev.target
                self._raw_url = f"{ev.scheme}://{host}{target}"
        rec.request.url = redact_url(self._raw_url)
        rec.request.headers = redact_headers(hdrs)
        self._request_ctype = hdrs.get("content-type")
        self._request_body = _Body(hdrs.get("content-encoding"), self.max_body)
        return []

    def _classify(self) -> list[Output]:
        """Parse the request body and pick the provider (once, when the request ended or the
        response began, whichever is first)."""
        if self._req is not None:
            return []
        rec = self.record
        body = self._request_body or _Body(None, self.max_body)
        raw = bytes(body.kept)
        parsed = _parse_json(raw)
        rec.request.body = parsed
        rec.request.body_size = body.size
        rec.request.truncated = body.was_truncated or REQUEST in self._lost_sides
        if body.decoder.error:
            self._notices.append(Notice(f"request body of {rec.request.url or 'a request'}: {body.decoder.error}"))
        url = self._raw_url
        if url is None and rec.connection.server:
            url = f"https://{rec.connection.server}/"
        self._req = HTTPRequest.build(rec.request.method, url, self._raw_request_headers, raw, parsed)
        if self._headers_unknown and self._raw_url is None:
            self._req.path = ""  # unknown: providers fall back to the body's shape
        self._provider = providers.classify(self._req)
        if self._provider is not None:
            rec.kind = "llm"
            try:
                self._provider.parse_request(self._req, rec)
            except Exception as e:  # provider bug on odd input: keep the record, say so
                self._notices.append(Notice(f"{self._provider.name}: could not read request: {type(e).__name__}: {e}"))
        self._announced = True
        out: list[Output] = list(self._notices)
        self._notices.clear()
        out.append(CallStarted(rec))
        return out

    # -- response ---------------------------------------------------------------------------
    def _response_head(self, ev: ResponseHead) -> list[Output]:
        out = self._classify()
        rec = self.record
        hdrs = headers_dict(ev.headers)
        rec.response.status = ev.status
        rec.response.headers = redact_headers(hdrs)
        if rec.connection.http_version is None:
            rec.connection.http_version = ev.http_version
        rec.timing.first_byte = ev.ts
        if rec.timing.start is None:
            rec.timing.start = ev.ts
        self._response_ctype = hdrs.get("content-type")
        length = hdrs.get("content-length", "").strip()
        self._response_length = int(length) if length.isdigit() and length.isascii() else None
        self._response_body = body = _Body(hdrs.get("content-encoding"), self.max_body)
        kind = None
        if self._provider is not None:
            self._acc = self._provider.accumulator(self._req, rec)
            kind = self._provider.framing(self._req, self._response_ctype)
        if kind is None and ev.headers is None and self._provider is not None:
            kind = "sse" if rec.request.stream else None  # headers unknown: trust the request
        if kind is not None:
            body.framer = make_framer(kind)
            rec.response.streamed = True
        return out

    def _data(self, ev: Data) -> list[Output]:
        if ev.side == REQUEST:
            if self._request_body is None:
                self._request_body = _Body(None, self.max_body)
            self._request_body.take(self._request_body.decoder.feed(ev.data))
            return []
        out: list[Output] = []
        if self._response_body is None:  # body without a head (mid-capture): treat as unknown
            out += self._response_head(ResponseHead(ev.ts, ev.stream_id, None, None, self.record.connection.http_version or "1.1"))
        if self.record.timing.first_byte is None:
            self.record.timing.first_byte = ev.ts
        body = self._response_body
        body.wire_size += len(ev.data)
        decoded = body.take(body.decoder.feed(ev.data))
        if body.framer is not None and decoded:
            out += self._items(body.framer.feed(decoded), ev.ts)
        return out

    def _items(self, items: list[StreamItem], ts: float) -> list[Output]:
        out: list[Output] = []
        rec = self.record
        for item in items:
            rec.response.chunks += 1
            if self._acc is None:
                continue
            try:
                deltas = self._acc.item(item)
            except Exception as e:
                deltas = []
                self._notices.append(Notice(f"{self._provider.name}: could not read stream item: {type(e).__name__}: {e}"))
            for kind, text in deltas:
                if rec.timing.first_token is None:
                    rec.timing.first_token = ts
                out.append(CallDelta(rec, text, kind))
        out += self._notices
        self._notices.clear()
        return out

    def _end(self, ev: End) -> list[Output]:
        if ev.side == REQUEST:
            self._request_ended = True
            if not ev.complete:
                self._request_complete = False
            if self._request_body is not None:
                self._request_body.take(self._request_body.decoder.close())
            return self._classify()
        if not ev.complete and not self._response_length_reached():
            self._response_complete = False
        return self._finish(ev.ts)

    # -- the end ----------------------------------------------------------------------------
    def _finish(self, ts: float) -> list[Output]:
        out = self._classify()
        rec = self.record
        body = self._response_body
        if body is not None:
            tail = body.take(body.decoder.close())
            if body.framer is not None:
                if tail:
                    out += self._items(body.framer.feed(tail), ts)
                out += self._items(body.framer.close(), ts)
                if body.framer.unterminated:
                    self._response_complete = False
                if body.framer.error:
                    out.append(Notice(f"response stream of {rec.request.url or 'a request'}: {body.framer.error}"))
            if body.decoder.incomplete:
                self._response_complete = False
            rec.response.body_size = body.size
            rec.response.truncated = body.was_truncated or RESPONSE in self._lost_sides
            if body.decoder.error:
                out.append(Notice(f"response body of {rec.request.url or 'a request'}: {body.decoder.error}"))
            if body.framer is None:
                raw = bytes(body.kept)
                parsed = _parse_json(raw)
                if _is_json_type(self._response_ctype) or parsed is not None:
                    rec.response.body = parsed
                if self._acc is not None:
                    try:
                        self._acc.body(parsed, raw.decode("utf-8", "replace"))
                    except Exception as e:
                        out.append(Notice(f"{self._provider.name}: could not read response: {type(e).__name__}: {e}"))
        if self._acc is not None:
            try:
                self._acc.finish()
            except Exception as e:
                out.append(Notice(f"{self._provider.name}: could not finish record: {type(e).__name__}: {e}"))
        if self._acc is not None and self._acc.ended and rec.response.streamed:
            self._response_complete = True  # terminal event seen: a later cut loses nothing
        rec.timing.end = ts
        rec.timing.finish()
        rec.complete = self._request_complete and self._response_complete and rec.response.status is not None
        if rec.kind == "llm":
            rec.cost = price(rec)
        self.done = True
        out.append(CallDone(rec))
        return out

    def mark_lost(self, side: str) -> None:
        """Bytes of ``side`` ("request"/"response") were lost by the capture (a payload over
        the capture cap): the record says ``truncated`` for that side."""
        self._lost_sides.add(side)

    @property
    def request_content_type(self) -> str | None:
        return self._request_ctype

    @property
    def response_content_type(self) -> str | None:
        return self._response_ctype
