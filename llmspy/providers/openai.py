# OpenAI Chat Completions, legacy Completions and Embeddings, and every API that copies them.
#
# One accumulator reads both "choices" shapes: chat (``choices[].message`` whole,
# ``choices[].delta`` streamed) and completions (``choices[].text`` both ways), so Mistral's
# FIM and DeepSeek's beta completions work too. Streamed chunks are merged the way the
# OpenAI SDK's stream helpers merge them, plus the quirks of compatible servers:
#   * reasoning arrives as ``reasoning_content`` (DeepSeek, xAI, llama.cpp), ``reasoning``
#     (OpenRouter, vLLM, Ollama, Groq), ``reasoning_details`` (OpenRouter), or as Mistral's
#     ``{"type": "thinking"}`` content parts;
#   * a choice with a ``delta`` (or ``message``) is chat: its ``text`` is ignored (Together
#     repeats each token there); only completions choices are read from ``text``;
#   * tool-call deltas are merged by ``index``; a new ``id`` on an index opens a new call;
#     a delta without ``index`` continues the last call (or opens one when its id is new);
#   * usage comes in a final chunk with empty ``choices`` (``stream_options.include_usage``),
#     on the finish chunk (Mistral, Together), cumulatively on every chunk (vLLM, Perplexity),
#     or in Groq's ``x_groq.usage``;
#   * Azure's ``prompt_filter_results`` chunk has empty ``choices`` and empty id/model, and
#     its content-filter chunks have no ``delta``: both add nothing;
#   * an ``error`` object can arrive inside a 200 stream (OpenAI, OpenRouter, vLLM).
# References: OpenAI API reference (chat object, chat.completion.chunk, completions,
# embeddings, error codes), Azure OpenAI REST reference, and each provider's API docs.
from __future__ import annotations

from typing import Any

from ..record import Message, RequestInfo
from . import openai_responses
from .base import Accumulator, HTTPRequest, StreamItem, as_int, text_of, tools_from
from .compat import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    ERROR_TEXT_CAP,
    OpenAIFamilyProvider,
    body_error,
    error_from,
    set_usage_from,
    system_of,
)

__all__ = [
    "ChatCompletions",
    "Completions",
    "Embeddings",
    "ChoicesAccumulator",
    "EmbeddingsAccumulator",
    "chat_messages",
    "PROVIDERS",
]

Deltas = list[tuple[str, str]]


def chat_messages(items: Any) -> list[Message]:
    """Chat ``messages`` as records: content text when it is text (base.text_of), else the
    JSON. An assistant message with no content shows its ``tool_calls`` (or legacy
    ``function_call``) JSON instead, so a conversation's tool turns stay visible."""
    out = []
    if isinstance(items, list):
        for m in items:
            if not isinstance(m, dict):
                continue
            content = text_of(m.get("content"))
            if content is None:
                content = m.get("tool_calls") or m.get("function_call")
            out.append(Message(role=m.get("role") if isinstance(m.get("role"), str) else None, content=content))
    return out


def _joined(v: Any) -> str | None:
    """Text from a string or a list of strings / ``{"text": ...}`` parts (Mistral thinking)."""
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        parts = [p if isinstance(p, str) else p.get("text") for p in v if isinstance(p, (str, dict))]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def _choice_zero(choices: Any) -> dict | None:
    # Only the choice with index 0 is recorded (a choice without an index counts as 0).
    if isinstance(choices, list):
        for c in choices:
            if isinstance(c, dict) and as_int(c.get("index")) in (0, None):
                return c
    return None


class ChoicesAccumulator(Accumulator):
    """Response of /chat/completions and /completions, whole or streamed.

    Fills response.id, model, text (content, refusal and audio transcript), reasoning,
    tool_calls, finish_reason, usage and error. With ``n`` > 1 only the choice with
    ``index`` 0 is recorded (text, reasoning, tool calls, finish_reason); usage covers all
    choices, as the API reports it.
    """

    def item(self, item: StreamItem) -> Deltas:
        data = item.json
        if not isinstance(data, dict):
            if item.data.strip() == "[DONE]":
                self.ended = True
            return []  # "[DONE]", or a non-JSON line
        if not error_from(self, data) and item.event == "error":
            self.set_error(None, data.get("message") or item.data[:ERROR_TEXT_CAP])
        self._meta(data)
        choice = _choice_zero(data.get("choices"))
        if choice is None:
            return []  # usage-only chunk, Azure's prompt_filter_results chunk
        self._finish_reason(choice)
        delta = choice.get("delta")
        if isinstance(delta, dict):
            # Together's chat chunks repeat the delta's token in choices[].text: the delta wins.
            return self._message(delta, positional=False)
        return self.add_text(choice.get("text"))  # completions

    def body(self, data: Any, text: str) -> None:
        body_error(self, data, text)
        if not isinstance(data, dict):
            return
        self._meta(data)
        choice = _choice_zero(data.get("choices"))
        if choice is None:
            return
        self._finish_reason(choice)
        message = choice.get("message")
        if isinstance(message, dict):
            self._message(message, positional=True)
        else:
            self.add_text(choice.get("text"))  # completions

    def finish(self) -> None:
        super().finish()
        # A tool-call delta that carried nothing (no id, name or arguments) opened no call.
        self.response.tool_calls = [c for c in self.response.tool_calls if c.id or c.name or c.arguments]

    # -- pieces ------------------------------------------------------------------------------
    def _meta(self, data: dict) -> None:
        self.set_once("id", data.get("id"))
        self.set_once("model", data.get("model"))
        set_usage_from(self, data.get("usage"))
        groq = data.get("x_groq")
        if isinstance(groq, dict):
            set_usage_from(self, groq.get("usage"))

    def _finish_reason(self, choice: dict) -> None:
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.response.finish_reason = reason

    def _message(self, m: dict, positional: bool) -> Deltas:
        """One ``message`` (whole) or ``delta`` (streamed). ``positional``: tool calls carry
        no ``index`` in a whole message, so their list position keys them."""
        out = self.add_reasoning(self._reasoning_of(m))
        out += self._content(m.get("content"))
        out += self.add_text(m.get("refusal"))
        audio = m.get("audio")
        if isinstance(audio, dict):
            out += self.add_text(audio.get("transcript"))
        calls = m.get("tool_calls")
        if isinstance(calls, list):
            for i, call in enumerate(calls):
                if not isinstance(call, dict):
                    continue
                fn = call.get("function") if isinstance(call.get("function"), dict) else {}
                key = i if positional else as_int(call.get("index"))
                out += self.tool_call(key, call.get("id"), fn.get("name"), fn.get("arguments"))
        legacy = m.get("function_call")  # the deprecated "functions" API: one call, no id
        if isinstance(legacy, dict):
            out += self.tool_call("function_call", None, legacy.get("name"), legacy.get("arguments"))
        return out

    @staticmethod
    def _reasoning_of(m: dict) -> str | None:
        # The first field present: servers that send two of them send the same text twice.
        for key in ("reasoning_content", "reasoning"):
            if isinstance(m.get(key), str):
                return m[key]
        details = m.get("reasoning_details")
        if isinstance(details, list):
            texts = [
                d.get("text") if isinstance(d.get("text"), str) else d.get("summary")
                for d in details
                if isinstance(d, dict)
            ]
            return "".join(t for t in texts if isinstance(t, str))
        return None

    def _content(self, content: Any) -> Deltas:
        if isinstance(content, str):
            return self.add_text(content)
        out: Deltas = []
        if isinstance(content, list):  # Mistral: [{"type": "thinking", ...}, {"type": "text", ...}]
            for part in content:
                if isinstance(part, str):
                    out += self.add_text(part)
                elif isinstance(part, dict):
                    if part.get("type") == "thinking":
                        out += self.add_reasoning(_joined(part.get("thinking")))
                    elif part.get("type") in (None, "text", "output_text"):
                        out += self.add_text(part.get("text"))
        return out


class EmbeddingsAccumulator(Accumulator):
    """Response of /embeddings: id (rarely present), model, usage (``prompt_tokens`` ->
    input_tokens, ``total_tokens``), error. The vectors themselves are not text and stay
    only in response.body."""

    def body(self, data: Any, text: str) -> None:
        body_error(self, data, text)
        if isinstance(data, dict):
            self.set_once("id", data.get("id"))
            self.set_once("model", data.get("model"))
            set_usage_from(self, data.get("usage"))

    def item(self, item: StreamItem) -> Deltas:  # not a streaming endpoint; take errors only
        error_from(self, item.json)
        return []


class ChatCompletions(OpenAIFamilyProvider):
    """POST .../chat/completions (OpenAI API reference: Create chat completion).

    request.messages keeps every message, system/developer ones included; request.system is
    their text joined with newlines. Tools come from ``tools`` or the legacy ``functions``."""

    name = CHAT.api
    endpoint = CHAT
    extra_params = (
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "service_tier",
        "stream_options",
        "modalities",
        "verbosity",
        "reasoning",  # OpenRouter's reasoning settings
    )

    def parse_body(self, body: dict, rq: RequestInfo) -> None:
        rq.messages = chat_messages(body.get("messages"))
        rq.system = system_of(rq.messages)
        rq.tools = tools_from(body.get("tools")) or tools_from(body.get("functions"))

    def accumulator(self, req: HTTPRequest, record) -> ChoicesAccumulator:
        return ChoicesAccumulator(req, record)


class Completions(OpenAIFamilyProvider):
    """POST .../completions (legacy Completions; also Mistral /v1/fim/completions and
    DeepSeek /beta/completions). The ``prompt`` (a string, strings or token arrays) becomes
    one user message with that value as content; ``suffix`` stays in params."""

    name = COMPLETIONS.api
    endpoint = COMPLETIONS
    extra_params = ("suffix", "echo", "best_of", "logprobs", "stream_options", "min_tokens")

    def parse_body(self, body: dict, rq: RequestInfo) -> None:
        if "prompt" in body:
            rq.messages = [Message(role="user", content=body["prompt"])]

    def accumulator(self, req: HTTPRequest, record) -> ChoicesAccumulator:
        return ChoicesAccumulator(req, record)


class Embeddings(OpenAIFamilyProvider):
    """POST .../embeddings. The ``input`` (a string, strings or token arrays) becomes one
    user message with that value as content, so a batch stays one message and nothing is
    joined; ``dimensions`` and ``encoding_format`` go to params."""

    name = EMBEDDINGS.api
    endpoint = EMBEDDINGS
    extra_params = ("dimensions", "encoding_format", "input_type", "truncate")

    def parse_body(self, body: dict, rq: RequestInfo) -> None:
        if "input" in body:
            rq.messages = [Message(role="user", content=body["input"])]

    def accumulator(self, req: HTTPRequest, record) -> EmbeddingsAccumulator:
        return EmbeddingsAccumulator(req, record)


PROVIDERS = [ChatCompletions(), Completions(), Embeddings(), *openai_responses.PROVIDERS]
