# Real provider wire quirks, each replayed through the whole core (capture lines -> Tracker ->
# record) over HTTP/1.1 and HTTP/2. Payloads are written by hand after captured or documented
# traffic (the source of each is cited next to it); expected values are read off the payload
# written here, following DESIGN.md's record rules (usage.input_tokens includes cached tokens;
# Anthropic message_delta and Gemini usageMetadata are cumulative: the last value wins).
from __future__ import annotations

import json

import pytest

from .builders import BEARER_SECRET, Request, Response, capture_lines, h2_conversation, http1_conversation, records_of, run_tracker, sse
from .corpus import Case, check

SSE_CT = ("Content-Type", "text/event-stream")
JSON_CT = ("Content-Type", "application/json")
AUTH = ("Authorization", f"Bearer {BEARER_SECRET}")
CREATED = 1769092764


def _u(**fields) -> dict:
    return {"response.usage." + k: v for k, v in fields.items()}


def _comment_parts(items: list) -> list[bytes]:
    """SSE parts where a str starting with ":" is a comment line (WHATWG HTML §9.2.6)."""
    return [(x + "\n\n").encode() if isinstance(x, str) and x.startswith(":") else sse(x)[0] for x in items]


def _ndjson(objs: list[dict]) -> list[bytes]:
    return [json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for o in objs]


def _typed(events: list[dict]) -> list[bytes]:
    """SSE with the ``event:`` line repeating the JSON ``type`` (Anthropic, Cohere, Responses)."""
    return sse(*events, event_names=[e["type"] for e in events])


CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# OpenAI chat.completion.chunk with service_tier, obfuscation (stream_options.include_obfuscation
# default), logprobs objects, and a refusal streamed in delta.refusal.
# Source: captured stream in ENTERPILOT/GoModel PR #46
# (tests/contract/testdata/openai/chat_completion_stream.txt); dongri/openai-api-rs PR #186;
# openai/openai-java PR #902 (obfuscation field); OpenAI API reference, chat.completion.chunk
# (delta.refusal, choices[].logprobs.content / .refusal, usage.prompt_tokens_details.audio_tokens).
_OM = "gpt-4o-mini-2024-07-18"


def _oc(delta, finish=None, logprobs=None, obf="ZGF", usage=None, choices=None):
    c = {"id": "chatcmpl-D0q8C", "object": "chat.completion.chunk", "created": CREATED, "model": _OM,
         "service_tier": "default", "system_fingerprint": "fp_29330a9688",
         "choices": choices if choices is not None else [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
         "usage": usage}
    if obf is not None:
        c["obfuscation"] = obf
    return c


_lp = {"content": [{"token": "Hello", "logprob": -0.0019, "bytes": [72, 101, 108, 108, 111], "top_logprobs": []}], "refusal": None}
CASES.append(Case(
    "openai_obfuscation_logprobs_service_tier",
    Request.json("api.openai.com", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                                                            "logprobs": True, "stream_options": {"include_usage": True}}, [AUTH]),
    Response(200, [SSE_CT], sse(
        _oc({"role": "assistant", "content": "", "refusal": None}, obf="lRK2aBv"),
        _oc({"content": "Hello"}, logprobs=_lp),
        _oc({"content": ", World"}, obf="kJ"),
        _oc({}, "stop", obf="0wmdEAC"),
        _oc(None, choices=[], obf="Ab", usage={"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14,
                                               "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                                               "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                                             "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}),
        "[DONE]")),
    {"provider": "openai", "response.id": "chatcmpl-D0q8C", "response.model": _OM, "response.text": "Hello, World",
     "response.finish_reason": "stop", "response.chunks": 6, "response.error": None, "complete": True,
     **_u(input_tokens=11, output_tokens=3, total_tokens=14, cache_read_input_tokens=0, reasoning_tokens=0)},
))
CASES.append(Case(
    "openai_refusal_delta",
    Request.json("api.openai.com", "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True,
                                                            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}}}, [AUTH]),
    Response(200, [SSE_CT], sse(
        _oc({"role": "assistant", "content": None, "refusal": ""}),
        _oc({"refusal": "I'm sorry, "}),
        _oc({"refusal": "I can't help with that."}),
        _oc({}, "stop"),
        "[DONE]")),
    {"response.text": "I'm sorry, I can't help with that.", "response.finish_reason": "stop", "response.tool_calls": [],
     **_u(input_tokens=None, output_tokens=None)},
))

# ---------------------------------------------------------------------------------------------
# Azure OpenAI whole body: prompt_filter_results at the top, content_filter_results on the
# choice, finish_reason "content_filter" with null content.
# Source: Azure OpenAI REST reference, "Content filtering" (annotations, finish_reason
# content_filter; prompt_filter_results / content_filter_results objects).
_safe = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")}
CASES.append(Case(
    "azure_content_filter_whole",
    Request.json("contoso.openai.azure.com", "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
                 {"messages": [{"role": "user", "content": "..."}]}, [("api-key", "k")]),
    Response(200, [JSON_CT], [json.dumps({
        "choices": [{"content_filter_results": {**_safe, "violence": {"filtered": True, "severity": "high"}},
                     "finish_reason": "content_filter", "index": 0, "logprobs": None,
                     "message": {"content": None, "refusal": None, "role": "assistant"}}],
        "created": CREATED, "id": "chatcmpl-AZf", "model": "gpt-4o-2024-11-20", "object": "chat.completion",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _safe}],
        "system_fingerprint": "fp_b705f0c291",
        "usage": {"completion_tokens": 0, "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 0,
                                                                        "rejected_prediction_tokens": 0},
                  "prompt_tokens": 20, "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0}, "total_tokens": 20},
    }).encode()], framing="length"),
    {"provider": "azure.ai.openai", "response.model": "gpt-4o-2024-11-20", "response.text": "", "response.finish_reason": "content_filter",
     "request.params.deployment": "prod-4o", **_u(input_tokens=20, output_tokens=0, total_tokens=20)},
))

# ---------------------------------------------------------------------------------------------
# OpenRouter: ": OPENROUTER PROCESSING" comments before the first chunk, reasoning in both
# `reasoning` and `reasoning_details` (same text: must not be doubled), `provider` field, and
# the final usage chunk with `cost`, `is_byok`, `cost_details`.
# Source: OpenRouter docs, "API Reference > Streaming" (comment payloads) and "Reasoning Tokens"
# (delta.reasoning / reasoning_details of type reasoning.text), "Usage Accounting" (usage.cost).
_RM = "deepseek/deepseek-r1"


def _orc(delta, finish=None, usage=None):
    c = {"id": "gen-1769-abc", "provider": "DeepInfra", "model": _RM, "object": "chat.completion.chunk", "created": CREATED,
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish, "logprobs": None}]}
    if usage is not None:
        c["choices"] = []
        c["usage"] = usage
    return c


CASES.append(Case(
    "openrouter_processing_reasoning_cost",
    Request.json("openrouter.ai", "/api/v1/chat/completions", {"model": _RM, "messages": [{"role": "user", "content": "2+2"}], "stream": True,
                                                               "reasoning": {"effort": "low"}, "usage": {"include": True}}, [AUTH]),
    Response(200, [SSE_CT, ("x-generation-id", "gen-1769-abc")], _comment_parts([
        ": OPENROUTER PROCESSING",
        ": OPENROUTER PROCESSING",
        _orc({"role": "assistant", "content": "", "reasoning": "Two plus ", "reasoning_details": [{"type": "reasoning.text", "text": "Two plus ", "format": "unknown", "index": 0}]}),
        _orc({"role": "assistant", "content": "", "reasoning": "two.", "reasoning_details": [{"type": "reasoning.text", "text": "two.", "format": "unknown", "index": 0}]}),
        _orc({"role": "assistant", "content": "4", "reasoning": None, "reasoning_details": []}),
        _orc({"role": "assistant", "content": ""}, "stop"),
        _orc(None, usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21, "cost": 0.0000321, "is_byok": False,
                          "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                          "cost_details": {"upstream_inference_cost": None},
                          "completion_tokens_details": {"reasoning_tokens": 10, "image_tokens": 0}}),
        "[DONE]",
    ])),
    {"provider": "openrouter", "response.id": "gen-1769-abc", "response.model": _RM, "response.text": "4",
     "response.reasoning": "Two plus two.", "response.finish_reason": "stop", "complete": True,
     **_u(input_tokens=9, output_tokens=12, total_tokens=21, reasoning_tokens=10, cache_read_input_tokens=0)},
))

# ---------------------------------------------------------------------------------------------
# Groq: usage only in x_groq.usage on the finish chunk (with timing fields), no top-level usage.
# Source: Groq API reference (chat completion chunk x_groq), langchain-ai/langchain PR #20839
# (queue_time may be null).
_GM = "llama-3.3-70b-versatile"


def _gc(delta, finish=None, x_groq=None):
    c = {"id": "chatcmpl-6b1f", "object": "chat.completion.chunk", "created": CREATED, "model": _GM, "system_fingerprint": "fp_3f3b593e33",
         "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    if x_groq is not None:
        c["x_groq"] = x_groq
    return c


CASES.append(Case(
    "groq_x_groq_usage",
    Request.json("api.groq.com", "/openai/v1/chat/completions", {"model": _GM, "messages": [{"role": "user", "content": "hi"}], "stream": True}, [AUTH]),
    Response(200, [SSE_CT], sse(
        _gc({"role": "assistant", "content": ""}, x_groq={"id": "req_01jq"}),
        _gc({"content": "Hello!"}),
        _gc({}, "stop", x_groq={"id": "req_01jq", "usage": {"queue_time": None, "prompt_tokens": 36, "prompt_time": 0.0019,
                                                          "completion_tokens": 3, "completion_time": 0.0109, "total_tokens": 39, "total_time": 0.0128}}),
        "[DONE]")),
    {"provider": "groq", "response.text": "Hello!", "response.finish_reason": "stop",
     **_u(input_tokens=36, output_tokens=3, total_tokens=39)},
))

# ---------------------------------------------------------------------------------------------
# Mistral: usage on the finish chunk itself (no include_usage chunk); tool call whole in one
# delta with index 0.
# Source: Mistral API reference, "Chat Completion" streaming (CompletionChunk with usage on the
# last chunk) and function calling docs.
_MM = "mistral-small-latest"
_mc = {"id": "cmpl-e5cc7", "object": "chat.completion.chunk", "created": CREATED, "model": _MM}
CASES.append(Case(
    "mistral_usage_on_finish_chunk",
    Request.json("api.mistral.ai", "/v1/chat/completions", {"model": _MM, "messages": [{"role": "user", "content": "weather?"}], "stream": True,
                                                            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]}, [AUTH]),
    Response(200, [SSE_CT], sse(
        {**_mc, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**_mc, "choices": [{"index": 0, "delta": {"tool_calls": [{"id": "D681PevKs", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}, "index": 0}]},
                             "finish_reason": "tool_calls"}],
         "usage": {"prompt_tokens": 70, "total_tokens": 91, "completion_tokens": 21}},
        "[DONE]")),
    {"provider": "mistral_ai", "response.text": "", "response.finish_reason": "tool_calls",
     "response.tool_calls": [{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}],
     **_u(input_tokens=70, output_tokens=21, total_tokens=91)},
))

# ---------------------------------------------------------------------------------------------
# DeepSeek whole body: cache hits only as prompt_cache_hit_tokens (prompt_tokens includes them),
# reasoning_content on the message.
# Source: DeepSeek API docs, "Create Chat Completion" response (usage.prompt_cache_hit_tokens,
# prompt_cache_miss_tokens) and "Reasoning Model (deepseek-reasoner)".
CASES.append(Case(
    "deepseek_cache_hit_whole",
    Request.json("api.deepseek.com", "/chat/completions", {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "9.11 vs 9.8"}]}, [AUTH]),
    Response(200, [JSON_CT], [json.dumps({
        "id": "d1f0", "object": "chat.completion", "created": CREATED, "model": "deepseek-reasoner", "system_fingerprint": "fp_7e0991cad4_prod0820_fp8_kvcache",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "9.8 is larger.", "reasoning_content": "Compare decimals."},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36,
                  "completion_tokens_details": {"reasoning_tokens": 30}},
    }).encode()], framing="length"),
    {"provider": "deepseek", "response.text": "9.8 is larger.", "response.reasoning": "Compare decimals.", "response.finish_reason": "stop",
     **_u(input_tokens=100, output_tokens=40, total_tokens=140, cache_read_input_tokens=64, reasoning_tokens=30)},
))

# ---------------------------------------------------------------------------------------------
# llama.cpp server: chunks without `usage`, `timings` on every chunk, the finish chunk carries
# usage + timings, then [DONE]; reasoning_content deltas; no system_fingerprint quirks.
# Source: ggml-org/llama.cpp PR #15827 (timings with cache_n); openai-php/client issue #780
# (captured llama-server stream with reasoning_content and timings); abetlen/llama-cpp-python
# issue #1640 (usage on the finish chunk).
_LM = "gemma-3-4b-it-Q4_K_M.gguf"


def _lc(delta, finish=None, usage=None, n=1):
    c = {"choices": [{"finish_reason": finish, "index": 0, "delta": delta}], "created": CREATED, "id": "chatcmpl-qC6la", "model": _LM,
         "system_fingerprint": "b6400-d403f00ec", "object": "chat.completion.chunk",
         "timings": {"cache_n": 7, "prompt_n": 10, "prompt_ms": 251.5, "predicted_n": n, "predicted_ms": 14.3 * n, "predicted_per_second": 69.6}}
    if usage is not None:
        c["usage"] = usage
    return c


CASES.append(Case(
    "llamacpp_timings_usage_on_finish",
    Request.json("localhost:8080", "/v1/chat/completions", {"model": "gemma", "messages": [{"role": "user", "content": "hi"}], "stream": True}),
    Response(200, [SSE_CT, ("Server", "llama.cpp")], sse(
        _lc({"role": "assistant", "content": None}),
        _lc({"reasoning_content": "Play"}, n=2),
        _lc({"reasoning_content": "ful."}, n=3),
        _lc({"content": "Hi!"}, n=4),
        _lc({}, "stop", usage={"completion_tokens": 4, "prompt_tokens": 17, "total_tokens": 21}, n=4),
        "[DONE]")),
    {"provider": "openai_compatible", "response.model": _LM, "response.text": "Hi!", "response.reasoning": "Playful.",
     "response.finish_reason": "stop", "complete": True, **_u(input_tokens=17, output_tokens=4, total_tokens=21)},
))

# vLLM: continuous usage stats (cumulative usage on every chunk), tool call whose first delta has
# no `arguments`, reasoning in `reasoning`.
# Source: vLLM docs, "OpenAI-Compatible Server" (stream_options.continuous_usage_stats),
# "Reasoning Outputs" and "Tool Calling" (streamed tool-call deltas).
_VM = "Qwen/Qwen3-8B"


def _vc(delta, finish=None, usage=None):
    return {"id": "chatcmpl-9a8b", "object": "chat.completion.chunk", "created": CREATED, "model": _VM,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], "usage": usage}


CASES.append(Case(
    "vllm_continuous_usage_tool",
    Request.json("gpu-box:8000", "/v1/chat/completions", {"model": _VM, "messages": [{"role": "user", "content": "weather"}], "stream": True,
                                                          "stream_options": {"include_usage": True, "continuous_usage_stats": True}}),
    Response(200, [SSE_CT], sse(
        _vc({"role": "assistant", "content": ""}, usage={"prompt_tokens": 20, "total_tokens": 20, "completion_tokens": 0}),
        _vc({"reasoning": "Need a tool."}, usage={"prompt_tokens": 20, "total_tokens": 24, "completion_tokens": 4}),
        _vc({"tool_calls": [{"id": "chatcmpl-tool-7f", "type": "function", "index": 0, "function": {"name": "get_weather"}}]},
            usage={"prompt_tokens": 20, "total_tokens": 27, "completion_tokens": 7}),
        _vc({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": \""}}]}, usage={"prompt_tokens": 20, "total_tokens": 30, "completion_tokens": 10}),
        _vc({"tool_calls": [{"index": 0, "function": {"arguments": "Oslo\"}"}}]}, usage={"prompt_tokens": 20, "total_tokens": 32, "completion_tokens": 12}),
        _vc({"content": ""}, "tool_calls", usage={"prompt_tokens": 20, "total_tokens": 33, "completion_tokens": 13}),
        {"id": "chatcmpl-9a8b", "object": "chat.completion.chunk", "created": CREATED, "model": _VM, "choices": [],
         "usage": {"prompt_tokens": 20, "total_tokens": 33, "completion_tokens": 13}},
        "[DONE]")),
    {"response.reasoning": "Need a tool.", "response.tool_calls": [{"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}],
     "response.finish_reason": "tool_calls", **_u(input_tokens=20, output_tokens=13, total_tokens=33)},
))

# ---------------------------------------------------------------------------------------------
# Ollama /api/chat: a tool call arrives whole (arguments an object) in a done:false line; the
# final done:true object carries done_reason and counters.
# Source: ollama/ollama docs/api.md, "Chat request (With tools)" and streaming responses.
CASES.append(Case(
    "ollama_tool_call_and_final",
    Request.json("localhost:11434", "/api/chat", {"model": "llama3.2", "messages": [{"role": "user", "content": "weather in Tokyo"}],
                                                  "tools": [{"type": "function", "function": {"name": "get_current_weather", "parameters": {}}}]}),
    Response(200, [("Content-Type", "application/x-ndjson")], _ndjson([
        {"model": "llama3.2", "created_at": "2025-07-07T20:22:19.184789Z", "message": {"role": "assistant", "content": "",
         "tool_calls": [{"function": {"name": "get_current_weather", "arguments": {"format": "celsius", "location": "Tokyo"}}}]}, "done": False},
        {"model": "llama3.2", "created_at": "2025-07-07T20:22:19.19314Z", "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": True,
         "total_duration": 182242375, "load_duration": 41295167, "prompt_eval_count": 169, "prompt_eval_duration": 24573166, "eval_count": 15, "eval_duration": 115959084},
    ])),
    {"provider": "ollama", "response.model": "llama3.2", "response.text": "", "response.finish_reason": "stop",
     "response.tool_calls": [{"name": "get_current_weather", "arguments": {"format": "celsius", "location": "Tokyo"}}],
     **_u(input_tokens=169, output_tokens=15, total_tokens=184)},
))

# ---------------------------------------------------------------------------------------------
# Anthropic web search stream: newer API message_start usage with cache_creation breakdown and
# service_tier; server_tool_use block with input_json_delta; web_search_tool_result block;
# text with citations_delta; message_delta usage carrying input/cache counts and
# server_tool_use (cumulative).
# Source: Anthropic docs, "Web search tool" streaming example; "Streaming Messages"
# (message_delta usage cumulative); liushuangls/go-anthropic PR #136 (documented example of
# message_delta usage with input_tokens / cache_* / server_tool_use).
_CM = "claude-opus-4-1-20250805"
_anth_web = [
    {"type": "message_start", "message": {"id": "msg_01G", "type": "message", "role": "assistant", "model": _CM, "content": [], "stop_reason": None,
                                          "stop_sequence": None, "usage": {"input_tokens": 2679, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                                                                           "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                                                                           "output_tokens": 3, "service_tier": "standard"}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "I'll search."}},
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "server_tool_use", "id": "srvtoolu_014h", "name": "web_search", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"query"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\": \"weather NYC\"}"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_014h",
                                                                   "content": [{"type": "web_search_result", "title": "NYC weather", "url": "https://weather.example/nyc",
                                                                                "encrypted_content": "EqgfCioIARgBIiQ3", "page_age": "July 1, 2025"}]}},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3, "content_block": {"type": "text", "text": "", "citations": []}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "citations_delta", "citation": {"type": "web_search_result_location", "cited_text": "Sunny, 75F",
                                                                                                "url": "https://weather.example/nyc", "title": "NYC weather",
                                                                                                "encrypted_index": "Eo8BCioIAhgB"}}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "It is sunny."}},
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"input_tokens": 10682, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 510,
               "server_tool_use": {"web_search_requests": 1}}},
    {"type": "message_stop"},
]
CASES.append(Case(
    "anthropic_web_search_citations",
    Request.json("api.anthropic.com", "/v1/messages", {"model": "claude-opus-4-1", "max_tokens": 1024, "stream": True,
                                                       "messages": [{"role": "user", "content": "Weather in NYC?"}],
                                                       "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]},
                 [("x-api-key", "sk-ant-x"), ("anthropic-version", "2023-06-01")]),
    Response(200, [SSE_CT], _typed(_anth_web)),
    {"provider": "anthropic", "response.id": "msg_01G", "response.model": _CM, "response.text": "I'll search.It is sunny.",
     "response.tool_calls": [{"name": "web_search", "arguments": "{\"query\": \"weather NYC\"}"}],
     "response.finish_reason": "end_turn", "response.chunks": len(_anth_web), "complete": True,
     # message_delta's cumulative input 10682 replaces message_start's 2679 (nothing added)
     **_u(input_tokens=10682, output_tokens=510, total_tokens=11192, cache_read_input_tokens=0, cache_creation_input_tokens=0)},
))

# Anthropic redacted_thinking block (no readable reasoning) next to a thinking block; the usage
# of message_delta omits input counts (older API), so message_start's stay.
# Source: Anthropic docs, "Extended thinking" (redacted_thinking blocks, signature_delta).
_anth_redacted = [
    {"type": "message_start", "message": {"id": "msg_01R", "type": "message", "role": "assistant", "model": "claude-3-7-sonnet-20250219", "content": [],
                                          "stop_reason": None, "stop_sequence": None,
                                          "usage": {"input_tokens": 30, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 0, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "Visible part."}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Done."}},
    {"type": "content_block_stop", "index": 2},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 42}},
    {"type": "message_stop"},
]
CASES.append(Case(
    "anthropic_redacted_thinking",
    Request.json("api.anthropic.com", "/v1/messages", {"model": "claude-3-7-sonnet-20250219", "max_tokens": 2000, "stream": True,
                                                       "thinking": {"type": "enabled", "budget_tokens": 1024},
                                                       "messages": [{"role": "user", "content": "x"}]}, [("x-api-key", "sk-ant-x")]),
    Response(200, [SSE_CT], _typed(_anth_redacted)),
    {"response.text": "Done.", "response.reasoning": "Visible part.", "response.tool_calls": [], "response.finish_reason": "end_turn",
     **_u(input_tokens=130, output_tokens=42, total_tokens=172, cache_creation_input_tokens=100, cache_read_input_tokens=0)},
))

# Anthropic overloaded_error: mid-stream error event after message_start; and a 529 whole body.
# Source: Anthropic docs, "Streaming Messages > Error events" and "Errors" (529 overloaded_error).
CASES.append(Case(
    "anthropic_stream_overloaded_error",
    Request.json("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": True,
                                                       "messages": [{"role": "user", "content": "x"}]}, [("x-api-key", "sk-ant-x")]),
    Response(200, [SSE_CT], _typed([
        {"type": "message_start", "message": {"id": "msg_01E", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [],
                                              "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Par"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ])),
    {"response.text": "Par", "response.error.type": "overloaded_error", "response.error.message": "Overloaded", "response.finish_reason": None},
))
CASES.append(Case(
    "anthropic_529_overloaded_body",
    Request.json("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}]},
                 [("x-api-key", "sk-ant-x")]),
    Response(529, [JSON_CT, ("x-should-retry", "true")], [json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                                                      "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}).encode()], framing="length"),
    {"response.status": 529, "response.error.type": "overloaded_error", "response.error.message": "Overloaded"},
))

# ---------------------------------------------------------------------------------------------
# Gemini: cachedContentTokenCount (part of promptTokenCount), toolUsePromptTokenCount,
# thoughtsTokenCount, promptTokensDetails / cacheTokensDetails lists; Vertex-style partial
# usageMetadata on early chunks; CRLF SSE; responseId/modelVersion.
# Source: BerriAI/litellm issue #10667 (captured usageMetadata with cachedContentTokenCount and
# details lists); langchain-ai/langchainjs PR #9912 (Vertex stream: early chunks carry only
# cachedContentTokenCount/trafficType); Gemini API reference, UsageMetadata (promptTokenCount
# includes cached content; toolUsePromptTokenCount; thoughtsTokenCount).
_GEM = "gemini-2.5-pro"


def _gch(parts, finish=None, usage=None):
    cand = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    d = {"candidates": [cand], "modelVersion": _GEM, "responseId": "mBk3aLqX"}
    if usage is not None:
        d["usageMetadata"] = usage
    return d


CASES.append(Case(
    "gemini_cached_tooluse_thoughts_usage",
    Request.json("generativelanguage.googleapis.com", f"/v1beta/models/{_GEM}:streamGenerateContent?alt=sse",
                 {"contents": [{"role": "user", "parts": [{"text": "Summarise"}]}], "cachedContent": "cachedContents/abc"},
                 [("x-goog-api-key", "AIza-x")]),
    Response(200, [SSE_CT], sse(
        _gch([{"text": "The text "}], usage={"cachedContentTokenCount": 18403, "trafficType": "ON_DEMAND"}),
        _gch([{"text": "repeats.", "thoughtSignature": "CiQB0e2Kb"}], "STOP", usage={
            "promptTokenCount": 19588, "candidatesTokenCount": 69, "totalTokenCount": 19801, "cachedContentTokenCount": 18403,
            "toolUsePromptTokenCount": 44, "thoughtsTokenCount": 100,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 19588}], "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 18403}],
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 44}]}),
        eol="\r\n")),
    {"provider": "gcp.gemini", "response.id": "mBk3aLqX", "response.model": _GEM, "response.text": "The text repeats.", "response.finish_reason": "STOP",
     # input = prompt 19588 (cached included) + tool-use prompt 44; output = 69 + thoughts 100
     **_u(input_tokens=19632, output_tokens=169, total_tokens=19801, cache_read_input_tokens=18403, reasoning_tokens=100)},
))

# Gemini MALFORMED_FUNCTION_CALL: the last candidate has an empty content and a finishMessage.
# Source: Gemini API reference, Candidate.FinishReason (MALFORMED_FUNCTION_CALL) and
# Candidate.finishMessage; googleapis/python-genai issues showing `"content": {}`.
CASES.append(Case(
    "gemini_malformed_function_call",
    Request.json("generativelanguage.googleapis.com", f"/v1beta/models/{_GEM}:streamGenerateContent?alt=sse",
                 {"contents": [{"role": "user", "parts": [{"text": "call it"}]}], "tools": [{"functionDeclarations": [{"name": "f"}]}]},
                 [("x-goog-api-key", "AIza-x")]),
    Response(200, [SSE_CT], sse(
        {"candidates": [{"content": {}, "finishReason": "MALFORMED_FUNCTION_CALL", "index": 0,
                         "finishMessage": "Malformed function call: print(default_api.f(x=))"}],
         "usageMetadata": {"promptTokenCount": 50, "totalTokenCount": 50, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 50}]},
         "modelVersion": _GEM, "responseId": "r2"},
        eol="\r\n")),
    {"response.text": "", "response.tool_calls": [], "response.finish_reason": "MALFORMED_FUNCTION_CALL", "response.error": None,
     **_u(input_tokens=50, total_tokens=50)},
))

# Gemini SAFETY: a candidate with finishReason SAFETY, safetyRatings and no content at all.
# Source: Gemini API reference, Candidate (content omitted when blocked), SafetyRating.
CASES.append(Case(
    "gemini_safety_no_content",
    Request.json("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.0-flash:generateContent",
                 {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, [("x-goog-api-key", "AIza-x")]),
    Response(200, [("Content-Type", "application/json; charset=UTF-8")], [json.dumps({
        "candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
            {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}],
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
        "modelVersion": "gemini-2.0-flash", "responseId": "r3"}, indent=2).encode()], framing="length"),
    {"response.text": "", "response.finish_reason": "SAFETY", "response.id": "r3", **_u(input_tokens=8, total_tokens=8)},
))

# ---------------------------------------------------------------------------------------------
# Cohere v2 reasoning model: thinking content blocks, then text; message-end usage with
# billed_units, tokens and cached_tokens.
# Source: Cohere API reference, "Chat with Streaming" (v2 content-start/-delta thinking,
# message-end usage {billed_units, tokens, cached_tokens}).
_co = [
    {"type": "message-start", "id": "c0a1", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": "User greets."}}}},
    {"type": "content-end", "index": 0},
    {"type": "content-start", "index": 1, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": "Hi!"}}}, "logprobs": None},
    {"type": "content-end", "index": 1},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {"billed_units": {"input_tokens": 4, "output_tokens": 20},
                                                                             "tokens": {"input_tokens": 500, "output_tokens": 22}, "cached_tokens": 448}}},
]
CASES.append(Case(
    "cohere_v2_thinking_cached",
    Request.json("api.cohere.com", "/v2/chat", {"model": "command-a-reasoning-08-2025", "messages": [{"role": "user", "content": "hi"}], "stream": True}, [AUTH]),
    Response(200, [SSE_CT], _typed(_co)),
    {"provider": "cohere", "response.id": "c0a1", "response.text": "Hi!", "response.reasoning": "User greets.", "response.finish_reason": "COMPLETE",
     **_u(input_tokens=4, output_tokens=20, total_tokens=24, cache_read_input_tokens=448)},
))

# ---------------------------------------------------------------------------------------------
# OpenAI Responses: annotation events, two reasoning summary parts, a web_search_call item,
# response.in_progress, content_part.added, obfuscation on deltas, cached input tokens.
# Source: OpenAI API reference, "Responses streaming events"
# (response.output_text.annotation.added, response.reasoning_summary_part.added,
# response.web_search_call.*, response.function_call_arguments.done).
_RSM = "o4-mini-2025-04-16"
_rr = {"id": "resp_1", "object": "response", "created_at": CREATED, "status": "in_progress", "model": _RSM, "output": [], "usage": None}
_msg = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": "See docs.", "annotations": [{"type": "url_citation", "start_index": 4, "end_index": 8,
                                                                                  "url": "https://d.example", "title": "D"}]}]}
_ws = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "docs"}}
_rs = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Second."}]}
_rev = [
    {"type": "response.created", "response": _rr},
    {"type": "response.in_progress", "response": _rr},
    {"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}},
    {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "First.", "obfuscation": "x1"},
    {"type": "response.reasoning_summary_text.done", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "text": "First."},
    {"type": "response.reasoning_summary_part.done", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": "First."}},
    {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": "Second.", "obfuscation": "x2"},
    {"type": "response.reasoning_summary_text.done", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "text": "Second."},
    {"type": "response.output_item.done", "output_index": 0, "item": _rs},
    {"type": "response.output_item.added", "output_index": 1, "item": {**_ws, "status": "in_progress"}},
    {"type": "response.web_search_call.in_progress", "output_index": 1, "item_id": "ws_1"},
    {"type": "response.web_search_call.searching", "output_index": 1, "item_id": "ws_1"},
    {"type": "response.web_search_call.completed", "output_index": 1, "item_id": "ws_1"},
    {"type": "response.output_item.done", "output_index": 1, "item": _ws},
    {"type": "response.output_item.added", "output_index": 2, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}},
    {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 2, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 2, "content_index": 0, "delta": "See ", "logprobs": [], "obfuscation": "ab"},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 2, "content_index": 0, "delta": "docs.", "logprobs": [], "obfuscation": "c"},
    {"type": "response.output_text.annotation.added", "item_id": "msg_1", "output_index": 2, "content_index": 0, "annotation_index": 0,
     "annotation": _msg["content"][0]["annotations"][0]},
    {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 2, "content_index": 0, "text": "See docs.", "logprobs": []},
    {"type": "response.content_part.done", "item_id": "msg_1", "output_index": 2, "content_index": 0, "part": _msg["content"][0]},
    {"type": "response.output_item.done", "output_index": 2, "item": _msg},
    {"type": "response.completed", "response": {**_rr, "status": "completed", "output": [_rs, _ws, _msg],
                                                "usage": {"input_tokens": 300, "input_tokens_details": {"cached_tokens": 256}, "output_tokens": 50,
                                                          "output_tokens_details": {"reasoning_tokens": 30}, "total_tokens": 350}}},
]
CASES.append(Case(
    "responses_annotations_two_summaries_web_search",
    Request.json("api.openai.com", "/v1/responses", {"model": "o4-mini", "input": "docs?", "stream": True, "tools": [{"type": "web_search"}],
                                                     "reasoning": {"summary": "auto"}}, [AUTH]),
    Response(200, [SSE_CT], _typed([{**e, "sequence_number": i} for i, e in enumerate(_rev)])),
    {"api": "openai.responses", "response.id": "resp_1", "response.model": _RSM, "response.text": "See docs.",
     "response.reasoning": "First.\n\nSecond.", "response.tool_calls": [], "response.finish_reason": "completed", "response.chunks": len(_rev),
     **_u(input_tokens=300, output_tokens=50, total_tokens=350, cache_read_input_tokens=256, reasoning_tokens=30)},
))

# Responses stream ending in response.incomplete (max_output_tokens) with the function call's
# arguments only in .done (no deltas: e.g. capture began late) and an error event variant.
# Source: OpenAI API reference, response.incomplete / incomplete_details.reason;
# response.function_call_arguments.done.
_fc = {"id": "fc_9", "type": "function_call", "status": "completed", "call_id": "call_9", "name": "lookup", "arguments": "{\"q\":1}"}
_inc = [
    {"type": "response.created", "response": {**_rr, "id": "resp_2"}},
    {"type": "response.output_item.added", "output_index": 0, "item": {**_fc, "status": "in_progress", "arguments": ""}},
    {"type": "response.function_call_arguments.done", "item_id": "fc_9", "output_index": 0, "arguments": "{\"q\":1}"},
    {"type": "response.output_item.done", "output_index": 0, "item": _fc},
    {"type": "response.incomplete", "response": {**_rr, "id": "resp_2", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
                                                 "output": [_fc], "usage": {"input_tokens": 10, "output_tokens": 16, "total_tokens": 26,
                                                                            "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}},
]
CASES.append(Case(
    "responses_incomplete_args_done_only",
    Request.json("api.openai.com", "/v1/responses", {"model": "o4-mini", "input": "x", "stream": True, "max_output_tokens": 16}, [AUTH]),
    Response(200, [SSE_CT], _typed([{**e, "sequence_number": i} for i, e in enumerate(_inc)])),
    {"response.id": "resp_2", "response.tool_calls": [{"name": "lookup", "arguments": "{\"q\":1}"}], "response.finish_reason": "max_output_tokens",
     **_u(input_tokens=10, output_tokens=16, total_tokens=26)},
))

# ---------------------------------------------------------------------------------------------
# Together AI chat chunks carry the same token twice: choices[].text AND choices[].delta.content
# (plus delta.token_id, seed); finish_reason "eos"; usage on the finish chunk.
# Source: captured Together chunks in lzell/AIProxySwift
# Tests/AIProxyTests/TogetherAIChatCompletionStreamingChunkTests.swift.
_TM = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def _tc(text, token_id, finish=None, seed=None, usage=None):
    return {"id": "8b43a5cfadf99e5c-SJC", "object": "chat.completion.chunk", "created": CREATED,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "seed": seed,
                         "delta": {"token_id": token_id, "role": "assistant", "content": text, "tool_calls": None}}],
            "model": _TM, "usage": usage}


CASES.append(Case(
    "together_text_and_delta_content",
    Request.json("api.together.xyz", "/v1/chat/completions", {"model": _TM, "messages": [{"role": "user", "content": "hi"}], "stream": True}, [AUTH]),
    Response(200, [SSE_CT], sse(
        _tc("Hel", 30),
        _tc("lo!", 31),
        _tc("", 128009, "eos", 2039908639335532000, {"prompt_tokens": 12, "completion_tokens": 27, "total_tokens": 39}),
        "[DONE]")),
    {"provider": "together", "response.text": "Hello!", "response.finish_reason": "eos", **_u(input_tokens=12, output_tokens=27, total_tokens=39)},
))

# SSE field syntax variants (WHATWG HTML §9.2.6): "data:" without the space, a JSON event split
# over two data: lines (joined with "\n", still one JSON text), id:/retry: fields, CR-only line ends.
# Source: WHATWG HTML Living Standard §9.2.6 "Interpreting an event stream" (e.g. LocalAI and
# some gateways write "data:{...}"; Starlette's sse-starlette writes CRLF/CR per its `sep`).
def _sc(delta, finish=None):
    return {"id": "c-1", "object": "chat.completion.chunk", "created": CREATED, "model": "local-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


_split_json = json.dumps(_sc({"content": " world"}), separators=(",", ":"))
_cut = _split_json.index('"choices"')
CASES.append(Case(
    "sse_field_syntax_variants",
    Request.json("localhost:8080", "/v1/chat/completions", {"model": "local-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}),
    Response(200, [SSE_CT], [
        b"retry: 3000\r\r",
        ("id: 1\rdata:" + json.dumps(_sc({"content": "Hello"})) + "\r\r").encode(),
        ("data: " + _split_json[:_cut] + "\rdata: " + _split_json[_cut:] + "\r\r").encode(),
        ("data:" + json.dumps(_sc({}, "stop")) + "\r\r").encode(),
        b"data:[DONE]\r\r",
    ]),
    {"response.text": "Hello world", "response.finish_reason": "stop", "response.chunks": 4},
))

# OpenRouter mid-stream error: a chunk with a top-level `error` and finish_reason "error" after
# some text, in a 200 response.
# Source: OpenRouter docs, "Errors > Error during streaming" (unified error chunk shape).
CASES.append(Case(
    "openrouter_midstream_error",
    Request.json("openrouter.ai", "/api/v1/chat/completions", {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}, [AUTH]),
    Response(200, [SSE_CT], _comment_parts([
        ": OPENROUTER PROCESSING",
        _orc({"role": "assistant", "content": "Part"}),
        {"id": "gen-1769-abc", "object": "chat.completion.chunk", "created": CREATED, "model": "openai/gpt-4o", "provider": "OpenAI",
         "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]},
    ])),
    {"response.text": "Part", "response.finish_reason": "error", "response.error.type": "server_error",
     "response.error.message": "Provider disconnected unexpectedly"},
))

# Gemini: the finishReason chunk is followed by one more chunk holding only the final
# usageMetadata (no candidates), as the Gemini API does when the last text and the final
# counts are flushed separately.
# Source: Gemini API reference, GenerateContentResponse (candidates optional; usageMetadata on
# the last chunk is the final one).
CASES.append(Case(
    "gemini_usage_after_finish_chunk",
    Request.json("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                 {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, [("x-goog-api-key", "AIza-x")]),
    Response(200, [SSE_CT], sse(
        _gch([{"text": "Done"}], "STOP", usage={"promptTokenCount": 5, "totalTokenCount": 5}),
        {"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6}, "modelVersion": _GEM, "responseId": "mBk3aLqX"},
        eol="\r\n")),
    {"response.text": "Done", "response.finish_reason": "STOP", **_u(input_tokens=5, output_tokens=1, total_tokens=6)},
))

# ---------------------------------------------------------------------------------------------
TRANSPORTS = [("1.1", "client"), ("2", "server")]


@pytest.mark.parametrize("http_version,traced", TRANSPORTS, ids=[f"h{v}-{t}" for v, t in TRANSPORTS])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_quirk(case, http_version, traced):
    ex = [case.exchange]
    conv = http1_conversation(ex) if http_version == "1.1" else h2_conversation(ex)
    recs = records_of(run_tracker(capture_lines(conv, traced=traced, server=case.server), mode="all"))
    assert len(recs) == 1, f"expected one record, got {len(recs)}"
    d = recs[0].to_dict()
    problems = check(d, {"kind": "llm", **case.expect})
    assert not problems, "\n".join(problems)
