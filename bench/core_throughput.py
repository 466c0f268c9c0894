"""Core throughput: captured SSE streams through the Tracker, next to a json.loads baseline.

Generates a capture of at least 50 MB: many OpenAI Chat Completions streams (text deltas of a
few words, a tool call every few calls, an include_usage chunk, ``data: [DONE]``) on several
keep-alive HTTP/1.1 connections and a few HTTP/2 connections, with the connections'
reads interleaved as a live capture sees them, one SSE event per read (streamed tokens arrive
one write at a time). It then replays the capture through llmspy.core.tracker.Tracker
in-process and, as the baseline, runs only ``json.loads`` on the same events' data payloads:
the least any parser of these streams must do. Prints MB/s for both and their ratio.

Run: ``.venv/bin/python bench/core_throughput.py [--mb 50] [--connections 8]``. Timings are
printed, never asserted. Takes well under 3 minutes on the project's 2-core machines.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmspy.core.capture import CaptureEvent  # noqa: E402
from llmspy.core.events import CallDone  # noqa: E402
from llmspy.core.tracker import Tracker  # noqa: E402
from tests.replay.builders import (  # noqa: E402
    BEARER_SECRET,
    Request,
    Response,
    capture_lines,
    h2_conversation,
    http1_conversation,
    sse,
)

WORDS = ("the model streams tokens as they are generated and each chunk carries a few of them "
         "héllo 世界 🙂 latency throughput cache reasoning tool call usage").split()
MODEL = "gpt-4o-mini-2024-07-18"


def chat_stream(rnd: random.Random, call: int) -> tuple[Request, Response]:
    """One streamed call: 40-400 content deltas of 1-4 words, sometimes a tool call."""
    cid = f"chatcmpl-bench{call:06d}"

    def chunk(delta, finish=None, choices=None, usage=None):
        return {"id": cid, "object": "chat.completion.chunk", "created": 1764460800, "model": MODEL,
                "system_fingerprint": "fp_bench", "service_tier": "default",
                "choices": choices if choices is not None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                "usage": usage, "obfuscation": "x" * rnd.randint(1, 12)}

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    n = rnd.randint(40, 400)
    events += [chunk({"content": " ".join(rnd.choices(WORDS, k=rnd.randint(1, 4))) + " "}) for _ in range(n)]
    finish = "stop"
    if call % 5 == 0:
        finish = "tool_calls"
        events.append(chunk({"tool_calls": [{"index": 0, "id": f"call_{call}", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}) for frag in ("{\"ci", "ty\": \"Par", "is\"}")]
    events.append(chunk({}, finish))
    events.append(chunk(None, choices=[], usage={"prompt_tokens": 120, "completion_tokens": n, "total_tokens": 120 + n,
                                                   "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}))
    events.append("[DONE]")
    req = Request.json("api.openai.com", "/v1/chat/completions",
                       {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
                        "messages": [{"role": "user", "content": " ".join(rnd.choices(WORDS, k=30))}]},
                       [("Authorization", f"Bearer {BEARER_SECRET}")])
    return req, Response(200, [("Content-Type", "text/event-stream; charset=utf-8")], sse(*events))


def build_capture(target_bytes: int, connections: int, seed: int = 1) -> tuple[list[CaptureEvent], list[bytes], int]:
    """(capture events interleaved across connections, the SSE data payloads, calls)."""
    rnd = random.Random(seed)
    per_conn: list[list[dict]] = []
    payloads: list[bytes] = []
    total, call = 0, 0
    conns = [[] for _ in range(connections)]
    while total < target_bytes:
        req, resp = chat_stream(rnd, call)
        conns[call % connections].append((req, resp))
        for part in resp.parts:
            data = part[len(b"data: "):-2]
            if data != b"[DONE]":
                payloads.append(data)
        total += len(req.body) + sum(map(len, resp.parts))
        call += 1
    for i, exchanges in enumerate(conns):
        h2 = i % 4 == 3  # every fourth connection speaks HTTP/2
        conv = h2_conversation(exchanges, interleave=False) if h2 else http1_conversation(exchanges)
        per_conn.append(capture_lines(conv, conn=f"4242:0x{i:04x}", t0=1764460800.0, dt=0.0005))
    # interleave the connections' reads in timestamp order, as a live capture would
    lines = sorted((d for lines in per_conn for d in lines), key=lambda d: (d["ts"], d["conn"]))
    return [CaptureEvent.from_dict(d) for d in lines], payloads, call


def bench_tracker(events: list[CaptureEvent]) -> tuple[float, int]:
    tracker = Tracker(source="replay", mode="smart")
    records = 0
    gc.collect()
    t0 = time.perf_counter()
    for ev in events:
        for out in tracker.feed(ev):
            if isinstance(out, CallDone):
                records += 1
    for out in tracker.flush(events[-1].ts):
        records += isinstance(out, CallDone)
    return time.perf_counter() - t0, records


def bench_json(payloads: list[bytes]) -> float:
    loads = json.loads
    gc.collect()
    t0 = time.perf_counter()
    for p in payloads:
        loads(p)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="capture size to generate, in MB (default 50)")
    ap.add_argument("--connections", type=int, default=8, help="connections the calls are spread over (default 8)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    events, payloads, calls = build_capture(int(args.mb * 1e6), args.connections)
    size = sum(len(e.data) for e in events)
    print(f"capture: {size / 1e6:.1f} MB in {len(events)} reads, {calls} streamed calls, "
          f"{args.connections} connections ({len(payloads)} SSE events); built in {time.perf_counter() - t0:.1f} s")

    t_json = bench_json(payloads)
    t_core, records = bench_tracker(events)
    if records != calls:
        print(f"warning: {records} records for {calls} calls", file=sys.stderr)
    core_mbs, json_mbs = size / 1e6 / t_core, size / 1e6 / t_json
    print(f"{'llmspy Tracker (bytes -> records)':<40} {t_core:7.2f} s  {core_mbs:8.1f} MB/s  {len(events) / t_core:10.0f} reads/s")
    print(f"{'baseline: json.loads of SSE payloads':<40} {t_json:7.2f} s  {json_mbs:8.1f} MB/s")
    print(f"ratio (llmspy time / baseline time): {t_core / t_json:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
