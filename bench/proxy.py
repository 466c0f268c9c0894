#!/usr/bin/env python3
"""Proxy-mode overhead, in one run (well under 2 minutes):

  1. time to first token (first SSE event) of a streamed chat completion: direct to the fake
     provider vs through `llmspy --proxy` (median of TTFT_RUNS calls each);
  2. streamed throughput of one large SSE response (THROUGHPUT_EVENTS events): through bare
     `mitmdump` (streaming on: `--set stream_large_bodies=1`, the like-for-like baseline) vs
     through `llmspy --proxy` (which also parses every event into a record).

Prints absolute numbers and the ratios. The client is httpx in this process, talking to the
fake provider (llmspy/fake/server.py) on 127.0.0.1, so no root or hosts file is needed.

    .venv/bin/python bench/proxy.py
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from llmspy.fake.scripts import Reply, Usage  # noqa: E402
from llmspy.fake.server import FakeProvider  # noqa: E402

TTFT_RUNS = 25
THROUGHPUT_EVENTS = 20_000
THROUGHPUT_RUNS = 3
BODY = {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Count."}]}
HEADERS = {"authorization": "Bearer sk-llmspy-PLANTED-bench", "content-type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"proxy exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def _start(argv: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _wait_port(port, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(2)  # SIGINT to our own child
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _client(proxy: str | None, verify: str) -> httpx.Client:
    return httpx.Client(proxy=proxy, verify=verify, timeout=60)


def ttft_ms(client: httpx.Client, url: str) -> float:
    t0 = time.perf_counter()
    first = None
    with client.stream("POST", url, headers=HEADERS, json=BODY) as r:
        for _ in r.iter_raw():
            if first is None:
                first = time.perf_counter()
    return (first - t0) * 1000


def throughput_mb_s(client: httpx.Client, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    size = 0
    with client.stream("POST", url, headers=HEADERS, json=BODY) as r:
        for chunk in r.iter_raw():
            size += len(chunk)
    return size / (time.perf_counter() - t0) / 1e6, size


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="llmspy-bench-"))
    mitmdump = ROOT / ".venv" / "bin" / "mitmdump"
    llmspy = [sys.executable, "-m", "llmspy.cli"]
    big = Reply(text=tuple(f" token{i}" for i in range(THROUGHPUT_EVENTS)), usage=Usage(10, THROUGHPUT_EVENTS),
                model="gpt-4o-mini-2024-07-18", id="chatcmpl-bench")
    results: dict[str, float] = {}
    started = time.monotonic()
    with FakeProvider(hosts=("127.0.0.1", "localhost"), delay=0.0) as fake:
        url = f"https://127.0.0.1:{fake.port}/v1/chat/completions"
        lport, mport = _free_port(), _free_port()
        ca_dir = work / "ca"
        spy = _start([*llmspy, "--proxy", "--port", str(lport), "--ca-dir", str(ca_dir), "--format", "jsonl",
                      "--output", os.devnull, "--set", f"ssl_verify_upstream_trusted_ca={fake.ca_pem_path}"], lport)
        bare = _start([str(mitmdump), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(mport),
                       "--set", f"confdir={ca_dir}", "--set", f"ssl_verify_upstream_trusted_ca={fake.ca_pem_path}",
                       "--set", "stream_large_bodies=1"], mport)
        ca = str(ca_dir / "ca.crt")
        routes = (("direct", None, fake.ca_pem_path), ("mitmdump", f"http://127.0.0.1:{mport}", ca),
                  ("llmspy", f"http://127.0.0.1:{lport}", ca))
        try:
            # 1. TTFT of the default scripted reply: a fresh connection per call (CONNECT and
            #    two TLS handshakes through a proxy), then one kept-alive connection (what an
            #    SDK does after its first call: only the pass-through remains).
            for name, proxy, verify in routes:
                fresh = []
                for _ in range(TTFT_RUNS + 2):
                    with _client(proxy, verify) as c:
                        fresh.append(ttft_ms(c, url))
                results[f"ttft_fresh_{name}"] = statistics.median(fresh[2:])  # two warm-ups
                with _client(proxy, verify) as c:
                    reused = [ttft_ms(c, url) for _ in range(TTFT_RUNS + 2)]
                results[f"ttft_reused_{name}"] = statistics.median(reused[2:])
            # 2. throughput: one big stream, best of THROUGHPUT_RUNS
            fake.set_script("openai.chat_completions", big)
            for name, proxy, verify in routes:
                runs = []
                for _ in range(THROUGHPUT_RUNS):
                    with _client(proxy, verify) as c:
                        runs.append(throughput_mb_s(c, url))
                results[f"mb_s_{name}"] = max(r[0] for r in runs)
                results["stream_bytes"] = runs[0][1]
        finally:
            _stop(spy)
            _stop(bare)
    r = results
    print(f"llmspy proxy benchmark ({time.monotonic() - started:.0f} s; fake provider on 127.0.0.1)")
    print(f"  time to first token (ms, median of {TTFT_RUNS}):   fresh connection   kept-alive")
    for name, label in (("direct", "direct        "), ("mitmdump", "bare mitmdump "), ("llmspy", "llmspy --proxy")):
        print(f"    {label}                    {r[f'ttft_fresh_{name}']:8.2f}      {r[f'ttft_reused_{name}']:8.2f}")
    for base in ("direct", "mitmdump"):
        print(f"    ratio llmspy / {base:<8}                {r['ttft_fresh_llmspy'] / r[f'ttft_fresh_{base}']:7.2f}x"
              f"     {r['ttft_reused_llmspy'] / r[f'ttft_reused_{base}']:7.2f}x")
    mb = r["stream_bytes"] / 1e6
    print(f"  streamed throughput, {THROUGHPUT_EVENTS} SSE events ({mb:.1f} MB), best of {THROUGHPUT_RUNS}:")
    print(f"    direct          {r['mb_s_direct']:7.2f} MB/s")
    print(f"    bare mitmdump   {r['mb_s_mitmdump']:7.2f} MB/s")
    print(f"    llmspy --proxy  {r['mb_s_llmspy']:7.2f} MB/s   ratio to bare mitmdump {r['mb_s_llmspy'] / r['mb_s_mitmdump']:.2f}x,"
          f" to direct {r['mb_s_llmspy'] / r['mb_s_direct']:.2f}x")
    print(json.dumps({k: round(v, 3) for k, v in r.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
