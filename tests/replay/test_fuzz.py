# Fuzzing the core (the h11 fuzz/ idea): mutated and random capture input never raises out of
# Tracker.feed / replay, every record that comes out serialises, no "internal error" notice
# (an exception the core caught: a bug) appears, and memory stays bounded for megabytes of
# garbage (tracemalloc peak under stated limits).
from __future__ import annotations

import json
import random
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmspy.core.capture import CaptureEvent
from llmspy.core.events import CallDelta, CallDone, CallStarted, Notice, Output
from llmspy.core.tracker import Tracker
from llmspy.replay import replay_file

from .builders import capture_lines, dump_lines, events_from_lines, h2_conversation, http1_conversation, random_splits
from .corpus import CASES

MiB = 1 << 20

# Seed captures: every corpus case over HTTP/1.1 and HTTP/2, with both roles.
_SEEDS = [
    capture_lines(conv(ex), traced=traced, split=random_splits(i, 300), server=c.server)
    for i, c in enumerate(CASES)
    for conv in (lambda e: http1_conversation([e]), lambda e: h2_conversation([e]))
    for ex in [c.exchange]
    for traced in ("client", "server")
]


def feed_all(tracker: Tracker, events) -> list[Output]:
    out: list[Output] = []
    last = 0.0
    for ev in events:
        last = max(last, ev.ts)
        out += tracker.feed(ev)
    out += tracker.flush(last)
    return out


def assert_sane(outputs) -> None:
    for o in outputs:
        assert isinstance(o, Output)
        if isinstance(o, (CallStarted, CallDelta, CallDone)):
            json.loads(o.record.to_json())  # every record serialises
        if isinstance(o, Notice):
            assert "internal error" not in o.message, o.message
            assert "Traceback" not in o.message


def mutate(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    op = rnd.randrange(5)
    if op == 0:  # bit flips
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
    elif op == 1:  # truncation
        del b[rnd.randrange(len(b)) :]
    elif op == 2:  # insertion of random bytes
        i = rnd.randrange(len(b) + 1)
        b[i:i] = rnd.randbytes(rnd.randint(1, 32))
    elif op == 3:  # insertion of structure-looking bytes
        i = rnd.randrange(len(b) + 1)
        b[i:i] = rnd.choice([b"\r\n", b"\r\n\r\n", b"\n\n", b"data: ", b"0\r\n\r\n", b"HTTP/1.1 200 OK\r\n", b"{", b"]", b"\x00\x00\x04\x08\x00\x00\x00\x00\x00"])
    else:  # duplicate a slice
        i = rnd.randrange(len(b))
        b[i:i] = b[i : i + rnd.randint(1, 64)]
    return bytes(b)


@pytest.mark.parametrize("seed", range(40))
def test_mutated_captures_never_raise(seed):
    rnd = random.Random(seed)
    for lines in _SEEDS:
        events = events_from_lines(lines)
        for ev in events:
            if ev.data and rnd.random() < 0.15:
                ev.data = mutate(ev.data, rnd)
        if rnd.random() < 0.2:  # drop or reorder a few events
            events = [e for e in events if rnd.random() > 0.05]
        if rnd.random() < 0.2 and len(events) > 2:
            i = rnd.randrange(len(events) - 1)
            events[i], events[i + 1] = events[i + 1], events[i]
        assert_sane(feed_all(Tracker(mode=rnd.choice(["llm", "smart", "all"])), events))


_capture_event = st.builds(
    lambda conn, d, data, trunc, ts: CaptureEvent(ts=ts, pid=1, tid=1, comm="x", conn=conn, dir=d, data=data, len=len(data), truncated=trunc),
    st.sampled_from(["1:0xa", "1:0xb", "2:0xa"]),
    st.sampled_from(["send", "recv", "close"]),
    st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n",
                         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n",
                         b"Content-Length: 5\r\n\r\n", b"5\r\ndata:\r\n", b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"]),
    ),
    st.booleans(),
    st.floats(min_value=0, max_value=2e9, allow_nan=False),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_capture_event, max_size=40), st.sampled_from(["llm", "smart", "all"]))
def test_random_capture_events_never_raise(events, mode):
    assert_sane(feed_all(Tracker(mode=mode), events))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode),
                          st.sampled_from([b'{"ts":1,"conn":"a","dir":"send","data":"UE9TVCAv"}', b'{"ts":"x"}', b"[]", b"{", b'"\\ud800"'])),
                max_size=20))
def test_random_capture_files_never_raise(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "garbage.jsonl"
    path.write_bytes(b"\n".join(lines))
    assert_sane(list(replay_file(str(path), "all")))


def test_mutated_capture_file_lines(tmp_path):
    """Line-level damage to a real capture file: every bad line is one error notice naming the
    line, and replay goes on."""
    rnd = random.Random(5)
    raw = dump_lines(_SEEDS[0]).splitlines()
    for k in range(20):
        lines = list(raw)
        for _ in range(3):
            i = rnd.randrange(len(lines))
            lines[i] = mutate(lines[i], rnd)
        path = tmp_path / f"m{k}.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        outputs = list(replay_file(str(path), "all"))
        assert_sane(outputs)
        for o in outputs:
            if isinstance(o, Notice) and o.level == "error":
                assert o.message.startswith(f"{path}:"), o.message


# -- bounded memory ------------------------------------------------------------------------------
# Limits: the largest buffer llmspy keeps for streamed data is one stream item (an SSE line, an
# NDJSON line: 16 MiB, sse.MAX_LINE_BYTES); allowing for one copy of it while it is joined, plus
# parser state, garbage input must stay under GARBAGE_PEAK_LIMIT. A decompression bomb may
# decode up to DEFAULT_MAX_BODY (64 MiB, encoding.py) and its docstring allows about twice that
# during one feed: BOMB_PEAK_LIMIT.
GARBAGE_PEAK_LIMIT = 48 * MiB
BOMB_PEAK_LIMIT = 160 * MiB
READ = 64 * 1024
REQ = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\n"
       b"Content-Length: 46\r\n\r\n" + b'{"model":"gpt-4o","messages":[],"stream":true}')


def _ev(conn, d, data):
    return CaptureEvent(ts=1.0, pid=1, tid=1, comm="x", conn=conn, dir=d, data=data, len=len(data))


def garbage_random(n):
    rnd = random.Random(1)
    for i in range(n // READ):
        yield _ev(f"c{i % 16}", "recv" if i % 2 else "send", rnd.randbytes(READ))


def garbage_endless_sse_line(n):
    yield _ev("a", "send", REQ)
    yield _ev("a", "recv", b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % READ + b"data: " + b"x" * (READ - 6) + b"\r\n"
    for _ in range(n // READ):
        yield _ev("a", "recv", chunk)


def garbage_endless_headers(n):
    yield _ev("a", "send", b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n")
    line = b"X-Junk: " + b"y" * 100 + b"\r\n"
    for _ in range(n // READ):
        yield _ev("a", "send", line * (READ // len(line)))


def garbage_endless_ndjson_line(n):
    yield _ev("a", "send", REQ.replace(b"/v1/chat/completions", b"/api/chat"))
    yield _ev("a", "recv", b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n")
    for _ in range(n // READ):
        yield _ev("a", "recv", b'{"message":{"content":"' + b"z" * READ)


def garbage_h2(n):
    rnd = random.Random(2)
    yield _ev("a", "send", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    for i in range(n // READ):
        yield _ev("a", "send" if i % 2 else "recv", rnd.randbytes(READ))


# (scenario, MiB of input). HTTP/2 garbage is small: http2.py's resync hunt runs about
# 4 us per byte of garbage (~25 s per MiB under tracemalloc), reported to the lead.
GARBAGE = [(garbage_random, 4), (garbage_endless_sse_line, 24), (garbage_endless_headers, 24),
           (garbage_endless_ndjson_line, 24), (garbage_h2, 0.25)]


def _peak(events) -> int:
    tracker = Tracker(mode="smart")
    tracemalloc.start()
    try:
        out = feed_all(tracker, events)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_sane(out)
    return peak


@pytest.mark.parametrize("scenario,mib", GARBAGE, ids=[g.__name__ for g, _ in GARBAGE])
def test_memory_bounded_on_garbage(scenario, mib):
    peak = _peak(scenario(int(mib * MiB)))
    assert peak < GARBAGE_PEAK_LIMIT, f"{scenario.__name__}: peak {peak / MiB:.1f} MiB for {mib} MiB of input"


def test_memory_bounded_on_decompression_bomb():
    # 400 MB of zeros gzip-compressed to ~400 KB, sent as an SSE body
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * MiB
    body = b"".join(c.compress(zeros) for _ in range(400)) + c.flush()
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    events = [_ev("a", "send", REQ), _ev("a", "recv", head)]
    events += [_ev("a", "recv", body[i : i + READ]) for i in range(0, len(body), READ)]
    del zeros
    peak = _peak(events)
    assert peak < BOMB_PEAK_LIMIT, f"peak {peak / MiB:.1f} MiB"


@pytest.mark.parametrize("host", ["[api.openai.com", "api.openai.com]", "[::1", "api.openai.com:99999", "api.openai.com:abc"])
def test_odd_host_header_keeps_the_record(host):
    """A Host value that urllib cannot split (unbalanced IPv6 brackets, bad port) is bad
    input, not a bug: the exchange still gives its record, and no internal error."""
    import dataclasses

    from .builders import records_of, run_tracker
    from .corpus import OPENAI_STREAM

    req = dataclasses.replace(OPENAI_STREAM.request, host=host)
    outputs = run_tracker(capture_lines(http1_conversation([(req, OPENAI_STREAM.response)])), mode="all")
    assert_sane(outputs)
    (rec,) = records_of(outputs)
    assert rec.response.text == OPENAI_STREAM.expect["response.text"]
