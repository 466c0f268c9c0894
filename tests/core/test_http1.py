# Tests for llmspy/core/http1.py: a passive HTTP/1.x observer (RFC 9112). Each conversation is
# written by hand as the bytes a client and a server put on one connection (requests shaped like
# the OpenAI Chat Completions API), fed whole, byte by byte and cut at awkward places, and the
# events are checked against what the bytes say. The split helpers are shared with test_http2.
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmspy.core import http1
from llmspy.core.events import REQUEST, RESPONSE, Data, End, ProtocolError, RequestHead, ResponseHead
from llmspy.core.http1 import HTTP1Parser

Q, A = REQUEST, RESPONSE

# -- shared helpers (test_http2 imports these) ---------------------------------------------------


def cut(data: bytes, positions) -> list[bytes]:
    """``data`` cut at the given offsets (out-of-range and repeated offsets ignored)."""
    points = sorted({p for p in positions if 0 < p < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def splitters():
    """Ways to cut one direction's bytes: whole, byte by byte, around every CR/LF, 7-byte
    pieces, and 2-byte pieces (which land inside every length field and frame header)."""
    return {
        "whole": lambda data: [data],
        "bytewise": lambda data: cut(data, range(len(data))),
        "crlf": lambda data: cut(data, [i + d for i, b in enumerate(data) if b in b"\r\n" for d in (0, 1)]),
        "seven": lambda data: cut(data, range(0, len(data), 7)),
        "two": lambda data: cut(data, range(0, len(data), 2)),
    }


def run(parser, conversation, split=lambda data: [data], close=True):
    """Feed ``conversation`` ([(side, bytes)] in time order; side None = close the connection)
    with each piece cut by ``split``; ts is the index of the piece. Returns the events."""
    events, ts = [], 0.0
    for side, data in conversation:
        if data is None:
            events += parser.close(side, ts)
            continue
        for piece in split(data):
            ts += 1
            events += parser.feed(side, piece, ts)
    if close:
        events += parser.close(None, ts + 1)
    return events


def canonical(events):
    """Events without ts, with consecutive Data of one stream and side joined: what must not
    depend on how the bytes were cut."""
    out = []
    for event in events:
        fields = _fields(event)
        if (
            isinstance(event, Data)
            and out
            and out[-1][0] == "Data"
            and out[-1][1]["stream_id"] == event.stream_id
            and out[-1][1]["side"] == event.side
        ):
            out[-1][1]["data"] += event.data
            continue
        out.append((type(event).__name__, fields))
    return out


def bodies(events):
    """{(stream_id, side): joined body bytes}."""
    out: dict[tuple[int, str], bytes] = {}
    for event in events:
        if isinstance(event, Data):
            out[(event.stream_id, event.side)] = out.get((event.stream_id, event.side), b"") + event.data
    return out


def without_data(events):
    return [(type(e).__name__, _fields(e)) for e in events if not isinstance(e, Data)]


def _fields(event):
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "ts"}


SPLITS = splitters()

# -- the conversations -------------------------------------------------------------------------

BODY0 = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}'
BODY1 = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hey"}]}'


def post(body: bytes, path: bytes = b"/v1/chat/completions", extra: bytes = b"") -> bytes:
    return (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


REPLY0 = b'{"id":"chatcmpl-1","object":"chat.completion","choices":[]}'
SSE = [b'data: {"id":"c","choices":[{"delta":{"content":"He"}}]}\n\n', b"data: [DONE]\n\n"]
# Chunked: upper-case hex sizes, chunk extensions (RFC 9112 §7.1.1), a trailer section (§7.1.2).
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"Trailer: X-Usage\r\n\r\n"
    + b"39;name=value;flag\r\n"
    + SSE[0]
    + b"\r\n"
    + b"E\r\n"
    + SSE[1]
    + b"\r\n"
    + b"0;last\r\nX-Usage: 12\r\nX-Other: a b\r\n\r\n"
)
assert (len(SSE[0]), len(SSE[1])) == (0x39, 0xE)  # the hand-written sizes above


def keep_alive_conversation():
    return [
        (Q, post(BODY0)),
        (A, ok(REPLY0, b"Content-Type: application/json\r\n")),
        (Q, post(BODY1)),
        (A, CHUNKED),
        (Q, post(b"{}", b"/v1/models")),
        (A, b"HTTP/1.1 204 No Content\r\n\r\n"),
    ]


def head(stream_id, body, path="/v1/chat/completions"):
    return (
        "RequestHead",
        dict(
            stream_id=stream_id,
            method="POST",
            target=path,
            authority="api.openai.com",
            headers=(
                ("host", "api.openai.com"),
                ("content-type", "application/json"),
                ("content-length", str(len(body))),
            ),
            http_version="1.1",
            scheme="https",
        ),
    )


def data(stream_id, side, payload):
    return ("Data", dict(stream_id=stream_id, side=side, data=payload))


def end(stream_id, side, trailers=(), complete=True):
    return ("End", dict(stream_id=stream_id, side=side, trailers=trailers, complete=complete))


def status(stream_id, code, headers):
    return ("ResponseHead", dict(stream_id=stream_id, status=code, headers=headers, http_version="1.1"))


KEEP_ALIVE_EVENTS = [
    head(0, BODY0),
    data(0, Q, BODY0),
    end(0, Q),
    status(0, 200, (("content-type", "application/json"), ("content-length", str(len(REPLY0))))),
    data(0, A, REPLY0),
    end(0, A),
    head(1, BODY1),
    data(1, Q, BODY1),
    end(1, Q),
    status(
        1,
        200,
        (("content-type", "text/event-stream"), ("transfer-encoding", "chunked"), ("trailer", "X-Usage")),
    ),
    data(1, A, SSE[0] + SSE[1]),
    end(1, A, (("x-usage", "12"), ("x-other", "a b"))),
    head(2, b"{}", "/v1/models"),
    data(2, Q, b"{}"),
    end(2, Q),
    status(2, 204, ()),
    end(2, A),
]


@pytest.mark.parametrize("split", SPLITS)
def test_keep_alive_three_exchanges_chunked_trailers_204(split):
    events = run(HTTP1Parser(), keep_alive_conversation(), SPLITS[split])
    assert canonical(events) == KEEP_ALIVE_EVENTS


def test_all_at_once_each_side():
    """The whole request side first, then the whole response side (pipelining)."""
    conversation = keep_alive_conversation()
    requests = b"".join(d for s, d in conversation if s == Q)
    responses = b"".join(d for s, d in conversation if s == A)
    events = run(HTTP1Parser(), [(Q, requests), (A, responses)])
    order = [(n, f["stream_id"], f.get("side")) for n, f in canonical(events)]
    assert order == [
        ("RequestHead", 0, None),
        ("Data", 0, Q),
        ("End", 0, Q),
        ("RequestHead", 1, None),
        ("Data", 1, Q),
        ("End", 1, Q),
        ("RequestHead", 2, None),
        ("Data", 2, Q),
        ("End", 2, Q),
        ("ResponseHead", 0, None),
        ("Data", 0, A),
        ("End", 0, A),
        ("ResponseHead", 1, None),
        ("Data", 1, A),
        ("End", 1, A),
        ("ResponseHead", 2, None),
        ("End", 2, A),
    ]
    assert bodies(events) == {
        (0, Q): BODY0,
        (1, Q): BODY1,
        (2, Q): b"{}",
        (0, A): REPLY0,
        (1, A): SSE[0] + SSE[1],
    }


def test_data_is_emitted_before_the_body_ends():
    parser = HTTP1Parser()
    parser.feed(Q, post(BODY1), 1.0)
    head_and_first = CHUNKED[: CHUNKED.index(SSE[0]) + 10]
    events = parser.feed(A, head_and_first, 2.0)
    assert [type(e) for e in events] == [ResponseHead, Data]
    assert events[1].data == SSE[0][:10] and events[1].ts == 2.0
    events = parser.feed(A, CHUNKED[len(head_and_first) :], 3.0)
    assert bodies(events)[(0, A)] == SSE[0][10:] + SSE[1]
    assert isinstance(events[-1], End) and events[-1].ts == 3.0


@pytest.mark.parametrize("split", SPLITS)
def test_head_response_has_no_body(split):
    # RFC 9112 §6.3 rule 1: a response to HEAD ends after its header section, whatever its
    # Content-Length says; the next bytes are the next response.
    conversation = [
        (Q, b"HEAD /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"),
        (A, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: application/json\r\n\r\n"),
        (Q, post(BODY0)),
        (A, ok(REPLY0)),
    ]
    events = canonical(run(HTTP1Parser(), conversation, SPLITS[split]))
    assert events[:3] == [
        (
            "RequestHead",
            dict(
                stream_id=0,
                method="HEAD",
                target="/v1/models",
                authority="api.openai.com",
                headers=(("host", "api.openai.com"),),
                http_version="1.1",
                scheme="https",
            ),
        ),
        end(0, Q),
        status(0, 200, (("content-length", "1234"), ("content-type", "application/json"))),
    ]
    assert events[3] == end(0, A)
    assert events[-3:] == [
        status(1, 200, (("content-length", str(len(REPLY0))),)),
        data(1, A, REPLY0),
        end(1, A),
    ]


@pytest.mark.parametrize("split", SPLITS)
def test_expect_100_continue(split):
    # RFC 9110 §10.1.1: the client sends its head, waits for 100 Continue, then the body.
    conversation = [
        (Q, post(BODY0, extra=b"Expect: 100-continue\r\n").split(b"\r\n\r\n")[0] + b"\r\n\r\n"),
        (A, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (Q, BODY0),
        (A, ok(REPLY0)),
    ]
    events = canonical(run(HTTP1Parser(), conversation, SPLITS[split]))
    assert [(n, f["stream_id"]) for n, f in events] == [
        ("RequestHead", 0),
        ("Data", 0),
        ("End", 0),
        ("ResponseHead", 0),
        ("Data", 0),
        ("End", 0),
    ]
    assert events[0][1]["headers"][2] == ("expect", "100-continue")
    assert events[3][1]["status"] == 200  # not the 100
    assert bodies(run(HTTP1Parser(), conversation, SPLITS[split])) == {(0, Q): BODY0, (0, A): REPLY0}


def test_early_hints_103_are_skipped():
    conversation = [(Q, post(BODY0)), (A, b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok(REPLY0))]
    events = run(HTTP1Parser(), conversation)
    assert [e.status for e in events if isinstance(e, ResponseHead)] == [200]


@pytest.mark.parametrize("split", SPLITS)
def test_close_delimited_body_streams_and_ends_on_close(split):
    # RFC 9112 §6.3 rule 8: no Content-Length, no chunked: the body runs to the close.
    parser = HTTP1Parser()
    head_bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    events = run(parser, [(Q, post(BODY1)), (A, head_bytes + SSE[0])], SPLITS[split], close=False)
    assert bodies(events) == {(0, Q): BODY1, (0, A): SSE[0]}  # before any close
    assert not any(isinstance(e, End) and e.side == A for e in events)
    events = parser.feed(A, SSE[1], 10.0) + parser.close(A, 11.0)
    assert canonical(events) == [data(0, A, SSE[1]), end(0, A)]
    assert events[-1].ts == 11.0


def test_http10_request_and_response():
    conversation = [
        (Q, b"GET /v1/models HTTP/1.0\r\n\r\n"),
        (A, b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + REPLY0),
        (A, None),
    ]
    events = canonical(run(HTTP1Parser(), conversation))
    assert events == [
        (
            "RequestHead",
            dict(
                stream_id=0,
                method="GET",
                target="/v1/models",
                authority=None,
                headers=(),
                http_version="1.0",
                scheme="https",
            ),
        ),
        end(0, Q),
        (
            "ResponseHead",
            dict(
                stream_id=0, status=200, headers=(("content-type", "application/json"),), http_version="1.0"
            ),
        ),
        data(0, A, REPLY0),
        end(0, A),
    ]


def test_304_then_next_exchange():
    conversation = [
        (Q, b'GET /v1/files/f HTTP/1.1\r\nHost: api.openai.com\r\nIf-None-Match: "x"\r\n\r\n'),
        (A, b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 99\r\n\r\n'),
        (Q, post(BODY0)),
        (A, ok(REPLY0)),
    ]
    events = run(HTTP1Parser(), conversation)
    assert [(type(e).__name__, e.stream_id) for e in events if not isinstance(e, Data)][2:4] == [
        ("ResponseHead", 0),
        ("End", 0),
    ]
    assert bodies(events) == {(1, Q): BODY0, (1, A): REPLY0}


def test_pipelined_requests_pair_with_responses_in_order():
    events = run(HTTP1Parser(), [(Q, post(BODY0) + post(BODY1)), (A, ok(b"first") + ok(b"second"))])
    assert bodies(events) == {(0, Q): BODY0, (1, Q): BODY1, (0, A): b"first", (1, A): b"second"}


def test_response_bytes_wait_for_their_request():
    """Reordered capture: response 1 arrives before request 1; it is held, then paired."""
    parser = HTTP1Parser()
    events = parser.feed(Q, post(BODY0), 1.0)
    events += parser.feed(A, ok(REPLY0) + ok(b"second"), 2.0)
    assert bodies(events) == {(0, Q): BODY0, (0, A): REPLY0}
    events = parser.feed(Q, post(BODY1), 3.0)
    assert [(type(e), e.stream_id) for e in events] == [
        (RequestHead, 1),
        (Data, 1),
        (End, 1),
        (ResponseHead, 1),
        (Data, 1),
        (End, 1),
    ]
    assert events[4].data == b"second" and events[4].ts == 2.0  # the ts of the response bytes


def test_response_bytes_before_any_request_answer_a_missed_request():
    parser = HTTP1Parser()
    assert parser.feed(A, ok(b"old"), 1.0) == []
    events = parser.feed(Q, post(BODY0), 2.0) + parser.feed(A, ok(REPLY0), 3.0)
    assert bodies(events) == {(0, Q): BODY0, (0, A): REPLY0}
    assert parser.skipped_bytes == {Q: 0, A: len(ok(b"old"))}


# -- protocol switches -------------------------------------------------------------------------


def test_upgrade_101_makes_the_rest_opaque():
    parser = HTTP1Parser()
    upgrade = (
        b"GET /v1/realtime HTTP/1.1\r\nHost: api.openai.com\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\n\r\n"
    )
    events = parser.feed(Q, upgrade + b"\x81\x85frame", 1.0)
    events += parser.feed(
        A,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x03abc",
        2.0,
    )
    assert [(type(e).__name__, getattr(e, "status", None)) for e in events] == [
        ("RequestHead", None),
        ("End", None),
        ("ResponseHead", 101),
        ("End", None),
    ]
    assert parser.feed(Q, b"\x81\x85more", 3.0) == [] and parser.feed(A, b"GET / HTTP/1.1\r\n\r\n", 4.0) == []
    assert parser.close(None, 5.0) == []


def test_declined_upgrade_continues_as_http1():
    upgrade = b"GET /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    conversation = [(Q, upgrade + post(BODY0)), (A, ok(b"plain") + ok(REPLY0))]
    events = run(HTTP1Parser(), conversation)
    assert bodies(events) == {(0, A): b"plain", (1, Q): BODY0, (1, A): REPLY0}


def test_connect_2xx_makes_the_rest_opaque():
    parser = HTTP1Parser()
    events = parser.feed(
        Q, b"CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n\x16\x03\x01", 1.0
    )
    events += parser.feed(A, b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x03", 2.0)
    assert [type(e) for e in events] == [RequestHead, End, ResponseHead, End]
    assert events[0].method == "CONNECT" and events[0].target == "api.openai.com:443"
    assert parser.feed(Q, b"\x17\x03\x03", 3.0) == [] and parser.close(None, 4.0) == []


# -- cut connections, garbage, mid-connection capture ------------------------------------------


def test_close_inside_a_body_and_before_a_response():
    parser = HTTP1Parser()
    events = parser.feed(Q, post(BODY0) + post(BODY1)[:-5], 1.0)
    events += parser.feed(A, ok(REPLY0)[:-3], 2.0)
    events += parser.close(None, 3.0)
    assert canonical(events)[-3:] == [
        end(1, Q, complete=False),
        end(0, A, complete=False),
        ("Reset", dict(stream_id=1, error_code=None, reason="connection closed before the response")),
    ]
    assert bodies(events) == {(0, Q): BODY0, (1, Q): BODY1[:-5], (0, A): REPLY0[:-3]}


def test_close_inside_chunked_body_is_incomplete():
    parser = HTTP1Parser()
    events = run(parser, [(Q, post(BODY1)), (A, CHUNKED[:-10])])
    assert canonical(events)[-1] == end(0, A, complete=False)


@pytest.mark.parametrize(
    "garbage", [b"\x00\x01\x02garbage\r\n\r\n", b"HTTP/9 nonsense\r\n\r\n", b"GET\r\n\r\n"]
)
def test_garbage_after_a_message_is_a_protocol_error_and_stops_that_side(garbage):
    parser = HTTP1Parser()
    events = parser.feed(Q, post(BODY0) + garbage, 1.0)
    assert [type(e) for e in events] == [RequestHead, Data, End, ProtocolError]
    assert events[-1].stream_id == -1
    assert parser.feed(Q, post(BODY1), 2.0) == []  # that direction has stopped
    events = parser.feed(A, ok(REPLY0) + garbage, 3.0)  # the response side still answers request 0
    assert [type(e) for e in events] == [ResponseHead, Data, End, ProtocolError]


def test_response_bytes_that_cannot_start_a_status_line_fail_at_once():
    parser = HTTP1Parser()
    parser.feed(Q, post(BODY0), 1.0)
    assert [type(e) for e in parser.feed(A, ok(REPLY0) + b"HTTP/1", 2.0)] == [ResponseHead, Data, End]
    assert [type(e) for e in parser.feed(A, b".1 20", 3.0)] == []  # still a status-line prefix
    assert [type(e) for e in parser.feed(A, b"0 OK\r\n\r\n", 4.0)] == []  # held for request 1
    parser = HTTP1Parser()
    parser.feed(Q, post(BODY0), 1.0)
    assert [type(e) for e in parser.feed(A, ok(REPLY0) + b"<html>", 2.0)] == [
        ResponseHead,
        Data,
        End,
        ProtocolError,
    ]


def test_malformed_chunk_is_a_protocol_error_of_that_exchange():
    parser = HTTP1Parser()
    parser.feed(Q, post(BODY0), 1.0)
    events = parser.feed(A, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n", 2.0)
    assert [type(e) for e in events] == [ResponseHead, ProtocolError]
    assert events[-1].stream_id == 0


def test_garbage_from_the_start_is_reported():
    parser = HTTP1Parser()
    assert parser.feed(Q, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1.0) == []
    events = parser.close(None, 2.0)
    assert [type(e) for e in events] == [ProtocolError]


def test_endless_garbage_is_reported_at_the_resync_limit():
    parser = HTTP1Parser()
    events = []
    for i in range(http1.MAX_RESYNC_BYTES // 4096 + 2):
        events += parser.feed(Q, b"x" * 4095 + b"\n", float(i))
    assert [type(e) for e in events] == [ProtocolError]


def test_http2_preface_is_refused_at_once():
    parser = HTTP1Parser()
    events = []
    for byte in b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
        events += parser.feed(Q, bytes([byte]), 1.0)
    assert [type(e) for e in events] == [ProtocolError] and "HTTP/2" in events[0].message


def test_oversized_head_is_a_protocol_error():
    parser = HTTP1Parser()
    huge = b"POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * (http1.MAX_HEAD_BYTES + 10)
    events = parser.feed(Q, huge, 1.0)
    assert [type(e) for e in events] == [ProtocolError]


@pytest.mark.parametrize("split", SPLITS)
def test_capture_that_begins_mid_connection_resyncs_on_the_next_start_line(split):
    # The capture starts inside request -1's body and inside the response -1's chunked body:
    # the request side skips to the next request-line; response bytes before any request was
    # seen answer the missed request and are skipped.
    request_tail = b'"content":"earlier"}]}'
    response_tail = b'1A\r\ndata: {"x":"HTTP/1.1 2"}\r\n\r\n0\r\n\r\n'
    conversation = [(A, response_tail), (Q, request_tail + post(BODY0)), (A, ok(REPLY0))]
    parser = HTTP1Parser()
    events = canonical(run(parser, conversation, SPLITS[split]))
    assert events == [
        head(0, BODY0),
        data(0, Q, BODY0),
        end(0, Q),
        status(0, 200, (("content-length", str(len(REPLY0))),)),
        data(0, A, REPLY0),
        end(0, A),
    ]
    assert parser.skipped_bytes == {Q: len(request_tail), A: len(response_tail)}


def test_mid_connection_response_side_hunts_for_its_status_line():
    """The response side started inside a message after a request was seen (a lost read)."""
    parser = HTTP1Parser()
    events = parser.feed(Q, post(BODY0), 1.0)
    events += parser.feed(A, b"ing body bytes\r\n" + ok(REPLY0), 2.0)
    assert bodies(events)[(0, A)] == REPLY0
    assert parser.skipped_bytes[A] == len(b"ing body bytes\r\n")


# -- properties --------------------------------------------------------------------------------

COMPOSITE = keep_alive_conversation() + [
    (Q, b"HEAD /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"),
    (A, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
    (Q, post(BODY1, extra=b"Expect: 100-continue\r\n")[: -len(BODY1)]),
    (A, b"HTTP/1.1 100 Continue\r\n\r\n"),
    (Q, BODY1),
    (A, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + SSE[0] + SSE[1]),
]


def split_by(draw_cuts):
    def split(data):
        return cut(data, draw_cuts(len(data)))

    return split


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_split_gives_the_same_events(drawn):
    def draw_cuts(n):
        return drawn.draw(st.lists(st.integers(1, max(1, n - 1)), max_size=12))

    reference = run(HTTP1Parser(), COMPOSITE)
    events = run(HTTP1Parser(), COMPOSITE, split_by(draw_cuts))
    assert without_data(events) == without_data(reference)
    assert bodies(events) == bodies(reference)
    assert bodies(reference)[(4, A)] == SSE[0] + SSE[1]  # the close-delimited body ended on close
    assert without_data(reference)[-1] == end(4, A)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Q, A, None]), st.binary(max_size=60)), max_size=12))
def test_arbitrary_bytes_never_raise(conversation):
    seeds = [post(BODY0), ok(REPLY0), CHUNKED]
    parser = HTTP1Parser()
    for i, (side, data) in enumerate(conversation):
        if side is None:
            parser.close(None if i % 2 else Q, float(i))
        else:
            parser.feed(side, seeds[i % 3][: len(data)] + data if i < 3 else data, float(i))
    parser.close(None, 99.0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(0, 200), st.integers(0, 100))
def test_any_split_of_a_mid_connection_capture_gives_the_same_events(drawn, q_start, a_start):
    old_q, old_a = post(BODY1), CHUNKED
    conversation = [(Q, old_q[q_start:]), (A, old_a[a_start:]), (Q, post(BODY0)), (A, ok(REPLY0))]

    def draw_cuts(n):
        return drawn.draw(st.lists(st.integers(1, max(1, n - 1)), max_size=12))

    reference = run(HTTP1Parser(), conversation)
    events = run(HTTP1Parser(), conversation, split_by(draw_cuts))
    assert without_data(events) == without_data(reference)
    assert bodies(events) == bodies(reference)
    assert list(bodies(reference).values())[-1] == REPLY0  # the last exchange is always found


SECRET = b"sk-proj-SECRET0123456789"


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nAuthorization : Bearer " + SECRET + b"\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nAuthorization Bearer " + SECRET + b"\r\n\r\n",
        b"POST /v1/x?key=" + SECRET + b"\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
    ],
)
def test_protocol_error_messages_never_quote_the_bytes(head):
    # h11 quotes the offending line in its exception; a header line may carry an API key.
    parser = HTTP1Parser()
    events = parser.feed(Q, post(BODY0) + head, 1.0)
    events += parser.feed(A, b"HTTP/1.1 200 OK\r\nSet-Cookie " + SECRET + b"\r\n\r\n", 2.0)
    errors = [e for e in events if isinstance(e, ProtocolError)]
    assert len(errors) == 2
    assert not any(b"SECRET" in e.message.encode() for e in errors), errors
