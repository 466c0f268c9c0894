# Stream framings other than SSE, with SSEDecoder's shape: ``feed(bytes) -> list[StreamItem]``,
# ``close() -> list[StreamItem]``, and the flags ``truncated`` (a cap dropped something),
# ``unterminated`` (the stream stopped inside an item) and ``error`` (bytes that do not fit the
# framing: the decoder stops there). Nothing raises.
#
#  * NDJSONDecoder: one JSON value per LF-terminated line (ndjson-spec 1.0; Ollama's
#    /api/chat and /api/generate streams). Reuses sse.LineSplitter.
#  * JSONArrayDecoder: one JSON array streamed element by element (Gemini's
#    streamGenerateContent without ``alt=sse``). A scanner that only tracks what decides where an
#    element ends: nesting depth, strings and escapes. Elements are parsed by json.loads.
#  * EventStreamDecoder: AWS ``application/vnd.amazon.eventstream`` binary messages (Bedrock's
#    InvokeModelWithResponseStream and ConverseStream).
#
# make_framer(kind) builds one from a name, for exchange.py's content-type table.
from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from typing import Protocol

from .events import StreamItem
from .sse import MAX_LINE_BYTES, BOMStripper, LineSplitter, SSEDecoder, parse_json

__all__ = [
    "Framer",
    "NDJSONDecoder",
    "JSONArrayDecoder",
    "EventStreamDecoder",
    "make_framer",
    "FRAMER_KINDS",
    "MAX_ITEM_BYTES",
    "MAX_EVENTSTREAM_MESSAGE_BYTES",
]

# Longest JSON-array element kept, in bytes: the same bound as an SSE line (MAX_LINE_BYTES), as
# one element holds what one SSE event would (a Gemini GenerateContentResponse chunk).
MAX_ITEM_BYTES = MAX_LINE_BYTES

# Largest AWS event stream message accepted, in bytes: the limit AWS's own decoders enforce
# (aws-c-event-stream's AWS_EVENT_STREAM_MAX_MESSAGE_SIZE, 16 MiB). A larger length is
# corruption, and trusting it would make us buffer without bound.
MAX_EVENTSTREAM_MESSAGE_BYTES = 16 * 1024 * 1024


class Framer(Protocol):
    truncated: bool
    unterminated: bool
    error: str | None

    def feed(self, data: bytes) -> list[StreamItem]: ...

    def close(self) -> list[StreamItem]: ...


def _json_item(raw: bytes) -> StreamItem | None:
    # JSON whitespace (RFC 8259 §2) around a value is not part of it.
    text = raw.decode("utf-8", "replace").strip(" \t\r\n")
    return StreamItem(data=text, json=parse_json(text)) if text else None


class NDJSONDecoder:
    """Newline-delimited JSON: each LF-terminated line is one item (CRLF tolerated, blank lines
    skipped). ``data`` is the line's text, ``json`` its value or None. The last line without
    a LF is flushed at close() with ``unterminated`` set; a line over ``max_line_bytes`` is
    dropped with ``truncated`` set. ``error`` is always None."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._lines = LineSplitter(cr_ends_line=False, max_line_bytes=max_line_bytes)
        self.unterminated = False
        self.error: str | None = None

    @property
    def truncated(self) -> bool:
        return self._lines.truncated

    def feed(self, data: bytes) -> list[StreamItem]:
        return [item for line in self._lines.feed(data) if (item := _json_item(line))]

    def close(self) -> list[StreamItem]:
        last = self._lines.close()
        item = _json_item(last) if last is not None else None
        if item is None:
            return []
        self.unterminated = True
        return [item]


# JSONArrayDecoder states
_START = "start"  # before the opening "[" (or a lone top-level object)
_BETWEEN = "between"  # inside the array, between elements
_ELEMENT = "element"  # inside an element
_END = "end"  # after the closing "]" (or the lone object)
_STOPPED = "stopped"  # after garbage

_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_STRING_STOP = re.compile(rb'["\\]')  # what ends or escapes inside a string
# Outside strings: a whole string (skipped in one step), a lone quote (a string that continues
# in the next read), or a bracket or brace (depth changes).
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|["\[\]{}]', re.DOTALL)
_SCALAR_END = re.compile(rb"[ \t\r\n,\]]")
_SCALAR_START = frozenset(b"-0123456789tfn")


class JSONArrayDecoder:
    """A JSON array streamed element by element, as Gemini's ``streamGenerateContent`` sends
    it without ``alt=sse`` (``[{...}\\r\\n,\\r\\n{...}]``): each top-level element becomes one
    StreamItem (``data`` its text, ``json`` its value) as soon as its last byte arrives.

    Brackets, braces and commas inside strings, and reads split anywhere (inside a string, an
    escape or a multi-byte character), are handled: the scanner tracks depth, strings and
    escapes. Whitespace and commas between elements are skipped. A top-level object instead of
    an array (an error body) is one item. Anything else where an element or ``[`` must start
    sets ``error`` and stops the decoder. An element over ``max_item_bytes`` is dropped with
    ``truncated`` set. close() flushes a cut element (json normally None) and sets
    ``unterminated`` when the array was not closed.
    """

    def __init__(self, max_item_bytes: int = MAX_ITEM_BYTES) -> None:
        self._max = max_item_bytes
        self._bom = BOMStripper()
        self._state = _START
        self._lone_object = False
        self._item = bytearray()
        self._skipping = False  # the current element outgrew the cap
        self._depth = 0
        self._in_string = False
        self._escape = False  # a backslash ended the last read
        self._scalar = False  # the element is a number or literal
        self._offset = 0  # bytes consumed before this feed (for error messages)
        self.truncated = False
        self.unterminated = False
        self.error: str | None = None

    def feed(self, data: bytes) -> list[StreamItem]:
        data = self._bom.strip(bytes(data))
        items: list[StreamItem] = []
        pos, end = 0, len(data)
        while pos < end and self._state != _STOPPED:
            if self._state == _ELEMENT:
                pos = self._scan_element(data, pos, items)
                continue
            pos = _WHITESPACE.match(data, pos).end()
            if pos == end:
                break
            byte = data[pos]
            if self._state == _START:
                if byte == 0x5B:  # "["
                    self._state = _BETWEEN
                    pos += 1
                elif byte == 0x7B:  # "{": an object instead of the array
                    self._lone_object = True
                    self._begin_element(byte, pos)
                else:
                    self._stop(byte, pos, "'[' or '{'")
            elif self._state == _BETWEEN:
                if byte == 0x2C:  # ","
                    pos += 1
                elif byte == 0x5D:  # "]"
                    self._state = _END
                    pos += 1
                else:
                    self._begin_element(byte, pos)
            else:
                self._stop(byte, pos, "nothing after the end of the JSON text")
        self._offset += end
        return items

    def close(self) -> list[StreamItem]:
        items: list[StreamItem] = []
        if self._state == _ELEMENT:
            self.unterminated = True
            if self._item and not self._skipping and (item := _json_item(bytes(self._item))):
                items.append(item)
        elif self._state == _BETWEEN:
            self.unterminated = True
        self._state = _STOPPED
        self._item.clear()
        return items

    def _stop(self, byte: int, pos: int, expected: str) -> None:
        self.error = f"not a JSON array stream: {bytes([byte])!r} at byte {self._offset + pos}, expected {expected}"
        self._state = _STOPPED

    def _begin_element(self, byte: int, pos: int) -> None:
        if byte not in b'{["' and byte not in _SCALAR_START:
            self._stop(byte, pos, "a JSON value")
            return
        self._state = _ELEMENT
        self._scalar = byte in _SCALAR_START

    def _scan_element(self, data: bytes, pos: int, items: list[StreamItem]) -> int:
        # Returns where scanning stopped: the end of the element, or the end of ``data``.
        start, end = pos, len(data)
        while pos < end:
            if self._escape:  # the byte after a backslash is never structural
                self._escape = False
                pos += 1
            elif self._in_string:
                match = _STRING_STOP.search(data, pos)
                if match is None:
                    break
                pos = match.end()
                if data[match.start()] == 0x5C:  # "\"
                    self._escape = True
                else:
                    self._in_string = False
                    if self._depth == 0:
                        return self._finish_element(data, start, pos, items)
            elif self._scalar:
                match = _SCALAR_END.search(data, pos)
                if match is None:
                    break
                return self._finish_element(data, start, match.start(), items)
            else:
                # Whole strings are skipped by the pattern, so a lone quote (a string still
                # open at the end of this read) can only be the last token.
                for match in _STRUCTURE.finditer(data, pos):
                    token_start, pos = match.span()
                    byte = data[token_start]
                    if byte == 0x22:  # '"'
                        if pos - token_start == 1:
                            self._in_string = True
                            break
                        if self._depth == 0:  # a whole string element
                            return self._finish_element(data, start, pos, items)
                    elif byte == 0x5B or byte == 0x7B:  # "[" "{"
                        self._depth += 1
                    else:
                        self._depth -= 1
                        if self._depth <= 0:
                            return self._finish_element(data, start, pos, items)
                else:
                    break
        self._keep(data[start:end])
        return end

    def _keep(self, piece: bytes) -> None:
        if self._skipping:
            return
        self._item += piece
        if len(self._item) > self._max:
            self._item.clear()
            self._skipping = self.truncated = True

    def _finish_element(self, data: bytes, start: int, stop: int, items: list[StreamItem]) -> int:
        self._keep(data[start:stop])
        if not self._skipping and (item := _json_item(bytes(self._item))):
            items.append(item)
        self._item.clear()
        self._skipping = self._scalar = False
        self._depth = 0
        self._state = _END if self._lone_object else _BETWEEN
        return stop


# AWS event stream header value types: type byte -> struct format of a fixed-size value.
# (0 true and 1 false carry no value; 6 bytes and 7 string have a 2-byte length; 9 is a UUID.)
_FIXED_HEADER_VALUES = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}
_PRELUDE = struct.Struct(">III")  # total length, headers length, prelude CRC32
_MESSAGE_OVERHEAD = 16  # prelude (12 bytes) + message CRC32 (4 bytes)


class _Malformed(ValueError):
    pass


def _eventstream_headers(raw: bytes) -> dict[str, object]:
    headers: dict[str, object] = {}
    pos = 0
    try:
        while pos < len(raw):
            name_length = raw[pos]
            name = raw[pos + 1 : pos + 1 + name_length].decode("utf-8", "replace")
            pos += 1 + name_length
            value_type = raw[pos]
            pos += 1
            if value_type in (0, 1):
                value: object = value_type == 0
            elif value_type in _FIXED_HEADER_VALUES:
                fmt = _FIXED_HEADER_VALUES[value_type]
                (value,) = struct.unpack_from(fmt, raw, pos)
                pos += struct.calcsize(fmt)
            elif value_type in (6, 7):
                (length,) = struct.unpack_from(">H", raw, pos)
                value = raw[pos + 2 : pos + 2 + length]
                pos += 2 + length
                if value_type == 7:
                    value = value.decode("utf-8", "replace")
            elif value_type == 9:
                value = raw[pos : pos + 16]
                pos += 16
            else:
                raise _Malformed(f"unknown header value type {value_type}")
            headers[name] = value
    except (IndexError, struct.error) as exc:
        raise _Malformed("header runs past the headers section") from exc
    if pos != len(raw):
        raise _Malformed("header runs past the headers section")
    return headers


class EventStreamDecoder:
    """AWS ``application/vnd.amazon.eventstream`` messages (AWS docs "Event stream encoding"):
    a 12-byte prelude (total length, headers length, both uint32 big-endian, and a CRC32 of
    those 8 bytes), typed headers, the payload, and a CRC32 of everything before it.

    Each message is one StreamItem: ``event`` is the ``:event-type`` header (``:exception-type``
    for exceptions, ``:error-code`` for errors), ``data`` the payload as text (or the
    ``:error-message`` header when there is no payload), ``json`` the payload's JSON. Bedrock's
    InvokeModelWithResponseStream wraps each model chunk as ``{"bytes": "<base64 JSON>"}``: that
    is unwrapped, so ``data``/``json`` are the model's own chunk. A bad CRC, an impossible
    length or a malformed header sets ``error`` and stops the decoder; a cut last message sets
    ``unterminated`` at close(). ``truncated`` is always False (oversized messages are errors).
    """

    def __init__(self, max_message_bytes: int = MAX_EVENTSTREAM_MESSAGE_BYTES) -> None:
        self._max = max_message_bytes
        self._buffer = bytearray()
        self.truncated = False
        self.unterminated = False
        self.error: str | None = None

    def feed(self, data: bytes) -> list[StreamItem]:
        if self.error is not None:
            return []
        self._buffer += data
        items: list[StreamItem] = []
        try:
            while len(self._buffer) >= _PRELUDE.size:
                total_length, headers_length, prelude_crc = _PRELUDE.unpack_from(self._buffer)
                if zlib.crc32(self._buffer[:8]) != prelude_crc:
                    raise _Malformed("prelude CRC mismatch")
                if not _MESSAGE_OVERHEAD + headers_length <= total_length <= self._max:
                    raise _Malformed(f"impossible lengths: total {total_length}, headers {headers_length}")
                if len(self._buffer) < total_length:
                    break
                message = bytes(self._buffer[:total_length])
                del self._buffer[:total_length]
                (message_crc,) = struct.unpack_from(">I", message, total_length - 4)
                if zlib.crc32(message[:-4]) != message_crc:
                    raise _Malformed("message CRC mismatch")
                headers_end = _PRELUDE.size + headers_length
                headers = _eventstream_headers(message[_PRELUDE.size : headers_end])
                items.append(_eventstream_item(headers, message[headers_end:-4]))
        except _Malformed as exc:
            self.error = f"AWS event stream: {exc}"
            self._buffer = bytearray()
        return items

    def close(self) -> list[StreamItem]:
        if self._buffer and self.error is None:
            self.unterminated = True
        self._buffer = bytearray()
        return []


def _eventstream_item(headers: dict[str, object], payload: bytes) -> StreamItem:
    event = next(
        (v for k in (":event-type", ":exception-type", ":error-code") if isinstance(v := headers.get(k), str)),
        None,
    )
    text = payload.decode("utf-8", "replace")
    if not text and isinstance(headers.get(":error-message"), str):
        text = headers[":error-message"]
    value = parse_json(text)
    if isinstance(value, dict) and isinstance(value.get("bytes"), str):
        try:
            inner = base64.b64decode(value["bytes"], validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            inner = None
        if inner is not None and (inner_value := parse_json(inner)) is not None:
            text, value = inner, inner_value
    return StreamItem(data=text, json=value, event=event)


FRAMER_KINDS = {
    "sse": SSEDecoder,
    "ndjson": NDJSONDecoder,
    "json-array": JSONArrayDecoder,
    "eventstream": EventStreamDecoder,
}


def make_framer(kind: str) -> Framer:
    """A new decoder for ``kind``: "sse", "ndjson", "json-array" or "eventstream". An unknown
    kind raises ValueError (a programming error, not bad input)."""
    try:
        return FRAMER_KINDS[kind]()
    except KeyError:
        raise ValueError(f"unknown stream framing {kind!r}; expected one of {sorted(FRAMER_KINDS)}") from None
