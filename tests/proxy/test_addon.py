"""The addon against mitmproxy's own test fakes (mitmproxy.test.taddons / tflow): hooks in
mitmproxy's order, options, the streaming pass-through callable, errors and WebSockets.

Wire data is written by hand from the providers' API references (OpenAI Chat Completions
streaming: chat.completion.chunk objects in SSE ``data:`` lines ending with ``[DONE]``;
Anthropic Messages: a whole ``message`` object; Gemini streamGenerateContent: a JSON array).
"""
from __future__ import annotations

import json

import pytest
from mitmproxy import exceptions, http, websocket
from mitmproxy.test import taddons, tflow
from wsproto.frame_protocol import Opcode

from llmspy.core.events import CallDelta, CallDone, CallStarted, Notice
from llmspy.proxy.addon import MAX_WS_MESSAGES, LLMSpy, is_streamed

KEY = "sk-llmspy-PLANTED-unit0000"


class ListSink:
    def __init__(self):
        self.events = []

    def handle(self, event):
        self.events.append(event)

    def close(self, totals=None):
        pass

    def done(self):
        return [e.record for e in self.events if isinstance(e, CallDone)]


def make_flow(url, body, headers=None, method="POST"):
    f = tflow.tflow()
    hdrs = {"content-type": "application/json", "authorization": f"Bearer {KEY}", **(headers or {})}
    f.request = http.Request.make(method, url, json.dumps(body) if isinstance(body, dict) else body, hdrs)
    f.request.timestamp_start, f.request.timestamp_end = 100.0, 100.01
    return f


def respond_headers(spy, f, status=200, headers=None):
    f.response = http.Response.make(status, b"", headers or {})
    f.response.timestamp_start = 100.5
    spy.responseheaders(f)


OPENAI_SSE = [
    b'data: {"id":"chatcmpl-u1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    b'data: {"id":"chatcmpl-u1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06",'
    b'"choices":[{"index":0,"delta":{"content":"Bonjour"},"finish_reason":null}]}\n\n',
    # an event split across two reads, as TCP delivers it
    b'data: {"id":"chatcmpl-u1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06",'
    b'"choices":[{"index":0,"delta":{"content":" le mon',
    b'de"},"finish_reason":null}]}\n\n',
    b'data: {"id":"chatcmpl-u1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"id":"chatcmpl-u1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06",'
    b'"choices":[],"usage":{"prompt_tokens":13,"completion_tokens":3,"total_tokens":16}}\n\n',
    b"data: [DONE]\n\n",
]
OPENAI_REQ = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
              "messages": [{"role": "user", "content": "Dis bonjour"}]}


@pytest.fixture
def spy(tmp_path):
    sink = ListSink()
    addon = LLMSpy(extra_sinks=[sink])
    with taddons.context(addon) as tctx:
        tctx.configure(addon, llmspy_format="none", llmspy_output=str(tmp_path / "out.jsonl"))
        addon.sink = sink
        addon.tctx = tctx
        addon.out_path = tmp_path / "out.jsonl"
        yield addon


def stream_openai(spy, chunks=OPENAI_SSE, end=True):
    f = make_flow("https://api.openai.com/v1/chat/completions", OPENAI_REQ)
    spy.requestheaders(f)
    spy.request(f)
    respond_headers(spy, f, headers={"content-type": "text/event-stream; charset=utf-8"})
    assert callable(f.response.stream)
    for c in chunks:
        assert f.response.stream(c) == c  # passed through unchanged
    if end:
        assert f.response.stream(b"") == b""
        spy.response(f)
    return f


# -- options -----------------------------------------------------------------------------------

def test_options_defaults_and_validation(tmp_path):
    addon = LLMSpy()
    with taddons.context(addon) as tctx:
        opts = tctx.options
        assert (opts.llmspy_output, opts.llmspy_llm_only, opts.llmspy_all, opts.llmspy_format) == (None, False, False, "pretty")
        with pytest.raises(exceptions.OptionsError, match="exclude"):
            tctx.configure(addon, llmspy_llm_only=True, llmspy_all=True)
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(addon, llmspy_format="xml")
        with pytest.raises(exceptions.OptionsError, match="cannot write"):
            tctx.configure(addon, llmspy_output=str(tmp_path))  # a directory
        tctx.configure(addon, llmspy_llm_only=True)
        assert addon.mode == "llm"
        tctx.configure(addon, llmspy_llm_only=False, llmspy_all=True)
        assert addon.mode == "all"


def test_output_file_closed_in_done(tmp_path):
    addon = LLMSpy()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, llmspy_format="none", llmspy_output=str(tmp_path / "a.jsonl"))
        stream = addon._file_sink.stream
        addon.done()
        assert stream.closed


# -- streaming pass-through ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "ctype, path, streamed",
    [
        ("text/event-stream", "/v1/messages", True),
        ("text/event-stream; charset=utf-8", "/v1/chat/completions", True),
        ("application/x-ndjson", "/api/chat", True),
        ("application/json", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", True),
        ("application/json; charset=UTF-8", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?key=x", True),
        ("application/json", "/v1beta/models/gemini-2.0-flash:generateContent", False),
        ("application/json", "/v1/chat/completions", False),
        ("text/html", "/", False),
        ("", "/", False),
    ],
)
def test_is_streamed(ctype, path, streamed):
    f = tflow.tflow(resp=True)
    f.request.path = path
    f.response.headers.clear()
    if ctype:
        f.response.headers["content-type"] = ctype
    assert is_streamed(f) is streamed


def test_sse_streamed_through_record_at_end(spy):
    f = stream_openai(spy, end=False)
    kinds = [type(e) for e in spy.sink.events]
    assert CallStarted in kinds and CallDelta in kinds
    assert CallDone not in kinds, "the record waits for the end of the stream"
    deltas = "".join(e.text for e in spy.sink.events if isinstance(e, CallDelta))
    assert deltas == "Bonjour le monde"
    f.response.stream(b"")
    spy.response(f)
    [rec] = spy.sink.done()
    assert rec.source == "proxy" and rec.kind == "llm"
    assert (rec.provider, rec.api, rec.request.model, rec.request.stream) == ("openai", "openai.chat_completions", "gpt-4o", True)
    assert rec.request.url == "https://api.openai.com/v1/chat/completions"
    assert rec.response.text == "Bonjour le monde"
    assert (rec.response.id, rec.response.model, rec.response.finish_reason) == ("chatcmpl-u1", "gpt-4o-2024-08-06", "stop")
    assert (rec.response.usage.input_tokens, rec.response.usage.output_tokens, rec.response.usage.total_tokens) == (13, 3, 16)
    assert rec.response.streamed is True and rec.response.status == 200
    assert rec.complete is True
    assert rec.request.headers["authorization"] == "Bearer [REDACTED]"
    lines = spy.out_path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["response"]["text"] == "Bonjour le monde"
    assert KEY not in spy.out_path.read_text()


def test_other_addons_stream_callable_is_chained(spy):
    f = make_flow("https://api.openai.com/v1/chat/completions", OPENAI_REQ)
    spy.requestheaders(f)
    spy.request(f)
    f.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    f.response.timestamp_start = 100.5
    f.response.stream = lambda chunk: chunk.replace(b"Bonjour", b"BONJOUR")  # set by an earlier addon
    spy.responseheaders(f)
    sent = [f.response.stream(c) for c in OPENAI_SSE] + [f.response.stream(b"")]
    assert b"BONJOUR" in b"".join(sent)  # the client gets the other addon's output
    spy.response(f)
    [rec] = spy.sink.done()
    assert rec.response.text == "Bonjour le monde"  # the record has what the server sent


def test_stream_cut_by_error_is_incomplete(spy):
    f = stream_openai(spy, chunks=OPENAI_SSE[:2], end=False)
    f.error = tflow.terr("Server disconnected.")
    spy.error(f)
    [rec] = spy.sink.done()
    assert rec.complete is False
    assert rec.response.text == "Bonjour"
    assert any(isinstance(e, Notice) and "Server disconnected." in e.message for e in spy.sink.events)


def test_whole_json_response_fed_at_response(spy):
    body = {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    f = make_flow("https://api.anthropic.com/v1/messages", body, {"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    del f.request.headers["authorization"]
    spy.requestheaders(f)
    spy.request(f)
    reply = {"id": "msg_01U", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
             "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn", "stop_sequence": None,
             "usage": {"input_tokens": 9, "output_tokens": 4}}
    respond_headers(spy, f, headers={"content-type": "application/json"})
    assert not f.response.stream, "whole JSON bodies are not streamed"
    f.response.content = json.dumps(reply).encode()
    f.response.timestamp_end = 100.7
    spy.response(f)
    [rec] = spy.sink.done()
    assert (rec.provider, rec.api, rec.response.text, rec.response.finish_reason) == ("anthropic", "anthropic.messages", "Hello!", "end_turn")
    assert (rec.response.usage.input_tokens, rec.response.usage.output_tokens) == (9, 4)
    assert rec.response.streamed is False and rec.complete is True
    assert rec.request.headers["x-api-key"] == "[REDACTED]"
    assert rec.timing.end == 100.7


def test_gemini_streamed_json_array(spy):
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    url = f"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?key={KEY}"
    f = make_flow(url, body)
    del f.request.headers["authorization"]
    spy.requestheaders(f)
    spy.request(f)
    respond_headers(spy, f, headers={"content-type": "application/json; charset=UTF-8"})
    assert callable(f.response.stream)
    parts = [
        b'[{"candidates": [{"content": {"parts": [{"text": "Hel"}],"role": "model"},"index": 0}],'
        b'"usageMetadata": {"promptTokenCount": 2,"totalTokenCount": 2},"modelVersion": "gemini-2.0-flash"}\n',
        b',\r\n{"candidates": [{"content": {"parts": [{"text": "lo"}],"role": "model"},"finishReason": "STOP","index": 0}],'
        b'"usageMetadata": {"promptTokenCount": 2,"candidatesTokenCount": 2,"totalTokenCount": 4},"modelVersion": "gemini-2.0-flash"}\n',
        b"]",
    ]
    for p in parts:
        f.response.stream(p)
    f.response.stream(b"")
    spy.response(f)
    [rec] = spy.sink.done()
    assert (rec.provider, rec.response.text, rec.response.finish_reason) == ("gcp.gemini", "Hello", "STOP")
    assert (rec.response.usage.input_tokens, rec.response.usage.output_tokens) == (2, 2)
    assert KEY not in rec.to_json() and KEY not in spy.out_path.read_text()


# -- modes -------------------------------------------------------------------------------------

def _json_api_call(spy):
    f = make_flow("https://api.example.com/v2/items", {"q": 1})
    spy.requestheaders(f)
    spy.request(f)
    respond_headers(spy, f, headers={"content-type": "application/json"})
    f.response.content = b'{"items": []}'
    spy.response(f)


def test_modes_filter_records(spy):
    _json_api_call(spy)
    assert len(spy.sink.done()) == 1  # smart: JSON APIs too
    spy.tctx.configure(spy, llmspy_llm_only=True)
    _json_api_call(spy)
    stream_openai(spy)
    assert [r.kind for r in spy.sink.done()] == ["http", "llm"]


def test_done_flushes_open_flows(spy):
    stream_openai(spy, chunks=OPENAI_SSE[:2], end=False)
    spy.done()
    [rec] = spy.sink.done()
    assert rec.complete is False and rec.response.text == "Bonjour"
    assert len(spy.out_path.read_text().splitlines()) == 1


def test_hook_bug_is_a_notice_not_an_exception(spy):
    f = make_flow("https://api.openai.com/v1/chat/completions", OPENAI_REQ)
    f.request = None  # a flow mitmproxy would never hand over
    spy.requestheaders(f)  # must not raise
    assert any(isinstance(e, Notice) and e.level == "error" for e in spy.sink.events)


# -- WebSocket ---------------------------------------------------------------------------------

def _ws_flow(spy):
    f = tflow.twebsocketflow(messages=False)
    f.request.host, f.request.port, f.request.path = "api.openai.com", 443, "/v1/responses"
    f.request.headers["authorization"] = f"Bearer {KEY}"
    spy.requestheaders(f)
    spy.request(f)
    spy.responseheaders(f)
    spy.response(f)
    return f


def test_websocket_messages_attached_to_upgrade_record(spy):
    f = _ws_flow(spy)
    assert spy.sink.done() == [], "held until the socket ends"
    msgs = [
        websocket.WebSocketMessage(Opcode.TEXT, True, b'{"type":"response.create","model":"gpt-5-codex"}', 200.0),
        websocket.WebSocketMessage(Opcode.TEXT, False, b'{"type":"response.output_text.delta","delta":"Hi"}', 200.5),
        websocket.WebSocketMessage(Opcode.BINARY, False, b"\x00\x01", 200.6),
        websocket.WebSocketMessage(Opcode.TEXT, False, b"not json", 200.7),
    ]
    for m in msgs:
        f.websocket.messages.append(m)
        spy.websocket_message(f)
    f.websocket.close_code, f.websocket.timestamp_end = 1000, 201.0
    spy.websocket_end(f)
    [rec] = spy.sink.done()
    ws = rec.response.body["websocket"]
    assert [m["from"] for m in ws["messages"]] == ["client", "server", "server", "server"]
    assert ws["messages"][0]["data"] == {"type": "response.create", "model": "gpt-5-codex"}
    assert ws["messages"][1]["ts"] == 200.5
    assert ws["messages"][2] == {"from": "server", "ts": 200.6, "type": "binary", "size": 2, "data": "AAE="}
    assert ws["messages"][3]["data"] == "not json"
    assert ws["close_code"] == 1000 and ws["dropped_messages"] == 0
    assert rec.response.status == 101 and rec.response.streamed is True and rec.response.chunks == 4
    assert rec.response.body_size == sum(len(m.content) for m in msgs)
    assert rec.timing.end == 201.0
    assert KEY not in rec.to_json()


def test_websocket_caps(spy, monkeypatch):
    monkeypatch.setattr("llmspy.proxy.addon.MAX_WS_MESSAGES", 3)
    f = _ws_flow(spy)
    for i in range(5):
        f.websocket.messages.append(websocket.WebSocketMessage(Opcode.TEXT, False, b'{"i":%d}' % i, 300.0 + i))
        spy.websocket_message(f)
    spy.websocket_end(f)
    [rec] = spy.sink.done()
    ws = rec.response.body["websocket"]
    assert len(ws["messages"]) == 3 and ws["dropped_messages"] == 2 and rec.response.truncated is True
    assert MAX_WS_MESSAGES >= 1000  # the real cap holds a long session
