# Ollama native API: chat / generate / embed requests, NDJSON streams (the default), whole
# bodies, errors, framing and detection. Payloads follow Ollama's docs/api.md (message.content,
# message.thinking, message.tool_calls with an arguments OBJECT, done / done_reason,
# prompt_eval_count / eval_count) and its tool-streaming announcement.
from __future__ import annotations

import json

import pytest

from llmspy import providers
from llmspy.core.events import StreamItem
from llmspy.providers.ollama import PROVIDERS
from llmspy.record import ToolCall

from .core_support import through_core
from .openai_support import exchange, request

P = PROVIDERS[0]
CHAT = "http://localhost:11434/api/chat"
GENERATE = "http://localhost:11434/api/generate"
JSON = {"content-type": "application/json"}
TS = "2025-05-27T22:54:57.641643Z"


def lines(*objs):
    return [StreamItem(data=json.dumps(o), json=o) for o in objs]


def msg(**m):
    return {"model": "qwen3", "created_at": TS, "message": {"role": "assistant", "content": "", **m}, "done": False}


FINAL = {"model": "qwen3", "created_at": TS, "message": {"role": "assistant", "content": ""}, "done": True,
         "done_reason": "stop", "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": 21,
         "prompt_eval_duration": 365000000, "eval_count": 42, "eval_duration": 4000000000}

CHAT_BODY = {
    "model": "qwen3",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Toronto and Paris?"}],
    "tools": [{"type": "function", "function": {"name": "get_current_weather", "description": "Weather for a location",
                                                "parameters": {"type": "object"}}}],
    "think": True,
    "options": {"temperature": 0.2, "num_ctx": 8192, "num_predict": 256},
}


def test_chat_request_stream_defaults_to_true():
    rec, _ = exchange(P, request(CHAT, CHAT_BODY, JSON), items=[])
    r = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("ollama", "chat", "ollama.chat")
    assert (r.model, r.stream, r.system) == ("qwen3", True, "Be brief.")
    assert [(m.role, m.content) for m in r.messages] == [("system", "Be brief."), ("user", "Weather in Toronto and Paris?")]
    assert [(t.name, t.description) for t in r.tools] == [("get_current_weather", "Weather for a location")]
    assert r.params == {"temperature": 0.2, "num_ctx": 8192, "num_predict": 256, "think": True}


def test_chat_stream_with_thinking_and_tool_calls():
    items = lines(
        msg(thinking="User wants"),
        msg(thinking=" the weather."),
        msg(tool_calls=[{"function": {"name": "get_current_weather", "arguments": {"location": "Toronto", "format": "celsius"}}},
                        {"function": {"name": "get_current_weather", "arguments": {"location": "Paris", "format": "celsius"}}}]),
        msg(tool_calls=[{"id": "call_x1", "function": {"index": 2, "name": "get_time", "arguments": {}}}]),
        msg(content="Checking"),
        msg(content=" now."),
        FINAL,
    )
    rec, deltas = exchange(P, request(CHAT, CHAT_BODY, JSON), items=items)
    r = rec.response
    assert r.model == "qwen3" and r.id is None
    assert (r.reasoning, r.text) == ("User wants the weather.", "Checking now.")
    assert r.tool_calls == [ToolCall(None, "get_current_weather", '{"location":"Toronto","format":"celsius"}'),
                            ToolCall(None, "get_current_weather", '{"location":"Paris","format":"celsius"}'),
                            ToolCall("call_x1", "get_time", "{}")]
    assert r.finish_reason == "stop"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (21, 42, 63)
    assert deltas[:2] == [("reasoning", "User wants"), ("reasoning", " the weather.")]


def test_chat_whole_response():
    body = {"model": "llama3.2", "created_at": TS, "done": True, "done_reason": "length", "prompt_eval_count": 5,
            "eval_count": 3, "message": {"role": "assistant", "content": "Hello there", "thinking": "hm",
                                         "tool_calls": [{"function": {"name": "f", "arguments": {"a": [1, 2]}}}]}}
    rec, _ = exchange(P, request(CHAT, {"model": "llama3.2", "messages": [], "stream": False}, JSON), body=body)
    r = rec.response
    assert rec.request.stream is False
    assert (r.text, r.reasoning, r.finish_reason, r.model) == ("Hello there", "hm", "length", "llama3.2")
    assert r.tool_calls == [ToolCall(None, "f", '{"a":[1,2]}')]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (5, 3)


def test_generate_stream():
    body = {"model": "deepseek-r1", "prompt": "Why is the sky blue?", "system": "Answer simply.", "think": True,
            "format": "json", "options": {"seed": 7}}
    base = {"model": "deepseek-r1", "created_at": TS, "done": False}
    items = lines({**base, "response": "", "thinking": "Rayleigh"}, {**base, "response": "Because"},
                  {**base, "response": " of scattering."},
                  {**base, "response": "", "done": True, "done_reason": "length", "context": [1, 2, 3],
                   "prompt_eval_count": 26, "eval_count": 290})
    rec, _ = exchange(P, request(GENERATE, body, JSON), items=items)
    q, r = rec.request, rec.response
    assert (rec.operation, rec.api, q.stream, q.system) == ("text_completion", "ollama.generate", True, "Answer simply.")
    assert [(m.role, m.content) for m in q.messages] == [("user", "Why is the sky blue?")]
    assert q.params == {"seed": 7, "think": True, "format": "json"}
    assert (r.text, r.reasoning, r.finish_reason) == ("Because of scattering.", "Rayleigh", "length")
    assert (r.usage.input_tokens, r.usage.output_tokens) == (26, 290)


def test_error_line_mid_stream_and_error_body():
    items = lines(msg(content="Once"), {"error": "an error was encountered while running the model: unexpected EOF"})
    rec, _ = exchange(P, request(CHAT, CHAT_BODY, JSON), items=items)
    assert rec.response.text == "Once"
    assert rec.response.error.message == "an error was encountered while running the model: unexpected EOF"
    rec, _ = exchange(P, request(CHAT, CHAT_BODY, JSON), body={"error": "model 'qwen9' not found"}, status=404)
    assert (rec.response.error.type, rec.response.error.message) == (None, "model 'qwen9' not found")


def test_embed_and_embeddings():
    rec, _ = exchange(P, request("http://localhost:11434/api/embed", {"model": "all-minilm", "input": ["a", "b"]}, JSON),
                      body={"model": "all-minilm", "embeddings": [[0.1], [0.2]], "total_duration": 14143917,
                            "load_duration": 1019500, "prompt_eval_count": 8})
    assert (rec.operation, rec.api, rec.request.stream) == ("embeddings", "ollama.embed", False)
    assert [m.content for m in rec.request.messages] == ["a", "b"]
    assert (rec.response.usage.input_tokens, rec.response.usage.output_tokens, rec.response.model) == (8, None, "all-minilm")
    rec, _ = exchange(P, request("http://localhost:11434/api/embeddings", {"model": "all-minilm", "prompt": "hi"}, JSON),
                      body={"embedding": [0.5]})
    assert (rec.api, rec.request.messages[0].content, rec.response.error) == ("ollama.embeddings", "hi", None)


def test_framing():
    streamed = request(CHAT, CHAT_BODY, JSON)
    assert P.framing(streamed, "application/x-ndjson") == "ndjson"
    assert P.framing(streamed, "application/json; charset=utf-8") == "ndjson"  # stream is the default
    assert P.framing(streamed, None) == "ndjson"
    whole = request(CHAT, {**CHAT_BODY, "stream": False}, JSON)
    assert P.framing(whole, "application/json; charset=utf-8") is None
    assert P.framing(request("http://localhost:11434/api/embed", {"model": "m", "input": "x"}, JSON), "application/json") is None


def test_junk_lines():
    items = [StreamItem(data="garbage"), StreamItem(data="[1]", json=[1]), *lines({"message": "no", "done": "yes"}),
             *lines({"message": {"tool_calls": "x"}, "prompt_eval_count": 1.5})]
    rec, _ = exchange(P, request(CHAT, CHAT_BODY, JSON), items=items)
    assert (rec.response.text, rec.response.tool_calls, rec.response.usage.input_tokens) == ("", [], None)


# -- detection ---------------------------------------------------------------------------------


def test_match_own_requests():
    assert P.match(request(CHAT, CHAT_BODY, JSON)) == 1.0
    assert P.match(request("https://ollama.com/api/chat", CHAT_BODY, {"authorization": "Bearer k"})) == 1.0
    lan = request("http://gpu-box.lan:8080/ollama/api/chat", CHAT_BODY, JSON)  # Open WebUI style prefix
    assert P.match(lan) == 0.6 and isinstance(providers.classify(lan), type(P))
    assert P.match(request("http://gpu-box.lan/api/generate", {"model": "m", "prompt": "p"}, JSON)) == 0.6
    unknown = request("http://localhost:11434/", CHAT_BODY, {})
    unknown.path = ""
    assert P.match(unknown) == 0.3


@pytest.mark.parametrize("url,body,headers", [
    ("http://localhost:11434/v1/chat/completions", {"model": "qwen3", "messages": []}, {}),  # OpenAI-compatible
    ("https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "messages": []}, {"authorization": "Bearer k"}),
    ("https://api.anthropic.com/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 1, "messages": []},
     {"x-api-key": "k", "anthropic-version": "2023-06-01"}),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
     {"contents": [{"parts": [{"text": "hi"}]}]}, {"x-goog-api-key": "k"}),
    ("https://api.cohere.com/v2/chat", {"model": "command-a-03-2025", "messages": []}, {"authorization": "Bearer k"}),
    ("https://example.com/api/chat", {"question": "hi"}, {}),
])
def test_not_ollama(url, body, headers):
    assert P.match(request(url, body, headers)) <= 0


def test_openai_compatible_path_goes_elsewhere():
    chosen = providers.classify(request("http://localhost:11434/v1/chat/completions", {"model": "qwen3", "messages": []}, {}))
    assert chosen is not None and not isinstance(chosen, type(P))


# -- through the core (real NDJSON framer) -----------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/json; charset=utf-8"])
def test_default_stream_through_core(content_type):
    objs = [msg(thinking="Hmm."), msg(content="Hi"), msg(content=" there"), FINAL]
    body = "".join(json.dumps(o) + "\n" for o in objs).encode()
    rec = through_core(CHAT, {"model": "qwen3", "messages": [{"role": "user", "content": "hi"}]}, body,
                       content_type=content_type)
    r = rec.response
    assert (rec.provider, rec.request.stream, r.streamed, r.chunks) == ("ollama", True, True, 4)
    assert (r.text, r.reasoning, r.usage.input_tokens, r.usage.output_tokens) == ("Hi there", "Hmm.", 21, 42)
    assert rec.complete is True
