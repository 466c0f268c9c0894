# Responses API: request input items, whole Response objects and streamed events, written by
# hand from the OpenAI API reference (Responses, "Streaming events") and the event types of
# openai-python. Expected values come from the payloads written here.
import pytest

from llmspy.providers.openai_responses import Responses
from llmspy.record import Message, Tool, ToolCall

from .openai_support import exchange, request, sse

P = Responses()
URL = "https://api.openai.com/v1/responses"


def ev(kind, **fields):
    """One streamed event: SSE ``event:`` line and JSON ``type`` agree, as OpenAI sends them."""
    return sse({"type": kind, **fields}, event=kind)


def resp(status="in_progress", output=(), usage=None, **more):
    return {"id": "resp_67c", "object": "response", "created_at": 1741290958, "status": status,
            "model": "o4-mini-2025-04-16", "output": list(output), "usage": usage, "error": None,
            "incomplete_details": None, **more}


USAGE = {"input_tokens": 328, "input_tokens_details": {"cached_tokens": 256}, "output_tokens": 152,
         "output_tokens_details": {"reasoning_tokens": 128}, "total_tokens": 480}
REASONING = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "**Plan**"},
                                                             {"type": "summary_text", "text": "Call the tool."}]}
MESSAGE = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]}
CALL = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_9",
        "name": "get_weather", "arguments": '{"city":"Oslo"}'}


def test_request_input_items():
    body = {
        "model": "o4-mini",
        "instructions": "Talk like a pirate.",
        "input": [
            {"role": "developer", "content": "Use metric units."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
            REASONING,
            {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "12C"},
            {"type": "item_reference", "id": "msg_0"},
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": {}},
                  {"type": "web_search"}],
        "reasoning": {"effort": "low", "summary": "auto"},
        "max_output_tokens": 500,
        "previous_response_id": "resp_0",
        "stream": True,
    }
    rec, _ = exchange(P, request(URL, body), items=[])
    rq = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("openai", "chat", "openai.responses")
    assert (rq.model, rq.stream) == ("o4-mini", True)
    assert rq.system == "Talk like a pirate.\nUse metric units."
    assert rq.messages == [
        Message("developer", "Use metric units."),
        Message("user", "Weather in Oslo?"),
        Message(None, REASONING),
        Message("assistant", body["input"][3]),
        Message("tool", "12C"),
        Message(None, {"type": "item_reference", "id": "msg_0"}),
    ]
    assert rq.tools == [Tool("get_weather", "Weather"), Tool("web_search", None)]
    assert rq.params == {"max_output_tokens": 500, "reasoning": {"effort": "low", "summary": "auto"},
                         "previous_response_id": "resp_0"}


def test_request_string_input():
    rec, _ = exchange(P, request(URL, {"model": "gpt-4.1", "input": "Tell me a joke"}), items=[])
    assert rec.request.messages == [Message("user", "Tell me a joke")]
    assert (rec.request.system, rec.request.stream) == (None, False)


def test_whole_response():
    data = resp("completed", [REASONING, MESSAGE, CALL], USAGE)
    rec, _ = exchange(P, request(URL, {"model": "o4-mini", "input": "x"}), body=data)
    r = rec.response
    assert (r.id, r.model, r.finish_reason) == ("resp_67c", "o4-mini-2025-04-16", "completed")
    assert (r.text, r.reasoning) == ("Let me check.", "**Plan**\n\nCall the tool.")
    assert r.tool_calls == [ToolCall("call_9", "get_weather", '{"city":"Oslo"}')]
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_read_input_tokens, u.reasoning_tokens) == (
        328, 152, 480, 256, 128)
    assert r.error is None


def test_whole_incomplete_response():
    data = resp("incomplete", [{"id": "msg_1", "type": "message", "role": "assistant",
                                "content": [{"type": "output_text", "text": "Once upon"}]}],
                {"input_tokens": 10, "output_tokens": 16}, incomplete_details={"reason": "max_output_tokens"})
    rec, _ = exchange(P, request(URL, {"model": "gpt-4.1", "input": "story"}), body=data)
    r = rec.response
    assert (r.text, r.finish_reason, r.usage.total_tokens) == ("Once upon", "max_output_tokens", 26)


def test_whole_refusal():
    data = resp("completed", [{"id": "msg_1", "type": "message", "role": "assistant",
                               "content": [{"type": "refusal", "refusal": "I can't help with that."}]}])
    rec, _ = exchange(P, request(URL, {"model": "gpt-4.1", "input": "x"}), body=data)
    assert rec.response.text == "I can't help with that."


def stream_events():
    """A reasoning summary in two parts, a text answer, then a function call whose arguments
    arrive in four fragments (the last one addressed only by item_id)."""
    call_added = {**CALL, "status": "in_progress", "arguments": ""}
    msg_added = {**MESSAGE, "status": "in_progress", "content": []}
    return [
        ev("response.created", sequence_number=0, response=resp()),
        ev("response.in_progress", sequence_number=1, response=resp()),
        ev("response.output_item.added", sequence_number=2, output_index=0,
           item={"id": "rs_1", "type": "reasoning", "summary": []}),
        ev("response.reasoning_summary_part.added", sequence_number=3, item_id="rs_1", output_index=0,
           summary_index=0, part={"type": "summary_text", "text": ""}),
        ev("response.reasoning_summary_text.delta", sequence_number=4, item_id="rs_1", output_index=0,
           summary_index=0, delta="**Plan**"),
        ev("response.reasoning_summary_text.delta", sequence_number=5, item_id="rs_1", output_index=0,
           summary_index=1, delta="Call the"),
        ev("response.reasoning_summary_text.delta", sequence_number=6, item_id="rs_1", output_index=0,
           summary_index=1, delta=" tool."),
        ev("response.output_item.done", sequence_number=7, output_index=0, item=REASONING),
        ev("response.output_item.added", sequence_number=8, output_index=1, item=msg_added),
        ev("response.output_text.delta", sequence_number=9, item_id="msg_1", output_index=1, content_index=0,
           delta="Let me", logprobs=[]),
        ev("response.output_text.delta", sequence_number=10, item_id="msg_1", output_index=1, content_index=0,
           delta=" check.", logprobs=[]),
        ev("response.output_text.done", sequence_number=11, item_id="msg_1", output_index=1, content_index=0,
           text="Let me check.", logprobs=[]),
        ev("response.output_item.done", sequence_number=12, output_index=1, item=MESSAGE),
        ev("response.output_item.added", sequence_number=13, output_index=2, item=call_added),
        ev("response.function_call_arguments.delta", sequence_number=14, item_id="fc_1", output_index=2, delta='{"'),
        ev("response.function_call_arguments.delta", sequence_number=15, item_id="fc_1", output_index=2, delta="city"),
        ev("response.function_call_arguments.delta", sequence_number=16, item_id="fc_1", output_index=2, delta='":"Os'),
        sse({"type": "response.function_call_arguments.delta", "sequence_number": 17, "item_id": "fc_1",
             "delta": 'lo"}'}),
        ev("response.function_call_arguments.done", sequence_number=18, item_id="fc_1", output_index=2,
           arguments='{"city":"Oslo"}'),
        ev("response.output_item.done", sequence_number=19, output_index=2, item=CALL),
        ev("response.completed", sequence_number=20, response=resp("completed", [REASONING, MESSAGE, CALL], USAGE)),
    ]


def test_stream():
    body = {"model": "o4-mini", "input": "x", "stream": True}
    rec, deltas = exchange(P, request(URL, body), items=stream_events())
    r = rec.response
    assert (r.id, r.model, r.finish_reason) == ("resp_67c", "o4-mini-2025-04-16", "completed")
    assert (r.text, r.reasoning) == ("Let me check.", "**Plan**\n\nCall the tool.")
    assert r.tool_calls == [ToolCall("call_9", "get_weather", '{"city":"Oslo"}')]
    assert (r.usage.input_tokens, r.usage.cache_read_input_tokens, r.usage.reasoning_tokens) == (328, 256, 128)
    assert deltas == [
        ("reasoning", "**Plan**"), ("reasoning", "\n\n"), ("reasoning", "Call the"), ("reasoning", " tool."),
        ("text", "Let me"), ("text", " check."),
        ("tool", '{"'), ("tool", "city"), ("tool", '":"Os'), ("tool", 'lo"}'),
    ]


def test_stream_equals_whole():
    body = {"model": "o4-mini", "input": "x"}
    streamed, _ = exchange(P, request(URL, {**body, "stream": True}), items=stream_events())
    whole, _ = exchange(P, request(URL, body), body=resp("completed", [REASONING, MESSAGE, CALL], USAGE))
    for field in ("id", "model", "text", "reasoning", "tool_calls", "finish_reason", "usage"):
        assert getattr(streamed.response, field) == getattr(whole.response, field), field


def test_stream_joined_mid_way_takes_the_rest_from_the_final_response():
    """Capture began after the deltas: output_item.done and response.completed fill in."""
    items = stream_events()[13:]  # from the call's output_item.added
    items = [i for i in items if i.json["type"] != "response.function_call_arguments.delta"]
    rec, deltas = exchange(P, request(URL, {"model": "o4-mini", "input": "x", "stream": True}), items=items)
    r = rec.response
    assert r.tool_calls == [ToolCall("call_9", "get_weather", '{"city":"Oslo"}')]
    assert (r.text, r.reasoning) == ("Let me check.", "**Plan**\n\nCall the tool.")
    assert deltas[0] == ("tool", '{"city":"Oslo"}')


def test_two_calls_interleaved_by_output_index():
    items = [
        ev("response.output_item.added", output_index=0,
           item={"id": "fc_a", "type": "function_call", "call_id": "call_a", "name": "f", "arguments": ""}),
        ev("response.output_item.added", output_index=1,
           item={"id": "fc_b", "type": "function_call", "call_id": "call_b", "name": "g", "arguments": ""}),
        ev("response.function_call_arguments.delta", item_id="fc_b", output_index=1, delta="{\"b\":"),
        # addressed by item_id only, while the last fragment went to the other call
        sse({"type": "response.function_call_arguments.delta", "item_id": "fc_a", "delta": "{\"a\":"}),
        ev("response.function_call_arguments.delta", item_id="fc_a", output_index=0, delta="1}"),
        ev("response.function_call_arguments.delta", item_id="fc_b", output_index=1, delta="2}"),
    ]
    rec, _ = exchange(P, request(URL, {"model": "m", "input": "x", "stream": True}), items=items)
    assert rec.response.tool_calls == [ToolCall("call_a", "f", '{"a":1}'), ToolCall("call_b", "g", '{"b":2}')]
    assert rec.response.finish_reason is None  # the stream was cut before a terminal event


def test_reasoning_text_deltas_and_refusal():
    items = [
        ev("response.reasoning_text.delta", item_id="rs_1", output_index=0, content_index=0, delta="think"),
        ev("response.reasoning_text.delta", item_id="rs_1", output_index=0, content_index=0, delta="ing"),
        ev("response.refusal.delta", item_id="msg_1", output_index=1, content_index=0, delta="No."),
    ]
    rec, _ = exchange(P, request(URL, {"model": "gpt-oss-120b", "input": "x", "stream": True}), items=items)
    assert (rec.response.reasoning, rec.response.text) == ("thinking", "No.")


def test_response_incomplete_event():
    items = [
        ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta="Once"),
        ev("response.incomplete", response=resp("incomplete", [
            {"id": "msg_1", "type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Once"}]}],
            {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
            incomplete_details={"reason": "content_filter"})),
    ]
    rec, _ = exchange(P, request(URL, {"model": "m", "input": "x", "stream": True}), items=items)
    assert (rec.response.text, rec.response.finish_reason, rec.response.usage.total_tokens) == (
        "Once", "content_filter", 6)


def test_response_failed_event():
    failed = resp("failed", error={"code": "server_error", "message": "The model failed to generate a response."})
    rec, _ = exchange(P, request(URL, {"model": "m", "input": "x", "stream": True}),
                      items=[ev("response.created", response=resp()), ev("response.failed", response=failed)])
    r = rec.response
    assert (r.finish_reason, r.error.type, r.error.message) == (
        "failed", "server_error", "The model failed to generate a response.")


@pytest.mark.parametrize(
    "item, expected",
    [
        # as documented: code and message at the top level
        (ev("error", code="ERR_SOMETHING", message="Something went wrong", param=None, sequence_number=1),
         ("ERR_SOMETHING", "Something went wrong")),
        # as seen on the wire (openai-dotnet#881): nested under "error"
        (ev("error", sequence_number=2, error={"type": "too_many_requests", "code": "too_many_requests",
                                               "message": "Too Many Requests", "param": None}),
         ("too_many_requests", "Too Many Requests")),
        # no code: the type "error" is all there is
        (ev("error", message="boom"), ("error", "boom")),
    ],
)
def test_error_events(item, expected):
    rec, _ = exchange(P, request(URL, {"model": "m", "input": "x", "stream": True}), items=[item])
    assert (rec.response.error.type, rec.response.error.message) == expected


def test_non_2xx_error():
    data = {"error": {"message": "Unsupported parameter: 'temperature'", "type": "invalid_request_error",
                      "param": "temperature", "code": "unsupported_parameter"}}
    rec, _ = exchange(P, request(URL, {"model": "o3", "input": "x"}), body=data, status=400)
    r = rec.response
    assert (r.error.type, r.error.message, r.text, r.finish_reason) == (
        "unsupported_parameter", "Unsupported parameter: 'temperature'", "", None)


@pytest.mark.parametrize(
    "junk",
    [sse("[DONE]"), sse([1]), sse({"type": 5}), ev("response.output_text.delta", delta=None),
     ev("response.output_item.added", output_index="x", item="?"), ev("response.completed", response=[]),
     ev("response.function_call_arguments.delta", delta=7), ev("response.completed", response=resp(output="?")),
     ev("response.unknown_future_event", delta="x")],
)
def test_malformed_events_add_nothing(junk):
    items = [ev("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="ok"), junk]
    rec, deltas = exchange(P, request(URL, {"model": "m", "input": "x", "stream": True}), items=items)
    r = rec.response
    assert (r.text, r.reasoning, r.tool_calls, r.error) == ("ok", "", [], None)
    assert deltas == [("text", "ok")]
