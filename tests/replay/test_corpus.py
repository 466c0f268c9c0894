# Every corpus exchange through the whole core (capture events -> Tracker -> record), over
# HTTP/1.1 and HTTP/2, with the traced process as the client or as the server: each must give
# the record fields written next to its payload in corpus.py, and be shown or hidden per mode.
from __future__ import annotations

import pytest

from .builders import capture_lines, h2_conversation, http1_conversation, records_of, run_tracker
from .corpus import CASES, check

TRANSPORTS = [("1.1", "client"), ("1.1", "server"), ("2", "client"), ("2", "server")]


def conversation(case, http_version: str):
    ex = [case.exchange]
    return http1_conversation(ex) if http_version == "1.1" else h2_conversation(ex)


def only_record(outputs):
    recs = records_of(outputs)
    assert len(recs) == 1, f"expected one record, got {len(recs)}: {[r.request.url for r in recs]}"
    return recs[0]


@pytest.mark.parametrize("http_version,traced", TRANSPORTS, ids=[f"h{v}-{t}" for v, t in TRANSPORTS])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_expected_record(case, http_version, traced):
    lines = capture_lines(conversation(case, http_version), traced=traced, server=case.server)
    rec = only_record(run_tracker(lines, mode="all"))
    d = rec.to_dict()
    problems = check(d, case.expect)
    problems += check(d, {
        "schema": "llmspy/1",
        "source": "replay",
        "connection.http_version": http_version,
        "connection.role": traced,
        "connection.server": case.server,
        "connection.port": 443,
        "process.pid": 4242,
        "process.comm": "python3",
    })
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mode_filters(case):
    lines = capture_lines(http1_conversation([case.exchange]), server=case.server)
    assert len(records_of(run_tracker(lines, mode="all"))) == 1
    assert len(records_of(run_tracker(lines, mode="smart"))) == (1 if case.smart else 0)
    assert len(records_of(run_tracker(lines, mode="llm"))) == (1 if case.expect.get("kind") == "llm" else 0)


def test_timing_comes_from_capture_timestamps():
    case = CASES[0]  # the OpenAI stream
    lines = capture_lines(http1_conversation([case.exchange]), t0=1000.0, dt=0.5)
    rec = only_record(run_tracker(lines))
    # request written at 1000.0, response head at 1000.5, first text delta in the 4th write
    # (role chunk, "Checking " chunk) -> 1000.0 + 3 * 0.5
    assert rec.timing.start == 1000.0
    assert rec.timing.first_byte == 1000.5
    assert rec.timing.first_token == 1001.5
    assert rec.timing.ttft_ms == 1500.0
    # last write: the 0-size chunk after 10 events: index 1 + 1 + 10 = 12
    assert rec.timing.end == 1000.0 + 12 * 0.5
