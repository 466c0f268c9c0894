# Tests for llmspy/core/sse.py: WHATWG HTML §9.2.6 event stream interpretation, fed whole,
# byte by byte and split at awkward places. Payloads are hand-written in each provider's
# documented stream format (OpenAI chat.completion.chunk + [DONE], Anthropic Messages events,
# DeepSeek keep-alive comments).
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmspy.core.sse import LineSplitter, SSEDecoder


def run(chunks, **kwargs):
    """Feed ``chunks`` to a fresh SSEDecoder; return (items as tuples, decoder)."""
    decoder = SSEDecoder(**kwargs)
    items = [item for chunk in chunks for item in decoder.feed(chunk)] + decoder.close()
    return [(i.event, i.data, i.id, i.json) for i in items], decoder


def splits(payload: bytes):
    """The same payload whole, byte by byte, cut after every CR and LF, and cut before them."""
    yield [payload]
    yield [payload[i : i + 1] for i in range(len(payload))]
    for cut_after in (True, False):
        pieces, start = [], 0
        for i, byte in enumerate(payload):
            if byte in b"\r\n":
                cut = i + 1 if cut_after else i
                pieces.append(payload[start:cut])
                start = cut
        yield [*pieces, payload[start:]]


OPENAI_CHAT = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi \xc3\xa9t\xc3\xa9 \xf0\x9f\x99\x82"},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)

ANTHROPIC = (
    b"event: message_start\r\n"
    b'data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",'
    b'"content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"output_tokens":1}}}\r\n\r\n'
    b"event: content_block_start\r\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\r\n\r\n'
    b"event: ping\r\n"
    b'data: {"type": "ping"}\r\n\r\n'
    b"event: content_block_delta\r\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\\nb"}}\r\n\r\n'
    b"event: message_stop\r\n"
    b'data: {"type":"message_stop"}\r\n\r\n'
)


@pytest.mark.parametrize("chunks", list(splits(OPENAI_CHAT)), ids=["whole", "bytes", "after-eol", "before-eol"])
def test_openai_chat_stream(chunks):
    items, decoder = run(chunks)
    assert [event for event, *_ in items] == [None] * 4
    assert items[1][3]["choices"][0]["delta"]["content"] == "Hi été 🙂"
    assert items[2][3]["choices"][0]["finish_reason"] == "stop"
    assert items[3][1:] == ("[DONE]", None, None)  # not JSON: json is None
    assert not decoder.unterminated and not decoder.truncated


@pytest.mark.parametrize("chunks", list(splits(ANTHROPIC)), ids=["whole", "bytes", "after-eol", "before-eol"])
def test_anthropic_events_with_crlf(chunks):
    items, decoder = run(chunks)
    assert [event for event, *_ in items] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "message_stop",
    ]
    assert items[0][3]["message"]["usage"] == {"input_tokens": 25, "output_tokens": 1}
    assert items[3][3]["delta"]["text"] == "a\nb"
    assert not decoder.unterminated


def test_keep_alive_comments_are_ignored():
    # DeepSeek sends ": keep-alive" lines while the model is busy.
    items, _ = run([b": keep-alive\n\n: keep-alive\n\ndata: {\"x\":1}\n\n:\n\n"])
    assert items == [(None, '{"x":1}', None, {"x": 1})]


def test_multi_line_data_joined_with_lf():
    items, _ = run([b"data: first\ndata:second\ndata:  third\ndata\n\n"])
    # one leading space is removed, a second one stays; "data" without colon adds an empty line
    assert items == [(None, "first\nsecond\n third\n", None, None)]


def test_lone_cr_line_ends():
    items, _ = run([b"event: e\rdata: 1\r\rdata: 2\r\r"])
    assert items == [("e", "1", None, 1), (None, "2", None, 2)]


def test_crlf_split_across_feeds_is_one_line_end():
    # Were the CR and the LF counted apart, "a" and "b" would be two events.
    items, _ = run([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert items == [(None, "a\nb", None, None)]


def test_cr_at_end_of_feed_dispatches_without_waiting():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    first = decoder.feed(b"\r")  # the second CR is a blank line: dispatch now
    assert [(i.data) for i in first] == ["a"]


def test_bom_stripped_once_even_when_split():
    items, _ = run([b"\xef", b"\xbb", b"\xbfdata: x\n\n"])
    assert items == [(None, "x", None, None)]
    # a second BOM is part of the field name, so that line is an unknown field
    items, _ = run([b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"])
    assert items == [(None, "y", None, None)]


def test_utf8_split_inside_character_and_invalid_bytes():
    payload = "data: naïve 中文 🙂\n\n".encode()
    items, _ = run([payload[i : i + 1] for i in range(len(payload))])
    assert items == [(None, "naïve 中文 🙂", None, None)]
    items, _ = run([b"data: \xff\xfeok\n\n"])
    assert items == [(None, "\ufffd\ufffdok", None, None)]


def test_event_without_data_is_not_dispatched():
    items, decoder = run([b"event: ping\n\nid: 7\n\nevent: message_delta\ndata: {}\n\n"])
    assert items == [("message_delta", "{}", "7", {})]
    assert not decoder.unterminated


def test_field_without_colon_and_empty_event_type():
    items, _ = run([b"event\ndata\n\nevent:\ndata: z\n\n"])
    assert items == [(None, "", None, None), (None, "z", None, None)]


def test_last_event_id_persists_and_nul_ids_are_ignored():
    items, _ = run([b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00x\ndata: c\n\nid\ndata: d\n\n"])
    assert [i[2] for i in items] == ["1", "1", "1", ""]


def test_retry_and_unknown_fields():
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 3000\nfoo: bar\ndata: x\n\nretry: 12a\n\n") != []
    assert decoder.retry_ms == 3000
    assert decoder.feed(b"retry\n\n") == [] and decoder.retry_ms == 3000


@pytest.mark.parametrize("tail", [b"data: last\n", b"data: last", b"data: last\r"])
def test_no_blank_line_at_eof_is_flushed_and_flagged(tail):
    items, decoder = run([b"data: first\n\n", tail])
    assert [i[1] for i in items] == ["first", "last"]
    assert decoder.unterminated


def test_trailing_comment_or_blank_does_not_flag():
    _, decoder = run([b"data: a\n\n: bye"])
    assert not decoder.unterminated
    items, decoder = run([b"data: a\n\n\n\n"])
    assert len(items) == 1 and not decoder.unterminated


def test_over_long_line_dropped_and_flagged():
    long_line = b"data: " + b"x" * 500 + b"\n"
    payload = b"data: before\n\n" + long_line + b"\ndata: after\n\n"
    for chunks in (payload, [payload[i : i + 7] for i in range(0, len(payload), 7)]):
        items, decoder = run([chunks] if isinstance(chunks, bytes) else chunks, max_line_bytes=100)
        assert [i[1] for i in items] == ["before", "after"]
        assert decoder.truncated


def test_event_data_over_cap_flagged():
    payload = b"".join(b"data: " + b"y" * 40 + b"\n" for _ in range(10)) + b"\n"
    items, decoder = run([payload], max_line_bytes=100)
    assert decoder.truncated
    assert len(items) == 1 and len(items[0][1]) <= 100


def test_feed_after_close_is_ignored():
    decoder = SSEDecoder()
    decoder.close()
    assert decoder.feed(b"data: x\n\n") == [] and decoder.close() == []


def test_line_splitter_lf_only_keeps_cr():
    splitter = LineSplitter(cr_ends_line=False)
    assert splitter.feed(b"a\r\nb\rc\n") == [b"a\r", b"b\rc"]
    assert splitter.feed(b"tail") == [] and splitter.close() == b"tail"


# Hypothesis: any split of the same bytes gives the same items and flags.
_PIECES = [
    b"data: x",
    b"data:{\"k\":\"\\u00e9\"}",
    b"event: e",
    b"id: 9",
    b": comment",
    b"retry: 10",
    b"data",
    "é🙂".encode(),
    b"\xef\xbb\xbf",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xff",
]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_gives_the_same_items(pieces, cuts):
    payload = b"".join(pieces)
    bounds = sorted({min(c, len(payload)) for c in cuts})
    chunks = [payload[a:b] for a, b in zip([0, *bounds], [*bounds, len(payload)])]
    whole, whole_decoder = run([payload])
    split, split_decoder = run(chunks)
    assert split == whole
    assert split_decoder.unterminated == whole_decoder.unterminated


def test_items_round_trip_json_text():
    # the json attribute is exactly json.loads of data
    items, _ = run([OPENAI_CHAT])
    for _event, data, _id, value in items[:3]:
        assert value == json.loads(data)


def test_raw_json_error_after_events_becomes_an_item():
    # Gemini (alt=sse) may end a stream with a plain pretty-printed JSON error object after
    # some events, outside any data: line. It must reach the provider as one parsed item.
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    body = (b'data: {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}\r\n\r\n'
            + json.dumps(error, indent=2).encode() + b"\n")
    for step in (len(body), 1, 7):
        d = SSEDecoder()
        items = []
        for i in range(0, len(body), step):
            items += d.feed(body[i:i + step])
        items += d.close()
        assert [it.json for it in items] == [
            {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}, error]
        assert items[1].event is None
