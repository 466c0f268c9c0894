# Tests for llmspy/core/streams.py: NDJSON (Ollama), streamed JSON arrays (Gemini
# streamGenerateContent without alt=sse) and AWS event stream messages (Bedrock). Payloads are
# hand-written from each API's documented format; event stream frames are built here from the
# AWS "Event stream encoding" layout so every length and CRC is the one the document defines.
from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmspy.core.sse import SSEDecoder
from llmspy.core.streams import (
    EventStreamDecoder,
    JSONArrayDecoder,
    NDJSONDecoder,
    make_framer,
)


def run(decoder, chunks):
    """Feed ``chunks`` then close; return (event, data, json) tuples."""
    items = [item for chunk in chunks for item in decoder.feed(chunk)] + decoder.close()
    return [(i.event, i.data, i.json) for i in items]


def bytewise(payload: bytes) -> list[bytes]:
    return [payload[i : i + 1] for i in range(len(payload))]


def random_chunks(payload: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({min(c, len(payload)) for c in cuts})
    return [payload[a:b] for a, b in zip([0, *bounds], [*bounds, len(payload)])]


# --- NDJSON (Ollama /api/chat) -------------------------------------------------------------

OLLAMA = (
    b'{"model":"llama3.2","created_at":"2024-07-01T10:00:00.1Z","message":{"role":"assistant",'
    b'"content":"The"},"done":false}\n'
    b'{"model":"llama3.2","created_at":"2024-07-01T10:00:00.2Z","message":{"role":"assistant",'
    b'"content":" sky \xe2\x98\x81"},"done":false}\n'
    b'{"model":"llama3.2","created_at":"2024-07-01T10:00:00.3Z","message":{"role":"assistant",'
    b'"content":""},"done":true,"done_reason":"stop","total_duration":4883583458,'
    b'"prompt_eval_count":26,"eval_count":3}\n'
)


@pytest.mark.parametrize("chunks", [[OLLAMA], bytewise(OLLAMA)], ids=["whole", "bytes"])
def test_ollama_ndjson(chunks):
    decoder = NDJSONDecoder()
    items = run(decoder, chunks)
    assert [i[2]["message"]["content"] for i in items] == ["The", " sky ☁", ""]
    assert items[2][2]["eval_count"] == 3
    assert not decoder.unterminated and not decoder.truncated and decoder.error is None


def test_ndjson_crlf_blank_lines_and_non_json():
    decoder = NDJSONDecoder()
    items = run(decoder, [b'{"a":1}\r\n\r\n   \n', b"not json\r\n", b'{"b":2}'])
    assert items == [(None, '{"a":1}', {"a": 1}), (None, "not json", None), (None, '{"b":2}', {"b": 2})]
    assert decoder.unterminated  # the last line had no LF


def test_ndjson_over_long_line():
    decoder = NDJSONDecoder(max_line_bytes=50)
    items = run(decoder, [b'{"a":1}\n{"big":"' + b"z" * 100, b'"}\n{"c":3}\n'])
    assert [i[2] for i in items] == [{"a": 1}, {"c": 3}]
    assert decoder.truncated


# --- JSON array (Gemini streamGenerateContent) ---------------------------------------------


def gemini_chunk(text: str, finish: str | None = None) -> str:
    candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body = {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7},
        "modelVersion": "gemini-2.0-flash",
    }
    return json.dumps(body, indent=2, ensure_ascii=False)  # pretty-printed, as Gemini sends


TEXTS = ['Brackets ] } [ { and, commas', 'quote \\" and backslash \\\\', "naïve 🙂\nline"]
GEMINI = ("[" + "\r\n,\r\n".join(gemini_chunk(t) for t in TEXTS[:2]) + "\r\n,\r\n" + gemini_chunk(TEXTS[2], "STOP") + "\r\n]").encode()


def gemini_texts(items):
    return [i[2]["candidates"][0]["content"]["parts"][0]["text"] for i in items]


@pytest.mark.parametrize("chunks", [[GEMINI], bytewise(GEMINI)], ids=["whole", "bytes"])
def test_gemini_json_array(chunks):
    decoder = JSONArrayDecoder()
    items = run(decoder, chunks)
    assert gemini_texts(items) == TEXTS
    assert items[2][2]["candidates"][0]["finishReason"] == "STOP"
    assert not decoder.unterminated and decoder.error is None and not decoder.truncated


def test_json_array_every_two_way_split():
    payload = b'[{"t":"a\\"]},[\\\\"}, {"t":"\xc3\xa9\\u00e9"}, [1, {"x": "}"}], "s\\"", 12, true, null]'
    expected = [{"t": 'a"]},[\\'}, {"t": "éé"}, [1, {"x": "}"}], 's"', 12, True, None]
    for cut in range(len(payload) + 1):
        decoder = JSONArrayDecoder()
        items = run(decoder, [payload[:cut], payload[cut:]])
        assert [i[2] for i in items] == expected, cut
        assert decoder.error is None and not decoder.unterminated


def test_json_array_emits_each_element_as_soon_as_complete():
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": 1}') != []  # before the comma or the next element
    assert decoder.feed(b',\n{"b": ') == []
    assert [i.json for i in decoder.feed(b"2}")] == [{"b": 2}]


def test_json_array_empty_and_bom():
    decoder = JSONArrayDecoder()
    assert run(decoder, [b"\xef\xbb", b"\xbf [ \r\n ] \n"]) == []
    assert decoder.error is None and not decoder.unterminated


def test_top_level_object_is_one_item():
    error = b'{\n  "error": {\n    "code": 400,\n    "message": "API key not valid [x]",\n    "status": "INVALID_ARGUMENT"\n  }\n}\n'
    decoder = JSONArrayDecoder()
    items = run(decoder, bytewise(error))
    assert [i[2]["error"]["code"] for i in items] == [400]
    assert decoder.error is None and not decoder.unterminated


def test_error_body_inside_array():
    decoder = JSONArrayDecoder()
    items = run(decoder, [b'[{\n  "error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}\n}\n]'])
    assert items[0][2]["error"]["code"] == 429


@pytest.mark.parametrize(
    "payload, items_before",
    [(b"<html>502 Bad Gateway</html>", 0), (b'[{"a":1}, ?]', 1), (b'[{"a":1}] x', 1), (b"{} {}", 1)],
)
def test_json_array_garbage_stops_and_flags(payload, items_before):
    decoder = JSONArrayDecoder()
    items = run(decoder, [payload, b'[{"after": true}]'])
    assert len(items) == items_before
    assert decoder.error is not None


def test_json_array_cut_midway():
    decoder = JSONArrayDecoder()
    items = run(decoder, [b'[{"a": 1},\r\n{"b": "unfinish'])
    assert items[0][2] == {"a": 1}
    assert items[1][2] is None and items[1][1].startswith('{"b"')  # flushed, not JSON
    assert decoder.unterminated
    decoder = JSONArrayDecoder()
    assert run(decoder, [b'[{"a": 1}'])[0][2] == {"a": 1}
    assert decoder.unterminated  # the array was never closed


def test_json_array_over_long_element_dropped():
    decoder = JSONArrayDecoder(max_item_bytes=40)
    big = b'{"t": "' + b"[{" * 50 + b'"}'
    items = run(decoder, [b'[{"a":1},', big[:30], big[30:], b',{"c":3}]'])
    assert [i[2] for i in items] == [{"a": 1}, {"c": 3}]
    assert decoder.truncated and decoder.error is None


# --- AWS event stream (Bedrock) -----------------------------------------------------------


def es_header(name: str, type_byte: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name.encode() + bytes([type_byte]) + value


def es_string(name: str, value: str) -> bytes:
    return es_header(name, 7, struct.pack(">H", len(value.encode())) + value.encode())


def es_message(headers: bytes, payload: bytes) -> bytes:
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def bedrock_chunk(inner: dict) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(inner).encode()).decode(), "p": "abcd"})
    headers = es_string(":event-type", "chunk") + es_string(":content-type", "application/json")
    return es_message(headers + es_string(":message-type", "event"), payload.encode())


BEDROCK = (
    bedrock_chunk({"type": "message_start", "message": {"role": "assistant", "usage": {"input_tokens": 9}}})
    + bedrock_chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hé"}})
    + es_message(
        es_string(":event-type", "contentBlockDelta") + es_string(":message-type", "event"),
        b'{"contentBlockIndex":0,"delta":{"text":"!"},"p":"ab"}',
    )
    + es_message(
        es_string(":exception-type", "throttlingException") + es_string(":message-type", "exception"),
        b'{"message":"Too many requests"}',
    )
)


@pytest.mark.parametrize("chunks", [[BEDROCK], bytewise(BEDROCK)], ids=["whole", "bytes"])
def test_bedrock_event_stream(chunks):
    decoder = EventStreamDecoder()
    items = run(decoder, chunks)
    assert [i[0] for i in items] == ["chunk", "chunk", "contentBlockDelta", "throttlingException"]
    assert items[0][2]["message"]["usage"]["input_tokens"] == 9  # base64 "bytes" unwrapped
    assert items[1][2]["delta"]["text"] == "Hé" and json.loads(items[1][1]) == items[1][2]
    assert items[2][2]["delta"]["text"] == "!"
    assert items[3][2] == {"message": "Too many requests"}
    assert decoder.error is None and not decoder.unterminated


def test_event_stream_all_header_types_and_error_message():
    headers = (
        es_header("t", 0, b"")
        + es_header("f", 1, b"")
        + es_header("b", 2, b"\x7f")
        + es_header("s", 3, b"\x00\x02")
        + es_header("i", 4, b"\x00\x00\x00\x03")
        + es_header("l", 5, b"\x00" * 7 + b"\x04")
        + es_header("by", 6, b"\x00\x02hi")
        + es_header("ts", 8, b"\x00" * 8)
        + es_header("u", 9, b"\x01" * 16)
        + es_string(":message-type", "error")
        + es_string(":error-code", "InternalFailure")
        + es_string(":error-message", "boom")
    )
    items = run(EventStreamDecoder(), [es_message(headers, b"")])
    assert items == [("InternalFailure", "boom", None)]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda m: m[:8] + b"\x00\x00\x00\x00" + m[12:],  # prelude CRC
        lambda m: m[:-1] + bytes([m[-1] ^ 1]),  # message CRC
        lambda m: es_message(b"\x03abc\x0e", b"{}"),  # unknown header value type 14
        lambda m: es_message(b"\x09:event-ty", b"{}"),  # header cut short
    ],
    ids=["prelude-crc", "message-crc", "header-type", "header-cut"],
)
def test_event_stream_corruption_stops(corrupt):
    good = bedrock_chunk({"a": 1})
    decoder = EventStreamDecoder()
    items = run(decoder, [good, corrupt(good), good])
    assert [i[2] for i in items] == [{"a": 1}]
    assert decoder.error is not None


def test_event_stream_impossible_length_and_cut():
    prelude = struct.pack(">II", 2**31, 0)
    decoder = EventStreamDecoder()
    assert run(decoder, [prelude + struct.pack(">I", zlib.crc32(prelude))]) == []
    assert decoder.error is not None  # larger than the 16 MiB AWS limit: not buffered
    decoder = EventStreamDecoder()
    good = bedrock_chunk({"a": 1})
    assert len(run(decoder, [good, good[:20]])) == 1
    assert decoder.unterminated and decoder.error is None


# --- factory and properties ----------------------------------------------------------------


def test_make_framer():
    assert isinstance(make_framer("sse"), SSEDecoder)
    assert isinstance(make_framer("ndjson"), NDJSONDecoder)
    assert isinstance(make_framer("json-array"), JSONArrayDecoder)
    assert isinstance(make_framer("eventstream"), EventStreamDecoder)
    assert make_framer("sse") is not make_framer("sse")
    with pytest.raises(ValueError):
        make_framer("xml")


_SAMPLES = {
    "ndjson": OLLAMA + b'{"x": 1}\r\n\n{"cut"',
    "json-array": GEMINI,
    "eventstream": BEDROCK + BEDROCK[:30],
}


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(_SAMPLES)), cuts=st.lists(st.integers(0, 4000), max_size=20))
def test_any_split_gives_the_same_items(kind, cuts):
    payload = _SAMPLES[kind]
    whole_decoder, split_decoder = make_framer(kind), make_framer(kind)
    whole = run(whole_decoder, [payload])
    assert whole  # the sample is not empty
    assert run(split_decoder, random_chunks(payload, cuts)) == whole
    assert (split_decoder.unterminated, split_decoder.error) == (whole_decoder.unterminated, whole_decoder.error)


_JSON_BITS = [b"[", b"]", b"{", b"}", b'"', b"\\", b",", b" ", b"\r\n", b"1", b"a", b":", "é".encode()]


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_JSON_BITS), max_size=40), cuts=st.lists(st.integers(0, 80), max_size=10))
def test_json_array_arbitrary_bytes_split_consistently(pieces, cuts):
    payload = b"[" + b"".join(pieces)
    whole_decoder, split_decoder = JSONArrayDecoder(), JSONArrayDecoder()
    whole = run(whole_decoder, [payload])
    assert run(split_decoder, random_chunks(payload, cuts)) == whole
    assert split_decoder.error == whole_decoder.error
