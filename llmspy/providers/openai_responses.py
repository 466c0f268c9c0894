# OpenAI Responses API (POST .../responses), as served by OpenAI, Azure (/openai/v1/responses,
# /openai/responses?api-version=...), xAI, OpenRouter and compatible servers.
#
# A streamed response is a sequence of typed SSE events (OpenAI API reference, "Streaming
# events"; openai-python types/responses/*_event.py). Each event's JSON names its own type in
# ``type``; the SSE ``event:`` line repeats it and is used only when ``type`` is missing.
# Output items are addressed by ``output_index`` (their position in response.output) and
# ``item_id``; tool calls are keyed by output_index, so argument deltas that name only an
# item_id still find their call. The terminal event (response.completed / .incomplete /
# .failed) carries the whole Response object: its usage, status and error are taken, and its
# output fills in what the deltas did not deliver (nothing is added twice). A non-streamed
# body is that same Response object.
from __future__ import annotations

from typing import Any

from ..record import LLMRecord, Message, RequestInfo
from .base import Accumulator, HTTPRequest, StreamItem, as_int, text_of, tools_from
from .compat import RESPONSES, OpenAIFamilyProvider, body_error, error_from, set_usage_from, system_of

__all__ = ["Responses", "ResponsesAccumulator", "input_messages", "PROVIDERS"]

Deltas = list[tuple[str, str]]

# Output item types that are tool calls: type -> (id field, arguments field).
_CALL_ITEMS = {
    "function_call": ("call_id", "arguments"),
    "custom_tool_call": ("call_id", "input"),
    "mcp_call": ("id", "arguments"),
}
# Streamed argument fragments and the "done" events that repeat them whole: event -> field.
_ARG_DELTAS = {
    "response.function_call_arguments.delta": "delta",
    "response.custom_tool_call_input.delta": "delta",
    "response.mcp_call_arguments.delta": "delta",
}
_ARG_DONES = {
    "response.function_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
    "response.mcp_call_arguments.done": "arguments",
}
_TERMINAL = ("response.completed", "response.incomplete", "response.failed", "response.cancelled")
_OPENING = ("response.created", "response.in_progress", "response.queued")
# Statuses that end a response; "in_progress"/"queued" (background mode) do not.
_FINAL_STATUSES = ("completed", "incomplete", "failed", "cancelled")
_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output", "mcp_approval_response")
# Reasoning summary parts are paragraphs: joined with a blank line, streamed or whole.
REASONING_PART_SEPARATOR = "\n\n"


def input_messages(items: Any) -> list[Message]:
    """The request's ``input`` as messages: a string is one user message; list items that
    are messages keep role and text; tool results (``function_call_output``...) become
    role "tool" with their output; tool calls replayed from an earlier turn become role
    "assistant" with the item's JSON; other items (reasoning, item_reference, built-in tool
    calls) keep their JSON with role None."""
    if isinstance(items, str):
        return [Message(role="user", content=items)]
    out = []
    if isinstance(items, list):
        for it in items:
            if not isinstance(it, dict):
                continue
            kind = it.get("type")
            if kind in (None, "message") and "role" in it:
                out.append(Message(role=it.get("role"), content=text_of(it.get("content"))))
            elif kind in _TOOL_OUTPUTS:
                out.append(Message(role="tool", content=text_of(it.get("output"))))
            elif kind in _CALL_ITEMS:
                out.append(Message(role="assistant", content=it))
            else:
                out.append(Message(role=None, content=it))
    return out


def _text_parts(parts: Any, types: tuple[str, ...]) -> list[str]:
    """The texts of the content parts of the given types (``text``, or ``refusal`` for a
    refusal part)."""
    out = []
    if isinstance(parts, list):
        for p in parts:
            if isinstance(p, dict) and p.get("type") in types:
                text = p.get("text", p.get("refusal"))
                if isinstance(text, str):
                    out.append(text)
    return out


class ResponsesAccumulator(Accumulator):
    """Response of /responses, whole or streamed: id, model, text (output_text and refusal),
    reasoning (summary text, or reasoning text from open-weight models), tool_calls
    (function, custom and MCP calls: id is ``call_id``), finish_reason, usage, error.

    finish_reason is the Response ``status`` ("completed", "failed", "cancelled"), except
    for an incomplete response with ``incomplete_details.reason`` ("max_output_tokens",
    "content_filter"), which gives that reason."""

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        super().__init__(req, record)
        self._item_index: dict[str, int] = {}  # output item id -> output_index
        self._reasoning_part: Any = None  # which summary/content part the last reasoning was

    def item(self, item: StreamItem) -> Deltas:
        data = item.json
        if not isinstance(data, dict):
            return []
        kind = data.get("type") if isinstance(data.get("type"), str) else item.event
        if kind == "error" or item.event == "error":
            if not error_from(self, data):
                self.set_error("error", data.get("message"))
            return []
        if kind in _OPENING:
            self._meta(data.get("response"))
            return []
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return self.add_text(data.get("delta"))
        if kind == "response.reasoning_summary_text.delta":
            return self._reasoning_delta(("summary", self._key(data), data.get("summary_index")), data.get("delta"))
        if kind == "response.reasoning_text.delta":
            return self._reasoning_delta(("content", self._key(data), data.get("content_index")), data.get("delta"))
        if kind in ("response.output_item.added", "response.output_item.done"):
            return self._output_item(as_int(data.get("output_index")), data.get("item"))
        if kind in _ARG_DELTAS:
            delta = data.get(_ARG_DELTAS[kind])
            return self.tool_call(self._key(data), arguments=delta) if isinstance(delta, str) else []
        if kind in _ARG_DONES:
            return self._fill_arguments(self._key(data), data.get(_ARG_DONES[kind]))
        if kind in _TERMINAL:
            self.ended = True
            return self._final(data.get("response"))
        return []

    def body(self, data: Any, text: str) -> None:
        body_error(self, data, text)
        if isinstance(data, dict) and ("output" in data or data.get("object") == "response"):
            self._final(data)

    # -- pieces ------------------------------------------------------------------------------
    def _key(self, data: dict) -> int | None:
        """The tool-call key of an event: its output_index, else its item_id's index."""
        index = as_int(data.get("output_index"))
        if index is None and isinstance(data.get("item_id"), str):
            index = self._item_index.get(data["item_id"])
        return index

    def _meta(self, resp: Any) -> None:
        if isinstance(resp, dict):
            self.set_once("id", resp.get("id"))
            self.set_once("model", resp.get("model"))

    def _reasoning_delta(self, part: Any, delta: Any) -> Deltas:
        out: Deltas = []
        if isinstance(delta, str) and delta:
            if self._reasoning and part != self._reasoning_part:
                out += self.add_reasoning(REASONING_PART_SEPARATOR)
            self._reasoning_part = part
            out += self.add_reasoning(delta)
        return out

    def _output_item(self, index: int | None, item: Any) -> Deltas:
        """An output item as announced (arguments usually empty) or finished (whole)."""
        if not isinstance(item, dict) or item.get("type") not in _CALL_ITEMS:
            return []
        id_field, args_field = _CALL_ITEMS[item["type"]]
        if isinstance(item.get("id"), str) and index is not None:
            self._item_index[item["id"]] = index
        out = self.tool_call(index, item.get(id_field), item.get("name"))
        return out + self._fill_arguments(index, item.get(args_field))

    def _fill_arguments(self, key: int | None, arguments: Any) -> Deltas:
        # Whole arguments count only when no fragment arrived (e.g. capture began mid-stream).
        call = self._by_key.get(key if key is not None else self._last_key)
        if call is not None and not call.arguments and isinstance(arguments, str) and arguments:
            call.arguments = arguments
            return [("tool", arguments)]
        return []

    def _final(self, resp: Any) -> Deltas:
        """A whole Response object: terminal stream event or non-streamed body."""
        if not isinstance(resp, dict):
            return []
        self._meta(resp)
        set_usage_from(self, resp.get("usage"))
        status = resp.get("status")
        details = resp.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if isinstance(reason, str) and reason:
            self.response.finish_reason = reason
        elif status in _FINAL_STATUSES:
            self.response.finish_reason = status
        if isinstance(resp.get("error"), dict):
            error_from(self, resp)
        return self._output(resp.get("output"))

    def _output(self, output: Any) -> Deltas:
        if not isinstance(output, list):
            return []
        had_text, had_reasoning = bool(self._text), bool(self._reasoning)
        out: Deltas = []
        summaries: list[str] = []
        for index, item in enumerate(output):
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "message" and not had_text:
                for text in _text_parts(item.get("content"), ("output_text", "refusal")):
                    out += self.add_text(text)
            elif kind == "reasoning" and not had_reasoning:
                parts = _text_parts(item.get("summary"), ("summary_text",))
                summaries += parts or _text_parts(item.get("content"), ("reasoning_text",))
            else:
                out += self._output_item(index, item)
        out += self.add_reasoning(REASONING_PART_SEPARATOR.join(summaries))
        return out


class Responses(OpenAIFamilyProvider):
    """POST .../responses (OpenAI API reference: Create a model response).

    request.system joins ``instructions`` and the system/developer messages of ``input``;
    ``instructions`` is not repeated in request.messages (it is not an input item)."""

    name = RESPONSES.api
    endpoint = RESPONSES
    extra_params = (
        "reasoning",
        "text",
        "truncation",
        "previous_response_id",
        "conversation",
        "parallel_tool_calls",
        "max_tool_calls",
        "service_tier",
        "store",
        "background",
        "include",
        "top_logprobs",
    )

    def parse_body(self, body: dict, rq: RequestInfo) -> None:
        rq.messages = input_messages(body.get("input"))
        instructions = body.get("instructions")
        rq.system = system_of(rq.messages, instructions if isinstance(instructions, str) else None)
        rq.tools = tools_from(body.get("tools"))

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> ResponsesAccumulator:
        return ResponsesAccumulator(req, record)


PROVIDERS = [Responses()]
