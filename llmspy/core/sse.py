# Server-sent events (WHATWG HTML §9.2 "Server-sent events", event stream interpretation),
# parsed incrementally from decoded body bytes.
#
# Two layers, the shape of httpx-sse's decoders: LineSplitter cuts bytes into lines (CR, LF or
# CRLF; a CR that ends one feed and a LF that starts the next are one line end), and SSEDecoder
# runs the spec's per-line algorithm and dispatches an event on each blank line. Lines are cut
# as bytes and decoded as UTF-8 only once whole, so a character split across reads survives.
# LineSplitter and parse_json are shared with the other framings in streams.py.
#
# Error rule: nothing raises. A line longer than MAX_LINE_BYTES is dropped and ``truncated``
# set; invalid UTF-8 becomes U+FFFD; a stream that ends without the blank line after its last
# event still dispatches that event at close() and sets ``unterminated``.
from __future__ import annotations

import json
import re
from typing import Any

from .events import StreamItem

__all__ = ["SSEDecoder", "LineSplitter", "BOMStripper", "parse_json", "MAX_LINE_BYTES"]

# Longest line (and longest event data) kept, in bytes. An SSE event normally carries one
# token-sized delta (< 1 KiB); the largest real ones repeat a whole response or carry a base64
# image (OpenAI Responses' response.completed, partial_image events: a few MiB). 16 MiB keeps
# those whole while bounding what a stream without line ends can make us buffer.
MAX_LINE_BYTES = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_ANY_LINE_END = re.compile(rb"\r\n|\r|\n")
_LF = re.compile(rb"\n")


def parse_json(text: str) -> Any:
    """``json.loads(text)``, or None when ``text`` is not JSON (e.g. OpenAI's ``[DONE]``)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


class BOMStripper:
    """Remove one UTF-8 byte order mark from the start of a byte stream, even when its three
    bytes arrive in different feeds (WHATWG HTML §9.2.6; RFC 8259 §8.1 lets JSON parsers
    ignore it too)."""

    def __init__(self) -> None:
        self._head: bytes | None = b""  # start of the stream while it may still be a BOM

    def strip(self, data: bytes) -> bytes:
        if self._head is None:
            return data
        head = self._head + data
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head  # too short to tell yet
            return b""
        self._head = None
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def close(self) -> bytes:
        """Bytes held back because they might have begun a BOM (a stream that short)."""
        held, self._head = self._head or b"", None
        return held


class LineSplitter:
    """Cut a byte stream into lines, incrementally; the line ends are not returned.

    ``cr_ends_line=True``: CRLF, LF and a lone CR each end a line (WHATWG HTML §9.2 "end-of-line"),
    with a CRLF split across two feeds counted once. ``False``: only LF ends a line (NDJSON; a
    CR before it stays in the line). A leading UTF-8 BOM is removed once. A line longer than
    ``max_line_bytes`` is dropped whole and ``truncated`` set.
    """

    def __init__(self, *, cr_ends_line: bool, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._line_end = _ANY_LINE_END if cr_ends_line else _LF
        self._cr_ends_line = cr_ends_line
        self._max = max_line_bytes
        self._partial = bytearray()
        self._bom = BOMStripper()
        self._after_cr = False  # the last feed ended with CR: a LF next completes that CRLF
        self._skipping = False  # dropping the rest of an over-long line
        self.truncated = False

    def feed(self, data: bytes) -> list[bytes]:
        """The lines that ``data`` completed."""
        data = self._bom.strip(bytes(data))
        if not data:
            return []
        if self._after_cr:
            self._after_cr = False
            if data[0] == 0x0A:
                data = data[1:]
        lines: list[bytes] = []
        start = 0
        for match in self._line_end.finditer(data):
            self._end_line(data[start : match.start()], lines)
            start = match.end()
        if self._cr_ends_line and data.endswith(b"\r"):
            self._after_cr = True
        if start < len(data) and not self._skipping:
            self._partial += data[start:]
            if len(self._partial) > self._max:
                self._partial.clear()
                self._skipping = self.truncated = True
        return lines

    def close(self) -> bytes | None:
        """The last line if the stream did not end with a line end (else None)."""
        last = bytes(self._partial) or self._bom.close() or None
        if self._skipping:
            last = None
        self._partial.clear()
        self._after_cr = self._skipping = False
        return last

    def _end_line(self, tail: bytes, lines: list[bytes]) -> None:
        if self._skipping:  # the end of a line already dropped
            self._skipping = False
            return
        if self._partial:
            tail = bytes(self._partial) + tail
            self._partial.clear()
        if len(tail) > self._max:
            self.truncated = True
        else:
            lines.append(tail)


# First characters of a line that is raw JSON rather than an SSE field (field names are
# letters; "{" and "[" open a JSON value; "}" and "]" close one; a quote or indentation
# continues a pretty-printed one).
_JSON_START = frozenset('{}[]" \t')


class SSEDecoder:
    """Incremental ``text/event-stream`` parser (WHATWG HTML §9.2.6 "Interpreting an event
    stream").

    ``feed(data: bytes) -> list[StreamItem]`` returns the events that ``data`` completed;
    ``close() -> list[StreamItem]`` flushes an event left without its blank line (setting
    ``unterminated``; the spec would discard it, llmspy shows it). Each item has ``event``
    (the ``event:`` field, None when absent or empty; the spec's type is then "message"),
    ``data`` (the ``data:`` lines joined by LF), ``id`` (the last event ID: it persists across
    events as the spec says; None until an ``id:`` field was seen) and ``json``
    (``json.loads(data)`` or None). Events without any data line are not dispatched. ``retry``
    is kept in ``retry_ms``. Comments (``: keep-alive``) are ignored.

    Flags: ``truncated`` (a line or an event's data exceeded ``max_line_bytes`` and was
    dropped), ``unterminated``; ``error`` is always None (every byte sequence is a valid
    event stream). Never raises.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._lines = LineSplitter(cr_ends_line=True, max_line_bytes=max_line_bytes)
        self._max = max_line_bytes
        self._event_type = ""
        self._data: list[str] = []
        self._data_size = 0
        self._last_event_id: str | None = None
        self._in_event = False  # a field line was seen since the last blank line
        self._data_dropped = False
        self._stray: list[str] = []  # raw JSON lines between events (see _stray_line)
        self._stray_size = 0
        self._closed = False
        self.retry_ms: int | None = None
        self.unterminated = False
        self.error: str | None = None

    @property
    def truncated(self) -> bool:
        return self._lines.truncated or self._data_dropped

    def feed(self, data: bytes) -> list[StreamItem]:
        if self._closed:
            return []
        items: list[StreamItem] = []
        for line in self._lines.feed(data):
            self._process_line(line, items)
        return items

    def close(self) -> list[StreamItem]:
        if self._closed:
            return []
        self._closed = True
        items: list[StreamItem] = []
        last = self._lines.close()
        if last is not None:
            self._process_line(last, items)
        if self._in_event:
            self.unterminated = True
            self._dispatch(items)
        return items

    def _process_line(self, line: bytes, items: list[StreamItem]) -> None:
        if not line:
            self._dispatch(items)
            return
        if line[0] == 0x3A:  # ":" starts a comment
            return
        text = line.decode("utf-8", "replace")
        if self._stray or text[0] in _JSON_START:
            self._stray_line(text, items)
            return
        name, colon, value = text.partition(":")
        if value.startswith(" "):
            value = value[1:]
        self._in_event = True
        if name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                self._data_dropped = True
            else:
                self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry_ms = int(value)
        # any other field name is ignored, as the spec says

    def _stray_line(self, text: str, items: list[StreamItem]) -> None:
        # Not an SSE field but raw JSON: Gemini sends an error object as plain JSON lines
        # after some events. The spec ignores such lines; llmspy collects them until they
        # form one JSON value and hands that over as an item without an event type.
        self._stray.append(text)
        self._stray_size += len(text) + 1
        if self._stray_size > self._max:
            self._stray, self._stray_size, self._data_dropped = [], 0, True
            return
        joined = "\n".join(self._stray)
        value = parse_json(joined)
        if value is not None:
            items.append(StreamItem(data=joined, json=value, event=None, id=self._last_event_id))
            self._stray, self._stray_size = [], 0

    def _dispatch(self, items: list[StreamItem]) -> None:
        if self._stray:  # raw lines that never formed JSON: dropped like unknown fields
            self._stray, self._stray_size = [], 0
        self._in_event = False
        if self._data:
            data = "\n".join(self._data)
            event = self._event_type or None
            items.append(StreamItem(data=data, json=parse_json(data), event=event, id=self._last_event_id))
        self._event_type = ""
        self._data = []
        self._data_size = 0
