# Tests for llmspy/core/http2.py: a passive HTTP/2 observer (RFC 9113). Frames are built with
# hyperframe and header blocks with one hpack Encoder per endpoint (that only builds input); the
# conversations are shaped like an OpenAI-compatible client and server over h2. Each is fed
# whole, byte by byte and cut at awkward places, and checked against the frames written.
from __future__ import annotations

import pytest
from hpack import Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmspy.core.events import REQUEST, RESPONSE, Data, End, ProtocolError, RequestHead, Reset, ResponseHead
from llmspy.core.http2 import PREFACE, HTTP2Parser

from .test_http1 import SPLITS, bodies, canonical, cut, run, without_data

Q, A = REQUEST, RESPONSE


class Peer:
    """One endpoint: its HPACK encoder and frame builders."""

    def __init__(self) -> None:
        self.encoder = Encoder()

    def headers(
        self, stream_id, fields, end_stream=False, continuation_at=(), pad=None, priority=False
    ) -> bytes:
        block = self.encoder.encode(fields)
        pieces = cut(block, continuation_at)
        flags = (["END_STREAM"] if end_stream else []) + (["END_HEADERS"] if len(pieces) == 1 else [])
        first = HeadersFrame(
            stream_id,
            data=pieces[0],
            flags=flags + (["PADDED"] if pad else []) + (["PRIORITY"] if priority else []),
        )
        if pad:
            first.pad_length = pad
        if priority:
            first.depends_on, first.stream_weight, first.exclusive = 0, 200, True
        out = first.serialize()
        for i, piece in enumerate(pieces[1:], 2):
            out += ContinuationFrame(
                stream_id, data=piece, flags=["END_HEADERS"] if i == len(pieces) else []
            ).serialize()
        return out


def data(stream_id, payload, end_stream=False, pad=None) -> bytes:
    frame = DataFrame(
        stream_id, data=payload, flags=(["END_STREAM"] if end_stream else []) + (["PADDED"] if pad else [])
    )
    if pad:
        frame.pad_length = pad
    return frame.serialize()


def settings_frame(**values) -> bytes:
    ids = {"header_table_size": 0x1, "enable_push": 0x2, "initial_window_size": 0x4, "max_frame_size": 0x5}
    return SettingsFrame(0, settings={ids[k]: v for k, v in values.items()}).serialize()


SETTINGS_ACK = SettingsFrame(0, flags=["ACK"]).serialize()
REQ = [
    (":method", "POST"),
    (":scheme", "https"),
    (":authority", "api.openai.com"),
    (":path", "/v1/chat/completions"),
    ("content-type", "application/json"),
    ("authorization", "Bearer sk-test"),
]
BODY = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
RESP = [(":status", "200"), ("content-type", "text/event-stream"), ("x-request-id", "req_1")]
SSE = [
    b'data: {"choices":[{"delta":{"content":"He"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":"llo"}}]}\n\n',
    b"data: [DONE]\n\n",
]


def request_head(
    stream_id,
    path="/v1/chat/completions",
    headers=(("content-type", "application/json"), ("authorization", "Bearer sk-test")),
):
    return (
        "RequestHead",
        dict(
            stream_id=stream_id,
            method="POST",
            target=path,
            authority="api.openai.com",
            headers=headers,
            http_version="2",
            scheme="https",
        ),
    )


def response_head(
    stream_id, status=200, headers=(("content-type", "text/event-stream"), ("x-request-id", "req_1"))
):
    return ("ResponseHead", dict(stream_id=stream_id, status=status, headers=headers, http_version="2"))


def unknown_heads(stream_id, side):
    heads = [
        (
            "RequestHead",
            dict(
                stream_id=stream_id,
                method=None,
                target=None,
                authority=None,
                headers=None,
                http_version="2",
                scheme="https",
            ),
        )
    ]
    if side == A:
        heads.append(("ResponseHead", dict(stream_id=stream_id, status=None, headers=None, http_version="2")))
    return heads


def body(stream_id, side, payload):
    return ("Data", dict(stream_id=stream_id, side=side, data=payload))


def end(stream_id, side, trailers=(), complete=True):
    return ("End", dict(stream_id=stream_id, side=side, trailers=trailers, complete=complete))


def streaming_conversation(client=None, server=None):
    """A streamed chat completion on stream 1, as httpx and an h2 server would send it."""
    client, server = client or Peer(), server or Peer()
    return [
        (
            Q,
            PREFACE
            + settings_frame(enable_push=0, initial_window_size=65535)
            + WindowUpdateFrame(0, window_increment=1 << 24).serialize()
            + client.headers(1, REQ)
            + data(1, BODY, end_stream=True),
        ),
        (A, settings_frame(max_frame_size=16384) + SETTINGS_ACK + server.headers(1, RESP) + data(1, SSE[0])),
        (Q, SETTINGS_ACK),
        (
            A,
            data(1, SSE[1])
            + PingFrame(0, opaque_data=b"12345678").serialize()
            + data(1, SSE[2])
            + data(1, b"", end_stream=True),
        ),
    ]


STREAMING_EVENTS = [
    request_head(1),
    body(1, Q, BODY),
    end(1, Q),
    response_head(1),
    body(1, A, b"".join(SSE)),
    end(1, A),
]


@pytest.mark.parametrize("split", SPLITS)
def test_streamed_exchange(split):
    parser = HTTP2Parser()
    assert canonical(run(parser, streaming_conversation(), SPLITS[split])) == STREAMING_EVENTS
    assert parser.skipped_bytes == {Q: 0, A: 0}


def test_data_is_emitted_as_it_arrives_even_inside_a_frame():
    parser = HTTP2Parser()
    conversation = streaming_conversation()
    parser.feed(Q, conversation[0][1], 1.0)
    frame = data(1, SSE[0] * 10, pad=7)
    server = settings_frame() + Peer().headers(1, RESP)
    events = parser.feed(A, server + frame[: 9 + 1 + 20], 2.0)  # header, Pad Length, 20 data bytes
    assert [type(e) for e in events] == [ResponseHead, Data] and events[1].data == (SSE[0] * 10)[:20]
    events = parser.feed(A, frame[30:-3], 3.0)  # the rest of the data and 4 of the 7 padding bytes
    assert events == [Data(3.0, 1, A, (SSE[0] * 10)[20:])]
    assert parser.feed(A, frame[-3:], 4.0) == []


@pytest.mark.parametrize("split", SPLITS)
def test_continuation_padding_priority(split):
    client, server = Peer(), Peer()
    many = REQ + [(f"x-stainless-{i}", "v" * 20) for i in range(12)]
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame()
            + client.headers(1, many, continuation_at=(7, 200), pad=13, priority=True)
            + PriorityFrame(1, depends_on=0, stream_weight=16).serialize()
            + data(1, BODY, end_stream=True, pad=255),
        ),
        (
            A,
            settings_frame()
            + server.headers(1, RESP, continuation_at=(3,), pad=1)
            + data(1, SSE[0], pad=1)
            + data(1, SSE[2], end_stream=True),
        ),
    ]
    events = canonical(run(HTTP2Parser(), conversation, SPLITS[split]))
    assert events == [
        request_head(1, headers=tuple(many[4:])),
        body(1, Q, BODY),
        end(1, Q),
        response_head(1),
        body(1, A, SSE[0] + SSE[2]),
        end(1, A),
    ]


@pytest.mark.parametrize("split", SPLITS)
def test_interleaved_streams_trailers_and_rst_stream(split):
    client, server = Peer(), Peer()
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame()
            + client.headers(1, REQ)
            + client.headers(3, REQ[:3] + [(":path", "/v1/embeddings")])
            + data(3, b'{"input":"a"}', end_stream=True)
            + data(1, BODY, end_stream=True)
            + client.headers(5, REQ, end_stream=True),
        ),
        (
            A,
            settings_frame()
            + server.headers(3, [(":status", "200"), ("content-type", "application/json")])
            + server.headers(1, RESP)
            + data(3, b'{"data":')
            + data(1, SSE[0])
            + data(3, b"[]}")
            + server.headers(3, [("x-trailer", "done")], end_stream=True)
            + data(1, SSE[1])
            + server.headers(1, [(":status", "200")])
            + RstStreamFrame(5, error_code=0x7).serialize(),
        ),
        (Q, RstStreamFrame(1, error_code=0x8).serialize() + data(1, b"late")),
        (A, data(1, b"late")),
    ]
    events = run(HTTP2Parser(), conversation, SPLITS[split])
    assert canonical(events) == [
        request_head(1),
        (
            "RequestHead",
            dict(
                stream_id=3,
                method="POST",
                target="/v1/embeddings",
                authority="api.openai.com",
                headers=(),
                http_version="2",
                scheme="https",
            ),
        ),
        body(3, Q, b'{"input":"a"}'),
        end(3, Q),
        body(1, Q, BODY),
        end(1, Q),
        request_head(5),
        end(5, Q),
        response_head(3, headers=(("content-type", "application/json"),)),
        response_head(1),
        body(3, A, b'{"data":'),
        body(1, A, SSE[0]),
        body(3, A, b"[]}"),
        end(3, A, (("x-trailer", "done"),)),
        body(1, A, SSE[1]),
        ("Reset", dict(stream_id=5, error_code=0x7, reason="RST_STREAM from the response side")),
        ("Reset", dict(stream_id=1, error_code=0x8, reason="RST_STREAM from the request side")),
    ]


def test_informational_headers_are_skipped():
    client, server = Peer(), Peer()
    conversation = [
        (Q, PREFACE + settings_frame() + client.headers(1, REQ + [("expect", "100-continue")])),
        (A, settings_frame() + server.headers(1, [(":status", "100")])),
        (Q, data(1, BODY, end_stream=True)),
        (
            A,
            server.headers(1, [(":status", "103"), ("link", "</a>")])
            + server.headers(1, RESP)
            + data(1, SSE[2], end_stream=True),
        ),
    ]
    events = canonical(run(HTTP2Parser(), conversation))
    assert [e for e in events if e[0] == "ResponseHead"] == [response_head(1)]
    assert events[-2:] == [body(1, A, SSE[2]), end(1, A)]


def test_goaway_resets_streams_above_last_stream_id():
    client, server = Peer(), Peer()
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame()
            + client.headers(1, REQ, end_stream=True)
            + client.headers(3, REQ, end_stream=True),
        ),
        (
            A,
            settings_frame()
            + GoAwayFrame(0, last_stream_id=1, error_code=0).serialize()
            + server.headers(1, RESP)
            + data(1, SSE[2], end_stream=True),
        ),
    ]
    events = canonical(run(HTTP2Parser(), conversation))
    assert ("Reset", dict(stream_id=3, error_code=0, reason="GOAWAY: not processed")) in events
    assert events[-2:] == [body(1, A, SSE[2]), end(1, A)]


def test_unknown_frame_types_ping_window_update_are_ignored():
    client, server = Peer(), Peer()
    extension = (5).to_bytes(3, "big") + bytes([0xFA, 0xFF]) + (1).to_bytes(4, "big") + b"hello"
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame()
            + extension
            + client.headers(1, REQ)
            + extension
            + WindowUpdateFrame(1, window_increment=10).serialize()
            + data(1, BODY, end_stream=True),
        ),
        (A, settings_frame() + extension + server.headers(1, RESP) + data(1, SSE[2], end_stream=True)),
    ]
    assert canonical(run(HTTP2Parser(), conversation)) == [
        request_head(1),
        body(1, Q, BODY),
        end(1, Q),
        response_head(1),
        body(1, A, SSE[2]),
        end(1, A),
    ]


def test_push_promise_keeps_the_server_decoder_in_step():
    client, server = Peer(), Peer()
    promised = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "api.openai.com"),
        (":path", "/pushed"),
        ("x-push-only", "p"),
    ]
    promise = PushPromiseFrame(
        1, promised_stream_id=2, data=server.encoder.encode(promised), flags=["END_HEADERS"]
    )
    conversation = [
        (Q, PREFACE + settings_frame() + client.headers(1, REQ, end_stream=True)),
        # the response on stream 2 refers to "x-push-only" through the server's dynamic table
        (
            A,
            settings_frame()
            + promise.serialize()
            + server.headers(1, RESP)
            + server.headers(2, [(":status", "200"), ("x-push-only", "p")])
            + data(2, b"pushed", end_stream=True)
            + data(1, SSE[2], end_stream=True),
        ),
    ]
    events = canonical(run(HTTP2Parser(), conversation))
    assert events[2:] == [
        (
            "RequestHead",
            dict(
                stream_id=2,
                method="GET",
                target="/pushed",
                authority="api.openai.com",
                headers=(("x-push-only", "p"),),
                http_version="2",
                scheme="https",
            ),
        ),
        end(2, Q),
        response_head(1),
        response_head(2, headers=(("x-push-only", "p"),)),
        body(2, A, b"pushed"),
        end(2, A),
        body(1, A, SSE[2]),
        end(1, A),
    ]


# -- HPACK state -------------------------------------------------------------------------------


def test_settings_header_table_size_is_followed_by_the_other_direction():
    # The client allows a 64 KiB table (SETTINGS, RFC 9113 §6.5.2); the server's encoder uses it
    # (size update at the start of its next block, RFC 7541 §6.3) and later refers back to
    # entries a 4096-byte table would have evicted.
    client, server = Peer(), Peer()
    server.encoder.header_table_size = 65536
    big = [(f"x-ratelimit-{i}", "r" * 400) for i in range(20)]  # about 8.6 KB of entries
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame(header_table_size=65536)
            + client.headers(1, REQ, end_stream=True)
            + client.headers(3, REQ, end_stream=True),
        ),
        (
            A,
            settings_frame()
            + server.headers(1, [(":status", "200")] + big, end_stream=True)
            + server.headers(3, [(":status", "200")] + big, end_stream=True),
        ),
    ]
    heads = [e for e in run(HTTP2Parser(), conversation) if isinstance(e, ResponseHead)]
    assert [(h.stream_id, h.headers) for h in heads] == [(1, tuple(big)), (3, tuple(big))]


def test_without_the_settings_the_oversized_table_is_refused():
    """The control for the test above: the same blocks without the client's SETTINGS."""
    client, server = Peer(), Peer()
    server.encoder.header_table_size = 65536
    conversation = [
        (Q, PREFACE + settings_frame() + client.headers(1, REQ, end_stream=True)),
        (A, settings_frame() + server.headers(1, [(":status", "200")], end_stream=True)),
    ]
    heads = [e for e in run(HTTP2Parser(), conversation) if isinstance(e, ResponseHead)]
    assert [(h.status, h.headers) for h in heads] == [(None, None)]


def two_requests(client, server):
    """Stream 1 then stream 3 with the same headers: stream 3's blocks are all table refs."""
    first_q = client.headers(1, REQ) + data(1, BODY, end_stream=True)
    first_a = server.headers(1, RESP) + data(1, SSE[0], end_stream=True)
    second_q = client.headers(3, REQ) + data(3, BODY, end_stream=True)
    second_a = (
        server.headers(3, RESP) + data(3, SSE[1]) + server.headers(3, [("x-usage", "7")], end_stream=True)
    )
    return first_q, first_a, second_q, second_a


@pytest.mark.parametrize("split", SPLITS)
def test_mid_connection_capture_delivers_data_without_headers(split):
    # The capture missed the preface, SETTINGS and stream 1: stream 3's header blocks refer
    # to dynamic table entries it never saw (InvalidTableIndexError inside hpack).
    client, server = Peer(), Peer()
    _, _, second_q, second_a = two_requests(client, server)
    conversation = [(Q, second_q), (A, second_a)]
    parser = HTTP2Parser()
    events = canonical(run(parser, conversation, SPLITS[split]))
    # The trailer block is a new literal: it needs no table entry, so it decodes.
    assert events == unknown_heads(3, Q) + [body(3, Q, BODY), end(3, Q)] + unknown_heads(3, A)[1:] + [
        body(3, A, SSE[1]),
        end(3, A, (("x-usage", "7"),)),
    ]
    assert parser.skipped_bytes == {Q: 0, A: 0}


def test_mid_connection_literal_only_blocks_still_decode():
    """A block that needs no earlier table entries decodes even when HPACK state is unknown."""
    client, server = Peer(), Peer()
    _, _, second_q, _ = two_requests(client, server)
    fresh = Peer()
    conversation = [(Q, second_q + fresh.headers(5, REQ, end_stream=True))]
    events = canonical(run(HTTP2Parser(), conversation))
    assert events[:3] == unknown_heads(3, Q) + [body(3, Q, BODY), end(3, Q)]
    assert request_head(5) in events


def test_table_size_update_to_zero_restores_hpack_sync():
    client, server = Peer(), Peer()
    _, _, second_q, _ = two_requests(client, server)
    client.encoder.header_table_size = 0  # the next block starts with a size update to 0 ...
    reset_block = client.headers(5, REQ)
    client.encoder.header_table_size = 4096  # ... (then back up, in a later block)
    conversation = [
        (
            Q,
            second_q
            + reset_block
            + data(5, BODY, end_stream=True)
            + client.headers(7, REQ, end_stream=True)
            + client.headers(9, REQ, end_stream=True),
        )
    ]
    events = canonical(run(HTTP2Parser(), conversation))
    assert events[0] == unknown_heads(3, Q)[0]
    assert [e for e in events if e[0] == "RequestHead"][1:] == [
        request_head(5),
        request_head(7),
        request_head(9),
    ]


@pytest.mark.parametrize("split", SPLITS)
def test_capture_starting_inside_a_frame_resyncs(split):
    # The first bytes are the middle of a DATA frame on each side.
    client, server = Peer(), Peer()
    first_q, first_a, second_q, second_a = two_requests(client, server)
    long_q = data(1, b"x" * 300)
    long_a = data(1, b'{"delta":"' + b"y" * 500 + b'"}')
    conversation = [(Q, long_q[100:] + second_q), (A, long_a[37:] + second_a)]
    parser = HTTP2Parser()
    events = canonical(run(parser, conversation, SPLITS[split]))
    assert parser.skipped_bytes == {Q: len(long_q) - 100, A: len(long_a) - 37}
    assert events == unknown_heads(3, Q) + [body(3, Q, BODY), end(3, Q)] + unknown_heads(3, A)[1:] + [
        body(3, A, SSE[1]),
        end(3, A, (("x-usage", "7"),)),
    ]


def test_a_missed_headers_frame_gives_placeholder_heads_then_data():
    conversation = [(A, data(7, SSE[0]) + data(7, SSE[2], end_stream=True))]
    events = canonical(run(HTTP2Parser(), conversation))
    assert events == unknown_heads(7, A) + [body(7, A, SSE[0] + SSE[2]), end(7, A), end(7, Q, complete=False)]


# -- errors and closes -------------------------------------------------------------------------


def test_close_mid_stream():
    client, server = Peer(), Peer()
    conversation = [
        (
            Q,
            PREFACE
            + settings_frame()
            + client.headers(1, REQ)
            + data(1, BODY, end_stream=True)
            + client.headers(3, REQ)
            + data(3, BODY[:10]),
        ),
        (A, settings_frame() + server.headers(1, RESP) + data(1, SSE[0]) + data(1, SSE[1])[:20]),
    ]
    events = canonical(run(HTTP2Parser(), conversation))
    assert events[-3:] == [
        end(1, A, complete=False),
        end(3, Q, complete=False),
        ("Reset", dict(stream_id=3, error_code=None, reason="connection closed before the response")),
    ]
    assert bodies([e for e in run(HTTP2Parser(), conversation)])[(1, A)] == SSE[0] + SSE[1][:11]


@pytest.mark.parametrize(
    "garbage", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\x00\x04\x03\x00\x00\x00\x00\x00abcd"]
)
def test_garbage_after_frames_is_a_protocol_error(garbage):
    # An HTTP/1 request line reads as a 4.6 MB frame, above SETTINGS_MAX_FRAME_SIZE; the second
    # case is RST_STREAM on stream 0 (RFC 9113 §6.4).
    parser = HTTP2Parser()
    events = parser.feed(
        Q, PREFACE + settings_frame() + Peer().headers(1, REQ, end_stream=True) + garbage, 1.0
    )
    assert [type(e) for e in events] == [RequestHead, End, ProtocolError]
    assert parser.feed(Q, Peer().headers(3, REQ), 3.0) == []
    assert [type(e) for e in parser.close(None, 4.0)] == [Reset]


def test_max_frame_size_setting_allows_larger_frames():
    client, server = Peer(), Peer()
    big = b"z" * 40000
    conversation = [
        (Q, PREFACE + settings_frame(max_frame_size=65536) + client.headers(1, REQ, end_stream=True)),
        (A, settings_frame() + server.headers(1, RESP, continuation_at=()) + data(1, big, end_stream=True)),
        (Q, client.headers(3, REQ) + data(3, big)),
    ]
    events = run(HTTP2Parser(), conversation)
    assert bodies(events) == {(1, A): big}  # request 3's DATA is above the server's 16 KiB limit
    assert [type(e) for e in events][-4:] == [RequestHead, ProtocolError, End, Reset]


def test_headers_interrupted_before_continuation_is_a_protocol_error():
    client = Peer()
    block = client.encoder.encode(REQ)
    frames = (
        HeadersFrame(1, data=block[:5]).serialize()
        + data(1, b"x")
        + ContinuationFrame(1, data=block[5:], flags=["END_HEADERS"]).serialize()
    )
    events = HTTP2Parser().feed(Q, PREFACE + frames, 1.0)
    assert [type(e) for e in events] == [ProtocolError]


def test_bad_padding_is_a_protocol_error():
    bad = (4).to_bytes(3, "big") + bytes([0x0, 0x8]) + (1).to_bytes(4, "big") + bytes([9]) + b"abc"
    parser = HTTP2Parser()
    events = parser.feed(Q, PREFACE + settings_frame() + Peer().headers(1, REQ) + bad, 1.0)
    assert [type(e) for e in events] == [RequestHead, ProtocolError]


def test_http1_bytes_are_never_taken_for_frames_when_hunting():
    parser = HTTP2Parser()
    assert (
        parser.feed(Q, b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n\r\n" * 20, 1.0) == []
    )
    assert [type(e) for e in parser.close(None, 2.0)] == [ProtocolError]


# -- properties --------------------------------------------------------------------------------


def composite():
    client, server = Peer(), Peer()
    first_q, first_a, second_q, second_a = two_requests(client, server)
    conversation = streaming_conversation(client, server)
    return conversation + [
        (
            Q,
            client.headers(3, REQ, continuation_at=(4,), pad=3)
            + data(3, BODY, pad=9, end_stream=True)
            + client.headers(5, REQ, priority=True),
        ),
        (
            A,
            server.headers(3, RESP)
            + data(3, SSE[0])
            + server.headers(5, RESP)
            + data(5, SSE[1], pad=2)
            + data(3, SSE[2])
            + server.headers(3, [("x-usage", "3")], end_stream=True)
            + RstStreamFrame(5, error_code=8).serialize(),
        ),
    ]


def random_cuts(drawn):
    """A splitter that cuts each chunk at up to 12 places hypothesis draws."""
    return lambda chunk: cut(chunk, drawn.draw(st.lists(st.integers(1, max(1, len(chunk) - 1)), max_size=12)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_split_gives_the_same_events(drawn):
    conversation = composite()
    reference = run(HTTP2Parser(), conversation)
    events = run(
        HTTP2Parser(),
        conversation,
        random_cuts(drawn),
    )
    assert without_data(events) == without_data(reference)
    assert bodies(events) == bodies(reference)
    assert bodies(reference) == {
        (1, Q): BODY,
        (1, A): b"".join(SSE),
        (3, Q): BODY,
        (3, A): SSE[0] + SSE[2],
        (5, A): SSE[1],
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Q, A]), st.binary(max_size=80)), max_size=10))
def test_arbitrary_bytes_never_raise(conversation):
    parser = HTTP2Parser()
    for i, (side, chunk) in enumerate(conversation):
        parser.feed(side, (PREFACE if i == 0 and side == Q else b"") + chunk, float(i))
    parser.close(None, 99.0)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_conversations_never_raise(drawn):
    parser = HTTP2Parser()
    for side, chunk in composite():
        if drawn.draw(st.booleans()):
            at = drawn.draw(st.integers(0, len(chunk) - 1))
            chunk = chunk[:at] + bytes([drawn.draw(st.integers(0, 255))]) + chunk[at + 1 :]
        parser.feed(side, chunk, 1.0)
    parser.close(None, 2.0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(1, 60), st.integers(1, 60))
def test_any_split_of_a_mid_frame_capture_gives_the_same_events(drawn, q_start, a_start):
    client, server = Peer(), Peer()
    first_q, first_a, second_q, second_a = two_requests(client, server)
    conversation = [(Q, first_q[q_start:] + second_q), (A, first_a[a_start:] + second_a)]
    reference = run(HTTP2Parser(), conversation)
    events = run(
        HTTP2Parser(),
        conversation,
        random_cuts(drawn),
    )
    assert without_data(events) == without_data(reference)
    assert bodies(events) == bodies(reference)
    assert bodies(reference)[(3, A)] == SSE[1]  # whatever was lost, stream 3 is found
