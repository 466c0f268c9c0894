# What the fake provider sends: scripted replies rendered in each provider's real wire format.
#
# A ``Reply`` says what the model "answered" (text pieces, tool calls with argument
# fragments, finish reason, usage, model, id) in provider-neutral terms; ``wire.render``
# turns one Reply into the exact bytes a real API would send for the request at hand, as a
# list of writes (one per SSE event / JSON-array element, so framing over TLS is realistic).
# ``expected`` gives the record-level values (DESIGN.md schema llmspy/1) the same Reply must
# produce, so tests assert records against the script, never against llmspy.
#
# Everything here is pure (no I/O, no clock): timestamps are the fixed ``CREATED``.
# Wire formats follow each provider's API reference:
#   OpenAI Chat Completions (object chat.completion / chat.completion.chunk, stream_options),
#   OpenAI Responses (response.* streaming events), Anthropic Messages (streaming events
#   message_start .. message_stop), Gemini generateContent / streamGenerateContent (SSE with
#   alt=sse, else a streamed JSON array), Cohere Chat v2 (message-start .. message-end).
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APIS",
    "CREATED",
    "ToolCall",
    "Usage",
    "Reply",
    "RequestView",
    "Wire",
    "DEFAULT_TEXT_REPLIES",
    "DEFAULT_TOOL_REPLIES",
    "default_reply",
    "finish_reason",
    "expected",
]

#: Endpoint families served, named like the record's ``api`` field.
APIS = (
    "openai.chat_completions",
    "openai.responses",
    "anthropic.messages",
    "gemini.generate_content",
    "cohere.chat.v2",
)

#: The Unix time (seconds) every rendered reply claims it was created at.
CREATED = 1764460800


@dataclass(frozen=True)
class ToolCall:
    """One tool call. ``arguments`` are the JSON text fragments, sent one per stream event
    where the API streams arguments (OpenAI, Anthropic, Cohere); APIs that send whole
    objects (Gemini, non-streamed Anthropic) get ``json.loads("".join(arguments))``."""

    id: str
    name: str
    arguments: tuple[str, ...]

    @property
    def arguments_json(self) -> str:
        return "".join(self.arguments)


@dataclass(frozen=True)
class Usage:
    """Token counts in OTel terms (as the record): ``input_tokens`` INCLUDES cached input
    (read and creation); ``output_tokens`` INCLUDES reasoning tokens. Each renderer maps
    these to its wire fields (e.g. Anthropic's wire ``input_tokens`` excludes cache)."""

    input_tokens: int = 12
    output_tokens: int = 8
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``model=None`` echoes the request's model; ``finish_reason=None``
    uses the API's usual value (see ``finish_reason``). ``status >= 400`` sends the API's error
    body (``error_type``, ``error_message``) instead. ``abort_after`` cuts a stream after that
    many events (the connection/stream is reset), for "cut stream" tests."""

    text: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    id: str = "fake-reply-1"
    finish_reason: str | None = None
    status: int = 200
    error_type: str = "rate_limit_error"
    error_message: str = "Rate limit reached (fake)"
    abort_after: int | None = None

    @property
    def full_text(self) -> str:
        return "".join(self.text)


@dataclass(frozen=True)
class RequestView:
    """What a renderer needs from the request: ``model`` from the body (or the Gemini path),
    ``stream`` (body flag or the streaming endpoint), ``include_usage`` (OpenAI
    ``stream_options.include_usage``), ``obfuscation`` (OpenAI
    ``stream_options.include_obfuscation``, default on), ``sse`` (Gemini ``alt=sse``)."""

    api: str
    model: str | None = None
    stream: bool = False
    include_usage: bool = False
    obfuscation: bool = True
    sse: bool = True


@dataclass(frozen=True)
class Wire:
    """A rendered response: status, headers (lower-case names), and ``chunks``, the body as
    separate writes. ``streamed`` is True for event streams (never compressed)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    streamed: bool


_WEATHER = ToolCall(
    id="call_fake_weather_1",
    name="get_weather",
    arguments=('{"ci', 'ty": "Pa', 'ris", "unit"', ': "celsius"}'),
)

#: Default answers to requests without tools, per API. Non-ASCII on purpose (raw UTF-8 on the wire).
DEFAULT_TEXT_REPLIES: dict[str, Reply] = {
    "openai.chat_completions": Reply(
        text=("Hello", " from", " the fake", " OpenAI", " café ☕", "!"),
        usage=Usage(input_tokens=21, output_tokens=9, cache_read_input_tokens=4),
        model="gpt-4o-mini-2024-07-18", id="chatcmpl-fakeLLMSPY0001"),
    "openai.responses": Reply(
        text=("Hi", " from", " Responses", " ✓"),
        usage=Usage(input_tokens=18, output_tokens=7, reasoning_tokens=2),
        model="gpt-4.1-mini-2025-04-14", id="resp_fakeLLMSPY0001"),
    "anthropic.messages": Reply(
        text=("Hello", " from", " fake", " Claude", " — ok."),
        usage=Usage(input_tokens=40, output_tokens=11, cache_read_input_tokens=10,
                    cache_creation_input_tokens=5),
        model="claude-sonnet-4-20250514", id="msg_01FakeLLMSPY0001"),
    "gemini.generate_content": Reply(
        text=("Hello", " from fake", " Gemini", " ✨"),
        usage=Usage(input_tokens=9, output_tokens=6),
        model="gemini-2.0-flash", id="fakeGeminiResponseId01"),
    "cohere.chat.v2": Reply(
        text=("Hello", " from", " fake", " Command"),
        usage=Usage(input_tokens=14, output_tokens=5),
        model="command-a-03-2025", id="c0ffee00-0000-4000-8000-11a5b0000001"),
}

#: Default answers to requests that declare tools: some text, then one tool call.
DEFAULT_TOOL_REPLIES: dict[str, Reply] = {
    api: Reply(
        text=(("Let me", " check.") if api != "gemini.generate_content" else ()),
        tool_calls=(_WEATHER if api != "cohere.chat.v2"
                    else ToolCall("get_weather_fk01", "get_weather", _WEATHER.arguments),),
        usage=Usage(input_tokens=r.usage.input_tokens + 50, output_tokens=17,
                    cache_read_input_tokens=r.usage.cache_read_input_tokens),
        model=r.model, id=r.id[:-1] + "2")
    for api, r in DEFAULT_TEXT_REPLIES.items()
}


def default_reply(api: str, body: Any) -> Reply:
    """The default script: the tool reply when the request body declares tools."""
    has_tools = isinstance(body, dict) and bool(body.get("tools"))
    return (DEFAULT_TOOL_REPLIES if has_tools else DEFAULT_TEXT_REPLIES)[api]


def finish_reason(api: str, reply: Reply) -> str:
    """The wire finish reason: ``reply.finish_reason``, else the API's usual value
    (OpenAI "stop"/"tool_calls", Anthropic "end_turn"/"tool_use", Gemini "STOP",
    Cohere "COMPLETE"/"TOOL_CALL", Responses status "completed")."""
    if reply.finish_reason is not None:
        return reply.finish_reason
    tools = bool(reply.tool_calls)
    return {
        "openai.chat_completions": "tool_calls" if tools else "stop",
        "openai.responses": "completed",
        "anthropic.messages": "tool_use" if tools else "end_turn",
        "gemini.generate_content": "STOP",
        "cohere.chat.v2": "TOOL_CALL" if tools else "COMPLETE",
    }[api]


def expected(reply: Reply, api: str, request_model: str | None = None) -> dict[str, Any]:
    """Record-level values (llmspy/1 ``response`` fields) a correct tracker derives from
    ``reply`` as rendered for ``api``. Tool-call ``arguments`` is the joined JSON text:
    compare it parsed (``json.loads``), since whole-object APIs re-serialise it. Gemini sends
    no tool-call ids (None). Cohere responses carry no model (None)."""
    u = reply.usage
    model = reply.model or request_model
    return {
        "id": reply.id,
        "model": None if api == "cohere.chat.v2" else model,
        "text": reply.full_text,
        "tool_calls": [
            {"id": None if api == "gemini.generate_content" else t.id,
             "name": t.name, "arguments": t.arguments_json}
            for t in reply.tool_calls
        ],
        "finish_reason": finish_reason(api, reply),
        "usage": {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "reasoning_tokens": u.reasoning_tokens,
        },
    }
