# Passive HTTP/2 parser: one observed connection, both directions, bytes in, events out.
#
# Approach. h2's H2Connection is an endpoint (it assumes it sent half the frames), so an
# observer builds on the layers below it: hyperframe parses frame headers and bodies, and one
# hpack Decoder per direction decodes header blocks (RFC 9113 §4.3: the client's encoder feeds
# the request-side decoder, the server's the response-side one; PUSH_PROMISE blocks come from
# the server's encoder). This module keeps the rest:
#
#  * Frames (RFC 9113 §4.1). DATA payloads are emitted as their bytes arrive, padding removed,
#    so a 16 KiB frame of streamed tokens is not held back; other frames are buffered whole, up
#    to the receiver's SETTINGS_MAX_FRAME_SIZE (16 KiB from the preface until SETTINGS raise
#    it; while unknown, mid-connection, the 24-bit maximum: 16 MiB). HEADERS/PUSH_PROMISE plus
#    CONTINUATION are joined (§6.10); hyperframe strips padding and priority fields.
#  * Streams are demultiplexed into RequestHead / ResponseHead (pseudo-headers go into their
#    fields, §8.3), Data, End (END_STREAM; a HEADERS block after the head carries trailers,
#    §8.1), Reset (RST_STREAM; GOAWAY for streams above its last stream id that the sender
#    will not process, §6.8). 1xx HEADERS are skipped (§8.1).
#  * SETTINGS_HEADER_TABLE_SIZE sent by one side bounds the encoder of the other side, so it
#    becomes max_allowed_table_size of the decoder of the *other* direction (§6.5.2; RFC 7541
#    §4.2: the table itself changes only through the encoder's size update).
#  * Capture that begins mid-connection. HPACK state is unknown, so a direction's decoder is
#    *trusted* only while every header block since its start was decoded. Starting with an
#    empty table is safe: entries added since then are the newest, at the same indices as in
#    the peer's table, and a reference beyond them fails (InvalidTableIndexError) instead of
#    decoding wrongly. After a failure (or skipped bytes) the direction is untrusted: each
#    block is decoded with a fresh empty-table decoder, which succeeds only for blocks that
#    use the static table and their own literals (then they are right); otherwise the stream
#    gets a head with headers=None, and DATA still flows by stream id. A block that starts
#    with a size update to 0 empties the peer's table too: the direction is trusted again.
#  * Frame boundaries are found from the bytes: a request side that begins with the client
#    preface (skipped) and a response side that begins with a SETTINGS frame (the server
#    preface, §3.4) start at the connection start, aligned. Otherwise the capture began
#    mid-connection and the parser resynchronises: it scans byte by byte for a frame header
#    that is plausible for its type (RFC 9113 §6: defined flags, stream id zero or not, fixed
#    lengths, length <= 16384, client streams odd) and is followed by another plausible
#    header; the bytes before it are skipped and counted. After that, an unparsable frame is a
#    ProtocolError and that direction stops.
from __future__ import annotations

from collections import OrderedDict

from hpack import Decoder
from hpack.exceptions import HPACKError
from hyperframe.exceptions import HyperframeError
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
)

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
from .http1 import safe_message

__all__ = [
    "HTTP2Parser",
    "PREFACE",
    "MAX_FRAME_PAYLOAD_BYTES",
    "MAX_HEADER_BLOCK_BYTES",
    "MAX_HEADER_LIST_BYTES",
    "MAX_RESYNC_BYTES",
    "INITIAL_MAX_FRAME_SIZE",
    "RESYNC_MAX_FRAME_BYTES",
    "MAX_STREAMS",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 §3.4
FRAME_HEADER_BYTES = 9
# RFC 9113 §4.2: the frame length is 24 bits; this bounds the buffer of one non-DATA frame.
MAX_FRAME_PAYLOAD_BYTES = 2**24 - 1
# A HEADERS/PUSH_PROMISE block with its CONTINUATIONs, and the decoded header list (hpack's
# max_header_list_size). 256 KiB is 4x the 64 KiB most servers accept: we never refuse what a
# peer took, and a CONTINUATION flood costs bounded memory. Larger blocks decode as unknown.
MAX_HEADER_BLOCK_BYTES = 256 * 1024
MAX_HEADER_LIST_BYTES = 256 * 1024
# Bytes a direction may skip looking for a frame boundary before we call it not HTTP/2.
MAX_RESYNC_BYTES = 1024 * 1024
# The initial SETTINGS_MAX_FRAME_SIZE (§6.5.2). Resync candidates may not be longer either: a
# false candidate then waits for at most 16 KiB more bytes before it is decided.
INITIAL_MAX_FRAME_SIZE = 16384
RESYNC_MAX_FRAME_BYTES = INITIAL_MAX_FRAME_SIZE
# Streams tracked at once, and ids of closed streams remembered (late frames are ignored).
# Servers allow 100-250 concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS); 1000 leaves room
# for streams whose end the capture missed. The oldest are dropped first.
MAX_STREAMS = 1000

_SETTINGS_HEADER_TABLE_SIZE = 0x1
_SETTINGS_MAX_FRAME_SIZE = 0x5
_ZERO, _NONZERO, _ANY = 0, 1, 2
# type: (defined flags, stream id rule, length rule or None), RFC 9113 §6.1-§6.10
_FRAME_RULES = {
    0x0: (0x09, _NONZERO, None),
    0x1: (0x2D, _NONZERO, None),
    0x2: (0x00, _NONZERO, lambda n: n == 5),
    0x3: (0x00, _NONZERO, lambda n: n == 4),
    0x4: (0x01, _ZERO, lambda n: n % 6 == 0),
    0x5: (0x0C, _NONZERO, lambda n: n >= 4),
    0x6: (0x01, _ZERO, lambda n: n == 8),
    0x7: (0x00, _ZERO, lambda n: n >= 8),
    0x8: (0x00, _ANY, lambda n: n == 4),
    0x9: (0x04, _NONZERO, None),
}
_CLIENT_STREAM_TYPES = (0x0, 0x1, 0x9)  # on the request side: odd (client-initiated) streams
_START, _HUNT, _FRAMES, _STOPPED = "start", "hunt", "frames", "stopped"


def _plausible_length(header: bytes | bytearray, side: str, max_length: int) -> int | None:
    """The payload length if ``header`` (9 bytes) looks like a real frame header sent by
    ``side``, else None. Stricter than the RFC requires of a receiver (unknown types and
    flags are allowed there): this only picks frame boundaries."""
    length = int.from_bytes(header[0:3], "big")
    ftype, flags = header[3], header[4]
    stream_id = int.from_bytes(header[5:9], "big")
    rule = _FRAME_RULES.get(ftype)
    if rule is None or stream_id & 0x80000000 or length > max_length:
        return None
    defined_flags, stream_rule, length_rule = rule
    if flags & ~defined_flags or (length_rule is not None and not length_rule(length)):
        return None
    if (stream_rule == _ZERO) != (stream_id == 0) and stream_rule != _ANY:
        return None
    if side == REQUEST and (ftype == 0x5 or (ftype in _CLIENT_STREAM_TYPES and stream_id % 2 == 0)):
        return None
    if ftype == 0x4 and flags & 0x1 and length:  # SETTINGS ACK carries no payload
        return None
    return length


def _split_pseudo(fields: list[tuple[str, str]] | None) -> tuple[dict[str, str], Headers | None]:
    """Pseudo-header fields (RFC 9113 §8.3) apart from the regular ones."""
    if fields is None:
        return {}, None
    pseudo = {name: value for name, value in fields if name.startswith(":")}
    return pseudo, tuple((name, value) for name, value in fields if not name.startswith(":"))


class _Stream:
    __slots__ = ("started", "ended")

    def __init__(self) -> None:
        self.started = {REQUEST: False, RESPONSE: False}  # head emitted
        self.ended = {REQUEST: False, RESPONSE: False}  # End emitted


class _Block:
    """A header block being joined: HEADERS or PUSH_PROMISE, then CONTINUATION frames."""

    __slots__ = ("stream_id", "end_stream", "promised_stream_id", "fragments", "size")

    def __init__(self, stream_id: int, end_stream: bool, promised_stream_id: int | None, fragment: bytes):
        self.stream_id = stream_id
        self.end_stream = end_stream
        self.promised_stream_id = promised_stream_id
        self.fragments = [fragment]
        self.size = len(fragment)


class _DataFrame:
    """A DATA frame whose payload is still arriving: ``data_left`` bytes of data to emit, then
    ``pad_left`` bytes of padding to drop (None until the Pad Length octet is read)."""

    __slots__ = ("stream_id", "end_stream", "data_left", "pad_left")

    def __init__(self, stream_id: int, end_stream: bool, length: int, padded: bool) -> None:
        self.stream_id = stream_id
        self.end_stream = end_stream
        self.data_left = length
        self.pad_left: int | None = None if padded else 0


class _Direction:
    __slots__ = (
        "side",
        "buf",
        "mode",
        "decoder",
        "trusted",
        "skipped",
        "data_frame",
        "block",
        "closed",
        "max_frame_size",
        "max_frame_size_set",
    )

    def __init__(self, side: str) -> None:
        self.side = side
        # SETTINGS_MAX_FRAME_SIZE of the receiving peer (RFC 9113 §4.2, §6.5.2): a longer frame
        # is a FRAME_SIZE_ERROR. The 24-bit maximum until known (preface or SETTINGS seen).
        self.max_frame_size = MAX_FRAME_PAYLOAD_BYTES
        self.max_frame_size_set = False  # by a SETTINGS frame
        self.buf = bytearray()
        self.mode = _START
        self.decoder = Decoder(max_header_list_size=MAX_HEADER_LIST_BYTES)
        self.trusted = True  # see the module comment
        self.skipped = 0
        self.data_frame: _DataFrame | None = None
        self.block: _Block | None = None
        self.closed = False


class HTTP2Parser:
    """Passive observer of one HTTP/2 connection (RFC 9113), both directions.

    ``feed(side, data, ts)``: ``side`` is events.REQUEST (bytes the client sent, starting with
    the connection preface when the capture saw it) or events.RESPONSE; ``ts`` unix seconds.
    Returns RequestHead / ResponseHead (``headers`` None when HPACK state is unknown), Data
    (DATA payloads without padding, still content-encoded, as they arrive), End (END_STREAM,
    with trailers), Reset (RST_STREAM, GOAWAY), ProtocolError. ``stream_id`` is the HTTP/2
    stream id. Every stream gets a RequestHead before anything else (a placeholder with
    headers=None when its HEADERS were not captured). ``close(side, ts)`` ends one direction,
    or the connection with None: unended messages get End(complete=False), requests without
    a response Reset.

    The parser skips the client preface when the request bytes begin with it and finds frame
    boundaries itself (module comment), so a capture may start anywhere. Never raises on bad
    input.
    """

    def __init__(self) -> None:
        self._request = _Direction(REQUEST)
        self._response = _Direction(RESPONSE)
        self._streams: dict[int, _Stream] = {}
        self._closed: OrderedDict[int, None] = OrderedDict()

    @property
    def skipped_bytes(self) -> dict[str, int]:
        """Bytes skipped per side looking for a frame boundary (mid-connection capture)."""
        return {REQUEST: self._request.skipped, RESPONSE: self._response.skipped}

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
        if not data or d.mode == _STOPPED or d.closed:
            return events
        d.buf += data
        if d.mode == _START:
            self._start(d, ts, events)
        if d.mode == _HUNT:
            self._hunt(d, ts, events)
        if d.mode == _FRAMES:
            self._frames(d, ts, events)
        return events

    def close(self, side: str | None, ts: float) -> list[HTTPEvent]:
        """One direction (or, with None, the connection) ended: End(complete=False) for
        messages it cut, Reset for requests whose response never started."""
        closing = (self._request, self._response) if side is None else (self._direction(side),)
        events: list[HTTPEvent] = []
        for d in closing:
            if not d.closed and d.mode in (_START, _HUNT) and (d.buf or d.skipped):
                events.append(ProtocolError(ts, -1, f"{d.side} side ended before any HTTP/2 frame boundary"))
            d.closed = True
        for stream_id in sorted(self._streams):
            stream = self._streams[stream_id]
            for d in closing:
                if stream.started[d.side] and not stream.ended[d.side]:
                    events.append(End(ts, stream_id, d.side, complete=False))
                    stream.ended[d.side] = True
            if self._response in closing and stream.started[REQUEST] and not stream.started[RESPONSE]:
                events.append(Reset(ts, stream_id, None, "connection closed before the response"))
                stream.ended[RESPONSE] = stream.ended[REQUEST] = True
            if stream.ended[REQUEST] and stream.ended[RESPONSE]:
                self._forget(stream_id)
        return events

    # -- finding frames ------------------------------------------------------------------------

    def _start(self, d: _Direction, ts: float, events: list[HTTPEvent]) -> None:
        """Is the first frame at byte 0 (connection start) or must it be looked for?"""
        if d.side == REQUEST:
            if len(d.buf) < len(PREFACE) and PREFACE.startswith(d.buf):
                return  # could still be the preface
            if d.buf.startswith(PREFACE):
                del d.buf[: len(PREFACE)]
                d.mode = _FRAMES
                for direction in (self._request, self._response):  # §6.5.2 initial value
                    if not direction.max_frame_size_set:
                        direction.max_frame_size = INITIAL_MAX_FRAME_SIZE
                return
        elif len(d.buf) < FRAME_HEADER_BYTES:
            return
        elif (
            d.buf[3] == 0x4
            and not d.buf[4] & 0x1
            and _plausible_length(d.buf[:FRAME_HEADER_BYTES], d.side, MAX_FRAME_PAYLOAD_BYTES) is not None
        ):
            d.mode = _FRAMES  # the server preface: a SETTINGS frame (RFC 9113 §3.4)
            return
        d.mode = _HUNT

    def _hunt(self, d: _Direction, ts: float, events: list[HTTPEvent]) -> None:
        """Scan for a plausible frame header followed by another plausible one; skip the bytes
        before it. Decided only from bytes both headers span, so any split decides alike."""
        buf, pos, undecided = d.buf, 0, None
        while pos + FRAME_HEADER_BYTES <= len(buf):
            length = _plausible_length(buf[pos : pos + FRAME_HEADER_BYTES], d.side, RESYNC_MAX_FRAME_BYTES)
            if length is not None:
                end = pos + FRAME_HEADER_BYTES + length
                if end + FRAME_HEADER_BYTES > len(buf):
                    # Undecided until its successor's header arrives. Look further meanwhile: a
                    # false candidate must not hold back a real boundary after it.
                    undecided = pos if undecided is None else undecided
                elif (
                    _plausible_length(buf[end : end + FRAME_HEADER_BYTES], d.side, MAX_FRAME_PAYLOAD_BYTES)
                    is not None
                ):
                    d.mode = _FRAMES
                    break
            pos += 1
        if d.mode == _HUNT and undecided is not None:
            pos = undecided  # keep what may still begin a frame
        if pos:
            del buf[:pos]
            d.skipped += pos
            d.trusted = False  # header blocks may have been skipped
        if d.mode == _HUNT and d.skipped > MAX_RESYNC_BYTES:
            self._fail(d, f"no HTTP/2 frame boundary in the first {MAX_RESYNC_BYTES} bytes", ts, events)

    # -- frames --------------------------------------------------------------------------------

    def _frames(self, d: _Direction, ts: float, events: list[HTTPEvent]) -> None:
        """Parse every complete frame in the buffer (DATA payloads as far as they arrived)."""
        while d.mode == _FRAMES:
            if d.data_frame is not None:
                if not self._data_payload(d, ts, events):
                    return
                continue
            if len(d.buf) < FRAME_HEADER_BYTES:
                return
            try:
                frame, length = Frame.parse_frame_header(memoryview(bytes(d.buf[:FRAME_HEADER_BYTES])))
            except HyperframeError as exc:
                self._fail(d, f"bad HTTP/2 frame header: {safe_message(exc)}", ts, events)
                return
            if length > d.max_frame_size:
                self._fail(
                    d, f"{length}-byte frame above SETTINGS_MAX_FRAME_SIZE {d.max_frame_size}", ts, events
                )
                return
            if d.block is not None and not (
                type(frame) is ContinuationFrame and frame.stream_id == d.block.stream_id
            ):
                self._fail(d, "header block not continued by CONTINUATION (RFC 9113 §6.10)", ts, events)
                return
            if type(frame) is DataFrame:
                if "PADDED" in frame.flags and length == 0:
                    self._fail(d, "padded DATA frame without Pad Length (RFC 9113 §6.1)", ts, events)
                    return
                del d.buf[:FRAME_HEADER_BYTES]
                d.data_frame = _DataFrame(
                    frame.stream_id, "END_STREAM" in frame.flags, length, "PADDED" in frame.flags
                )
                continue
            if len(d.buf) < FRAME_HEADER_BYTES + length:
                return
            body = bytes(d.buf[FRAME_HEADER_BYTES : FRAME_HEADER_BYTES + length])
            del d.buf[: FRAME_HEADER_BYTES + length]
            if type(frame) not in (
                HeadersFrame,
                ContinuationFrame,
                PushPromiseFrame,
                RstStreamFrame,
                SettingsFrame,
                GoAwayFrame,
            ):
                continue  # PING, PRIORITY, WINDOW_UPDATE, unknown types: nothing to observe
            try:
                frame.parse_body(memoryview(body))
            except HyperframeError as exc:
                self._fail(d, f"bad HTTP/2 {type(frame).__name__}: {safe_message(exc)}", ts, events)
                return
            self._on_frame(d, frame, ts, events)

    def _data_payload(self, d: _Direction, ts: float, events: list[HTTPEvent]) -> bool:
        """Consume what has arrived of the current DATA frame; True once it is complete."""
        frame = d.data_frame
        if frame.pad_left is None:
            if not d.buf:
                return False
            pad = d.buf[0]
            del d.buf[:1]
            if pad > frame.data_left - 1:
                self._fail(d, "DATA padding longer than the frame (RFC 9113 §6.1)", ts, events)
                return False
            frame.data_left -= 1 + pad
            frame.pad_left = pad
        take = min(len(d.buf), frame.data_left)
        if take:
            chunk = bytes(d.buf[:take])
            del d.buf[:take]
            frame.data_left -= take
            stream = self._stream(frame.stream_id)
            if stream is not None and not stream.ended[d.side]:
                self._placeholders(stream, frame.stream_id, d.side, ts, events)
                events.append(Data(ts, frame.stream_id, d.side, chunk))
        if not frame.data_left and frame.pad_left:
            padding = min(len(d.buf), frame.pad_left)
            del d.buf[:padding]
            frame.pad_left -= padding
        if frame.data_left or frame.pad_left:
            return False
        d.data_frame = None
        if frame.end_stream:
            self._end(frame.stream_id, d.side, (), ts, events)
        return True

    def _on_frame(self, d: _Direction, frame: Frame, ts: float, events: list[HTTPEvent]) -> None:
        if type(frame) in (HeadersFrame, PushPromiseFrame):
            promised = frame.promised_stream_id if type(frame) is PushPromiseFrame else None
            d.block = _Block(frame.stream_id, "END_STREAM" in frame.flags, promised, frame.data)
            if "END_HEADERS" in frame.flags:
                self._on_block(d, ts, events)
        elif type(frame) is ContinuationFrame:
            if d.block is None:  # the rest of a block whose start the capture missed
                d.trusted = False
                return
            d.block.size += len(frame.data)
            if d.block.size <= MAX_HEADER_BLOCK_BYTES:
                d.block.fragments.append(frame.data)
            if "END_HEADERS" in frame.flags:
                self._on_block(d, ts, events)
        elif type(frame) is RstStreamFrame:
            if frame.stream_id in self._streams:
                events.append(
                    Reset(ts, frame.stream_id, frame.error_code, f"RST_STREAM from the {d.side} side")
                )
                self._forget(frame.stream_id)
        elif type(frame) is SettingsFrame and "ACK" not in frame.flags:
            # Settings of one side bound what the other side sends (RFC 9113 §6.5.2).
            other = self._response if d is self._request else self._request
            size = frame.settings.get(_SETTINGS_HEADER_TABLE_SIZE)
            if size is not None:
                other.decoder.max_allowed_table_size = size
            max_frame_size = frame.settings.get(_SETTINGS_MAX_FRAME_SIZE)
            if max_frame_size is not None:
                other.max_frame_size_set = True
                other.max_frame_size = max(
                    INITIAL_MAX_FRAME_SIZE, min(max_frame_size, MAX_FRAME_PAYLOAD_BYTES)
                )
        elif type(frame) is GoAwayFrame:
            # Streams the GOAWAY's receiver opened above last_stream_id were not processed.
            parity = 1 if d.side == RESPONSE else 0
            for stream_id in sorted(self._streams):
                if stream_id > frame.last_stream_id and stream_id % 2 == parity:
                    events.append(Reset(ts, stream_id, frame.error_code, "GOAWAY: not processed"))
                    self._forget(stream_id)

    def _on_block(self, d: _Direction, ts: float, events: list[HTTPEvent]) -> None:
        """A complete header block: a head, a skipped 1xx, trailers, or a pushed request."""
        block, d.block = d.block, None
        pseudo, headers = _split_pseudo(self._decode(d, block))
        if block.promised_stream_id is not None:  # PUSH_PROMISE: the request the server pushes
            stream = self._stream(block.promised_stream_id)
            if stream is not None and not stream.started[REQUEST]:
                self._request_head(stream, block.promised_stream_id, pseudo, headers, ts, events)
                self._end(block.promised_stream_id, REQUEST, (), ts, events)
            return
        stream = self._stream(block.stream_id)
        if stream is None:
            return
        if stream.started[d.side]:
            if block.end_stream:  # trailers (RFC 9113 §8.1); unknown ones are reported as none
                self._end(block.stream_id, d.side, headers or (), ts, events)
            return  # else a 1xx after an undecodable head, or malformed: nothing new
        if d.side == REQUEST:
            self._request_head(stream, block.stream_id, pseudo, headers, ts, events)
        else:
            status = pseudo.get(":status", "")
            code = int(status) if status.isdigit() and len(status) == 3 else None
            if code is not None and code < 200:
                return  # informational (RFC 9113 §8.1): the final head follows
            self._placeholders(stream, block.stream_id, REQUEST, ts, events)
            events.append(ResponseHead(ts, block.stream_id, code, headers, "2"))
            stream.started[RESPONSE] = True
        if block.end_stream:
            self._end(block.stream_id, d.side, (), ts, events)

    def _decode(self, d: _Direction, block: _Block) -> list[tuple[str, str]] | None:
        """Decode a header block with the direction's HPACK state; None when unknown."""
        if block.size > MAX_HEADER_BLOCK_BYTES:
            d.trusted = False  # its table insertions were not applied
            return None
        data = b"".join(block.fragments)
        if not d.trusted and data[:1] == b"\x20":  # size update to 0: the table is empty
            d.trusted = True
        if d.trusted:
            decoder = d.decoder
        else:
            decoder = Decoder(max_header_list_size=MAX_HEADER_LIST_BYTES)
            decoder.max_allowed_table_size = d.decoder.max_allowed_table_size
            decoder.header_table_size = d.decoder.max_allowed_table_size
        try:
            fields = decoder.decode(data, raw=True)
        except HPACKError:
            d.trusted = False
            return None
        return [
            (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1")) for name, value in fields
        ]

    # -- streams -------------------------------------------------------------------------------

    def _stream(self, stream_id: int) -> _Stream | None:
        """The stream with this id, created on first sight; None once it has closed."""
        if stream_id in self._closed:
            return None
        stream = self._streams.get(stream_id)
        if stream is None:
            if len(self._streams) >= MAX_STREAMS:
                self._forget(min(self._streams))
            stream = self._streams[stream_id] = _Stream()
        return stream

    def _request_head(
        self,
        stream: _Stream,
        stream_id: int,
        pseudo: dict[str, str],
        headers: Headers | None,
        ts: float,
        events: list[HTTPEvent],
    ) -> None:
        authority = pseudo.get(":authority")
        if authority is None and headers is not None:
            authority = next((value for name, value in headers if name == "host"), None)
        events.append(
            RequestHead(
                ts,
                stream_id,
                method=pseudo.get(":method"),
                target=pseudo.get(":path"),
                authority=authority,
                headers=headers,
                http_version="2",
                scheme=pseudo.get(":scheme", "https"),
            )
        )
        stream.started[REQUEST] = True

    def _placeholders(
        self, stream: _Stream, stream_id: int, side: str, ts: float, events: list[HTTPEvent]
    ) -> None:
        """Heads with headers=None for a stream whose HEADERS the capture missed: the
        RequestHead, and for ``side`` RESPONSE also the ResponseHead."""
        if not stream.started[REQUEST]:
            self._request_head(stream, stream_id, {}, None, ts, events)
        if side == RESPONSE and not stream.started[RESPONSE]:
            events.append(ResponseHead(ts, stream_id, None, None, "2"))
            stream.started[RESPONSE] = True

    def _end(self, stream_id: int, side: str, trailers: Headers, ts: float, events: list[HTTPEvent]) -> None:
        stream = self._stream(stream_id)
        if stream is None or stream.ended[side]:
            return
        self._placeholders(stream, stream_id, side, ts, events)
        events.append(End(ts, stream_id, side, trailers))
        stream.ended[side] = True
        if stream.ended[REQUEST] and stream.ended[RESPONSE]:
            self._forget(stream_id)

    def _forget(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)
        self._closed[stream_id] = None
        if len(self._closed) > MAX_STREAMS:
            self._closed.popitem(last=False)

    def _fail(self, d: _Direction, message: str, ts: float, events: list[HTTPEvent]) -> None:
        events.append(ProtocolError(ts, -1, message))
        d.mode = _STOPPED
        d.buf.clear()
        d.data_frame = d.block = None
