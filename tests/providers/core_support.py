# Drive one provider exchange through the real core (core/exchange.py and its framers), from
# HTTP message events, so a provider's ``framing`` choice is checked against the decoders that
# will read real bodies. Also builds AWS event-stream messages (AWS docs "Event stream
# encoding": 12-byte prelude with CRC32, string headers of type 7, payload, message CRC32).
from __future__ import annotations

import json
import struct
import zlib
from typing import Any
from urllib.parse import urlsplit

from llmspy.core.events import REQUEST, RESPONSE, CallDone, Data, End, RequestHead, ResponseHead
from llmspy.core.exchange import Exchange
from llmspy.record import Connection, LLMRecord


def through_core(
    url: str,
    body: Any,
    response: bytes,
    *,
    content_type: str | None,
    status: int = 200,
    request_headers: dict[str, str] | None = None,
    piece: int = 7,
) -> LLMRecord:
    """One POST exchange; the response body arrives in ``piece``-byte Data events."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    raw = json.dumps(body).encode()
    req_headers = (("content-type", "application/json"), *(request_headers or {}).items())
    resp_headers = (("content-type", content_type),) if content_type else ()
    ex = Exchange(source="replay", connection=Connection(server=parts.hostname))
    events = [
        RequestHead(1.0, 1, "POST", target, parts.netloc, req_headers, "1.1", parts.scheme),
        Data(1.0, 1, REQUEST, raw),
        End(1.0, 1, REQUEST),
        ResponseHead(2.0, 1, status, resp_headers, "1.1"),
        *[Data(2.0 + i / 1000, 1, RESPONSE, response[i : i + piece]) for i in range(0, len(response), piece)],
        End(3.0, 1, RESPONSE),
    ]
    done = [out for ev in events for out in ex.handle(ev) if isinstance(out, CallDone)]
    assert len(done) == 1
    return done[0].record


def eventstream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message with string headers."""
    hdrs = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        hdrs += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(hdrs) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hdrs))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + hdrs + payload
    return message + struct.pack(">I", zlib.crc32(message))
