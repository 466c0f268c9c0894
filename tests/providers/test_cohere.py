# Cohere Chat v2 (SSE events), Chat v1 (NDJSON event_type objects), Embed, errors, framing and
# detection. Payloads follow Cohere's API reference ("Chat", "Chat with Streaming", "Streaming
# for tool use", the v1 "Chat" pages) and cohere-python's stream response types.
from __future__ import annotations

import json

import pytest

from llmspy import providers
from llmspy.core.events import StreamItem
from llmspy.providers.cohere import PROVIDERS
from llmspy.record import ToolCall

from .core_support import through_core
from .openai_support import exchange, request, sse

P = PROVIDERS[0]
V2 = "https://api.cohere.com/v2/chat"
V1 = "https://api.cohere.ai/v1/chat"
AUTH = {"authorization": "Bearer co-test", "content-type": "application/json"}


def events(*objs):
    """v2 SSE items: the event name repeats the JSON ``type``."""
    return [sse(o, o["type"]) for o in objs]


def lines(*objs):
    """v1 NDJSON items: no event name."""
    return [StreamItem(data=json.dumps(o), json=o) for o in objs]


def call_start(i, id, name):
    return {"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": {
        "id": id, "type": "function", "function": {"name": name, "arguments": ""}}}}}


def call_delta(i, args):
    return {"type": "tool-call-delta", "index": i, "delta": {"message": {"tool_calls": {"function": {"arguments": args}}}}}


def plan(text):
    return {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": text}}}


def content(kind, i, **c):
    return {"type": kind, "index": i, "delta": {"message": {"content": c}}}


USAGE = {"billed_units": {"input_tokens": 37, "output_tokens": 28}, "tokens": {"input_tokens": 1048, "output_tokens": 82},
         "cached_tokens": 16}
PIECES = ['{"', "location", '":"', "Toronto", '"}']

TOOL_STREAM = events(
    {"type": "message-start", "id": "a1b2c3", "delta": {"message": {"role": "assistant", "content": [],
                                                                   "tool_plan": "", "tool_calls": []}}},
    plan("I will look up"), plan(" the weather."),
    call_start(0, "get_weather_1byjy32y4hvq", "get_weather"),
    *[call_delta(0, p) for p in PIECES],
    {"type": "tool-call-end", "index": 0},
    call_start(1, "get_weather_2", "get_weather"),
    call_delta(1, '{"location":"Paris"}'),
    {"type": "tool-call-end", "index": 1},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": USAGE}},
)


# -- v2 ----------------------------------------------------------------------------------------


def test_v2_request():
    body = {"model": "command-a-03-2025", "stream": True, "temperature": 0.3, "p": 0.75, "max_tokens": 200,
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": [{"type": "text", "text": "Weather"}, {"type": "text", "text": "in Toronto?"}]}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                                         "parameters": {"type": "object"}}}]}
    rec, _ = exchange(P, request(V2, body, AUTH), items=[])
    r = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("cohere", "chat", "cohere.chat.v2")
    assert (r.model, r.stream, r.system) == ("command-a-03-2025", True, "Be brief.")
    assert [(m.role, m.content) for m in r.messages] == [("system", "Be brief."), ("user", "Weather\nin Toronto?")]
    assert [(t.name, t.description) for t in r.tools] == [("get_weather", "Weather by city")]
    assert r.params == {"temperature": 0.3, "p": 0.75, "max_tokens": 200}


def test_v2_tool_call_stream():
    rec, deltas = exchange(P, request(V2, {"model": "command-a-03-2025", "messages": [], "stream": True}, AUTH),
                           items=TOOL_STREAM)
    r = rec.response
    assert r.id == "a1b2c3"
    assert r.reasoning == "I will look up the weather."  # the tool plan
    assert r.tool_calls == [ToolCall("get_weather_1byjy32y4hvq", "get_weather", '{"location":"Toronto"}'),
                            ToolCall("get_weather_2", "get_weather", '{"location":"Paris"}')]
    assert r.finish_reason == "TOOL_CALL" and r.error is None
    u = r.usage  # billed units preferred
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_read_input_tokens) == (37, 28, 65, 16)
    assert [t for k, t in deltas if k == "tool"] == PIECES + ['{"location":"Paris"}']


def test_v2_text_stream_with_thinking_and_tokens_only_usage():
    items = events(
        {"type": "message-start", "id": "m-2", "delta": {"message": {"role": "assistant"}}},
        content("content-start", 0, type="thinking", thinking=""),
        content("content-delta", 0, thinking="The user greets."),
        {"type": "content-end", "index": 0},
        content("content-start", 1, type="text", text=""),
        content("content-delta", 1, text="Hello"),
        content("content-delta", 1, text=" there!"),
        {"type": "content-end", "index": 1},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE",
                                          "usage": {"tokens": {"input_tokens": 200, "output_tokens": 9}}}},
    )
    rec, deltas = exchange(P, request(V2, {"model": "command-a-reasoning-08-2025", "messages": []}, AUTH), items=items)
    r = rec.response
    assert (r.text, r.reasoning, r.finish_reason) == ("Hello there!", "The user greets.", "COMPLETE")
    assert (r.usage.input_tokens, r.usage.output_tokens) == (200, 9)
    assert deltas == [("reasoning", "The user greets."), ("text", "Hello"), ("text", " there!")]


def test_v2_message_end_error():
    items = events(content("content-delta", 0, text="Par"),
                   {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "internal server error"}})
    rec, _ = exchange(P, request(V2, {"model": "command-r", "messages": []}, AUTH), items=items)
    assert (rec.response.error.type, rec.response.error.message, rec.response.text) == ("ERROR", "internal server error", "Par")


def test_v2_whole_response():
    body = {"id": "c14c80c3", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "tool_plan": "I will check the weather.",
                        "content": [{"type": "thinking", "thinking": "Hmm."}, {"type": "text", "text": "One moment."}],
                        "tool_calls": [{"id": "get_weather_1", "type": "function",
                                        "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}}]},
            "usage": USAGE}
    rec, _ = exchange(P, request(V2, {"model": "command-a-03-2025", "messages": []}, AUTH), body=body)
    r = rec.response
    assert (r.id, r.text, r.reasoning, r.finish_reason) == ("c14c80c3", "One moment.", "Hmm.I will check the weather.", "TOOL_CALL")
    assert r.tool_calls == [ToolCall("get_weather_1", "get_weather", '{"location":"Toronto"}')]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (37, 28)


def test_error_body():
    rec, _ = exchange(P, request(V2, {"model": "command-r", "messages": []}, AUTH),
                      body={"id": "e-1", "message": "invalid api token"}, status=401)
    assert rec.response.error.message == "invalid api token" and rec.response.id is None


# -- v1 ----------------------------------------------------------------------------------------

V1_META = {"api_version": {"version": "1"}, "billed_units": {"input_tokens": 10, "output_tokens": 2},
           "tokens": {"input_tokens": 75, "output_tokens": 2}}


def test_v1_request_and_ndjson_text_stream():
    body = {"model": "command-r-plus", "message": "Say hello", "preamble": "You are kind.", "stream": True,
            "chat_history": [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello!"}],
            "temperature": 0.1}
    items = lines(
        {"is_finished": False, "event_type": "stream-start", "generation_id": "gen-1"},
        {"is_finished": False, "event_type": "text-generation", "text": "Hello"},
        {"is_finished": False, "event_type": "text-generation", "text": " world"},
        {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
         "response": {"response_id": "r-1", "text": "Hello world", "generation_id": "gen-1",
                      "finish_reason": "COMPLETE", "meta": V1_META}},
    )
    rec, deltas = exchange(P, request(V1, body, AUTH), items=items)
    q, r = rec.request, rec.response
    assert (rec.api, q.model, q.stream, q.system) == ("cohere.chat.v1", "command-r-plus", True, "You are kind.")
    assert [(m.role, m.content) for m in q.messages] == [("USER", "Hi"), ("CHATBOT", "Hello!"), ("USER", "Say hello")]
    assert q.params == {"temperature": 0.1}
    assert (r.id, r.text, r.finish_reason) == ("gen-1", "Hello world", "COMPLETE")  # not doubled by stream-end
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (10, 2, 12)
    assert deltas == [("text", "Hello"), ("text", " world")]


def test_v1_tool_call_chunks_then_whole_calls():
    whole = [{"name": "query_daily_sales_report", "parameters": {"day": "2023-09-29"}}]
    items = lines(
        {"event_type": "stream-start", "generation_id": "gen-2"},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"text": "I will look up"}, "text": "I will look up"},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"text": " the sales."}, "text": " the sales."},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "name": "query_daily_sales_report"}},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "parameters": "{\"day\":"}},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "parameters": "\"2023-09-29\"}"}},
        {"event_type": "tool-calls-generation", "text": "I will look up the sales.", "tool_calls": whole},
        {"event_type": "stream-end", "finish_reason": "COMPLETE",
         "response": {"text": "I will look up the sales.", "generation_id": "gen-2", "tool_calls": whole,
                      "finish_reason": "COMPLETE", "meta": V1_META}},
    )
    rec, _ = exchange(P, request(V1, {"model": "command-r", "message": "sales?", "stream": True}, AUTH), items=items)
    r = rec.response
    assert r.tool_calls == [ToolCall(None, "query_daily_sales_report", '{"day":"2023-09-29"}')]
    assert r.reasoning == "I will look up the sales."  # once
    assert r.text == ""  # stream-end's text repeats the tool plan: not recorded twice


def test_v1_whole_calls_without_chunks_and_whole_body():
    whole = [{"name": "a", "parameters": {"x": 1}}, {"name": "b", "parameters": {}}]
    items = lines({"event_type": "tool-calls-generation", "tool_calls": whole},
                  {"event_type": "stream-end", "finish_reason": "COMPLETE", "response": {"tool_calls": whole}})
    rec, _ = exchange(P, request(V1, {"model": "command-r", "message": "go", "stream": True}, AUTH), items=items)
    assert rec.response.tool_calls == [ToolCall(None, "a", '{"x":1}'), ToolCall(None, "b", "{}")]
    body = {"text": "Hi!", "generation_id": "gen-3", "finish_reason": "MAX_TOKENS", "tool_calls": whole[:1], "meta": V1_META}
    rec, _ = exchange(P, request(V1, {"model": "command-r", "message": "go"}, AUTH), body=body)
    r = rec.response
    assert (r.id, r.text, r.finish_reason, r.usage.input_tokens) == ("gen-3", "Hi!", "MAX_TOKENS", 10)
    assert r.tool_calls == [ToolCall(None, "a", '{"x":1}')]


def test_v1_stream_end_error_finish_reason():
    items = lines({"event_type": "text-generation", "text": "x"},
                  {"event_type": "stream-end", "finish_reason": "ERROR_TOXIC", "response": {"text": "x"}})
    rec, _ = exchange(P, request(V1, {"model": "command-r", "message": "go", "stream": True}, AUTH), items=items)
    assert (rec.response.finish_reason, rec.response.error.type, rec.response.text) == ("ERROR_TOXIC", "ERROR_TOXIC", "x")


def test_framing():
    v1 = request(V1, {"model": "command-r", "message": "go", "stream": True}, AUTH)
    assert P.framing(v1, "application/stream+json") == "ndjson"
    assert P.framing(v1, "application/json") == "ndjson"  # whatever the content type says
    assert P.framing(v1, "text/event-stream") == "sse"
    assert P.framing(request(V1, {"model": "command-r", "message": "go"}, AUTH), "application/json") is None
    assert P.framing(request(V2, {"model": "command-r", "messages": [], "stream": True}, AUTH), "text/event-stream") == "sse"
    assert P.framing(request(V2, {"model": "command-r", "messages": []}, AUTH), "application/json") is None


# -- embed -------------------------------------------------------------------------------------


def test_embed_v2_and_v1():
    body = {"model": "embed-v4.0", "texts": ["hello", "world"], "input_type": "search_document",
            "embedding_types": ["float"]}
    resp = {"id": "emb-1", "embeddings": {"float": [[0.1], [0.2]]}, "texts": ["hello", "world"],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3}}}
    rec, _ = exchange(P, request("https://api.cohere.com/v2/embed", body, AUTH), body=resp)
    assert (rec.operation, rec.api, rec.request.model) == ("embeddings", "cohere.embed.v2", "embed-v4.0")
    assert [m.content for m in rec.request.messages] == ["hello", "world"]
    assert rec.request.params == {"input_type": "search_document", "embedding_types": ["float"]}
    assert (rec.response.id, rec.response.usage.input_tokens, rec.response.usage.output_tokens) == ("emb-1", 3, None)
    rec, _ = exchange(P, request("https://api.cohere.ai/v1/embed", {"model": "embed-english-v3.0", "texts": ["a"]}, AUTH),
                      body={"id": "emb-2", "embeddings": [[0.5]], "texts": ["a"], "meta": {"billed_units": {"input_tokens": 1}}})
    assert (rec.api, rec.response.id, rec.response.usage.input_tokens) == ("cohere.embed.v1", "emb-2", 1)


# -- detection ---------------------------------------------------------------------------------


def test_match_own_requests():
    assert P.match(request(V2, {"model": "command-a-03-2025", "messages": []}, AUTH)) == 1.0
    assert P.match(request(V1, {"message": "hi"}, AUTH)) == 1.0
    other = request("https://cohere.example.com/v2/chat", {"model": "command-r-plus", "messages": []}, AUTH)
    assert P.match(other) == 0.6 and isinstance(providers.classify(other), type(P))
    unknown = request("https://proxy.example/", {"message": "hi", "chat_history": []}, {})
    unknown.path = ""
    assert P.match(unknown) == 0.4


@pytest.mark.parametrize("url,body,headers", [
    ("https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "messages": []}, {"authorization": "Bearer k"}),
    ("https://api.cohere.ai/compatibility/v1/chat/completions", {"model": "command-a-03-2025", "messages": []},
     {"authorization": "Bearer k"}),
    ("https://api.anthropic.com/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 1, "messages": []},
     {"x-api-key": "k", "anthropic-version": "2023-06-01"}),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
     {"contents": [{"parts": [{"text": "hi"}]}]}, {"x-goog-api-key": "k"}),
    ("http://localhost:11434/api/chat", {"model": "llama3.2", "messages": []}, {}),
    ("https://example.com/v2/chat", {"model": "gpt-4o", "messages": []}, {"authorization": "Bearer k"}),
])
def test_not_cohere(url, body, headers):
    assert P.match(request(url, body, headers)) <= 0


# -- through the core (real NDJSON / SSE framers) ----------------------------------------------


def test_v1_ndjson_body_through_core():
    objs = [{"is_finished": False, "event_type": "stream-start", "generation_id": "gen-1"},
            {"is_finished": False, "event_type": "text-generation", "text": "Hello"},
            {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
             "response": {"text": "Hello", "generation_id": "gen-1", "meta": V1_META}}]
    body = "".join(json.dumps(o) + "\n" for o in objs).encode()
    rec = through_core(V1, {"model": "command-r", "message": "hi", "stream": True}, body,
                       content_type="application/stream+json", request_headers=AUTH)
    r = rec.response
    assert (r.streamed, r.chunks, r.text, r.id, r.usage.input_tokens) == (True, 3, "Hello", "gen-1", 10)


def test_v2_sse_body_through_core():
    body = b"".join(f"event: {it.event}\ndata: {it.data}\n\n".encode() for it in TOOL_STREAM)
    rec = through_core(V2, {"model": "command-a-03-2025", "messages": [], "stream": True}, body,
                       content_type="text/event-stream", request_headers=AUTH)
    assert [c.arguments for c in rec.response.tool_calls] == ['{"location":"Toronto"}', '{"location":"Paris"}']
    assert rec.response.usage.output_tokens == 28
