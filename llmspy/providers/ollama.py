# Ollama's native API (docs/api.md in github.com/ollama/ollama): POST /api/chat,
# /api/generate, /api/embed and the older /api/embeddings, on any host (default port 11434;
# also ollama.com for Ollama's cloud models, and behind prefixes such as Open WebUI's
# /ollama/api/chat). Ollama's OpenAI-compatible /v1/... endpoints belong to the OpenAI module.
#
# Approach: chat and generate STREAM BY DEFAULT: a request that omits ``stream`` gets a
# newline-delimited JSON stream (application/x-ndjson), one object per line, the last with
# ``done: true``, ``done_reason`` and the counters. ``stream: false`` gets that last object
# alone, with the whole message. Stream lines and whole bodies go through one handler.
#
# Fields: chat lines carry ``message.content``, ``message.thinking`` (reasoning, when the
# request set ``think``) and ``message.tool_calls`` ([{function: {name, arguments: OBJECT}}],
# each a whole call; newer servers add ``id`` and ``function.index``); generate lines carry
# ``response`` and ``thinking``. Usage: ``prompt_eval_count`` -> input tokens, ``eval_count``
# -> output tokens (Ollama omits prompt_eval_count when the whole prompt came from its cache).
# Errors are ``{"error": "..."}``: as the whole body, or as a line mid-stream.
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..record import LLMRecord, Message
from .base import (
    Accumulator,
    HTTPRequest,
    Provider,
    StreamItem,
    as_dict,
    as_list,
    messages_from,
    tools_from,
)
from .compat import system_of

__all__ = ["OllamaProvider", "OllamaAccumulator", "PROVIDERS"]

DEFAULT_PORT = 11434
CLOUD_HOST = "ollama.com"

# path suffix -> (operation, api)
_ENDPOINTS = {
    "/api/chat": ("chat", "ollama.chat"),
    "/api/generate": ("text_completion", "ollama.generate"),
    "/api/embed": ("embeddings", "ollama.embed"),
    "/api/embeddings": ("embeddings", "ollama.embeddings"),
}

# The key that carries the input, per api: its presence makes a body Ollama-shaped.
_INPUT_KEYS = {
    "ollama.chat": "messages",
    "ollama.generate": "prompt",
    "ollama.embed": "input",
    "ollama.embeddings": "prompt",
}

# Top-level request fields recorded as params next to ``options`` (all of which are recorded).
_TOP_PARAMS = ("think", "format")

# Keys only Ollama's native API uses: with a model, they mark a body when the path is unknown.
_NATIVE_KEYS = ("options", "keep_alive", "think")


def _endpoint(req: HTTPRequest) -> tuple[str, str] | None:
    for suffix, ep in _ENDPOINTS.items():
        if req.path.rstrip("/").endswith(suffix):
            return ep
    return None


def _port(req: HTTPRequest) -> int | None:
    try:
        return urlsplit(req.url or "").port
    except ValueError:
        return None


def _streamed(api: str, body: dict) -> bool:
    """chat and generate stream unless the request says ``"stream": false``."""
    return api in ("ollama.chat", "ollama.generate") and body.get("stream") is not False


class OllamaProvider(Provider):
    """Ollama native chat / generate / embed."""

    name = "ollama"

    def match(self, req: HTTPRequest) -> float:
        if (req.method or "POST").upper() != "POST":  # GET/DELETE on these paths are not calls
            return 0.0
        b = as_dict(req.json)
        ep = _endpoint(req)
        if ep is None:
            if not req.path and isinstance(b.get("model"), str) and any(k in b for k in _NATIVE_KEYS):
                if isinstance(b.get("messages"), list) or isinstance(b.get("prompt"), str):
                    return 0.3  # headers unknown: Ollama-only keys in the body
            return 0.0
        host = req.host or ""
        if _port(req) == DEFAULT_PORT or host == CLOUD_HOST or host.endswith("." + CLOUD_HOST):
            return 1.0
        if isinstance(b.get("model"), str) and _INPUT_KEYS[ep[1]] in b:
            return 0.6
        return 0.0

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        b = as_dict(req.json)
        if (ep := _endpoint(req)) is None:
            ep = ("chat", "ollama.chat") if "messages" in b else ("text_completion", "ollama.generate")
        record.provider = "ollama"
        record.operation, record.api = ep
        r = record.request
        r.model = b.get("model") if isinstance(b.get("model"), str) else None
        r.stream = _streamed(record.api, b)
        if record.api == "ollama.chat":
            r.messages = messages_from(b.get("messages"))
            r.system = system_of(r.messages)  # system messages stay in messages too
            r.tools = tools_from(b.get("tools"))
        elif record.api == "ollama.embed":
            inputs = b.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            r.messages = [Message(role=None, content=i) for i in inputs]
        elif isinstance(b.get("prompt"), str):
            role = "user" if record.api == "ollama.generate" else None
            r.messages = [Message(role=role, content=b["prompt"])]
        if isinstance(b.get("system"), str):
            r.system = b["system"]
        r.params = dict(as_dict(b.get("options")))
        r.params.update({k: b[k] for k in _TOP_PARAMS if k in b})

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> Accumulator:
        return OllamaAccumulator(req, record)

    def framing(self, req: HTTPRequest, content_type: str | None) -> str | None:
        """NDJSON whenever chat/generate streams (the default), whatever the content type: a
        one-line ``{"error": ...}`` body frames as one item too."""
        framing = super().framing(req, content_type)
        if framing is None:
            ep = _endpoint(req)
            if ep is not None and _streamed(ep[1], as_dict(req.json)):
                return "ndjson"
        return framing


class OllamaAccumulator(Accumulator):
    """Chat / generate stream lines, or a whole response or error body."""

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        super().__init__(req, record)
        self._call_count = 0  # each tool_calls entry is a whole, new call

    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        return self._object(as_dict(item.json))

    def body(self, data: Any, text: str) -> None:
        self._object(as_dict(data))

    def _object(self, d: dict) -> list[tuple[str, str]]:
        if "error" in d:
            err = as_dict(d["error"])  # a string in Ollama; an object from some front proxies
            if err:
                self.set_error(err.get("type"), err.get("message"))
            else:
                self.set_error(None, d["error"])
            return []
        self.set_once("model", d.get("model"))
        message = as_dict(d.get("message"))
        out = self.add_reasoning(message.get("thinking")) + self.add_reasoning(d.get("thinking"))
        out += self.add_text(message.get("content")) + self.add_text(d.get("response"))
        for call in as_list(message.get("tool_calls")):
            call = as_dict(call)
            function = as_dict(call.get("function"))
            self._call_count += 1
            out += self.tool_call(
                ("call", self._call_count),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments", {}),
            )
        if d.get("done") is True:
            self.ended = True
        if d.get("done") is True and isinstance(d.get("done_reason"), str):
            self.response.finish_reason = d["done_reason"]
        self.set_usage(input_tokens=d.get("prompt_eval_count"), output_tokens=d.get("eval_count"))
        return out


PROVIDERS = [OllamaProvider()]
