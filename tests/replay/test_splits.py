# The same bytes cut differently must give the same records: 1-byte reads, CR|LF splits, UTF-8
# sequences split, transfer chunks that cut SSE events, head and first events in one read,
# client bytes captured before server bytes; keep-alive HTTP/1.1 with 3 calls; HTTP/2 with 3
# interleaved streams; and a hypothesis property over arbitrary read sizes.
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .builders import (
    capture_lines,
    recut,
    comparable,
    crlf_splits,
    every,
    h2_conversation,
    http1_conversation,
    random_splits,
    records_of,
    run_tracker,
    utf8_splits,
    whole,
)
from .corpus import (
    ANTHROPIC_STREAM,
    CASES_BY_NAME,
    OLLAMA_STREAM,
    OPENAI_STREAM,
    RESPONSES_STREAM,
    check,
    gemini_sse,
    openai_whole,
)

STREAM_CASES = [OPENAI_STREAM, ANTHROPIC_STREAM, gemini_sse(), gemini_sse("gzip"), OLLAMA_STREAM, RESPONSES_STREAM,
                CASES_BY_NAME["deepseek_reasoner_stream"], CASES_BY_NAME["gemini_json_array"]]

SPLITS = {
    "natural": dict(split=None),
    "whole_runs": dict(split=whole),  # response head and first events in one read
    "bytewise": dict(split=every(1)),
    "crlf": dict(split=crlf_splits),
    "utf8": dict(split=utf8_splits),
    "random7": dict(split=random_splits(7, 40)),
    "random8_large": dict(split=random_splits(8, 4000)),
    "client_first": dict(split=None, order="client_first"),
    "client_first_bytewise": dict(split=every(1), order="client_first"),
}


def conv_of(exchanges, http_version):
    return http1_conversation(exchanges) if http_version == "1.1" else h2_conversation(exchanges)


def records(exchanges, http_version="1.1", traced="client", mode="all", **kw):
    lines = capture_lines(conv_of(exchanges, http_version), traced=traced, **kw)
    return records_of(run_tracker(lines, mode=mode))


def assert_same(got, want):
    assert [comparable(r) for r in got] == [comparable(r) for r in want]


@pytest.mark.parametrize("traced", ["client", "server"])
@pytest.mark.parametrize("http_version", ["1.1", "2"])
@pytest.mark.parametrize("split", list(SPLITS), ids=list(SPLITS))
@pytest.mark.parametrize("case", STREAM_CASES, ids=[c.name for c in STREAM_CASES])
def test_split_gives_same_record(case, split, http_version, traced):
    server = case.server
    base = records([case.exchange], http_version, traced, server=server)
    assert len(base) == 1 and not check(base[0].to_dict(), case.expect), check(base[0].to_dict(), case.expect)
    got = records([case.exchange], http_version, traced, server=server, **SPLITS[split])
    assert_same(got, base)


@pytest.mark.parametrize("sizes", [[1], [3], [7, 13, 50], [2, 1000], [4096]], ids=str)
@pytest.mark.parametrize("case", [OPENAI_STREAM, ANTHROPIC_STREAM, gemini_sse("gzip"), openai_whole("br", "chunked")],
                         ids=lambda c: c.name)
def test_transfer_chunks_cutting_events(case, sizes):
    """Chunked-coding boundaries anywhere inside SSE events (and inside the gzip/br stream)."""
    recut = dataclasses.replace(case.response, chunk_sizes=sizes)
    got = records([(case.request, recut)], server=case.server)
    assert len(got) == 1
    problems = check(got[0].to_dict(), case.expect)
    assert not problems, "\n".join(problems)


KEEPALIVE = [OPENAI_STREAM, openai_whole("gzip"), RESPONSES_STREAM]


@pytest.mark.parametrize("split", ["natural", "bytewise", "random7", "whole_runs", "crlf"])
@pytest.mark.parametrize("traced", ["client", "server"])
def test_http1_keepalive_three_calls(traced, split):
    recs = records([c.exchange for c in KEEPALIVE], "1.1", traced, **SPLITS[split])
    assert len(recs) == 3
    for rec, case in zip(recs, KEEPALIVE):  # HTTP/1.1 exchanges finish in order
        problems = check(rec.to_dict(), case.expect)
        assert not problems, f"{case.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("split", ["natural", "bytewise", "random8_large", "client_first"])
@pytest.mark.parametrize("traced", ["client", "server"])
def test_http2_three_interleaved_streams(traced, split):
    recs = records([c.exchange for c in KEEPALIVE], "2", traced, **SPLITS[split])
    assert len(recs) == 3
    by_api_and_stream = {(r.api, r.response.streamed): r for r in recs}
    for case in KEEPALIVE:
        rec = by_api_and_stream[(case.expect["api"], case.expect["response.streamed"])]
        problems = check(rec.to_dict(), case.expect)
        assert not problems, f"{case.name}:\n" + "\n".join(problems)


def test_http2_interleaving_order_does_not_matter():
    ex = [c.exchange for c in KEEPALIVE]
    a = records_of(run_tracker(capture_lines(h2_conversation(ex, interleave=True))))
    b = records_of(run_tracker(capture_lines(h2_conversation(ex, interleave=False))))
    key = lambda r: (r.api, r.response.streamed)  # noqa: E731
    assert sorted(map(comparable, a), key=str) == sorted(map(comparable, b), key=str)
    assert sorted(map(key, a)) == sorted(map(key, b))


# -- property: any split of the same bytes gives the same records ------------------------------
_PROPERTY_CONVS = {
    ("1.1", "openai+anthropic"): http1_conversation([OPENAI_STREAM.exchange, ANTHROPIC_STREAM.exchange]),
    ("2", "keepalive"): h2_conversation([c.exchange for c in KEEPALIVE]),
    ("1.1", "gemini-gzip"): http1_conversation([gemini_sse("gzip").exchange]),
}
_BASELINES: dict = {}


def _baseline(key, traced):
    if (key, traced) not in _BASELINES:
        _BASELINES[(key, traced)] = [comparable(r) for r in records_of(run_tracker(capture_lines(_PROPERTY_CONVS[key], traced=traced)))]
    return _BASELINES[(key, traced)]


def _sizes_splitter(sizes):
    return lambda data: recut(data, sizes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(_PROPERTY_CONVS)),
    traced=st.sampled_from(["client", "server"]),
    sizes=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=12),
    order=st.sampled_from(["natural", "client_first"]),
)
def test_any_split_gives_same_records(key, traced, sizes, order):
    lines = capture_lines(_PROPERTY_CONVS[key], traced=traced, split=_sizes_splitter(sizes), order=order)
    got = [comparable(r) for r in records_of(run_tracker(lines))]
    base = _baseline(key, traced)
    if key[0] == "2":  # HTTP/2 streams may finish in any order
        got, base = sorted(got, key=str), sorted(base, key=str)
    assert got == base


@pytest.mark.parametrize("cut", [1, 4, 5, 6, 20])
def test_request_line_cut_early(cut):
    """The first read of a request ends right after the method, its space, or inside the
    target (a traced server's SSL_read may return any prefix)."""
    from .builders import at

    got = records([OPENAI_STREAM.exchange], traced="server", split=at(cut))
    assert len(got) == 1
    assert not check(got[0].to_dict(), OPENAI_STREAM.expect), check(got[0].to_dict(), OPENAI_STREAM.expect)
