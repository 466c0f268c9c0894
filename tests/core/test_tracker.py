# Connection-level behaviour of the Tracker: protocol and role sniffing, capture loss,
# muting in llm-only mode, process exit. Payloads are hand-written HTTP/1.1 text.
from __future__ import annotations

import json

from llmspy.core.capture import CaptureEvent
from llmspy.core.events import CallDone, Notice
from llmspy.core.tracker import Mute, Tracker

T0 = 1764460800.0


def _chat(content: str, model: str = "gpt-4o-mini") -> tuple[bytes, bytes]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode()
    req = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
        b"Authorization: Bearer sk-test-0000000000000000\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    answer = json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"re: {content[:8]}"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }).encode()
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(answer)).encode() + b"\r\n\r\n" + answer)
    return req, resp


def _ev(direction: str, data: bytes, i: int, conn: str = "7:0x1", **kw) -> CaptureEvent:
    return CaptureEvent(ts=T0 + i, pid=7, tid=7, comm="python3", conn=conn, dir=direction,
                        data=data, len=kw.pop("len", len(data)), **kw)


def _records(outputs) -> list:
    return [o.record for o in outputs if isinstance(o, CallDone)]


def test_traced_server_is_recognised_from_the_bytes():
    # A traced TLS server reads the request (recv) and writes the response (send).
    req, resp = _chat("hello")
    t = Tracker(mode="llm")
    out = t.feed(_ev("recv", req, 0)) + t.feed(_ev("send", resp, 1)) + t.feed(_ev("close", b"", 2))
    (rec,) = _records(out)
    assert rec.connection.role == "server"
    assert rec.response.text == "re: hello"
    assert rec.request.headers["authorization"] == "Bearer [REDACTED]"


def test_method_split_from_its_target_still_sniffs_as_http():
    req, resp = _chat("split")
    t = Tracker(mode="llm")
    out = t.feed(_ev("send", req[:5], 0)) + t.feed(_ev("send", req[5:], 1)) + t.feed(_ev("recv", resp, 2))
    (rec,) = _records(out)
    assert rec.connection.role == "client" and rec.response.text == "re: split"


def test_lost_bytes_keep_the_next_exchange_parseable():
    # The first request body was larger than the capture cap: only part of it arrived. The
    # record says truncated, and the next exchange on the same connection is still whole.
    big = "x" * 5000
    req1, resp1 = _chat(big)
    req2, resp2 = _chat("second")
    cut = len(req1) - 3000
    t = Tracker(mode="llm")
    out = []
    out += t.feed(_ev("send", req1[:cut], 0, len=len(req1), truncated=True))
    out += t.feed(_ev("recv", resp1, 1))
    out += t.feed(_ev("send", req2, 2))
    out += t.feed(_ev("recv", resp2, 3))
    recs = _records(out)
    assert [r.request.truncated for r in recs] == [True, False]
    assert recs[0].response.text == "re: xxxxxxxx"
    assert recs[1].response.text == "re: second" and recs[1].request.messages[0].content == "second"
    assert any(isinstance(o, Notice) and "3000 bytes" in o.message for o in out)


def test_llm_only_mutes_a_connection_whose_first_call_is_not_llm():
    body = b'{"ok": true}'
    req = b"GET /status HTTP/1.1\r\nHost: example.com\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n" + body
    t = Tracker(mode="llm")
    out = t.feed(_ev("send", req, 0)) + t.feed(_ev("recv", resp, 1))
    assert _records(out) == []
    assert [o.conn for o in out if isinstance(o, Mute)] == ["7:0x1"]
    smart = Tracker(mode="smart")
    out = smart.feed(_ev("send", req, 0)) + smart.feed(_ev("recv", resp, 1))
    (rec,) = _records(out)
    assert rec.kind == "http" and rec.response.body == {"ok": True}
    assert not any(isinstance(o, Mute) for o in out)


def test_not_http_is_muted():
    t = Tracker(mode="smart")
    out = t.feed(_ev("send", b"\x16\x03\x01binary protocol", 0))
    assert [type(o) for o in out] == [Mute]


def test_process_exit_flushes_open_calls_incomplete():
    req, resp = _chat("bye")
    t = Tracker(mode="llm")
    head_end = resp.index(b"\r\n\r\n") + 4
    out = t.feed(_ev("send", req, 0)) + t.feed(_ev("recv", resp[: head_end + 10], 1))
    assert _records(out) == []
    (rec,) = _records(t.close_pid(7, T0 + 5))
    assert rec.complete is False and rec.response.status == 200
    assert t.open_connections == 0


def test_an_idle_exchange_on_a_live_connection_is_flushed():
    # Exchange 0 waits for the rest of its response forever while the connection stays busy
    # (a pipelined second request): expire() flushes exchange 0 alone, ended at its last event.
    from llmspy.core.tracker import IDLE_TIMEOUT_S

    req, resp = _chat("waiting")
    req2, _ = _chat("later")
    t = Tracker(mode="llm")
    head_end = resp.index(b"\r\n\r\n") + 4
    out = t.feed(_ev("send", req, 0)) + t.feed(_ev("recv", resp[:head_end], 1))
    out += t.feed(_ev("send", req2, IDLE_TIMEOUT_S - 10))
    assert _records(out) == [] and t.expire(T0 + IDLE_TIMEOUT_S / 2) == []
    (rec,) = _records(t.expire(T0 + 2 + IDLE_TIMEOUT_S))
    assert rec.complete is False and rec.timing.end == T0 + 1
    assert rec.request.messages[0].content == "waiting" and t.open_connections == 1
