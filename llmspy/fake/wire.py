# Per-API encoders: one scripted Reply -> the status, headers and body writes a real API sends.
#
# One function per endpoint family, each written from the provider's API reference:
#   - OpenAI Chat Completions: ``chat.completion`` / ``chat.completion.chunk`` objects, SSE
#     ``data:`` lines ending with ``data: [DONE]``; tool-call deltas keyed by ``index`` (id and
#     name in the first, argument fragments after); with ``stream_options.include_usage`` every
#     chunk carries ``"usage": null`` and a last chunk with ``"choices": []`` carries usage;
#     ``obfuscation`` padding unless ``include_obfuscation`` is false.
#   - OpenAI Responses: ``event: response.*`` SSE with ``sequence_number``; usage only in
#     ``response.completed``.
#   - Anthropic Messages: ``event:`` + ``data:`` SSE, message_start (input usage, output 1),
#     content_block_start/delta/stop (text_delta; tool_use with an empty then partial
#     ``input_json_delta``), a ``ping``, message_delta (stop_reason, cumulative output usage),
#     message_stop. Wire ``input_tokens`` excludes cache reads and writes.
#   - Gemini: camelCase GenerateContentResponse; streamGenerateContent sends one response per
#     chunk, ``data: ...`` + CRLF CRLF with ``alt=sse``, else one pretty-printed JSON array
#     written element by element. ``usageMetadata`` is on every chunk: prompt-only until the
#     last, which has the full counts (cumulative, never to be added). Function calls arrive
#     whole, without ids.
#   - Cohere Chat v2: ``event:`` + ``data:`` SSE, message-start, content-start/delta/end,
#     tool-call-start/delta/end, message-end with finish_reason and usage.
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from .scripts import CREATED, Reply, RequestView, Wire, finish_reason

__all__ = ["render", "error", "RENDERERS", "dumps"]

_SSE = ("content-type", "text/event-stream; charset=utf-8")
_JSON = ("content-type", "application/json")
_NO_CACHE = ("cache-control", "no-cache")


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8, as the providers send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _json_wire(status: int, obj: Any, extra: tuple = (), pretty: bool = False) -> Wire:
    text = json.dumps(obj, ensure_ascii=False, indent=2) if pretty else dumps(obj)
    return Wire(status, (_JSON, *extra), (text.encode(),), streamed=False)


def _sse(events: Iterator[tuple[str | None, Any]], extra: tuple = (), eol: str = "\n") -> Wire:
    """SSE (WHATWG HTML §9.2): one write per event; ``event:`` line when a name is given."""
    chunks = []
    for name, data in events:
        text = data if isinstance(data, str) else dumps(data)
        head = f"event: {name}{eol}" if name else ""
        chunks.append(f"{head}data: {text}{eol}{eol}".encode())
    return Wire(200, (_SSE, _NO_CACHE, *extra), tuple(chunks), streamed=True)


def _args(reply_tool) -> Any:
    """A tool call's arguments as an object, for APIs that send objects."""
    try:
        return json.loads(reply_tool.arguments_json)
    except ValueError:
        return {}


# ---- OpenAI Chat Completions -------------------------------------------------------------

def _openai_usage(reply: Reply) -> dict:
    u = reply.usage
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning_tokens, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def openai_chat(reply: Reply, view: RequestView) -> Wire:
    model = reply.model or view.model
    head = {"id": reply.id, "object": "chat.completion", "created": CREATED, "model": model}
    tail = {"service_tier": "default", "system_fingerprint": "fp_fake0001"}
    extra = (("x-request-id", f"req_{reply.id}"), ("openai-processing-ms", "42"))
    reason = finish_reason(view.api, reply)
    if not view.stream:
        message: dict[str, Any] = {"role": "assistant", "content": reply.full_text or None,
                                   "refusal": None, "annotations": []}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": t.id, "type": "function",
                 "function": {"name": t.name, "arguments": t.arguments_json}}
                for t in reply.tool_calls
            ]
        body = {**head, "choices": [{"index": 0, "message": message, "logprobs": None,
                                     "finish_reason": reason}],
                "usage": _openai_usage(reply), **tail}
        return _json_wire(200, body, extra)

    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict | None, reason: str | None = None, usage: Any = None) -> dict:
        choices = [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]
        out = {**head, **tail, "choices": choices}
        if view.include_usage:
            out["usage"] = usage
        if view.obfuscation:
            out["obfuscation"] = "x" * (1 + len(dumps(delta)) % 7)
        return out

    def events():
        yield None, chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in reply.text:
            yield None, chunk({"content": piece})
        for i, t in enumerate(reply.tool_calls):
            yield None, chunk({"tool_calls": [{"index": i, "id": t.id, "type": "function",
                                               "function": {"name": t.name, "arguments": ""}}]})
            for frag in t.arguments:
                yield None, chunk({"tool_calls": [{"index": i, "function": {"arguments": frag}}]})
        yield None, chunk({}, reason)
        if view.include_usage:
            yield None, chunk(None, usage=_openai_usage(reply))
        yield None, "[DONE]"

    return _sse(events(), extra)


# ---- OpenAI Responses --------------------------------------------------------------------

def openai_responses(reply: Reply, view: RequestView) -> Wire:
    u = reply.usage
    status = finish_reason(view.api, reply)
    msg_id = f"msg_{reply.id}"
    part = {"type": "output_text", "text": reply.full_text, "annotations": [], "logprobs": []}
    items: list[dict] = []
    if reply.text:
        items.append({"id": msg_id, "type": "message", "status": "completed",
                      "role": "assistant", "content": [part]})
    for i, t in enumerate(reply.tool_calls):
        items.append({"id": f"fc_{i}_{reply.id}", "type": "function_call", "status": "completed",
                      "arguments": t.arguments_json, "call_id": t.id, "name": t.name})
    response = {
        "id": reply.id, "object": "response", "created_at": CREATED, "status": status,
        "error": None,
        "incomplete_details": ({"reason": "max_output_tokens"} if status == "incomplete"
                               else None),
        "instructions": None, "max_output_tokens": None, "model": reply.model or view.model,
        "output": items, "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": True, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "user": None, "metadata": {},
        "usage": {
            "input_tokens": u.input_tokens,
            "input_tokens_details": {"cached_tokens": u.cache_read_input_tokens},
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.total_tokens,
        },
    }
    extra = (("x-request-id", f"req_{reply.id}"),)
    if not view.stream:
        return _json_wire(200, response, extra)

    seq = iter(range(1_000_000))

    def ev(kind: str, **fields) -> tuple[str, dict]:
        return kind, {"type": kind, "sequence_number": next(seq), **fields}

    def events():
        start = {**response, "status": "in_progress", "output": [], "usage": None,
                 "incomplete_details": None}
        yield ev("response.created", response=start)
        yield ev("response.in_progress", response=start)
        for out_i, item in enumerate(items):
            loc = {"item_id": item["id"], "output_index": out_i}
            if item["type"] == "message":
                yield ev("response.output_item.added", output_index=out_i,
                         item={**item, "status": "in_progress", "content": []})
                empty = {**part, "text": ""}
                yield ev("response.content_part.added", **loc, content_index=0, part=empty)
                for piece in reply.text:
                    yield ev("response.output_text.delta", **loc, content_index=0,
                             delta=piece, logprobs=[])
                yield ev("response.output_text.done", **loc, content_index=0,
                         text=reply.full_text, logprobs=[])
                yield ev("response.content_part.done", **loc, content_index=0, part=part)
            else:
                t = reply.tool_calls[out_i - (1 if reply.text else 0)]
                yield ev("response.output_item.added", output_index=out_i,
                         item={**item, "status": "in_progress", "arguments": ""})
                for frag in t.arguments:
                    yield ev("response.function_call_arguments.delta", **loc, delta=frag)
                yield ev("response.function_call_arguments.done", **loc,
                         arguments=t.arguments_json)
            yield ev("response.output_item.done", output_index=out_i, item=item)
        done = "response.incomplete" if status == "incomplete" else "response.completed"
        yield ev(done, response=response)

    return _sse(events(), extra)


# ---- Anthropic Messages ------------------------------------------------------------------

def _anthropic_usage(reply: Reply, output_tokens: int) -> dict:
    u = reply.usage
    uncached = u.input_tokens - u.cache_read_input_tokens - u.cache_creation_input_tokens
    return {"input_tokens": max(uncached, 0),
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "output_tokens": output_tokens, "service_tier": "standard"}


def anthropic_messages(reply: Reply, view: RequestView) -> Wire:
    reason = finish_reason(view.api, reply)
    message = {"id": reply.id, "type": "message", "role": "assistant",
               "model": reply.model or view.model}
    extra = (("request-id", f"req_{reply.id}"), ("anthropic-organization-id", "fake-org"))
    if not view.stream:
        content: list[dict] = []
        if reply.text:
            content.append({"type": "text", "text": reply.full_text})
        content += [{"type": "tool_use", "id": t.id, "name": t.name, "input": _args(t)}
                    for t in reply.tool_calls]
        body = {**message, "content": content, "stop_reason": reason, "stop_sequence": None,
                "usage": _anthropic_usage(reply, reply.usage.output_tokens)}
        return _json_wire(200, body, extra)

    def events():
        start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
                 "usage": _anthropic_usage(reply, 1)}
        yield "message_start", {"type": "message_start", "message": start}
        index = 0
        if reply.text:
            yield "content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}
            yield "ping", {"type": "ping"}
            for piece in reply.text:
                yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": piece}}
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            index = 1
        for i, t in enumerate(reply.tool_calls, start=index):
            block = {"type": "tool_use", "id": t.id, "name": t.name, "input": {}}
            yield "content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": block}
            for frag in ("", *t.arguments):
                yield "content_block_delta", {
                    "type": "content_block_delta", "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": frag}}
            yield "content_block_stop", {"type": "content_block_stop", "index": i}
        yield "message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": reason, "stop_sequence": None},
                                "usage": {"output_tokens": reply.usage.output_tokens}}
        yield "message_stop", {"type": "message_stop"}

    return _sse(events(), extra)


# ---- Gemini ------------------------------------------------------------------------------

def gemini_generate(reply: Reply, view: RequestView) -> Wire:
    u = reply.usage
    prompt_details = [{"modality": "TEXT", "tokenCount": u.input_tokens}]
    full_usage: dict[str, Any] = {"promptTokenCount": u.input_tokens,
                                  "candidatesTokenCount": u.output_tokens - u.reasoning_tokens,
                                  "totalTokenCount": u.total_tokens,
                                  "promptTokensDetails": prompt_details}
    if u.cache_read_input_tokens:
        full_usage["cachedContentTokenCount"] = u.cache_read_input_tokens
    if u.reasoning_tokens:
        full_usage["thoughtsTokenCount"] = u.reasoning_tokens
    calls = [{"functionCall": {"name": t.name, "args": _args(t)}} for t in reply.tool_calls]
    tail = {"modelVersion": reply.model or view.model, "responseId": reply.id}

    def response(parts: list, last: bool) -> dict:
        cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if last:
            cand["finishReason"] = finish_reason(view.api, reply)
        cand["index"] = 0
        usage = full_usage if last else {"promptTokenCount": u.input_tokens,
                                         "totalTokenCount": u.input_tokens,
                                         "promptTokensDetails": prompt_details}
        return {"candidates": [cand], "usageMetadata": usage, **tail}

    if not view.stream:
        parts = ([{"text": reply.full_text}] if reply.text else []) + calls
        return _json_wire(200, response(parts, True), pretty=True)
    pieces: list[list] = [[{"text": p}] for p in reply.text] + ([calls] if calls else [])
    pieces = pieces or [[{"text": ""}]]
    chunks = [response(p, i == len(pieces) - 1) for i, p in enumerate(pieces)]
    if view.sse:
        return _sse(((None, c) for c in chunks), eol="\r\n")
    # A JSON array written element by element: "[{...}" then ",\r\n{...}" ... then "]".
    texts = [json.dumps(c, ensure_ascii=False, indent=2) for c in chunks]
    writes = [("[" if i == 0 else ",\r\n") + t for i, t in enumerate(texts)] + ["]"]
    return Wire(200, (("content-type", "application/json; charset=UTF-8"),),
                tuple(w.encode() for w in writes), streamed=True)


# ---- Cohere Chat v2 ----------------------------------------------------------------------

def cohere_chat(reply: Reply, view: RequestView) -> Wire:
    u = reply.usage
    usage = {"billed_units": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens},
             "tokens": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}}
    reason = finish_reason(view.api, reply)
    extra = (("x-request-id", f"req_{reply.id}"),)
    if not view.stream:
        message: dict[str, Any] = {"role": "assistant"}
        if reply.text:
            message["content"] = [{"type": "text", "text": reply.full_text}]
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": t.id, "type": "function",
                 "function": {"name": t.name, "arguments": t.arguments_json}}
                for t in reply.tool_calls]
        body = {"id": reply.id, "message": message, "finish_reason": reason, "usage": usage}
        return _json_wire(200, body, extra)

    def ev(kind: str, **fields) -> tuple[str, dict]:
        return kind, {"type": kind, **fields}

    def events():
        yield ev("message-start", id=reply.id, delta={"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
            "citations": []}})
        if reply.text:
            yield ev("content-start", index=0,
                     delta={"message": {"content": {"type": "text", "text": ""}}})
            for piece in reply.text:
                yield ev("content-delta", index=0,
                         delta={"message": {"content": {"text": piece}}})
            yield ev("content-end", index=0)
        for i, t in enumerate(reply.tool_calls):
            yield ev("tool-call-start", index=i, delta={"message": {"tool_calls": {
                "id": t.id, "type": "function",
                "function": {"name": t.name, "arguments": ""}}}})
            for frag in t.arguments:
                yield ev("tool-call-delta", index=i, delta={"message": {"tool_calls": {
                    "function": {"arguments": frag}}}})
            yield ev("tool-call-end", index=i)
        yield ev("message-end", delta={"finish_reason": reason, "usage": usage})

    return _sse(events(), extra)


# ---- errors ------------------------------------------------------------------------------

_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  503: "UNAVAILABLE"}


def error(reply: Reply, view: RequestView) -> Wire:
    """The API's error body for ``reply.status`` (always a whole JSON body, never a stream)."""
    msg, kind, status = reply.error_message, reply.error_type, reply.status
    if view.api == "anthropic.messages":
        body: Any = {"type": "error", "error": {"type": kind, "message": msg},
                     "request_id": f"req_{reply.id}"}
    elif view.api == "gemini.generate_content":
        body = {"error": {"code": status, "message": msg,
                          "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}}
        return _json_wire(status, body, pretty=True)
    elif view.api == "cohere.chat.v2":
        body = {"id": reply.id, "message": msg}
    else:
        body = {"error": {"message": msg, "type": kind, "param": None, "code": None}}
    return _json_wire(status, body)


RENDERERS: dict[str, Callable[[Reply, RequestView], Wire]] = {
    "openai.chat_completions": openai_chat,
    "openai.responses": openai_responses,
    "anthropic.messages": anthropic_messages,
    "gemini.generate_content": gemini_generate,
    "cohere.chat.v2": cohere_chat,
}


def render(reply: Reply, view: RequestView) -> Wire:
    """The response a real API sends for ``view``'s request when the model answers ``reply``."""
    if reply.status >= 400:
        return error(reply, view)
    return RENDERERS[view.api](reply, view)
