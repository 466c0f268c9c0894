# Anthropic Messages API: POST /v1/messages (whole or SSE-streamed) and
# POST /v1/messages/count_tokens, on api.anthropic.com, on any host that speaks the same API
# (gateways send the ``anthropic-version`` header), on Google Vertex AI
# (``publishers/anthropic/models/{model}:rawPredict`` / ``:streamRawPredict``) and on AWS
# Bedrock (``/model/{modelId}/invoke``, and ``/invoke-with-response-stream`` whose AWS
# event-stream messages each carry one Messages stream event, base64-encoded in ``bytes``:
# the "eventstream" framer unwraps them, so the same event handlers apply).
#
# Approach: the stream is a sequence of typed events (Anthropic API reference, "Streaming
# Messages"): message_start, then per content block content_block_start / _delta* / _stop,
# then message_delta (stop_reason, usage) and message_stop; ``ping`` and ``error`` may come at
# any time. A whole (non-streamed) Message is fed through the same block handlers, so both
# paths build the record the same way.
#
# Usage: Anthropic's ``input_tokens`` EXCLUDES cached tokens ("total input tokens is the sum
# of input_tokens, cache_creation_input_tokens and cache_read_input_tokens"). The record follows
# OpenTelemetry (and genai-prices' Anthropic extractor): ``usage.input_tokens`` = input_tokens
# + cache_read_input_tokens + cache_creation_input_tokens, with the two cache counts also kept
# in their own fields. message_delta usage is CUMULATIVE, so each count replaces the previous
# one; nothing is added up across events.
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from ..record import LLMRecord
from .base import (
    Accumulator,
    HTTPRequest,
    Provider,
    StreamItem,
    as_dict,
    as_int,
    as_list,
    header,
    messages_from,
    params_from,
    sum_ints,
    text_of,
    tools_from,
)

__all__ = ["AnthropicProvider", "AnthropicAccumulator", "PROVIDERS"]

API_HOST = "api.anthropic.com"

# Request fields recorded as params (Messages API "Create a Message" body parameters).
PARAM_KEYS = (
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "thinking",
    "tool_choice",
    "service_tier",
)

# Vertex AI: /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:{method}
_VERTEX_RE = re.compile(
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<method>rawPredict|streamRawPredict)$"
)
# Bedrock runtime: /model/{modelId}/invoke[-with-response-stream] (modelId may be URL-encoded)
_BEDROCK_RE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<method>invoke|invoke-with-response-stream)$")

# Anthropic's input counts whose sum is the OTel input token count.
_INPUT_PARTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")

# Content block types that are calls made by the model (client tools, server tools, MCP).
_TOOL_BLOCKS = ("tool_use", "server_tool_use", "mcp_tool_use")


def _endpoint(req: HTTPRequest) -> tuple[str, str, str | None, bool] | None:
    """(provider, operation, model from the URL, URL says streamed) for a Messages endpoint."""
    path = req.path
    m = _VERTEX_RE.search(path)
    if m:
        model = m["model"]
        if model == "count-tokens":
            return "gcp.vertex_ai", "count_tokens", None, False
        return "gcp.vertex_ai", "chat", model, m["method"] == "streamRawPredict"
    m = _BEDROCK_RE.match(path)
    if m and (req.host or "").startswith("bedrock-runtime"):
        return "aws.bedrock", "chat", unquote(m["model"]), m["method"] != "invoke"
    if path.endswith("/messages/count_tokens"):
        return "anthropic", "count_tokens", None, False
    if path.endswith("/messages"):
        return "anthropic", "chat", None, False
    return None


def _looks_like_messages(body: Any) -> bool:
    """The Messages request shape: a ``messages`` array and a ``model`` (or, on Vertex/Bedrock,
    an ``anthropic_version``)."""
    b = as_dict(body)
    return isinstance(b.get("messages"), list) and (
        isinstance(b.get("model"), str) or isinstance(b.get("anthropic_version"), str)
    )


def _system_text(system: Any) -> str | None:
    """``system`` as text: a string as is, a list of text blocks joined with newlines; other
    shapes as their JSON text (never dropped)."""
    if system is None:
        return None
    value = text_of(system)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class AnthropicProvider(Provider):
    """Anthropic Messages API (docs.anthropic.com/en/api/messages, /en/api/messages-streaming,
    /en/api/messages-count-tokens). api "anthropic.messages" / "anthropic.count_tokens"."""

    name = "anthropic"

    def match(self, req: HTTPRequest) -> float:
        if (req.method or "POST").upper() != "POST":  # GET/DELETE on these paths are not calls
            return 0.0
        ep = _endpoint(req)
        body_ok = _looks_like_messages(req.json)
        if ep is None:
            # Headers unknown (HTTP/2 capture began mid-connection): the body's shape decides.
            if not req.path and body_ok:
                b = as_dict(req.json)
                if req.host == API_HOST:
                    return 0.9
                if isinstance(b.get("anthropic_version"), str):
                    return 0.5
                if "max_tokens" in b and str(b.get("model", "")).startswith("claude"):
                    return 0.4
            return 0.0
        provider = ep[0]
        if provider == "gcp.vertex_ai":
            return 1.0
        if provider == "aws.bedrock":
            version = as_dict(req.json).get("anthropic_version")
            claude = "anthropic." in (ep[2] or "") or isinstance(version, str)
            return 0.9 if claude else 0.0
        on_v1 = req.path.endswith(("/v1/messages", "/v1/messages/count_tokens"))
        if req.host == API_HOST:
            return 1.0
        if header(req, "anthropic-version"):
            return 0.9 if on_v1 else 0.8
        if on_v1 and body_ok and (header(req, "x-api-key") or "max_tokens" in as_dict(req.json)):
            return 0.6
        return 0.0

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        ep = _endpoint(req) or ("anthropic", "chat", None, False)
        provider, operation, url_model, url_stream = ep
        record.provider = provider
        record.operation = operation
        record.api = "anthropic.count_tokens" if operation == "count_tokens" else "anthropic.messages"
        b = as_dict(req.json)
        r = record.request
        model = b.get("model")
        r.model = model if isinstance(model, str) and model else url_model
        r.stream = b.get("stream") is True or url_stream
        r.system = _system_text(b.get("system"))
        r.messages = messages_from(b.get("messages"))
        r.tools = tools_from(b.get("tools"))
        r.params = params_from(b, PARAM_KEYS)

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> Accumulator:
        return AnthropicAccumulator(req, record)

    def framing(self, req: HTTPRequest, content_type: str | None) -> str | None:
        """SSE, or AWS event stream for Bedrock's InvokeModelWithResponseStream."""
        ct = (content_type or "").split(";")[0].strip().lower()
        if ct == "application/vnd.amazon.eventstream":
            return "eventstream"
        return super().framing(req, content_type)


class AnthropicAccumulator(Accumulator):
    """Builds record.response from Messages stream events or a whole Message / count_tokens
    result / error body.

    Tool calls are keyed by content block index. A tool_use block's arguments are the
    concatenated ``input_json_delta.partial_json`` fragments; when none (or only empty ones)
    arrive, the ``input`` object given whole in content_block_start is used instead (some
    gateways and servers send it that way; a tool without parameters gives ``{}``)."""

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        super().__init__(req, record)
        self._usage: dict[str, int] = {}  # Anthropic's own counts, latest value of each
        self._whole_input: dict[Any, Any] = {}  # block index -> input object from block start
        self._json_seen: set[Any] = set()  # block indexes that got non-empty partial_json

    # -- stream ------------------------------------------------------------------------------
    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        d = as_dict(item.json)
        kind = d.get("type") if isinstance(d.get("type"), str) else item.event
        index = d.get("index")
        if kind == "content_block_delta":
            return self._delta(index, as_dict(d.get("delta")))
        if kind == "content_block_start":
            return self._block_start(index, as_dict(d.get("content_block")))
        if kind == "content_block_stop":
            return self._block_stop(index)
        if kind == "message_start":
            return self._message(as_dict(d.get("message")))
        if kind == "message_delta":
            delta = as_dict(d.get("delta"))
            if isinstance(delta.get("stop_reason"), str):
                self.response.finish_reason = delta["stop_reason"]
            self._take_usage(d.get("usage"))
            return []
        if kind == "error" or "error" in d:
            self._error(d)
            return []
        if isinstance(kind, str) and kind.endswith("Exception"):  # Bedrock stream exception
            self.set_error(kind, d.get("message"))
            return []
        if kind == "message":  # a whole Message sent as one event (seen from some gateways)
            return self._message(d)
        if kind == "message_stop":
            self.ended = True
        return []  # message_stop, ping, unknown event types

    def _delta(self, index: Any, delta: dict) -> list[tuple[str, str]]:
        t = delta.get("type")
        if t == "text_delta":
            return self.add_text(delta.get("text"))
        if t == "thinking_delta":
            return self.add_reasoning(delta.get("thinking"))
        if t == "input_json_delta":
            fragment = delta.get("partial_json")
            if isinstance(fragment, str) and fragment:
                self._json_seen.add(index)
            return self.tool_call(index, arguments=fragment if isinstance(fragment, str) else None)
        return []  # signature_delta, citations_delta: nothing to show

    def _block_start(self, index: Any, block: dict) -> list[tuple[str, str]]:
        t = block.get("type")
        if t == "text":
            return self.add_text(block.get("text"))
        if t == "thinking":
            return self.add_reasoning(block.get("thinking"))
        if t in _TOOL_BLOCKS:
            out = self.tool_call(index, id=block.get("id"), name=block.get("name"))
            if "input" in block:
                self._whole_input[index] = block["input"]
            return out
        return []  # redacted_thinking, tool results of server tools, ...

    def _block_stop(self, index: Any) -> list[tuple[str, str]]:
        if index not in self._whole_input:
            return []
        whole = self._whole_input.pop(index)
        if index in self._json_seen or whole is None:
            return []
        return self.tool_call(index, arguments=whole)

    # -- whole bodies ------------------------------------------------------------------------
    def body(self, data: Any, text: str) -> None:
        d = as_dict(data)
        if d.get("type") == "error" or isinstance(d.get("error"), dict):
            self._error(d)
        elif d.get("type") == "message" or isinstance(d.get("content"), list):
            self._message(d)
        elif "input_tokens" in d:  # count_tokens: {"input_tokens": N}
            self._take_usage(d)
        elif isinstance(d.get("message"), str) and (self.response.status or 0) >= 400:
            self.set_error(None, d["message"])  # Bedrock / Vertex gateway error shape

    def _message(self, msg: dict) -> list[tuple[str, str]]:
        """A Message object: whole, or the (normally empty) one in message_start."""
        self.set_once("id", msg.get("id"))
        self.set_once("model", msg.get("model"))
        out: list[tuple[str, str]] = []
        for i, block in enumerate(as_list(msg.get("content"))):
            key = ("message", i)  # a namespace apart from streamed block indexes
            out += self._block_start(key, as_dict(block))
            out += self._block_stop(key)
        if isinstance(msg.get("stop_reason"), str):
            self.response.finish_reason = msg["stop_reason"]
        self._take_usage(msg.get("usage"))
        return out

    def _error(self, d: dict) -> None:
        err = as_dict(d.get("error"))
        self.set_error(err.get("type"), err.get("message"))

    def _take_usage(self, usage: Any) -> None:
        u = as_dict(usage)
        for k in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            v = as_int(u.get(k))
            if v is not None:
                self._usage[k] = v
        thinking = as_int(as_dict(u.get("output_tokens_details")).get("thinking_tokens"))
        if thinking is not None:
            self._usage["thinking_tokens"] = thinking

    def finish(self) -> None:
        for index in list(self._whole_input):  # stream cut before content_block_stop
            self._block_stop(index)
        raw = self._usage
        self.set_usage(
            input_tokens=sum_ints(*(raw.get(k) for k in _INPUT_PARTS)),
            output_tokens=raw.get("output_tokens"),
            cache_read_input_tokens=raw.get("cache_read_input_tokens"),
            cache_creation_input_tokens=raw.get("cache_creation_input_tokens"),
            reasoning_tokens=raw.get("thinking_tokens"),
        )
        super().finish()


PROVIDERS = [AnthropicProvider()]
