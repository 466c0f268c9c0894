# Secrets never reach output: header and URL redaction, and raw previews whose secrets are cut
# across two TLS calls.
from __future__ import annotations

import pytest

from llmspy.redact import StreamRedactor, redact_bytes, redact_headers, redact_url

KEY = "sk-test-SECRET-123456789012345"


def test_headers_and_url():
    h = redact_headers({"authorization": f"Bearer {KEY}", "x-api-key": KEY, "x-goog-api-key": KEY,
                        "cookie": "s=1", "content-type": "application/json",
                        "sec-websocket-protocol": f"realtime, openai-insecure-api-key.{KEY}"})
    assert KEY not in repr(h) and h["authorization"] == "Bearer [REDACTED]"
    assert h["content-type"] == "application/json"
    assert redact_url(f"https://g/v1beta/models/m:generateContent?alt=sse&key={KEY}") == (
        "https://g/v1beta/models/m:generateContent?alt=sse&key=[REDACTED]")


@pytest.mark.parametrize("cut", range(1, 60))
def test_secret_cut_between_two_writes_is_hidden_in_both(cut):
    wire = f"POST /v1/x?key={KEY}&alt=sse HTTP/1.1\r\nAuthorization: Bearer {KEY}\r\nHost: h\r\n\r\n".encode()
    second_line = wire.index(b"Authorization")
    for base in (0, second_line):
        r = StreamRedactor()
        at = base + cut
        shown = r.redact("c", wire[:at]) + b"|" + r.redact("c", wire[at:])
        # no piece of the key longer than 8 characters survives on either side of the cut
        for i in range(len(KEY) - 8):
            assert KEY[i:i + 9].encode() not in shown, (at, shown)
        assert b"Host: h" in shown.replace(b"|", b"")  # nothing else hidden


def test_other_streams_are_untouched():
    r = StreamRedactor()
    r.redact(("a", "send"), b"GET / HTTP/1.1\r\nAuthorization: Bearer ab")
    assert r.redact(("b", "send"), b"cdef\r\n") == b"cdef\r\n"
    assert redact_bytes(b"hello") == b"hello"
