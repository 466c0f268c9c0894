# Cohere: Chat v2 (POST /v2/chat, SSE when ``stream: true``), legacy Chat v1 (POST /v1/chat,
# newline-delimited JSON when streamed) and Embed (/v2/embed, /v1/embed), on api.cohere.com /
# api.cohere.ai (Cohere API reference "Chat", "Chat with Streaming", "Embed"; the v1 pages;
# cohere-python's V2ChatStreamResponse and StreamedChatResponse types).
#
# Approach: v2 streams typed events (``type`` in the JSON, and as the SSE event name):
# message-start (id), content-start/-delta (text, or ``thinking`` for reasoning models),
# tool-plan-delta, tool-call-start (id, name, first arguments) / -delta (argument fragments) /
# -end, citation-*, message-end (finish_reason, usage, error). v1 streams objects tagged with
# ``event_type``: stream-start (generation_id), text-generation, tool-calls-chunk,
# tool-calls-generation (the whole calls), stream-end (finish_reason and the whole response
# with ``meta`` usage). v1 is NDJSON whatever the content type says, so ``framing`` decides
# from the request.
#
# Conventions: the tool plan (the model's reasoning about which tools to call) is recorded as
# ``reasoning``. Usage prefers ``billed_units`` (what Cohere bills; genai-prices' default
# Cohere extractor) and falls back to ``tokens`` (all tokens the model processed, prompt
# template included); ``cached_tokens`` goes to cache_read_input_tokens. A finish reason of
# ERROR... (or message-end ``delta.error``) sets response.error.
from __future__ import annotations

from typing import Any

from ..record import LLMRecord, Message
from .base import (
    Accumulator,
    HTTPRequest,
    Provider,
    StreamItem,
    as_dict,
    as_int,
    as_list,
    messages_from,
    params_from,
    tools_from,
)
from .compat import system_of

__all__ = ["CohereProvider", "CohereV2Accumulator", "CohereV1Accumulator", "PROVIDERS"]

HOSTS = ("api.cohere.com", "api.cohere.ai")

# Chat request fields recorded as params (v2 names; v1 shares them).
PARAM_KEYS = (
    "max_tokens",
    "temperature",
    "p",
    "k",
    "seed",
    "stop_sequences",
    "frequency_penalty",
    "presence_penalty",
    "thinking",
    "response_format",
    "tool_choice",
    "safety_mode",
)
EMBED_PARAM_KEYS = ("input_type", "embedding_types", "truncate", "output_dimension")

# path suffix -> (operation, api)
_ENDPOINTS = {
    "/v2/chat": ("chat", "cohere.chat.v2"),
    "/v1/chat": ("chat", "cohere.chat.v1"),
    "/v2/embed": ("embeddings", "cohere.embed.v2"),
    "/v1/embed": ("embeddings", "cohere.embed.v1"),
}

# Model name prefixes of Cohere's own models, for hosts other than Cohere's.
_MODEL_PREFIXES = ("command", "c4ai-", "aya", "embed-", "north-")


def _endpoint(req: HTTPRequest) -> tuple[str, str] | None:
    """(operation, api) from the URL path."""
    for suffix, ep in _ENDPOINTS.items():
        if req.path.rstrip("/").endswith(suffix):
            return ep
    return None


def _v1_shape(body: dict) -> bool:
    v1_keys = ("chat_history", "preamble", "connectors")
    return isinstance(body.get("message"), str) and any(k in body for k in v1_keys)


def _endpoint_or_shape(req: HTTPRequest) -> tuple[str, str]:
    """(operation, api) from the path, else (headers unknown) from the body's shape."""
    if (ep := _endpoint(req)) is not None:
        return ep
    return ("chat", "cohere.chat.v1") if _v1_shape(as_dict(req.json)) else ("chat", "cohere.chat.v2")


def _usage(acc: Accumulator, usage: Any) -> None:
    """Usage from a v2 ``usage`` or a v1 ``meta`` object: billed_units, else tokens."""
    u = as_dict(usage)
    billed, tokens = as_dict(u.get("billed_units")), as_dict(u.get("tokens"))
    for key in ("input_tokens", "output_tokens"):
        value = as_int(billed.get(key))
        acc.set_usage(**{key: value if value is not None else tokens.get(key)})
    acc.set_usage(cache_read_input_tokens=u.get("cached_tokens"))


def _finish_reason(acc: Accumulator, reason: Any, error: Any = None) -> None:
    if isinstance(reason, str):
        acc.response.finish_reason = reason
    if isinstance(error, str) and error:
        acc.set_error(reason if isinstance(reason, str) else None, error)
    elif isinstance(reason, str) and reason.startswith("ERROR") and acc.response.error is None:
        acc.set_error(reason, None)


class CohereProvider(Provider):
    """Cohere Chat v1/v2 and Embed v1/v2."""

    name = "cohere"

    def match(self, req: HTTPRequest) -> float:
        if (req.method or "POST").upper() != "POST":  # GET/DELETE on these paths are not calls
            return 0.0
        b = as_dict(req.json)
        ep = _endpoint(req)
        if ep is None:
            if not req.path:  # headers unknown: the body's shape decides
                if req.host in HOSTS and ("messages" in b or "message" in b or "texts" in b):
                    return 0.9
                if _v1_shape(b):
                    return 0.4
            return 0.0
        if req.host in HOSTS:
            return 1.0
        model = b.get("model")
        if isinstance(model, str) and model.startswith(_MODEL_PREFIXES):
            return 0.6  # a gateway or a private deployment serving Cohere's paths
        if ep[1] == "cohere.chat.v1" and _v1_shape(b):
            return 0.5
        return 0.0

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        b = as_dict(req.json)
        record.provider = "cohere"
        record.operation, record.api = _endpoint_or_shape(req)
        r = record.request
        r.model = b.get("model") if isinstance(b.get("model"), str) else None
        r.stream = b.get("stream") is True
        if record.operation == "embeddings":
            r.messages = [Message(role=None, content=t) for t in as_list(b.get("texts"))]
            r.messages += [Message(role=None, content=i) for i in as_list(b.get("inputs"))]
            r.params = params_from(b, EMBED_PARAM_KEYS)
            return
        if record.api == "cohere.chat.v1":
            r.messages = messages_from(b.get("chat_history"), content_key="message")
            if isinstance(b.get("message"), str):
                r.messages.append(Message(role="USER", content=b["message"]))
            r.system = b.get("preamble") if isinstance(b.get("preamble"), str) else None
        else:
            r.messages = messages_from(b.get("messages"))
            r.system = system_of(r.messages)  # system messages stay in messages too
        r.tools = tools_from(b.get("tools"))
        r.params = params_from(b, PARAM_KEYS)

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> Accumulator:
        if record.api in ("cohere.chat.v1", "cohere.embed.v1"):
            return CohereV1Accumulator(req, record)
        return CohereV2Accumulator(req, record)

    def framing(self, req: HTTPRequest, content_type: str | None) -> str | None:
        """v1 chat streams NDJSON under various content types; decide from the request."""
        framing = super().framing(req, content_type)
        streamed = as_dict(req.json).get("stream") is True
        if framing is None and streamed and _endpoint_or_shape(req)[1] == "cohere.chat.v1":
            return "ndjson"
        return framing


class CohereV2Accumulator(Accumulator):
    """Chat v2 stream events or a whole V2ChatResponse / embed response / error body."""

    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        d = as_dict(item.json)
        kind = d.get("type") if isinstance(d.get("type"), str) else item.event
        delta = as_dict(d.get("delta"))
        message = as_dict(delta.get("message"))
        if kind in ("content-delta", "content-start"):
            content = as_dict(message.get("content"))
            return self.add_reasoning(content.get("thinking")) + self.add_text(content.get("text"))
        if kind in ("tool-call-start", "tool-call-delta"):
            calls = message.get("tool_calls")
            call = as_dict(calls[0] if isinstance(calls, list) and calls else calls)
            function = as_dict(call.get("function"))
            index = as_int(d.get("index"))
            return self.tool_call(index, call.get("id"), function.get("name"), function.get("arguments"))
        if kind == "tool-plan-delta":
            return self.add_reasoning(message.get("tool_plan"))
        if kind == "message-start":
            self.set_once("id", d.get("id"))
        elif kind == "message-end":
            self.ended = True
            self.set_once("id", d.get("id"))
            _finish_reason(self, delta.get("finish_reason"), delta.get("error"))
            _usage(self, delta.get("usage"))
        elif kind is None and isinstance(d.get("message"), str):
            self.set_error(None, d["message"])  # an error object instead of an event
        return []

    def body(self, data: Any, text: str) -> None:
        d = as_dict(data)
        message = d.get("message")
        if isinstance(message, str):  # error body: {"id"?, "message": "..."}
            self.set_error(None, message)
            return
        self.set_once("id", d.get("id"))
        message = as_dict(message)
        for part in as_list(message.get("content")):
            part = as_dict(part)
            if part.get("type") == "thinking":
                self.add_reasoning(part.get("thinking"))
            elif part.get("type", "text") == "text":
                self.add_text(part.get("text"))
        self.add_reasoning(message.get("tool_plan"))
        for i, call in enumerate(as_list(message.get("tool_calls"))):
            call = as_dict(call)
            function = as_dict(call.get("function"))
            self.tool_call(i, call.get("id"), function.get("name"), function.get("arguments"))
        _finish_reason(self, d.get("finish_reason"))
        _usage(self, d.get("usage") if "usage" in d else d.get("meta"))  # chat: usage; embed: meta


class CohereV1Accumulator(Accumulator):
    """Chat v1 NDJSON stream objects or a whole NonStreamedChatResponse / embed response."""

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        super().__init__(req, record)
        self._chunked_calls = False  # tool-calls-chunk built the calls already
        self._whole_calls = False  # tool-calls-generation / the final response gave them

    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        d = as_dict(item.json)
        kind = d.get("event_type")
        if kind == "text-generation":
            return self.add_text(d.get("text"))
        if kind == "tool-calls-chunk":
            chunk = as_dict(d.get("tool_call_delta"))
            out = self.add_reasoning(chunk.get("text"))
            if chunk.get("name") is not None or chunk.get("parameters") is not None:
                self._chunked_calls = True
                index = as_int(chunk.get("index"))
                key = None if index is None else ("chunk", index)
                out += self.tool_call(key, name=chunk.get("name"), arguments=chunk.get("parameters"))
            return out
        if kind == "tool-calls-generation":
            # the plan's text once: tool-calls-chunk events may have streamed it already
            out = [] if self._reasoning else self.add_reasoning(d.get("text"))
            return out + self._whole(d.get("tool_calls"))
        if kind == "stream-start":
            self.set_once("id", d.get("generation_id"))
        elif kind == "stream-end":
            self.ended = True
            self._response(as_dict(d.get("response")), streamed=True)
            _finish_reason(self, d.get("finish_reason"))
        elif kind is None and isinstance(d.get("message"), str):
            self.set_error(None, d["message"])
        return []

    def body(self, data: Any, text: str) -> None:
        d = as_dict(data)
        if isinstance(d.get("message"), str) and "text" not in d:
            self.set_error(None, d["message"])
            return
        self._response(d, streamed=False)

    def _whole(self, calls: Any) -> list[tuple[str, str]]:
        """Whole v1 tool calls ``[{name, parameters}]``, unless chunks already built them."""
        if self._chunked_calls or self._whole_calls:
            return []
        out: list[tuple[str, str]] = []
        for i, call in enumerate(as_list(calls)):
            self._whole_calls = True
            call = as_dict(call)
            out += self.tool_call(("whole", i), name=call.get("name"), arguments=call.get("parameters", {}))
        return out

    def _response(self, d: dict, streamed: bool) -> None:
        self.set_once("id", d.get("generation_id") or d.get("id"))
        if not (streamed and (self._text or self._reasoning)):
            # streamed: the text-generation events were the text; in a tool-call turn the
            # final ``text`` repeats the tool plan already recorded as reasoning
            self.add_text(d.get("text"))
        self._whole(d.get("tool_calls"))
        _finish_reason(self, d.get("finish_reason"))
        _usage(self, d.get("meta"))


PROVIDERS = [CohereProvider()]
