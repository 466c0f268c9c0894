# The provider interface: one small module per API family, picked by score.
#
# The shape follows mitmproxy's contentviews registry: each provider says how much a request
# is its own (``match`` returns a score; <= 0 means "not mine"), the registry picks the best,
# and a provider that cannot parse something falls back to leaving fields None instead of
# failing. Providers are pure: they see a parsed request and stream items, never bytes on a
# socket, a clock or a file.
#
# Life of one exchange (driven by core/exchange.py):
#   1. ``provider.match(req)`` for every provider; the best positive score wins.
#   2. ``provider.parse_request(req, record)`` fills record.provider/operation/api and
#      record.request.{model, stream, system, messages, tools, params}.
#   3. ``acc = provider.accumulator(req, record)`` is made when the response head arrives.
#   4. Streamed bodies: the exchange frames the decoded body (SSE, NDJSON, JSON array) and calls
#      ``acc.item(StreamItem)`` per item; it returns deltas for the live view.
#      Whole bodies: ``acc.body(parsed_json_or_None, text)`` once.
#   5. ``acc.finish()`` at the end (also for cut streams); it sets record.response fields.
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..core.events import StreamItem
from ..record import Error, LLMRecord, Message, Tool, ToolCall

__all__ = [
    "HTTPRequest",
    "StreamItem",
    "Provider",
    "Accumulator",
    "text_of",
    "as_int",
    "as_dict",
    "as_list",
    "sum_ints",
    "messages_from",
    "tools_from",
    "params_from",
    "PARAM_KEYS",
    "header",
]


@dataclass(slots=True)
class HTTPRequest:
    """What providers see of a request. ``headers`` has lower-case names and is NOT redacted
    (auth headers help detection); providers must never copy header values into a record.
    ``json`` is the parsed body, or None when the body is not JSON."""

    method: str | None
    url: str | None
    host: str | None  # without port, lower case
    path: str  # path only, no query
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    json: Any = None

    @classmethod
    def build(cls, method, url, headers, body, parsed) -> HTTPRequest:
        try:
            parts = urlsplit(url or "")
            host = (parts.hostname or "").lower().rstrip(".") or None
            path, query = parts.path or "/", parts.query
        except ValueError:  # e.g. an unbalanced "[" in a Host header: keep what is certain
            rest = (url or "").split("://", 1)[-1]
            slash = rest.find("/")
            host, target = None, (rest[slash:] if slash >= 0 else "/")
            path, _, query = target.partition("?")
        return cls(
            method=method,
            url=url,
            host=host,
            path=path,
            query=parse_qs(query),
            headers=headers,
            body=body,
            json=parsed,
        )


def header(req: HTTPRequest, name: str) -> str | None:
    return req.headers.get(name)


def as_int(v: Any) -> int | None:
    """An int from a JSON number; None for anything else (bools excluded)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def as_dict(v: Any) -> dict:
    """``v`` when it is a JSON object, else an empty dict (so ``.get`` chains never raise)."""
    return v if isinstance(v, dict) else {}


def as_list(v: Any) -> list:
    """``v`` when it is a JSON array, else an empty list."""
    return v if isinstance(v, list) else []


def sum_ints(*values: Any) -> int | None:
    """The sum of the values that are ints (see :func:`as_int`); None when none is."""
    ints = [i for i in map(as_int, values) if i is not None]
    return sum(ints) if ints else None


def text_of(content: Any) -> Any:
    """Message content as text when it is text: a string as is; a list of parts whose text
    parts are joined with newlines when every part is text; otherwise the JSON unchanged
    (images, audio, tool results stay visible as the provider sent them)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str) and part.get(
                "type", "text"
            ) in ("text", "input_text", "output_text"):
                texts.append(part["text"])
            else:
                return content
        return "\n".join(texts)
    return content


def messages_from(items: Any, role_key: str = "role", content_key: str = "content") -> list[Message]:
    """Messages from a JSON list of ``{role, content}`` objects; non-objects are skipped."""
    out = []
    if isinstance(items, list):
        for m in items:
            if isinstance(m, dict):
                out.append(Message(role=m.get(role_key), content=text_of(m.get(content_key))))
    return out


def tools_from(items: Any) -> list[Tool]:
    """Tools from the common shapes: ``{name, description}``, OpenAI's
    ``{type: function, function: {name, description}}``."""
    out = []
    if isinstance(items, list):
        for t in items:
            if not isinstance(t, dict):
                continue
            f = t.get("function") if isinstance(t.get("function"), dict) else t
            name = f.get("name") if isinstance(f.get("name"), str) else t.get("type")
            desc = f.get("description")
            out.append(Tool(name=name, description=desc if isinstance(desc, str) else None))
    return out


PARAM_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "n",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "reasoning_effort",
    "tool_choice",
    "response_format",
)


def params_from(body: Any, keys: tuple[str, ...] = PARAM_KEYS) -> dict[str, Any]:
    """The sampling parameters present in a JSON object, under their wire names."""
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in keys if k in body}


class Accumulator:
    """Builds record.response from a provider's stream items or whole body.

    Subclasses override :meth:`item` and :meth:`body`. The helpers keep the merging rules in
    one place: text and reasoning are appended in arrival order, tool calls are merged by
    index (a new id on the same index opens a new call), usage is replaced (providers whose
    usage is cumulative) or merged field by field.
    """

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        self.req = req
        self.record = record
        self.response = record.response
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []  # in order of first fragment
        self._by_key: dict[Any, ToolCall] = {}  # key -> the call that key now means
        self._last_key: Any = None
        # Set by providers on their stream's terminal event ([DONE], message_stop,
        # response.completed, done: true ...): the answer is whole even if the connection is
        # then cut before the HTTP message ends (SDKs often close right after it).
        self.ended = False

    # -- to override -------------------------------------------------------------------------
    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        """Take one stream item; return deltas ``[(kind, text)]`` for the live view."""
        return []

    def body(self, data: Any, text: str) -> None:
        """Take a whole (non-streamed) body: ``data`` parsed JSON or None, ``text`` decoded."""

    def finish(self) -> None:
        """Called once at the end of the response (complete or not)."""
        r = self.response
        r.text = "".join(self._text)
        r.reasoning = "".join(self._reasoning)
        r.tool_calls = list(self._calls)
        u = r.usage
        if u.total_tokens is None and u.input_tokens is not None and u.output_tokens is not None:
            u.total_tokens = u.input_tokens + u.output_tokens

    # -- helpers -----------------------------------------------------------------------------
    def add_text(self, text: Any) -> list[tuple[str, str]]:
        if isinstance(text, str) and text:
            self._text.append(text)
            return [("text", text)]
        return []

    def add_reasoning(self, text: Any) -> list[tuple[str, str]]:
        if isinstance(text, str) and text:
            self._reasoning.append(text)
            return [("reasoning", text)]
        return []

    def tool_call(
        self, key: Any, id: Any = None, name: Any = None, arguments: Any = None
    ) -> list[tuple[str, str]]:
        """Merge a tool-call fragment. ``key`` identifies the call within the response (a
        stream index, an output index, a block index); None means "the call the last fragment
        went to". A fragment with an ``id`` different from the call already at ``key`` opens
        a new call. ``arguments`` may be a JSON text fragment, or a whole object (serialised)."""
        if key is None:
            key = self._last_key if self._last_key is not None else 0
        call = self._by_key.get(key)
        if call is None or (isinstance(id, str) and id and call.id and call.id != id):
            # a new key, or the same index with a new id: a new call
            call = self._by_key[key] = ToolCall(id=None, name=None)
            self._calls.append(call)
        if isinstance(id, str) and id and not call.id:
            call.id = id
        if isinstance(name, str) and name and not call.name:
            call.name = name
        out: list[tuple[str, str]] = []
        if isinstance(arguments, str):
            call.arguments += arguments
            if arguments:
                out.append(("tool", arguments))
        elif arguments is not None:
            text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
            call.arguments += text
            out.append(("tool", text))
        self._last_key = key
        return out

    def set_usage(self, **fields: Any) -> None:
        """Set usage fields that are given as ints (others are ignored, not zeroed)."""
        u = self.response.usage
        for k, v in fields.items():
            v = as_int(v)
            if v is not None:
                setattr(u, k, v)

    def set_error(self, type: Any, message: Any) -> None:
        self.response.error = Error(
            type=type if isinstance(type, str) else None,
            message=message if isinstance(message, str) else (json.dumps(message) if message is not None else None),
        )

    def set_once(self, attr: str, value: Any) -> None:
        """Set response.<attr> (id, model) from the first non-empty string seen."""
        if isinstance(value, str) and value and not getattr(self.response, attr):
            setattr(self.response, attr, value)


class Provider:
    """Base class of provider modules' classes. Subclasses set ``name`` (the registry key)
    and implement :meth:`match`, :meth:`parse_request` and :meth:`accumulator`."""

    name = "base"

    def match(self, req: HTTPRequest) -> float:
        """How much this request belongs to this provider: > 0 yes (higher wins), <= 0 no."""
        return 0.0

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        """Fill record.provider, operation, api and record.request fields from ``req``."""

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> Accumulator:
        return Accumulator(req, record)

    def framing(self, req: HTTPRequest, content_type: str | None) -> str | None:
        """How the response body is framed: "sse", "ndjson", "json-array" or None (a whole
        body). The default reads the content type; providers override for their quirks."""
        ct = (content_type or "").split(";")[0].strip().lower()
        if ct == "text/event-stream":
            return "sse"
        if ct in ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/ndjson"):
            return "ndjson"
        return None
