"""`llmspy --raw -o cap.jsonl` then `llmspy replay cap.jsonl --format jsonl` gives the same
records as a live capture of the same calls, running at the same time (minus ``source`` and
the per-run record ``id``). The raw capture file is the documented exception to redaction:
it keeps the bytes as captured, so it must be created with mode 0600.
"""
from __future__ import annotations

import base64
import json
import stat
import subprocess

import pytest

import llmspy.fake.clients as clients
from llmspy.fake.clients import PLANTED_KEY

from .support import ROOT, Capture, llmspy_argv, prompt_for

pytestmark = [pytest.mark.ebpf, pytest.mark.slow, pytest.mark.timeout(240)]

# Live and replayed timestamps come from the same kernel clock readings, converted to unix
# seconds by two processes that each measure the monotonic-to-realtime offset: allow for that.
CLOCK_OFFSET_TOLERANCE_S = 0.005


def without(rec: dict) -> dict:
    rec = {k: v for k, v in rec.items() if k not in ("source", "id")}
    rec["timing"] = None
    return rec


def test_raw_capture_replays_to_the_live_records(workdir, fake, hosts_file):
    live = Capture(workdir, "replay-live")
    raw = Capture(workdir, "replay-raw", ("--raw",))
    live.wait_ready()
    raw.wait_ready()
    try:
        runs = [
            clients.openai_chat("api.openai.com", fake.port, ca=fake.ca_pem_path, stream=True, tools=True,
                                prompt=prompt_for("replay_openai"), hosts_file=hosts_file, wait=False),
            clients.anthropic_messages("api.anthropic.com", fake.port, ca=fake.ca_pem_path, http2=True,
                                       prompt=prompt_for("replay_anthropic"), hosts_file=hosts_file, wait=False),
        ]
        path, headers, body = clients.provider_request("gemini.generate_content", stream=True,
                                                       prompt=prompt_for("replay_gemini"))
        runs.append(clients.curl(f"https://generativelanguage.googleapis.com:{fake.port}{path}", body=body,
                                 headers=headers, ca=fake.ca_pem_path, http2=True, stream=True,
                                 hosts_file=hosts_file, wait=False))
        path, headers, body = clients.provider_request("cohere.chat.v2", stream=True, prompt=prompt_for("replay_cohere"))
        runs.append(clients.node_fetch(f"https://api.cohere.com:{fake.port}{path}", body=body, headers=headers,
                                       ca=fake.ca_pem_path, hosts_file=hosts_file, wait=False))
        pids = [r.wait().check().pid for r in runs]
        by_pid = live.wait_pids(pids)
    finally:
        assert live.stop() == 0, live.stderr[-3000:]
        assert raw.stop() == 0, raw.stderr[-3000:]
    assert all(len(v) == 1 for v in by_pid.values()), {p: len(v) for p, v in by_pid.items()}

    # the capture file: mode 0600, the bytes as captured (the key is in there, unredacted)
    cap_file = raw.output_path
    assert stat.S_IMODE(cap_file.stat().st_mode) == 0o600
    assert "mode 0600" in raw.stderr
    lines = [json.loads(x) for x in cap_file.read_text().splitlines()]
    assert PLANTED_KEY.encode() in b"".join(base64.b64decode(x["data"]) for x in lines if x["pid"] in pids)
    assert raw.lost_events() == 0 and live.lost_events() == 0
    assert raw.stdout == ""  # with -o, --raw --format jsonl prints nothing on stdout

    out = subprocess.run([*llmspy_argv(), "replay", str(cap_file), "--format", "jsonl"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    replayed = [json.loads(x) for x in out.stdout.splitlines()]
    for pid in pids:
        (want,) = by_pid[pid]
        got = [r for r in replayed if (r["process"] or {}).get("pid") == pid and r["connection"]["role"] == "client"]
        assert len(got) == 1, pid
        (got,) = got
        assert (got["source"], want["source"]) == ("replay", "ebpf")
        # process.exe is read from /proc/PID/exe when the first event is delivered; a client
        # that has already exited by then has none (two captures race for it here).
        if None in (got["process"]["exe"], want["process"]["exe"]):
            got["process"]["exe"] = want["process"]["exe"] = None
        assert without(got) == without(want)
        for k, v in want["timing"].items():
            if isinstance(v, float) and k in ("start", "first_byte", "first_token", "end"):
                assert abs(got["timing"][k] - v) <= CLOCK_OFFSET_TOLERANCE_S, (k, got["timing"][k], v)
            else:
                assert got["timing"][k] == pytest.approx(v, abs=1.0), k
    assert PLANTED_KEY not in out.stdout + out.stderr
