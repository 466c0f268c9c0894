# Gemini API and Vertex AI generateContent family: request parsing (model from the URL, both
# JSON spellings), SSE and JSON-array streams, whole bodies, errors, detection. Payloads follow
# the GenerateContentRequest / GenerateContentResponse reference (candidates, parts with
# thought / functionCall, finishReason, cumulative usageMetadata, modelVersion, responseId).
from __future__ import annotations

import json

import pytest

from llmspy import providers
from llmspy.core.events import StreamItem
from llmspy.providers.gemini import PROVIDERS
from llmspy.record import ToolCall

from .core_support import through_core
from .openai_support import exchange, request, sse

P = PROVIDERS[0]
BASE = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
SSE_URL = BASE + ":streamGenerateContent?alt=sse"
KEY = {"x-goog-api-key": "AIza-test", "content-type": "application/json"}

BODY = {
    "contents": [
        {"role": "user", "parts": [{"text": "What's the weather"}, {"text": "in Paris and Lyon?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]},
    ],
    "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use tools."}]},
    "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather by city"},
                                        {"name": "get_time"}]},
              {"googleSearch": {}}],
    "generationConfig": {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 512,
                         "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
}


def chunk(parts=None, usage=None, finish=None):
    c = {"modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
    if parts is not None:
        cand = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            cand["finishReason"] = finish
        c["candidates"] = [cand]
    if usage is not None:
        c["usageMetadata"] = usage
    return c


CHUNKS = [
    chunk([{"text": "**Planning**", "thought": True}],
          {"promptTokenCount": 120, "cachedContentTokenCount": 64, "thoughtsTokenCount": 30, "totalTokenCount": 150}),
    chunk([{"text": "Checking both "}],
          {"promptTokenCount": 120, "cachedContentTokenCount": 64, "candidatesTokenCount": 5,
           "thoughtsTokenCount": 30, "totalTokenCount": 155}),
    chunk([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"},
           {"functionCall": {"name": "get_weather", "args": {"city": "Lyon"}}}],
          {"promptTokenCount": 120, "cachedContentTokenCount": 64, "candidatesTokenCount": 25,
           "thoughtsTokenCount": 30, "toolUsePromptTokenCount": 10, "totalTokenCount": 185},
          finish="STOP"),
]


def check_chunks_record(rec):
    r = rec.response
    assert (r.id, r.model) == ("resp-1", "gemini-2.5-flash")
    assert r.reasoning == "**Planning**"
    assert r.text == "Checking both "
    assert r.tool_calls == [ToolCall(None, "get_weather", '{"city":"Paris"}'),
                            ToolCall(None, "get_weather", '{"city":"Lyon"}')]
    assert r.finish_reason == "STOP"
    u = r.usage  # the last usageMetadata, not a sum
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (130, 55, 185)  # 120+10, 25+30
    assert (u.cache_read_input_tokens, u.reasoning_tokens) == (64, 30)
    assert r.error is None


# -- request -----------------------------------------------------------------------------------


def test_request_fields_model_from_url():
    rec, _ = exchange(P, request(SSE_URL, BODY, KEY), items=[])
    r = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("gcp.gemini", "generate_content", "gemini.generate_content")
    assert r.model == "gemini-2.5-flash" and r.stream is True
    assert r.system == "Be brief.\nUse tools."
    assert [m.role for m in r.messages] == ["user", "model", "user"]
    assert r.messages[0].content == "What's the weather\nin Paris and Lyon?"
    assert r.messages[1].content == BODY["contents"][1]["parts"]  # functionCall kept as JSON
    assert r.messages[2].content == BODY["contents"][2]["parts"]
    assert [(t.name, t.description) for t in r.tools] == [("get_weather", "Weather by city"), ("get_time", None),
                                                           ("googleSearch", None)]
    assert r.params == BODY["generationConfig"]


def test_request_snake_case_fields():
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "system_instruction": {"parts": [{"text": "sys"}]},
            "tools": [{"function_declarations": [{"name": "f"}]}],
            "generation_config": {"max_output_tokens": 8}}
    rec, _ = exchange(P, request(BASE + ":generateContent", body, KEY), body={})
    r = rec.request
    assert (r.system, [t.name for t in r.tools], r.params, r.stream) == ("sys", ["f"], {"max_output_tokens": 8}, False)


# -- streamed and whole ------------------------------------------------------------------------


def test_sse_stream():
    rec, deltas = exchange(P, request(SSE_URL, BODY, KEY), items=[sse(c) for c in CHUNKS])
    check_chunks_record(rec)
    assert deltas[0] == ("reasoning", "**Planning**")
    assert [t for k, t in deltas if k == "tool"] == ['{"city":"Paris"}', '{"city":"Lyon"}']


def test_json_array_stream_and_whole_array():
    url = BASE + ":streamGenerateContent"
    items = [StreamItem(data=json.dumps(c), json=c) for c in CHUNKS]  # array elements: no event name
    rec, _ = exchange(P, request(url, BODY, KEY), items=items)
    check_chunks_record(rec)
    whole, _ = exchange(P, request(url, BODY, KEY), body=CHUNKS)  # the array read whole
    check_chunks_record(whole)


def test_whole_response():
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}, {"text": " there"}]},
                        "finishReason": "MAX_TOKENS", "index": 0}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6},
        "modelVersion": "gemini-2.0-flash-001", "responseId": "abc",
    }
    rec, _ = exchange(P, request(BASE + ":generateContent", {"contents": []}, KEY), body=body)
    r = rec.response
    assert (r.text, r.finish_reason, r.model, r.id) == ("Hello there", "MAX_TOKENS", "gemini-2.0-flash-001", "abc")
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (4, 2, 6)
    assert r.usage.reasoning_tokens is None and r.usage.cache_read_input_tokens is None


def test_function_call_with_id_and_no_args():
    body = chunk([{"functionCall": {"id": "call-7", "name": "now"}}], finish="STOP")
    rec, _ = exchange(P, request(BASE + ":generateContent", {"contents": []}, KEY), body=body)
    assert rec.response.tool_calls == [ToolCall("call-7", "now", "{}")]


def test_error_after_events_as_raw_lines():
    raw = ['{', '  "error": {', '    "code": 503,',
           '    "message": "The model is overloaded. Please try again later.",', '    "status": "UNAVAILABLE"',
           '  }', '}']
    items = [sse(CHUNKS[0]), sse(CHUNKS[1])] + [StreamItem(data=line) for line in raw]
    rec, _ = exchange(P, request(SSE_URL, BODY, KEY), items=items)
    r = rec.response
    assert (r.error.type, r.error.message) == ("UNAVAILABLE", "The model is overloaded. Please try again later.")
    assert r.text == "Checking both " and r.usage.output_tokens == 35


def test_error_after_events_as_parsed_item():
    err = {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
    rec, _ = exchange(P, request(SSE_URL, BODY, KEY), items=[sse(CHUNKS[1]), StreamItem(json.dumps(err), err)])
    assert (rec.response.error.type, rec.response.text) == ("INTERNAL", "Checking both ")


@pytest.mark.parametrize("wrap", [lambda e: e, lambda e: [e]])
def test_error_body_object_or_one_element_array(wrap):
    err = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "status": "INVALID_ARGUMENT"}}
    rec, _ = exchange(P, request(BASE + ":generateContent", {"contents": []}, KEY), body=wrap(err), status=400)
    assert (rec.response.error.type, rec.response.error.message) == (
        "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")


def test_error_code_only():
    rec, _ = exchange(P, request(BASE + ":generateContent", {}, KEY), body={"error": {"code": 429, "message": "slow"}})
    assert rec.response.error.type == "429"


def test_prompt_blocked():
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}
    rec, _ = exchange(P, request(BASE + ":generateContent", {"contents": []}, KEY), body=body)
    assert (rec.response.finish_reason, rec.response.text, rec.response.usage.input_tokens) == ("SAFETY", "", 8)
    assert rec.response.usage.output_tokens is None


def test_junk_raw_lines_are_bounded_and_ignored():
    items = [StreamItem(data="{")] + [StreamItem(data="x" * 1000) for _ in range(100)] + [sse(CHUNKS[1])]
    rec, _ = exchange(P, request(SSE_URL, BODY, KEY), items=items)
    assert rec.response.error is None and rec.response.text == "Checking both "


# -- other methods, Vertex, framing -------------------------------------------------------------


def test_vertex_generate_content():
    url = ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/"
           "publishers/google/models/gemini-2.0-flash-001:generateContent")
    r = request(url, BODY, {"authorization": "Bearer ya29.x"})
    assert isinstance(providers.classify(r), type(P)) and P.match(r) == 1.0
    rec, _ = exchange(P, r, body=CHUNKS[2])
    assert (rec.provider, rec.request.model, rec.request.stream) == ("gcp.vertex_ai", "gemini-2.0-flash-001", False)
    assert len(rec.response.tool_calls) == 2


def test_count_tokens_and_embeddings():
    rec, _ = exchange(P, request(BASE + ":countTokens", {"contents": [{"parts": [{"text": "hi"}]}]}, KEY),
                      body={"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]})
    assert (rec.operation, rec.api, rec.response.usage.input_tokens) == ("count_tokens", "gemini.count_tokens", 31)
    url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:embedContent"
    rec, _ = exchange(P, request(url, {"content": {"parts": [{"text": "hello"}]}, "taskType": "RETRIEVAL_QUERY"}, KEY),
                      body={"embedding": {"values": [0.1, 0.2]}})
    assert (rec.operation, rec.request.model) == ("embeddings", "gemini-embedding-001")
    assert rec.request.messages[0].content == "hello" and rec.request.params == {"taskType": "RETRIEVAL_QUERY"}
    url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    body = {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}} for t in "ab"]}
    rec, _ = exchange(P, request(url, body, KEY), body={"embeddings": [{"values": [1.0]}, {"values": [2.0]}]})
    assert [m.content for m in rec.request.messages] == ["a", "b"] and rec.response.error is None


def test_framing():
    assert P.framing(request(SSE_URL, BODY, KEY), "text/event-stream") == "sse"
    assert P.framing(request(SSE_URL, BODY, KEY), None) == "sse"
    assert P.framing(request(SSE_URL, BODY, KEY), "application/json; charset=UTF-8") is None  # error answer
    assert P.framing(request(BASE + ":streamGenerateContent", BODY, KEY), "application/json; charset=UTF-8") == "json-array"
    assert P.framing(request(BASE + ":generateContent", BODY, KEY), "application/json") is None


# -- detection ---------------------------------------------------------------------------------


def test_match_own_requests():
    assert P.match(request(SSE_URL, BODY, KEY)) == 1.0
    proxy = request("https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio/v1beta/models/gemini-2.5-flash"
                    ":generateContent", BODY, KEY)
    assert P.match(proxy) == 0.7 and isinstance(providers.classify(proxy), type(P))
    unknown = request("https://generativelanguage.googleapis.com/", BODY, {})
    unknown.path = ""  # headers unknown: the body shape decides
    assert P.match(unknown) == 0.9


@pytest.mark.parametrize("url,body,headers", [
    ("https://api.openai.com/v1/chat/completions", {"model": "gpt-4o", "messages": []}, {"authorization": "Bearer k"}),
    ("https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
     {"model": "gemini-2.5-flash", "messages": []}, {"authorization": "Bearer k"}),
    ("https://api.anthropic.com/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 1, "messages": []},
     {"x-api-key": "k", "anthropic-version": "2023-06-01"}),
    ("https://api.cohere.com/v2/chat", {"model": "command-a-03-2025", "messages": []}, {"authorization": "Bearer k"}),
    ("http://localhost:11434/api/generate", {"model": "llama3.2", "prompt": "hi"}, {}),
    ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash", None, KEY),
])
def test_not_gemini(url, body, headers):
    assert P.match(request(url, body, headers)) <= 0


# -- through the core (real SSE / JSON-array framers) ------------------------------------------


def test_json_array_body_through_core():
    body = ("[" + "\n,\r\n".join(json.dumps(c, indent=2) for c in CHUNKS) + "]").encode()
    rec = through_core(BASE + ":streamGenerateContent", BODY, body, content_type="application/json; charset=UTF-8",
                       request_headers=KEY)
    assert (rec.response.streamed, rec.response.chunks) == (True, 3)
    check_chunks_record(rec)


def test_sse_body_through_core():
    body = b"".join(f"data: {json.dumps(c)}\r\n\r\n".encode() for c in CHUNKS)
    rec = through_core(SSE_URL, BODY, body, content_type="text/event-stream", request_headers=KEY)
    assert rec.response.chunks == 3
    check_chunks_record(rec)
