# Hand-written exchanges, one per provider wire format, each paired with the record fields it
# must give. Payloads are written from each provider's API reference (OpenAI Chat Completions
# and chat.completion.chunk, OpenAI Responses streaming events, Azure OpenAI content-filter
# annotations, Anthropic Messages streaming, Gemini GenerateContentResponse over SSE and as a
# JSON array, Cohere Chat v2 stream events, Ollama api.md, DeepSeek reasoning_content and SSE
# keep-alive comments). Expected values are read off the payloads written here, following the
# record rules of DESIGN.md (usage: input includes cached tokens; Anthropic message_delta and
# Gemini usageMetadata are cumulative: the last value wins, nothing is added).
#
# ``expect`` maps dotted paths of record.to_dict() to values. Tool calls are compared as
# [{"name", "arguments"}]; arguments given as a dict are compared as parsed JSON (providers that
# send whole argument objects), as a str byte for byte (merged stream fragments). A callable
# value is a predicate on the field (used where only some properties are fixed, e.g. redaction).
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .builders import (
    AZURE_KEY_SECRET,
    BEARER_SECRET,
    COOKIE_SECRET,
    GOOG_HEADER_SECRET,
    GOOG_URL_SECRET,
    X_API_KEY_SECRET,
    Request,
    Response,
    sse,
)

__all__ = ["Case", "CASES", "CASES_BY_NAME", "check", "UNICODE"]

UNICODE = "héllo 世界 🙂"  # 2-, 3- and 4-byte UTF-8 sequences
CREATED = 1764460800
SSE_CT = ("Content-Type", "text/event-stream; charset=utf-8")
JSON_CT = ("Content-Type", "application/json")
UA = ("User-Agent", "llmspy-tests/1.0")


@dataclass
class Case:
    name: str
    request: Request
    response: Response
    expect: dict = field(default_factory=dict)
    llm: bool = True  # shown in --llm-only mode
    smart: bool = True  # shown in the default (smart) mode

    @property
    def server(self) -> str:
        return self.request.host.split(":")[0]

    @property
    def exchange(self) -> tuple[Request, Response]:
        return (self.request, self.response)


def _get(d, path: str):
    for key in path.split("."):
        d = d[int(key)] if isinstance(d, list) else d[key]
    return d


def check(record_dict: dict, expect: dict) -> list[str]:
    """Mismatches of ``record_dict`` against ``expect`` ("path: want X, got Y"), empty if none."""
    problems = []
    for path, want in expect.items():
        try:
            got = _get(record_dict, path)
        except (KeyError, IndexError, TypeError) as e:
            problems.append(f"{path}: missing ({e!r})")
            continue
        if path == "response.tool_calls":
            got = [{"name": c.get("name"), "arguments": c.get("arguments")} for c in got]
            got = [
                {**g, "arguments": _loads(g["arguments"])} if isinstance(w.get("arguments"), dict) else g
                for g, w in zip(got, want)
            ] + got[len(want):]
        if callable(want):
            if not want(got):
                problems.append(f"{path}: unexpected {got!r}")
        elif got != want:
            problems.append(f"{path}: want {want!r}, got {got!r}")
    return problems


def _loads(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _chunk(id_, model, delta=None, finish=None, usage="omit", choices=None):
    c = {"id": id_, "object": "chat.completion.chunk", "created": CREATED, "model": model, "system_fingerprint": "fp_7a1b2c3d4e"}
    c["choices"] = choices if choices is not None else [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}]
    if usage != "omit":
        c["usage"] = usage
    return c


def _usage(expect_prefix: str = "response.usage.", **fields):
    return {expect_prefix + k: v for k, v in fields.items()}


# ---------------------------------------------------------------------------------------------
# OpenAI Chat Completions, streamed, with two tool calls and stream_options.include_usage
M = "gpt-4o-mini-2024-07-18"
_oa_stream = [
    _chunk("chatcmpl-B7x", M, {"role": "assistant", "content": "", "refusal": None}, usage=None),
    _chunk("chatcmpl-B7x", M, {"content": "Checking "}, usage=None),
    _chunk("chatcmpl-B7x", M, {"content": UNICODE}, usage=None),
    _chunk("chatcmpl-B7x", M, {"tool_calls": [{"index": 0, "id": "call_W1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}, usage=None),
    _chunk("chatcmpl-B7x", M, {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}, usage=None),
    _chunk("chatcmpl-B7x", M, {"tool_calls": [{"index": 0, "function": {"arguments": " \"Paris\"}"}}]}, usage=None),
    _chunk("chatcmpl-B7x", M, {"tool_calls": [{"index": 1, "id": "call_T2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"CET\"}"}}]}, usage=None),
    _chunk("chatcmpl-B7x", M, {}, "tool_calls", usage=None),
    _chunk("chatcmpl-B7x", M, choices=[], usage={
        "prompt_tokens": 82, "completion_tokens": 37, "total_tokens": 119,
        "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }),
    "[DONE]",
]
OPENAI_STREAM = Case(
    "openai_chat_stream",
    Request.json("api.openai.com", "/v1/chat/completions", {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris? " + UNICODE}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "get_time", "description": "Local time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}},
        ],
    }, [("Authorization", f"Bearer {BEARER_SECRET}"), ("Accept", "application/json"), UA]),
    Response(200, [SSE_CT, ("openai-processing-ms", "212"), ("x-request-id", "req_1")], sse(*_oa_stream)),
    {
        "kind": "llm", "provider": "openai", "operation": "chat", "api": "openai.chat_completions",
        "request.method": "POST", "request.url": "https://api.openai.com/v1/chat/completions",
        "request.model": "gpt-4o-mini", "request.stream": True, "request.system": "Be brief.",
        "request.headers.authorization": "Bearer [REDACTED]",
        "response.status": 200, "response.id": "chatcmpl-B7x", "response.model": M,
        "response.text": "Checking " + UNICODE, "response.reasoning": "",
        "response.tool_calls": [
            {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"},
            {"name": "get_time", "arguments": "{\"tz\": \"CET\"}"},
        ],
        "response.finish_reason": "tool_calls", "response.streamed": True, "response.chunks": 10,
        **_usage(input_tokens=82, output_tokens=37, total_tokens=119, cache_read_input_tokens=64, reasoning_tokens=0),
        "complete": True,
    },
)

# OpenAI Chat Completions, whole JSON body (used with every content-encoding)
_oa_whole = {
    "id": "chatcmpl-C9y", "object": "chat.completion", "created": CREATED, "model": M,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour! " + UNICODE, "refusal": None, "annotations": []}, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
    "service_tier": "default", "system_fingerprint": "fp_7a1b2c3d4e",
}
_oa_whole_bytes = json.dumps(_oa_whole, ensure_ascii=False, indent=2).encode()


def openai_whole(encoding: str | None = None, framing: str = "length") -> Case:
    return Case(
        f"openai_chat_json_{encoding or 'identity'}_{framing}",
        Request.json("api.openai.com", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in French"}], "max_tokens": 50},
                     [("Authorization", f"Bearer {BEARER_SECRET}"), ("Accept-Encoding", "gzip, deflate, br, zstd"), UA]),
        Response(200, [JSON_CT], [_oa_whole_bytes[:100], _oa_whole_bytes[100:]], framing=framing, encoding=encoding),
        {
            "kind": "llm", "provider": "openai", "api": "openai.chat_completions", "request.model": "gpt-4o-mini",
            "request.stream": False, "request.params.max_tokens": 50,
            "response.status": 200, "response.model": M, "response.id": "chatcmpl-C9y",
            "response.text": "Bonjour! " + UNICODE, "response.tool_calls": [], "response.finish_reason": "stop",
            "response.streamed": False, "response.body.id": "chatcmpl-C9y",
            **_usage(input_tokens=19, output_tokens=10, total_tokens=29, cache_read_input_tokens=0),
            "complete": True,
        },
    )


# ---------------------------------------------------------------------------------------------
# OpenAI Responses API stream: reasoning summary, output text, a function call
RM = "gpt-5-mini-2025-08-07"
_resp_obj = {"id": "resp_68a1", "object": "response", "created_at": CREATED, "status": "in_progress", "model": RM, "output": [], "usage": None}
_fc_item = {"id": "fc_01", "type": "function_call", "status": "completed", "arguments": "{\"q\":\"llm\"}", "call_id": "call_R1", "name": "lookup"}
_msg_item = {"id": "msg_01", "type": "message", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there 🙂", "annotations": []}]}
_rs_item = {"id": "rs_01", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking about the answer."}]}
_responses_events = [
    ("response.created", {"response": _resp_obj}),
    ("response.in_progress", {"response": _resp_obj}),
    ("response.output_item.added", {"output_index": 0, "item": {"id": "rs_01", "type": "reasoning", "summary": []}}),
    ("response.reasoning_summary_part.added", {"item_id": "rs_01", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
    ("response.reasoning_summary_text.delta", {"item_id": "rs_01", "output_index": 0, "summary_index": 0, "delta": "Thinking about "}),
    ("response.reasoning_summary_text.delta", {"item_id": "rs_01", "output_index": 0, "summary_index": 0, "delta": "the answer."}),
    ("response.reasoning_summary_text.done", {"item_id": "rs_01", "output_index": 0, "summary_index": 0, "text": "Thinking about the answer."}),
    ("response.reasoning_summary_part.done", {"item_id": "rs_01", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": "Thinking about the answer."}}),
    ("response.output_item.done", {"output_index": 0, "item": _rs_item}),
    ("response.output_item.added", {"output_index": 1, "item": {"id": "msg_01", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
    ("response.content_part.added", {"item_id": "msg_01", "output_index": 1, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
    ("response.output_text.delta", {"item_id": "msg_01", "output_index": 1, "content_index": 0, "delta": "Hi ", "logprobs": []}),
    ("response.output_text.delta", {"item_id": "msg_01", "output_index": 1, "content_index": 0, "delta": "there 🙂", "logprobs": []}),
    ("response.output_text.done", {"item_id": "msg_01", "output_index": 1, "content_index": 0, "text": "Hi there 🙂", "logprobs": []}),
    ("response.content_part.done", {"item_id": "msg_01", "output_index": 1, "content_index": 0, "part": {"type": "output_text", "text": "Hi there 🙂", "annotations": []}}),
    ("response.output_item.done", {"output_index": 1, "item": _msg_item}),
    ("response.output_item.added", {"output_index": 2, "item": {**_fc_item, "status": "in_progress", "arguments": ""}}),
    ("response.function_call_arguments.delta", {"item_id": "fc_01", "output_index": 2, "delta": "{\"q\":"}),
    ("response.function_call_arguments.delta", {"item_id": "fc_01", "output_index": 2, "delta": "\"llm\"}"}),
    ("response.function_call_arguments.done", {"item_id": "fc_01", "output_index": 2, "arguments": "{\"q\":\"llm\"}"}),
    ("response.output_item.done", {"output_index": 2, "item": _fc_item}),
    ("response.completed", {"response": {**_resp_obj, "status": "completed", "output": [_rs_item, _msg_item, _fc_item], "usage": {
        "input_tokens": 40, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 25,
        "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 65}}}),
]
RESPONSES_STREAM = Case(
    "openai_responses_stream",
    Request.json("api.openai.com", "/v1/responses", {"model": "gpt-5-mini", "input": "Look up llm", "instructions": "Use tools.", "stream": True,
                                                      "reasoning": {"summary": "auto"}, "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]},
                 [("Authorization", f"Bearer {BEARER_SECRET}"), UA]),
    Response(200, [SSE_CT], sse(*[{"type": t, "sequence_number": i, **d} for i, (t, d) in enumerate(_responses_events)],
                                event_names=[t for t, _ in _responses_events])),
    {
        "kind": "llm", "provider": "openai", "api": "openai.responses", "operation": "chat",
        "request.model": "gpt-5-mini", "request.stream": True,
        "response.id": "resp_68a1", "response.model": RM,
        "response.text": "Hi there 🙂", "response.reasoning": "Thinking about the answer.",
        "response.tool_calls": [{"name": "lookup", "arguments": "{\"q\":\"llm\"}"}],
        "response.finish_reason": "completed", "response.streamed": True, "response.chunks": len(_responses_events),
        **_usage(input_tokens=40, output_tokens=25, total_tokens=65, reasoning_tokens=12, cache_read_input_tokens=0),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Azure OpenAI: prompt-filter annotation chunk first (empty id/model/choices), content-filter
# results on every choice, a trailing content-filter chunk without a delta.
_safe = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")}
AM = "gpt-4o-2024-11-20"
_azure = [
    {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _safe}]},
    {"choices": [{"content_filter_results": {}, "delta": {"content": "", "refusal": None, "role": "assistant"}, "finish_reason": None, "index": 0, "logprobs": None}], "created": CREATED, "id": "chatcmpl-AZ1", "model": AM, "object": "chat.completion.chunk", "system_fingerprint": "fp_az"},
    {"choices": [{"content_filter_results": _safe, "delta": {"content": "Hel"}, "finish_reason": None, "index": 0, "logprobs": None}], "created": CREATED, "id": "chatcmpl-AZ1", "model": AM, "object": "chat.completion.chunk", "system_fingerprint": "fp_az"},
    {"choices": [{"content_filter_results": _safe, "delta": {"content": "lo " + UNICODE}, "finish_reason": None, "index": 0, "logprobs": None}], "created": CREATED, "id": "chatcmpl-AZ1", "model": AM, "object": "chat.completion.chunk", "system_fingerprint": "fp_az"},
    {"choices": [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0, "logprobs": None}], "created": CREATED, "id": "chatcmpl-AZ1", "model": AM, "object": "chat.completion.chunk", "system_fingerprint": "fp_az"},
    {"choices": [{"content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 16}, "content_filter_results": _safe, "finish_reason": None, "index": 0}], "created": 0, "id": "", "model": "", "object": ""},
    "[DONE]",
]
AZURE_STREAM = Case(
    "azure_chat_stream",
    Request.json("contoso-eu.openai.azure.com", "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
                 {"messages": [{"role": "user", "content": "Say hello"}], "stream": True}, [("api-key", AZURE_KEY_SECRET), UA]),
    Response(200, [SSE_CT, ("apim-request-id", "5f6e"), ("x-ms-region", "West Europe")], sse(*_azure)),
    {
        "kind": "llm", "provider": "azure.ai.openai", "api": "openai.chat_completions", "operation": "chat",
        "request.url": "https://contoso-eu.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
        "request.headers.api-key": "[REDACTED]",
        "response.id": "chatcmpl-AZ1", "response.model": AM,
        "response.text": "Hello " + UNICODE, "response.tool_calls": [], "response.finish_reason": "stop",
        "response.streamed": True, "response.chunks": 7,
        **_usage(input_tokens=None, output_tokens=None, total_tokens=None),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Anthropic Messages stream: thinking (+ signature), text, tool_use with input_json_delta,
# a ping, and message_delta usage that is CUMULATIVE (includes the input counts again).
CM = "claude-sonnet-4-5-20250929"
_anth = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": CM, "content": [],
                                                            "stop_reason": None, "stop_sequence": None,
                                                            "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048, "output_tokens": 2}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "The user wants "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "the weather."}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("ping", {"type": "ping"}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me check "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": UNICODE}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"location\": \"San"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": " Francisco, CA\"}"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048, "output_tokens": 89}}),
    ("message_stop", {"type": "message_stop"}),
]
ANTHROPIC_STREAM = Case(
    "anthropic_messages_stream",
    Request.json("api.anthropic.com", "/v1/messages", {
        "model": "claude-sonnet-4-5", "max_tokens": 2048, "stream": True, "system": "You are a weather bot.",
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "get_weather", "description": "Get the weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "Weather in SF?"}],
    }, [("x-api-key", X_API_KEY_SECRET), ("anthropic-version", "2023-06-01"), UA]),
    Response(200, [SSE_CT, ("request-id", "req_011")], sse(*[d for _, d in _anth], event_names=[n for n, _ in _anth])),
    {
        "kind": "llm", "provider": "anthropic", "api": "anthropic.messages", "operation": "chat",
        "request.model": "claude-sonnet-4-5", "request.stream": True, "request.system": "You are a weather bot.",
        "request.headers.x-api-key": "[REDACTED]",
        "response.id": "msg_01XFDUDYJgAACzvnptvVoYEL", "response.model": CM,
        "response.text": "Let me check " + UNICODE, "response.reasoning": "The user wants the weather.",
        "response.tool_calls": [{"name": "get_weather", "arguments": "{\"location\": \"San Francisco, CA\"}"}],
        "response.finish_reason": "tool_use", "response.streamed": True, "response.chunks": len(_anth),
        # 472 uncached + 2048 cache reads + 0 cache writes; output 89 (cumulative, not 2 + 89)
        **_usage(input_tokens=2520, output_tokens=89, total_tokens=2609, cache_read_input_tokens=2048, cache_creation_input_tokens=0),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Gemini streamGenerateContent?alt=sse (CRLF line ends, as Google's front end sends), with a
# thought-summary part and usageMetadata on every chunk (cumulative); key in the URL.
GM = "gemini-2.5-flash"


def _gchunk(parts, finish=None, usage=None):
    cand = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand], "usageMetadata": usage, "modelVersion": GM, "responseId": "mBk3aLqXOo2jnvgPq9ml6Ak"}


_gem_sse = [
    _gchunk([{"text": "Thinking it over.", "thought": True}], usage={"promptTokenCount": 10, "totalTokenCount": 30, "thoughtsTokenCount": 20}),
    _gchunk([{"text": "H" + UNICODE[1:3]}], usage={"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 32, "thoughtsTokenCount": 20}),
    _gchunk([{"text": UNICODE[3:]}], "STOP", usage={"promptTokenCount": 10, "candidatesTokenCount": 6, "totalTokenCount": 36, "thoughtsTokenCount": 20,
                                                   "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}]}),
]


def gemini_sse(encoding: str | None = None) -> Case:
    return Case(
        f"gemini_sse_{encoding or 'identity'}",
        Request.json("generativelanguage.googleapis.com", f"/v1beta/models/{GM}:streamGenerateContent?alt=sse&key={GOOG_URL_SECRET}", {
            "contents": [{"role": "user", "parts": [{"text": "Say hello"}]}],
            "systemInstruction": {"parts": [{"text": "Be nice."}]},
            "generationConfig": {"temperature": 0.5, "thinkingConfig": {"includeThoughts": True}},
        }, [("x-goog-api-client", "google-genai-sdk/1.0"), UA]),
        Response(200, [("Content-Type", "text/event-stream"), ("Vary", "Origin"), ("Server", "scaffolding on HTTPServer2")],
                 sse(*_gem_sse, eol="\r\n"), encoding=encoding),
        {
            "kind": "llm", "provider": "gcp.gemini", "api": "gemini.generate_content", "operation": "generate_content",
            "request.model": GM, "request.stream": True,
            "request.url": lambda u: u.startswith(f"https://generativelanguage.googleapis.com/v1beta/models/{GM}:streamGenerateContent?")
            and "alt=sse" in u and "key=" in u and "REDACTED" in u and GOOG_URL_SECRET not in u,
            "response.model": GM,
            "response.text": "H" + UNICODE[1:], "response.reasoning": "Thinking it over.",
            "response.finish_reason": "STOP", "response.streamed": True, "response.chunks": 3,
            # output = candidates 6 + thoughts 20 (billed as output); total from the last chunk
            **_usage(input_tokens=10, output_tokens=26, total_tokens=36, reasoning_tokens=20),
            "complete": True,
        },
    )


# Gemini streamGenerateContent without alt=sse: one JSON array whose elements arrive over time
# (pretty-printed, elements separated by ",\r\n"), a whole functionCall, key in a header.
_gem_arr = [
    {"candidates": [{"content": {"parts": [{"text": "Let me look."}], "role": "model"}, "index": 0}],
     "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "modelVersion": GM},
    {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Zürich", "unit": "C"}}}], "role": "model"}, "finishReason": "STOP", "index": 0}],
     "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 5, "totalTokenCount": 13}, "modelVersion": GM},
]
_arr_text = [json.dumps(e, ensure_ascii=False, indent=2) for e in _gem_arr]
GEMINI_ARRAY = Case(
    "gemini_json_array",
    Request.json("generativelanguage.googleapis.com", f"/v1beta/models/{GM}:streamGenerateContent", {
        "contents": [{"role": "user", "parts": [{"text": "Weather in Zürich?"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather", "parameters": {"type": "OBJECT"}}]}],
    }, [("x-goog-api-key", GOOG_HEADER_SECRET), UA]),
    Response(200, [("Content-Type", "application/json; charset=UTF-8")],
             [("[" + _arr_text[0]).encode(), ("\n,\r\n" + _arr_text[1]).encode(), b"\n]"]),
    {
        "kind": "llm", "provider": "gcp.gemini", "api": "gemini.generate_content", "request.model": GM,
        "request.headers.x-goog-api-key": "[REDACTED]",
        "response.text": "Let me look.",
        "response.tool_calls": [{"name": "get_weather", "arguments": {"city": "Zürich", "unit": "C"}}],
        "response.finish_reason": "STOP", "response.streamed": True, "response.chunks": 2,
        **_usage(input_tokens=8, output_tokens=5, total_tokens=13),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Cohere Chat v2 stream (event: + data:, the type repeated in the JSON)
def _cohere(events):
    return sse(*events, event_names=[e["type"] for e in events])


_co_start = {"id": "4f3ad5b8-5b1c-4f0e-9c53-6b3e0c0b7d11", "type": "message-start",
             "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}
_co_text = [
    _co_start,
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hola, "}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": UNICODE}}}},
    {"type": "content-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 7}, "tokens": {"input_tokens": 71, "output_tokens": 9}}}},
]
COHERE_TEXT = Case(
    "cohere_v2_text_stream",
    Request.json("api.cohere.com", "/v2/chat", {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "Greet me"}], "stream": True},
                 [("Authorization", f"Bearer {BEARER_SECRET}"), ("X-Client-Name", "llmspy-tests")]),
    Response(200, [("Content-Type", "text/event-stream"), ("x-accel-expires", "0")], _cohere(_co_text)),
    {
        "kind": "llm", "provider": "cohere", "api": "cohere.chat.v2", "operation": "chat", "request.model": "command-a-03-2025",
        "response.id": "4f3ad5b8-5b1c-4f0e-9c53-6b3e0c0b7d11",
        "response.text": "Hola, " + UNICODE, "response.tool_calls": [], "response.finish_reason": "COMPLETE",
        "response.streamed": True, "response.chunks": 6,
        **_usage(input_tokens=5, output_tokens=7, total_tokens=12),  # billed_units, as Cohere bills
        "complete": True,
    },
)
_co_tool = [
    _co_start,
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will look up "}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "the weather."}}},
    {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {"id": "get_weather_k3x9", "type": "function", "function": {"name": "get_weather", "arguments": ""}}}}},
    {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "{\"location\":"}}}}},
    {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": " \"Madrid\"}"}}}}},
    {"type": "tool-call-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {"billed_units": {"input_tokens": 37, "output_tokens": 19}, "tokens": {"input_tokens": 1200, "output_tokens": 60}}}},
]
COHERE_TOOL = Case(
    "cohere_v2_tool_stream",
    Request.json("api.cohere.com", "/v2/chat", {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "Weather in Madrid?"}], "stream": True,
                                                "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]},
                 [("Authorization", f"Bearer {BEARER_SECRET}")]),
    Response(200, [("Content-Type", "text/event-stream")], _cohere(_co_tool)),
    {
        "kind": "llm", "provider": "cohere", "api": "cohere.chat.v2",
        "response.text": "", "response.reasoning": "I will look up the weather.",  # the tool plan (cohere.py convention)
        "response.tool_calls": [{"name": "get_weather", "arguments": "{\"location\": \"Madrid\"}"}],
        "response.finish_reason": "TOOL_CALL", "response.streamed": True,
        **_usage(input_tokens=37, output_tokens=19, total_tokens=56),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Ollama /api/chat: streams NDJSON by default (no "stream" key in the request)
OM = "gpt-oss:120b"
_oll = [
    {"model": OM, "created_at": "2025-11-30T00:00:00.1Z", "message": {"role": "assistant", "content": "", "thinking": "Simple greeting."}, "done": False},
    {"model": OM, "created_at": "2025-11-30T00:00:00.2Z", "message": {"role": "assistant", "content": "Héllo"}, "done": False},
    {"model": OM, "created_at": "2025-11-30T00:00:00.3Z", "message": {"role": "assistant", "content": " 世界 🙂"}, "done": False},
    {"model": OM, "created_at": "2025-11-30T00:00:00.4Z", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
     "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": 26, "prompt_eval_duration": 342546000, "eval_count": 12, "eval_duration": 4535599000},
]
OLLAMA_STREAM = Case(
    "ollama_chat_ndjson",
    Request.json("ollama.com", "/api/chat", {"model": OM, "messages": [{"role": "user", "content": "hi"}], "think": True},
                 [("Authorization", f"Bearer {BEARER_SECRET}")]),
    Response(200, [("Content-Type", "application/x-ndjson")],
             [json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for o in _oll]),
    {
        "kind": "llm", "provider": "ollama", "api": "ollama.chat", "operation": "chat", "request.model": OM, "request.stream": True,
        "response.model": OM, "response.text": "Héllo 世界 🙂", "response.reasoning": "Simple greeting.",
        "response.finish_reason": "stop", "response.streamed": True, "response.chunks": 4,
        **_usage(input_tokens=26, output_tokens=12, total_tokens=38),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# DeepSeek reasoner: ": keep-alive" SSE comments while the model thinks, reasoning_content
# deltas, then content; usage in a last chunk with empty choices.
DM = "deepseek-reasoner"
_ds = [
    _chunk("930c60df-bf64", DM, {"role": "assistant", "content": None, "reasoning_content": ""}),
    ": keep-alive",
    _chunk("930c60df-bf64", DM, {"content": None, "reasoning_content": "Let me think"}),
    ": keep-alive",
    _chunk("930c60df-bf64", DM, {"content": None, "reasoning_content": " step by step."}),
    _chunk("930c60df-bf64", DM, {"content": "The answer is 42.", "reasoning_content": None}),
    _chunk("930c60df-bf64", DM, {"content": "", "reasoning_content": None}, "stop"),
    _chunk("930c60df-bf64", DM, choices=[], usage={"prompt_tokens": 15, "completion_tokens": 30, "total_tokens": 45,
                                                     "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 20},
                                                     "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 15}),
    "[DONE]",
]
# an SSE comment line is ": text" then the blank line the server flushes with it
_ds_parts = [(x + "\n\n").encode() if isinstance(x, str) and x.startswith(":") else sse(x)[0] for x in _ds]
DEEPSEEK_STREAM = Case(
    "deepseek_reasoner_stream",
    Request.json("api.deepseek.com", "/chat/completions", {"model": DM, "messages": [{"role": "user", "content": "6*7?"}], "stream": True, "stream_options": {"include_usage": True}},
                 [("Authorization", f"Bearer {BEARER_SECRET}")]),
    Response(200, [SSE_CT], _ds_parts),
    {
        "kind": "llm", "provider": "deepseek", "api": "openai.chat_completions", "request.model": DM,
        "response.model": DM, "response.text": "The answer is 42.", "response.reasoning": "Let me think step by step.",
        "response.finish_reason": "stop", "response.streamed": True,
        **_usage(input_tokens=15, output_tokens=30, total_tokens=45, reasoning_tokens=20, cache_read_input_tokens=0),
        "complete": True,
    },
)

# ---------------------------------------------------------------------------------------------
# Not LLM: a JSON API (kind "http", shown in smart mode) and a binary download (hidden).
JSON_API = Case(
    "json_api_http",
    Request("GET", "api.github.com", "/repos/octo/hello?per_page=1", [("Accept", "application/vnd.github+json"), ("Authorization", f"Bearer {BEARER_SECRET}"), ("Cookie", COOKIE_SECRET)]),
    Response(200, [("Content-Type", "application/json; charset=utf-8"), ("Set-Cookie", COOKIE_SECRET + "; Path=/; HttpOnly")],
             [json.dumps({"id": 1296269, "name": "hello", "full_name": "octo/hello", "private": False}).encode()], framing="length", encoding="gzip"),
    {
        "kind": "http", "provider": None, "api": None, "request.method": "GET",
        "request.url": "https://api.github.com/repos/octo/hello?per_page=1",
        "request.headers.cookie": "[REDACTED]", "response.headers.set-cookie": "[REDACTED]",
        "response.status": 200, "response.body": {"id": 1296269, "name": "hello", "full_name": "octo/hello", "private": False},
        "response.streamed": False, "complete": True,
    },
    llm=False,
)
_blob = bytes((i * 7919 + 13) % 251 for i in range(96 * 1024))
BINARY_DOWNLOAD = Case(
    "binary_download",
    Request("GET", "downloads.example.com", "/files/model.bin", [("Accept", "*/*")]),
    Response(200, [("Content-Type", "application/octet-stream")], [_blob[i : i + 16384] for i in range(0, len(_blob), 16384)], framing="length"),
    {"kind": "http", "request.method": "GET", "response.status": 200, "response.body_size": len(_blob), "complete": True},
    llm=False,
    smart=False,
)

CASES: list[Case] = [
    OPENAI_STREAM,
    openai_whole(None),
    openai_whole("gzip"),
    openai_whole("br", "chunked"),
    openai_whole("zstd"),
    RESPONSES_STREAM,
    AZURE_STREAM,
    ANTHROPIC_STREAM,
    gemini_sse(),
    gemini_sse("gzip"),
    GEMINI_ARRAY,
    COHERE_TEXT,
    COHERE_TOOL,
    OLLAMA_STREAM,
    DEEPSEEK_STREAM,
    JSON_API,
    BINARY_DOWNLOAD,
]
CASES_BY_NAME = {c.name: c for c in CASES}
