# Anthropic Messages API: request parsing, streamed events and whole bodies, detection.
# Payloads are written from the Messages API reference and its streaming guide (event
# sequence, block types, delta types, cumulative message_delta usage, error events).
from __future__ import annotations

import base64
import json

import pytest

from llmspy import providers
from llmspy.providers.anthropic import PROVIDERS
from llmspy.record import ToolCall

from .core_support import eventstream_message, through_core
from .openai_support import exchange, request, sse

P = PROVIDERS[0]  # the registry's instance
URL = "https://api.anthropic.com/v1/messages"
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}


def events(*objs):
    """SSE items as the decoder gives them: Anthropic names each event after its ``type``."""
    return [sse(o, o.get("type")) for o in objs]


def start(usage, model="claude-sonnet-4-5-20250929"):
    return {
        "type": "message_start",
        "message": {"id": "msg_01ABC", "type": "message", "role": "assistant", "content": [],
                    "model": model, "stop_reason": None, "stop_sequence": None, "usage": usage},
    }


def block_start(i, block):
    return {"type": "content_block_start", "index": i, "content_block": block}


def delta(i, d):
    return {"type": "content_block_delta", "index": i, "delta": d}


def stop(i):
    return {"type": "content_block_stop", "index": i}


def msg_delta(stop_reason, usage):
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}


ARG_PIECES = ['{"loc', 'ation": "San', ' Francisco, CA"', ', "unit": "cel', 'sius"}']

TOOL_STREAM = events(
    start({"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000, "output_tokens": 1}),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, {"type": "thinking_delta", "thinking": "Let me check"}),
    delta(0, {"type": "thinking_delta", "thinking": " the weather."}),
    delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
    stop(0),
    block_start(1, {"type": "text", "text": ""}),
    delta(1, {"type": "text_delta", "text": "I'll look that up"}),
    {"type": "ping"},
    delta(1, {"type": "text_delta", "text": "."}),
    stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_01X", "name": "get_weather", "input": {}}),
    *[delta(2, {"type": "input_json_delta", "partial_json": p}) for p in ARG_PIECES],
    stop(2),
    msg_delta("tool_use", {"output_tokens": 89}),
    {"type": "message_stop"},
)


def req(body, url=URL, headers=HEADERS):
    return request(url, body, headers)


# -- request -----------------------------------------------------------------------------------


def test_request_fields():
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 1024,
        "temperature": 0.5,
        "top_k": 40,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "stream": True,
        "system": [{"type": "text", "text": "You are terse."},
                   {"type": "text", "text": "Answer in French.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                                              {"type": "tool_use", "id": "t1", "name": "w", "input": {"c": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "21C"}]},
            {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "text", "text": "Lyon?"}]},
        ],
        "tools": [{"name": "w", "description": "Weather by city", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "metadata": {"user_id": "u-1"},
    }
    rec, _ = exchange(P, req(body), items=[])
    r = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("anthropic", "chat", "anthropic.messages")
    assert r.model == "claude-sonnet-4-5-20250929" and r.stream is True
    assert r.system == "You are terse.\nAnswer in French."
    assert [m.role for m in r.messages] == ["user", "assistant", "user", "user"]
    assert r.messages[0].content == "Weather in Paris?"
    assert r.messages[1].content == body["messages"][1]["content"]  # tool_use kept as JSON
    assert r.messages[2].content == body["messages"][2]["content"]  # tool_result kept as JSON
    assert r.messages[3].content == "and\nLyon?"
    assert [(t.name, t.description) for t in r.tools] == [("w", "Weather by city"), ("web_search", None)]
    assert r.params == {"max_tokens": 1024, "temperature": 0.5, "top_k": 40, "stop_sequences": ["END"],
                        "thinking": {"type": "enabled", "budget_tokens": 2000}}


def test_system_string_and_no_stream():
    rec, _ = exchange(P, req({"model": "claude-3-5-haiku-latest", "max_tokens": 5, "system": "Be kind.",
                              "messages": [{"role": "user", "content": "hi"}]}), body={})
    assert rec.request.system == "Be kind." and rec.request.stream is False


# -- streamed ----------------------------------------------------------------------------------


def test_stream_thinking_text_and_tool_use_in_five_pieces():
    rec, deltas = exchange(P, req({"model": "m", "messages": [], "stream": True}), items=TOOL_STREAM)
    r = rec.response
    assert r.id == "msg_01ABC" and r.model == "claude-sonnet-4-5-20250929"
    assert r.reasoning == "Let me check the weather."
    assert r.text == "I'll look that up."
    assert r.tool_calls == [ToolCall("toolu_01X", "get_weather", "".join(ARG_PIECES))]
    assert json.loads(r.tool_calls[0].arguments) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert r.finish_reason == "tool_use"
    u = r.usage
    # OTel input = input_tokens + cache_read + cache_creation
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (2112, 89, 2201)
    assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (2000, 100)
    assert r.error is None
    assert deltas[:2] == [("reasoning", "Let me check"), ("reasoning", " the weather.")]
    assert [t for k, t in deltas if k == "tool"] == ARG_PIECES


def test_stream_tool_use_with_whole_input_in_block_start():
    items = events(
        start({"input_tokens": 7, "output_tokens": 1}),
        block_start(0, {"type": "tool_use", "id": "toolu_02", "name": "lookup", "input": {"q": "llmspy", "n": 2}}),
        stop(0),
        block_start(1, {"type": "tool_use", "id": "toolu_03", "name": "now", "input": {}}),
        delta(1, {"type": "input_json_delta", "partial_json": ""}),
        stop(1),
        msg_delta("tool_use", {"output_tokens": 30}),
    )
    rec, deltas = exchange(P, req({"model": "m", "messages": [], "stream": True}), items=items)
    calls = rec.response.tool_calls
    assert [(c.id, c.name) for c in calls] == [("toolu_02", "lookup"), ("toolu_03", "now")]
    assert json.loads(calls[0].arguments) == {"q": "llmspy", "n": 2}
    assert calls[1].arguments == "{}"  # no parameters: the empty input object
    assert ("tool", calls[0].arguments) in deltas


def test_whole_input_cut_stream_still_recorded():
    items = events(start({"input_tokens": 3, "output_tokens": 1}),
                   block_start(0, {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": 1}}))
    rec, _ = exchange(P, req({"model": "m", "messages": []}), items=items)
    assert rec.response.tool_calls == [ToolCall("toolu_9", "f", '{"a":1}')]


def test_message_delta_usage_is_cumulative_and_replaces():
    items = events(
        start({"input_tokens": 5, "cache_read_input_tokens": 0, "output_tokens": 1}),
        block_start(0, {"type": "text", "text": ""}),
        delta(0, {"type": "text_delta", "text": "Hi"}),
        stop(0),
        msg_delta(None, {"output_tokens": 10}),
        msg_delta("end_turn", {"input_tokens": 50, "cache_creation_input_tokens": 0,
                               "cache_read_input_tokens": 300, "output_tokens": 25}),
    )
    rec, _ = exchange(P, req({"model": "m", "messages": []}), items=items)
    u = rec.response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (350, 25, 375)
    assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (300, 0)
    assert rec.response.finish_reason == "end_turn"


def test_error_event_mid_stream():
    items = events(
        start({"input_tokens": 9, "output_tokens": 1}),
        block_start(0, {"type": "text", "text": ""}),
        delta(0, {"type": "text_delta", "text": "Once upon"}),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    rec, _ = exchange(P, req({"model": "m", "messages": []}), items=items)
    assert rec.response.text == "Once upon"
    assert (rec.response.error.type, rec.response.error.message) == ("overloaded_error", "Overloaded")
    assert rec.response.usage.input_tokens == 9


def test_event_name_used_when_json_has_no_type():
    items = [sse({"index": 0, "delta": {"type": "text_delta", "text": "x"}}, "content_block_delta")]
    rec, _ = exchange(P, req({"model": "m", "messages": []}), items=items)
    assert rec.response.text == "x"


def test_junk_items_do_not_raise():
    items = [sse("not json", "content_block_delta"), sse([1, 2], None), sse({"type": "content_block_delta"}),
             sse({"type": "content_block_start", "index": 0, "content_block": "x"}),
             sse({"type": "message_delta", "usage": {"output_tokens": "many"}})]
    rec, _ = exchange(P, req({"model": "m", "messages": []}), items=items)
    assert rec.response.text == "" and rec.response.usage.output_tokens is None


# -- whole bodies ------------------------------------------------------------------------------


WHOLE = {
    "id": "msg_01ABC", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "Let me check the weather.", "signature": "EqQB"},
        {"type": "text", "text": "I'll look that up."},
        {"type": "tool_use", "id": "toolu_01X", "name": "get_weather",
         "input": {"location": "San Francisco, CA", "unit": "celsius"}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000,
              "output_tokens": 89, "output_tokens_details": {"thinking_tokens": 40}},
}


def test_whole_message_matches_stream():
    whole, _ = exchange(P, req({"model": "m", "messages": []}), body=WHOLE)
    streamed, _ = exchange(P, req({"model": "m", "messages": [], "stream": True}), items=TOOL_STREAM)
    a, b = whole.response, streamed.response
    assert (a.id, a.model, a.text, a.reasoning, a.finish_reason) == (b.id, b.model, b.text, b.reasoning, b.finish_reason)
    assert [(c.id, c.name, json.loads(c.arguments)) for c in a.tool_calls] == \
        [(c.id, c.name, json.loads(c.arguments)) for c in b.tool_calls]
    assert (a.usage.input_tokens, a.usage.output_tokens, a.usage.reasoning_tokens) == (2112, 89, 40)


def test_error_body():
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
    rec, _ = exchange(P, req({"model": "m", "messages": []}), body=body, status=400)
    assert (rec.response.error.type, rec.response.error.message) == ("invalid_request_error", "max_tokens: Field required")
    assert rec.response.text == "" and rec.response.tool_calls == []


def test_count_tokens():
    r = req({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello"}]},
            url="https://api.anthropic.com/v1/messages/count_tokens")
    assert P.match(r) == 1.0
    rec, _ = exchange(P, r, body={"input_tokens": 2095})
    assert (rec.operation, rec.api) == ("count_tokens", "anthropic.count_tokens")
    assert rec.response.usage.input_tokens == 2095 and rec.response.usage.output_tokens is None


def test_body_not_json():
    rec, _ = exchange(P, req({"model": "m", "messages": []}), body=None, text="<html>502</html>", status=502)
    assert rec.response.error is None and rec.response.text == ""


# -- detection ---------------------------------------------------------------------------------

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


def test_match_own_requests():
    assert P.match(req(BODY)) == 1.0
    gateway = req(BODY, url="https://gateway.example.com/anthropic/v1/messages")
    assert P.match(gateway) == 0.9
    assert P.match(req(BODY, url="https://llm.example.com/v1/messages", headers={"x-api-key": "k"})) == 0.6
    assert providers.classify(gateway) is P


def test_vertex_and_bedrock():
    vbody = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 10, "stream": False,
             "messages": [{"role": "user", "content": "hi"}]}
    vurl = ("https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/"
            "models/claude-sonnet-4-5@20250929:streamRawPredict")
    r = request(vurl, vbody, {"authorization": "Bearer ya29.x"})
    assert providers.classify(r) is P
    rec, _ = exchange(P, r, items=[])
    assert (rec.provider, rec.request.model, rec.request.stream) == ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", True)
    burl = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
    bbody = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    r = request(burl, bbody, {"authorization": "AWS4-HMAC-SHA256 Credential=x"})
    assert P.match(r) > 0
    rec, _ = exchange(P, r, body=WHOLE)
    assert (rec.provider, rec.request.model) == ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert rec.response.text == "I'll look that up."


def test_headers_unknown_body_shape():
    r = request("https://api.anthropic.com/", BODY, {})
    r.path = ""
    assert P.match(r) == 0.9


@pytest.mark.parametrize("url,body,headers", [
    ("https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "messages": []}, {"authorization": "Bearer k"}),
    ("https://api.openai.com/v1/threads/thread_abc/messages", {"role": "user", "content": "hi"}, {"authorization": "Bearer k"}),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
     {"contents": [{"parts": [{"text": "hi"}]}]}, {"x-goog-api-key": "k"}),
    ("https://api.cohere.com/v2/chat", {"model": "command-a-03-2025", "messages": []}, {"authorization": "Bearer k"}),
    ("http://localhost:11434/api/chat", {"model": "llama3.2", "messages": []}, {}),
    ("https://api.anthropic.com/v1/chat/completions", {"model": "claude-sonnet-4-5", "messages": []}, {"x-api-key": "k"}),
])
def test_not_anthropic(url, body, headers):
    assert P.match(request(url, body, headers)) <= 0


def test_get_is_not_a_call():
    assert P.match(request(URL, None, HEADERS, method="GET")) <= 0


# -- through the core (real SSE / event-stream framers) ----------------------------------------


def test_sse_body_through_core():
    body = b"".join(f"event: {it.event}\ndata: {it.data}\n\n".encode() for it in TOOL_STREAM)
    rec = through_core(URL, {"model": "m", "max_tokens": 5, "messages": [], "stream": True}, body,
                       content_type="text/event-stream; charset=utf-8", request_headers=HEADERS)
    r = rec.response
    assert (rec.provider, r.streamed, r.chunks) == ("anthropic", True, len(TOOL_STREAM))
    assert (r.text, r.reasoning, r.usage.input_tokens) == ("I'll look that up.", "Let me check the weather.", 2112)
    assert json.loads(r.tool_calls[0].arguments) == {"location": "San Francisco, CA", "unit": "celsius"}


def test_bedrock_event_stream_through_core():
    chunks = [it.json for it in TOOL_STREAM]
    body = b"".join(
        eventstream_message({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
                            json.dumps({"bytes": base64.b64encode(json.dumps(c).encode()).decode()}).encode())
        for c in chunks
    )
    body += eventstream_message({":exception-type": "throttlingException", ":message-type": "exception"},
                                b'{"message":"Too many requests, please wait before trying again."}')
    url = ("https://bedrock-runtime.us-east-1.amazonaws.com/model/"
           "anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream")
    rec = through_core(url, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []}, body,
                       content_type="application/vnd.amazon.eventstream", request_headers={"authorization": "AWS4 x"})
    r = rec.response
    assert (rec.provider, rec.request.stream, r.streamed) == ("aws.bedrock", True, True)
    assert (r.text, r.finish_reason, r.usage.output_tokens) == ("I'll look that up.", "tool_use", 89)
    assert [c.name for c in r.tool_calls] == ["get_weather"]
    assert (r.error.type, r.error.message) == ("throttlingException", "Too many requests, please wait before trying again.")
