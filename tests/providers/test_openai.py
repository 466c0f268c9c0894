# Chat Completions, Completions and Embeddings: requests, whole bodies and streams, written by
# hand from the OpenAI API reference (chat.completion, chat.completion.chunk, completions,
# embeddings) and the compatible providers' documented quirks. Expected values come from the
# payloads written here.
import json

import pytest

from llmspy.providers.openai import ChatCompletions, Completions, Embeddings
from llmspy.record import Message, Tool, ToolCall

from .openai_support import exchange, request, sse

CHAT = ChatCompletions()
URL = "https://api.openai.com/v1/chat/completions"
AZURE_URL = "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"


def chunk(delta=None, finish=None, index=0, **top):
    """A chat.completion.chunk with one choice."""
    choice = {"index": index, "delta": {} if delta is None else delta, "finish_reason": finish}
    return sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
                "choices": [choice], **top})


def tc(index=None, id=None, name=None, args=None):
    """A tool-call delta; omitted keys are left out as the servers leave them out."""
    d = {}
    if index is not None:
        d["index"] = index
    if id is not None:
        d.update(id=id, type="function")
    fn = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    if fn:
        d["function"] = fn
    return d


DONE = sse("[DONE]")


# -- requests ------------------------------------------------------------------------------------


def test_chat_request_fields():
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric"}, {"type": "text", "text": "units."}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                         {"type": "image_url", "image_url": {"url": "data:..."}}]},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "12C"},
        ],
        "tools": [{"type": "function", "function": {"name": "w", "description": "weather", "parameters": {}}}],
        "temperature": 0.2,
        "max_completion_tokens": 100,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
    }
    rec, _ = exchange(CHAT, request(URL, body), items=[])
    rq = rec.request
    assert (rec.provider, rec.operation, rec.api) == ("openai", "chat", "openai.chat_completions")
    assert rq.model == "gpt-4o" and rq.stream is True
    assert rq.system == "Be brief.\nUse metric\nunits."
    assert [m.role for m in rq.messages] == ["system", "developer", "user", "assistant", "tool"]
    assert rq.messages[1].content == "Use metric\nunits."
    assert rq.messages[2].content == body["messages"][2]["content"]  # not all text: JSON kept
    assert rq.messages[3].content == body["messages"][3]["tool_calls"]
    assert rq.messages[4] == Message(role="tool", content="12C")
    assert rq.tools == [Tool(name="w", description="weather")]
    assert rq.params == {"temperature": 0.2, "max_completion_tokens": 100, "stream_options": {"include_usage": True}}


def test_chat_request_legacy_functions_and_not_json():
    body = {"model": "gpt-3.5-turbo", "messages": [], "functions": [{"name": "f", "description": "d"}]}
    rec, _ = exchange(CHAT, request(URL, body), items=[])
    assert rec.request.tools == [Tool(name="f", description="d")]
    assert rec.request.system is None and rec.request.stream is False
    rec, _ = exchange(CHAT, request(URL, None), items=[])
    assert (rec.request.model, rec.request.messages, rec.api) == (None, [], "openai.chat_completions")


# -- whole bodies --------------------------------------------------------------------------------

WHOLE = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking both.",
                "refusal": None,
                "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}


def test_chat_whole_body():
    rec, _ = exchange(CHAT, request(URL, {"model": "gpt-4o", "messages": []}), body=WHOLE)
    r = rec.response
    assert (r.id, r.model, r.text, r.finish_reason) == (
        "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "gpt-4o-2024-08-06", "Checking both.", "tool_calls")
    assert r.tool_calls == [ToolCall("call_a", "weather", '{"city":"Oslo"}'), ToolCall("call_b", "weather", '{"city":"Rome"}')]
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_read_input_tokens, u.reasoning_tokens) == (
        1117, 46, 1163, 1024, 0)
    assert r.error is None


def test_whole_tool_calls_without_ids_stay_apart():
    # some local servers return tool calls with no id: their list position keeps them apart
    data = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"type": "function", "function": {"name": "g", "arguments": {"x": 1}}},
    ]}}]}
    rec, _ = exchange(CHAT, request("http://localhost:8080/v1/chat/completions", {"messages": []}), body=data)
    assert rec.response.tool_calls == [ToolCall(None, "f", "{}"), ToolCall(None, "g", '{"x":1}')]


def test_chat_stream_equals_whole():
    """The same answer streamed: six fragments of each call, interleaved by index."""
    a, b = '{"city":"Oslo"}', '{"city":"Rome"}'
    items = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Checking"}), chunk({"content": " both."})]
    items += [chunk({"tool_calls": [tc(0, "call_a", "weather", "")]}), chunk({"tool_calls": [tc(1, "call_b", "weather", "")]})]
    for i in range(0, 15, 3):
        items += [chunk({"tool_calls": [tc(0, args=a[i:i + 3])]}), chunk({"tool_calls": [tc(1, args=b[i:i + 3])]})]
    items += [chunk(finish="tool_calls"), sse({**WHOLE, "object": "chat.completion.chunk", "choices": []}), DONE]
    streamed, deltas = exchange(CHAT, request(URL, {"model": "gpt-4o", "messages": [], "stream": True}), items=items)
    whole, _ = exchange(CHAT, request(URL, {"model": "gpt-4o", "messages": []}), body=WHOLE)
    for field in ("text", "tool_calls", "finish_reason", "usage", "model"):
        assert getattr(streamed.response, field) == getattr(whole.response, field), field
    assert deltas[:2] == [("text", "Checking"), ("text", " both.")]
    assert "".join(t for k, t in deltas if k == "tool") == "".join(a[i:i + 3] + b[i:i + 3] for i in range(0, 15, 3))


# -- stream quirks ---------------------------------------------------------------------------------


def run(items, url=URL, body=None):
    return exchange(CHAT, request(url, body or {"model": "gpt-4o", "messages": [], "stream": True}), items=items)


def test_tool_call_over_six_deltas():
    items = [
        chunk({"role": "assistant", "content": None, "tool_calls": [tc(0, "call_Xy", "get_weather", "")]}),
        chunk({"tool_calls": [tc(0, args='{"')]}),
        chunk({"tool_calls": [tc(0, args="loc")]}),
        chunk({"tool_calls": [tc(0, args='ation":')]}),
        chunk({"tool_calls": [tc(0, args=' "Paris')]}),
        chunk({"tool_calls": [tc(0, args='"}')]}),
        chunk(finish="tool_calls"),
        DONE,
    ]
    rec, deltas = run(items)
    assert rec.response.tool_calls == [ToolCall("call_Xy", "get_weather", '{"location": "Paris"}')]
    assert rec.response.finish_reason == "tool_calls"
    assert rec.response.text == ""
    assert [t for k, t in deltas if k == "tool"] == ['{"', "loc", 'ation":', ' "Paris', '"}']


def test_same_index_new_id_opens_a_new_call():
    # servers that number every call 0 (one whole call per delta)
    items = [
        chunk({"tool_calls": [tc(0, "call_1", "a", '{"x":1}')]}),
        chunk({"tool_calls": [tc(0, "call_2", "b", "{")]}),
        chunk({"tool_calls": [tc(0, args='"y":2}')]}),
    ]
    rec, _ = run(items)
    assert rec.response.tool_calls == [ToolCall("call_1", "a", '{"x":1}'), ToolCall("call_2", "b", '{"y":2}')]


def test_tool_call_deltas_without_index():
    items = [
        chunk({"tool_calls": [tc(None, "call_1", "search", '{"q":')]}),
        chunk({"tool_calls": [tc(None, args='"cats"}')]}),
        chunk({"tool_calls": [tc(None, "call_2", "search", '{"q":"dogs"}')]}),
        chunk({"tool_calls": [{"function": {"arguments": {"page": 2}}}]}),  # an object, not text
    ]
    rec, _ = run(items)
    assert rec.response.tool_calls == [
        ToolCall("call_1", "search", '{"q":"cats"}'),
        ToolCall("call_2", "search", '{"q":"dogs"}{"page":2}'),
    ]


def test_usage_chunk_with_empty_choices_and_done():
    items = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hi"}),
        chunk(finish="stop"),
        sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
             "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
                                      "prompt_tokens_details": {"cached_tokens": 0},
                                      "completion_tokens_details": {"reasoning_tokens": 0}}}),
        DONE,
    ]
    rec, deltas = run(items)
    r = rec.response
    assert (r.text, r.finish_reason, r.id, r.model) == ("Hi", "stop", "chatcmpl-1", "gpt-4o-2024-08-06")
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (9, 2, 11)
    assert deltas == [("text", "Hi")]


def test_reasoning_model_usage_without_total():
    items = [chunk({"content": "4"}, finish="stop"),
             sse({"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 300,
                                           "completion_tokens_details": {"reasoning_tokens": 256}}})]
    rec, _ = run(items)
    u = rec.response.usage
    assert (u.output_tokens, u.reasoning_tokens, u.total_tokens) == (300, 256, 320)


def test_azure_filter_chunks():
    filt = {"hate": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}
    items = [
        sse({"choices": [], "created": 0, "id": "", "model": "", "object": "",
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filt}]}),
        sse({"choices": [{"content_filter_results": {}, "delta": {"content": "", "refusal": None, "role": "assistant"},
                          "finish_reason": None, "index": 0, "logprobs": None}],
             "created": 1736407895, "id": "chatcmpl-AZ", "model": "gpt-4o-mini-2024-07-18",
             "object": "chat.completion.chunk", "system_fingerprint": "fp_5154047bf2"}),
        sse({"choices": [{"content_filter_results": filt, "delta": {"content": "Hello"}, "finish_reason": None,
                          "index": 0, "logprobs": None}],
             "created": 1736407895, "id": "chatcmpl-AZ", "model": "gpt-4o-mini-2024-07-18",
             "object": "chat.completion.chunk"}),
        sse({"choices": [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0}],
             "created": 1736407895, "id": "chatcmpl-AZ", "model": "gpt-4o-mini-2024-07-18",
             "object": "chat.completion.chunk"}),
        # asynchronous filter annotation: no delta at all
        sse({"id": "", "object": "", "created": 0, "model": "",
             "choices": [{"index": 0, "finish_reason": None, "content_filter_results": filt,
                          "content_filter_offsets": {"check_offset": 5, "start_offset": 5, "end_offset": 5}}]}),
        DONE,
    ]
    body = {"messages": [{"role": "user", "content": "Say hello"}], "stream": True}
    rec, _ = run(items, url=AZURE_URL, body=body)
    assert rec.provider == "azure.ai.openai"
    assert rec.request.model is None
    assert rec.request.params == {"deployment": "gpt-4o-prod", "api-version": "2024-10-21"}
    r = rec.response
    assert (r.text, r.finish_reason, r.id, r.model) == ("Hello", "stop", "chatcmpl-AZ", "gpt-4o-mini-2024-07-18")


def test_deepseek_reasoning_content():
    url = "https://api.deepseek.com/chat/completions"
    items = [
        chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        chunk({"content": None, "reasoning_content": "9.11 vs 9.8:"}),
        chunk({"content": None, "reasoning_content": " compare tenths."}),
        chunk({"content": "9.8 is larger.", "reasoning_content": None}),
        chunk(finish="stop", usage={"prompt_tokens": 70, "completion_tokens": 40, "total_tokens": 110,
                                    "prompt_tokens_details": {"cached_tokens": 64},
                                    "completion_tokens_details": {"reasoning_tokens": 30},
                                    "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 6}),
        DONE,
    ]
    rec, deltas = run(items, url=url, body={"model": "deepseek-reasoner", "messages": [], "stream": True})
    r = rec.response
    assert rec.provider == "deepseek"
    assert (r.reasoning, r.text) == ("9.11 vs 9.8: compare tenths.", "9.8 is larger.")
    assert (r.usage.cache_read_input_tokens, r.usage.reasoning_tokens, r.usage.total_tokens) == (64, 30, 110)
    assert deltas == [("reasoning", "9.11 vs 9.8:"), ("reasoning", " compare tenths."), ("text", "9.8 is larger.")]


def test_openrouter_reasoning_not_doubled_by_details():
    url = "https://openrouter.ai/api/v1/chat/completions"
    items = [
        sse(": OPENROUTER PROCESSING"),  # a comment never reaches here; junk text must not matter
        chunk({"role": "assistant", "content": "", "reasoning": "Think",
               "reasoning_details": [{"type": "reasoning.text", "text": "Think", "index": 0}]}),
        chunk({"content": "", "reasoning_details": [{"type": "reasoning.summary", "summary": "ing."}]}),
        chunk({"content": "Done"}, finish="stop"),
    ]
    rec, _ = run(items, url=url)
    assert (rec.response.reasoning, rec.response.text) == ("Thinking.", "Done")


def test_mistral_thinking_parts():
    url = "https://api.mistral.ai/v1/chat/completions"
    items = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "User says hi."}]}]}),
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": " Greet."}]}]}),
        chunk({"content": [{"type": "text", "text": "Hello"}]}),
        chunk({"content": "!"}, finish="stop", usage={"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}),
    ]
    rec, _ = run(items, url=url)
    r = rec.response
    assert (r.reasoning, r.text, r.usage.total_tokens) == ("User says hi. Greet.", "Hello!", 14)


def test_groq_x_groq_usage():
    url = "https://api.groq.com/openai/v1/chat/completions"
    items = [
        chunk({"role": "assistant", "content": "Hey"}, x_groq={"id": "req_01"}),
        chunk(finish="stop", x_groq={"id": "req_01", "usage": {"queue_time": 0.01, "prompt_tokens": 12,
                                                               "prompt_time": 0.002, "completion_tokens": 3,
                                                               "completion_time": 0.01, "total_tokens": 15}}),
    ]
    rec, _ = run(items, url=url)
    u = rec.response.usage
    assert (rec.provider, u.input_tokens, u.output_tokens, u.total_tokens) == ("groq", 12, 3, 15)


def test_error_inside_stream():
    items = [
        chunk({"content": "Par"}),
        sse({"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                       "param": None, "code": None}}),
    ]
    rec, _ = run(items)
    r = rec.response
    assert (r.text, r.error.type, r.error.message) == (
        "Par", "server_error", "The server had an error while processing your request.")


def test_openrouter_error_chunk_with_finish_reason_error():
    items = [
        chunk({"content": "Hal"}),
        chunk({"content": ""}, finish="error", error={"code": 502, "message": "Provider disconnected"}),
    ]
    rec, _ = run(items, url="https://openrouter.ai/api/v1/chat/completions")
    r = rec.response
    assert (r.text, r.finish_reason, r.error.type, r.error.message) == ("Hal", "error", "502", "Provider disconnected")


def test_sse_error_event_with_bare_message():
    rec, _ = run([sse({"message": "overloaded"}, event="error")])
    assert (rec.response.error.type, rec.response.error.message) == (None, "overloaded")


def test_non_2xx_error_body():
    data = {"error": {"message": "This model's maximum context length is 128000 tokens.",
                      "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
    rec, _ = exchange(CHAT, request(URL, {"model": "gpt-4o", "messages": []}), body=data, status=400)
    r = rec.response
    assert (r.error.type, r.error.message) == ("context_length_exceeded", data["error"]["message"])
    assert (r.text, r.tool_calls, r.finish_reason) == ("", [], None)


def test_only_choice_zero_is_recorded():
    items = [
        chunk({"content": "A"}, index=0),
        chunk({"content": "B", "tool_calls": [tc(0, "call_other", "f", "{}")]}, index=1),
        chunk({"content": "a"}, index=0),
        chunk(finish="length", index=1),
        chunk(finish="stop", index=0),
    ]
    rec, deltas = run(items, body={"model": "gpt-4o", "messages": [], "n": 2, "stream": True})
    r = rec.response
    assert (r.text, r.tool_calls, r.finish_reason) == ("Aa", [], "stop")
    assert deltas == [("text", "A"), ("text", "a")]
    assert rec.request.params == {"n": 2}


def test_refusal_audio_and_legacy_function_call():
    items = [
        chunk({"refusal": "I can't help"}),
        chunk({"refusal": " with that."}),
        chunk({"audio": {"id": "audio_1", "transcript": " Sorry."}}),
        chunk({"function_call": {"name": "lookup", "arguments": ""}}),
        chunk({"function_call": {"arguments": '{"k":1}'}}, finish="function_call"),
    ]
    rec, _ = run(items)
    r = rec.response
    assert r.text == "I can't help with that. Sorry."
    assert r.tool_calls == [ToolCall(None, "lookup", '{"k":1}')]


@pytest.mark.parametrize(
    "junk",
    [
        sse("not json"),
        sse([1, 2, 3]),
        sse({"choices": "nope"}),
        sse({"choices": [None, 3]}),
        sse({"choices": [{"index": 0, "delta": "text?"}]}),
        sse({"choices": [{"index": 0, "delta": {"tool_calls": "x", "content": 5, "reasoning": ["r"]}}]}),
        sse({"choices": [{"index": 0, "delta": {"tool_calls": [None, {"function": "f"}]}}]}),
        sse({"usage": {"prompt_tokens": True}, "id": 7, "model": None, "x_groq": "?"}),
        sse({"error": None}),
    ],
)
def test_malformed_chunks_add_nothing(junk):
    rec, deltas = run([chunk({"content": "ok"}), junk])
    r = rec.response
    assert (r.text, r.reasoning, r.error, r.usage.input_tokens) == ("ok", "", None, None)
    assert deltas == [("text", "ok")]
    assert r.tool_calls == []


def test_whole_body_reasoning_and_non_object():
    data = {"id": "x", "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "42", "reasoning_content": "6*7"}}]}
    rec, _ = exchange(CHAT, request("https://api.deepseek.com/chat/completions", {"messages": []}), body=data)
    assert (rec.response.text, rec.response.reasoning) == ("42", "6*7")
    rec, _ = exchange(CHAT, request(URL, {"messages": []}), body=None, text="<html>ok</html>")
    assert (rec.response.text, rec.response.error) == ("", None)


# -- completions ---------------------------------------------------------------------------------

COMPLETIONS = Completions()
C_URL = "https://api.openai.com/v1/completions"


def test_completions_request_and_whole_body():
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7, "temperature": 0,
            "suffix": "!"}
    data = {"id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", "object": "text_completion", "created": 1589478378,
            "model": "gpt-3.5-turbo-instruct",
            "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
    rec, _ = exchange(COMPLETIONS, request(C_URL, body), body=data)
    assert (rec.operation, rec.api) == ("text_completion", "openai.completions")
    assert rec.request.messages == [Message(role="user", content="Say this is a test")]
    assert rec.request.params == {"max_tokens": 7, "temperature": 0, "suffix": "!"}
    r = rec.response
    assert (r.text, r.finish_reason, r.id, r.usage.total_tokens) == (
        "\n\nThis is indeed a test", "length", "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", 12)


def test_completions_stream():
    def c(text, finish=None):
        return sse({"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct",
                    "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]})

    items = [c("This"), c(" is"), c(" a test.", "stop"),
             sse({"id": "cmpl-1", "object": "text_completion", "choices": [],
                  "usage": {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}}), DONE]
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": ["a", "b"], "stream": True}
    rec, deltas = exchange(COMPLETIONS, request(C_URL, body), items=items)
    assert rec.request.messages == [Message(role="user", content=["a", "b"])]
    assert (rec.response.text, rec.response.finish_reason, rec.response.usage.input_tokens) == ("This is a test.", "stop", 4)
    assert deltas == [("text", "This"), ("text", " is"), ("text", " a test.")]


def test_mistral_fim_response_is_chat_shaped():
    url = "https://api.mistral.ai/v1/fim/completions"
    data = {"id": "f1", "object": "chat.completion", "model": "codestral-latest",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "a + b"}, "finish_reason": "stop"}]}
    rec, _ = exchange(COMPLETIONS, request(url, {"model": "codestral-latest", "prompt": "def add(a, b): return "}),
                      body=data)
    assert (rec.provider, rec.response.text) == ("mistral_ai", "a + b")


# -- embeddings ----------------------------------------------------------------------------------

EMBEDDINGS = Embeddings()
E_URL = "https://api.openai.com/v1/embeddings"


def test_embeddings():
    body = {"model": "text-embedding-3-small", "input": ["first", "second"], "dimensions": 256,
            "encoding_format": "float"}
    data = {"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]},
                     {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    rec, _ = exchange(EMBEDDINGS, request(E_URL, body), body=data)
    assert (rec.operation, rec.api) == ("embeddings", "openai.embeddings")
    assert rec.request.messages == [Message(role="user", content=["first", "second"])]
    assert rec.request.params == {"dimensions": 256, "encoding_format": "float"}
    r = rec.response
    assert (r.model, r.text, r.usage.input_tokens, r.usage.total_tokens, r.usage.output_tokens) == (
        "text-embedding-3-small", "", 4, 4, None)


def test_embeddings_error():
    data = {"error": {"message": "Invalid input", "type": "invalid_request_error", "param": None, "code": None}}
    rec, _ = exchange(EMBEDDINGS, request(E_URL, {"model": "m", "input": ""}), body=data, status=400)
    assert (rec.response.error.type, rec.response.error.message) == ("invalid_request_error", "Invalid input")


def test_record_serialises():
    rec, _ = exchange(CHAT, request(URL, {"model": "gpt-4o", "messages": []}), body=WHOLE)
    assert json.loads(rec.to_json())["response"]["tool_calls"][1]["id"] == "call_b"
