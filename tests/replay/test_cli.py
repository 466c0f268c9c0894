# `llmspy replay` end to end, as a user runs it (a subprocess of the installed command):
# planted secrets never reach any output in any format; malformed capture lines give one-line
# FILE:LINE errors on stderr while the other records still come out; `--format jsonl` stdout
# is exactly one JSON object per line; a cut stream gives an incomplete record with the text
# so far; a mitmproxy flow file replays through the same core.
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import (
    PLANTED_MARK,
    PLANTED_VALUES,
    capture_lines,
    dump_lines,
    h2_conversation,
    http1_conversation,
    write_capture,
)
from .corpus import ANTHROPIC_STREAM, CASES, OPENAI_STREAM, UNICODE, check, openai_whole

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = ROOT / ".venv" / "bin" / "llmspy"
# The console script once the package is installed (pip install -e .); until then the module.
LLMSPY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmspy.cli"]


def llmspy(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([*LLMSPY, *map(str, args)], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def jsonl_records(stdout: str) -> list[dict]:
    """stdout of --format jsonl: every line one JSON object, nothing else."""
    lines = stdout.splitlines()
    assert stdout == "" or stdout.endswith("\n")
    out = []
    for line in lines:
        obj = json.loads(line)  # fails on anything that is not JSON
        assert isinstance(obj, dict) and obj.get("schema") == "llmspy/1", line[:200]
        out.append(obj)
    return out


def assert_one_line_errors(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# -- secrets ------------------------------------------------------------------------------------
def all_cases_capture(tmp_path) -> str:
    """Every corpus case on its own connection, over HTTP/1.1 and HTTP/2, the traced process
    the client for some and the server for others."""
    lines = []
    for i, case in enumerate(CASES):
        for j, (conv, traced) in enumerate([(http1_conversation, "client"), (h2_conversation, "server")]):
            lines += capture_lines(conv([case.exchange]), traced=traced, conn=f"4242:0x{i:02x}{j}", server=case.server,
                                   t0=1764460800.0 + i * 10 + j * 5)
    raw = dump_lines(lines)
    # sanity: the capture really carries the secrets (HTTP/1.1 bytes are plain text)
    decoded = b"".join(base64.b64decode(d["data"]) for d in lines)
    for secret in PLANTED_VALUES:
        assert secret.encode() in decoded, secret
    path = tmp_path / "secrets.jsonl"
    path.write_bytes(raw)
    return str(path)


# The planted values, and distinctive pieces of them (a partial leak is a leak).
LEAK_MARKERS = [PLANTED_MARK, *PLANTED_VALUES, "0123456789abcdef", "xapikey", "azureapikey", "goog-header", "url-key", "cookie-42"]


def assert_no_leak(name: str, text: str) -> None:
    hits = [m for m in LEAK_MARKERS if m.lower() in text.lower()]
    assert not hits, f"{name} leaks {hits}"


@pytest.mark.parametrize("flags", [
    ["--format", "pretty"],
    ["--format", "jsonl"],
    ["--format", "pretty", "--all"],
    ["--format", "jsonl", "--all", "--debug"],
    ["--format", "pretty", "--debug", "--all"],
    ["--llm-only", "--format", "jsonl"],
], ids=lambda f: " ".join(f))
def test_secrets_never_in_output(tmp_path, flags):
    capture = all_cases_capture(tmp_path)
    out_file = tmp_path / "records.jsonl"
    p = llmspy("replay", *flags, "-o", out_file, capture)
    assert p.returncode == 0, p.stderr
    assert_one_line_errors(p.stderr)
    assert_no_leak("stdout", p.stdout)
    assert_no_leak("stderr", p.stderr)
    written = out_file.read_text()
    assert_no_leak(str(out_file), written)
    recs = jsonl_records(written)
    llm = [c for c in CASES if c.expect.get("kind") == "llm"]
    shown = llm if "--llm-only" in flags else CASES if "--all" in flags else [c for c in CASES if c.smart]
    assert len(recs) == 2 * len(shown)
    if "jsonl" in flags:
        assert len(jsonl_records(p.stdout)) == len(recs)
    else:  # the pretty view shows the calls (and the redaction marker where headers show)
        assert "gpt-4o-mini" in p.stdout and "claude-sonnet-4-5" in p.stdout


_B = PLANTED_VALUES[0].encode()
# Request heads that are not valid HTTP/1.1 around a secret: the error notice about them must
# not quote the secret (h11 puts the offending line in its exception message).
MALFORMED_SECRET_HEADS = {
    "space_before_colon": b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization : Bearer " + _B + b"\r\nContent-Length: 2\r\n\r\n{}",
    "line_without_colon": b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer " + _B + b"\r\nBad Line\r\nContent-Length: 2\r\n\r\n{}",
    "control_in_value": b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer " + _B + b"\x01\r\nContent-Length: 2\r\n\r\n{}",
    "nul_in_target": b"POST /v1beta/models/x:\x00generateContent?key=" + _B + b" HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 2\r\n\r\n{}",
    "bad_content_length": b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nX-Api-Key: " + _B + b"\r\nContent-Length: x\r\n\r\n{}",
}
_SECRET_RESPONSE = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nSet-Cookie: s=" + _B + b"\r\nContent-Length: 2\r\n\r\n{}"


@pytest.mark.parametrize("name", list(MALFORMED_SECRET_HEADS))
def test_secrets_not_in_protocol_error_notices(tmp_path, name):
    lines = capture_lines([("client", MALFORMED_SECRET_HEADS[name]), ("server", _SECRET_RESPONSE)])
    path = write_capture(tmp_path / "malformed-secret.jsonl", lines)
    for flags in (["--format", "jsonl", "--all", "--debug"], ["--format", "pretty", "--all", "--debug"]):
        p = llmspy("replay", *flags, path)
        assert_one_line_errors(p.stderr)
        assert_no_leak("stdout", p.stdout)
        assert_no_leak("stderr", p.stderr)


# -- malformed lines ---------------------------------------------------------------------------
def test_malformed_lines_are_reported_and_skipped(tmp_path):
    good_a = capture_lines(http1_conversation([OPENAI_STREAM.exchange]), conn="1:0xa")
    good_b = capture_lines(http1_conversation([ANTHROPIC_STREAM.exchange]), conn="1:0xb", server=ANTHROPIC_STREAM.server)
    bad_json = b'{"ts": 1764460800.5, "pid": 1, "conn": "1:0xc", "dir": "send", "data": "AAAA"'  # cut off
    bad_b64 = json.dumps({**good_a[0], "conn": "1:0xd", "data": "not base64!!"}).encode()
    missing = json.dumps({k: v for k, v in good_a[0].items() if k != "conn"}).encode()
    body = dump_lines(good_a).splitlines() + dump_lines(good_b).splitlines()
    # put the bad lines between good ones: lines 3, 6 and 9 of the file
    body.insert(2, bad_json)
    body.insert(5, bad_b64)
    body.insert(8, missing)
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b"\n".join(body) + b"\n")
    p = llmspy("replay", "--format", "jsonl", path)
    assert p.returncode == 0, p.stderr
    assert_one_line_errors(p.stderr)
    err_lines = [line for line in p.stderr.splitlines() if line.strip()]
    for lineno in (3, 6, 9):
        hits = [line for line in err_lines if f"{path}:{lineno}:" in line]
        assert len(hits) == 1, (lineno, err_lines)
    assert len(err_lines) == 3, err_lines
    recs = jsonl_records(p.stdout)
    assert [r["provider"] for r in recs] == ["openai", "anthropic"]
    for rec, case in zip(recs, (OPENAI_STREAM, ANTHROPIC_STREAM)):
        assert not check(rec, case.expect), check(rec, case.expect)


def test_unreadable_file_is_one_line_error(tmp_path):
    p = llmspy("replay", tmp_path / "nope.jsonl")
    assert p.returncode != 0
    assert p.stdout == ""
    assert_one_line_errors(p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "nope.jsonl" in p.stderr


def test_file_of_garbage_lines(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"hello\n\x00\xff\xfe\n[1,2]\n{\"dir\": \"send\"}\n")
    p = llmspy("replay", "--format", "jsonl", path)
    assert_one_line_errors(p.stderr)
    assert p.stdout == ""
    assert len([line for line in p.stderr.splitlines() if f"{path}:" in line]) == 4


# -- cut stream ----------------------------------------------------------------------------------
def test_cut_stream_gives_incomplete_record_with_text_so_far(tmp_path):
    """The capture ends in the middle of the 6th SSE event of the OpenAI stream (the second
    tool-call argument fragment): the first five events' content is kept."""
    conv = http1_conversation([OPENAI_STREAM.exchange])
    # request, head, then one write per event; keep 5 whole events and half of the 6th
    events = conv[2:]
    cut = conv[:2] + events[:5] + [("server", events[5][1][: len(events[5][1]) // 2])]
    path = write_capture(tmp_path / "cut.jsonl", capture_lines(cut, close=False))
    p = llmspy("replay", "--format", "jsonl", path)
    assert p.returncode == 0, p.stderr
    (rec,) = jsonl_records(p.stdout)
    assert rec["complete"] is False
    assert rec["response"]["text"] == "Checking " + UNICODE
    assert [(c["name"], c["arguments"]) for c in rec["response"]["tool_calls"]] == [("get_weather", "{\"city\":")]
    assert rec["response"]["finish_reason"] is None
    assert rec["provider"] == "openai" and rec["request"]["model"] == "gpt-4o-mini"


def test_cut_stream_with_close_event(tmp_path):
    """The connection closes mid-stream (chunked body never finished): still incomplete."""
    conv = http1_conversation([ANTHROPIC_STREAM.exchange])
    cut = conv[:2 + 10]  # request, head, 10 events: message_start, the thinking block, ping, text start + 2 deltas
    path = write_capture(tmp_path / "cut2.jsonl", capture_lines(cut, server=ANTHROPIC_STREAM.server, close=True))
    (rec,) = jsonl_records(llmspy("replay", "--format", "jsonl", path).stdout)
    assert rec["complete"] is False
    assert rec["response"]["reasoning"] == "The user wants the weather."
    assert rec["response"]["text"] == "Let me check " + UNICODE
    assert rec["response"]["tool_calls"] == []


# -- mitmproxy flow file -------------------------------------------------------------------------
def _flow(req_body: dict, resp_body: bytes, resp_ctype: str, path: str = "/v1/chat/completions"):
    from mitmproxy import http
    from mitmproxy.test import tflow, tutils

    body = json.dumps(req_body).encode()
    req = tutils.treq(
        host="api.openai.com", port=443, scheme=b"https", method=b"POST", authority=b"api.openai.com", path=path.encode(),
        headers=http.Headers(((b"host", b"api.openai.com"), (b"content-type", b"application/json"),
                              (b"authorization", f"Bearer {PLANTED_VALUES[0]}".encode()), (b"content-length", str(len(body)).encode()))),
        content=body, timestamp_start=1764460800.0, timestamp_end=1764460800.01,
    )
    resp = tutils.tresp(
        headers=http.Headers(((b"content-type", resp_ctype.encode()), (b"content-length", str(len(resp_body)).encode()))),
        content=resp_body, timestamp_start=1764460800.5, timestamp_end=1764460801.0,
    )
    flow = tflow.tflow(req=req, resp=resp)
    # tflow's server connection is a placeholder ("address"); make it the API's, as in a real flow
    flow.server_conn.address = ("api.openai.com", 443)
    flow.server_conn.sni = "api.openai.com"
    return flow


def test_mitmproxy_flow_file(tmp_path):
    from mitmproxy.io import FlowWriter

    whole = openai_whole(None)
    stream_body = b"".join(OPENAI_STREAM.response.parts)
    flows = [
        _flow(json.loads(whole.request.body), b"".join(whole.response.parts), "application/json"),
        _flow(json.loads(OPENAI_STREAM.request.body), stream_body, "text/event-stream; charset=utf-8"),
    ]
    path = tmp_path / "flows.mitm"
    with open(path, "wb") as f:
        w = FlowWriter(f)
        for fl in flows:
            w.add(fl)
    out_file = tmp_path / "out.jsonl"
    p = llmspy("replay", "--format", "jsonl", "-o", out_file, path)
    assert p.returncode == 0, p.stderr
    assert_one_line_errors(p.stderr)
    for name, text in (("stdout", p.stdout), ("stderr", p.stderr), ("-o", out_file.read_text())):
        assert_no_leak(name, text)
    recs = jsonl_records(p.stdout)
    assert len(recs) == 2
    for rec, case in zip(recs, (whole, OPENAI_STREAM)):
        assert not check(rec, case.expect), check(rec, case.expect)
        assert rec["source"] == "replay"
        assert rec["connection"]["server"] == "api.openai.com"
    assert recs[0]["timing"]["start"] == 1764460800.0 and recs[0]["timing"]["end"] == 1764460801.0
