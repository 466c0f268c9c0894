# `llmspy demo`: the real thing on a machine with no LLM traffic. A local TLS server speaks
# OpenAI's wire format (llmspy.fake), the official openai SDK runs against it as its own
# process, resolving api.openai.com to 127.0.0.1 in a private mount namespace, and llmspy
# captures it with eBPF exactly as `sudo llmspy` would (or through the proxy with --proxy).
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

__all__ = ["run_demo"]

# Seconds between streamed events, so the live view visibly streams.
EVENT_DELAY_S = 0.08
# Seconds to keep polling after the last client exits, for the last events to drain.
DRAIN_S = 1.0
DEMO_PROMPT = "In one sentence: what does llmspy show?"


def _say(msg: str) -> None:
    print(f"llmspy demo: {msg}", file=sys.stderr, flush=True)


def _clients(server, hosts_file: str | None):
    """The demo's client runs, as (description, start function)."""
    from .fake import clients

    host = "api.openai.com" if hosts_file else "localhost"
    common = dict(ca=server.ca_pem_path, hosts_file=hosts_file, wait=False, prompt=DEMO_PROMPT)
    return [
        ("openai SDK, streamed chat completion",
         lambda: clients.openai_chat(host, server.port, stream=True, **common)),
        ("openai SDK, chat completion with a tool call",
         lambda: clients.openai_chat(host, server.port, stream=False, tools=True, **common)),
    ]


def _namespaces_work() -> bool:
    """Whether this process may give a child its own hosts file (unshare -m needs root)."""
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_demo(fmt: str = "pretty", proxy: bool = False) -> int:
    from .capture.diagnose import CaptureUnavailable
    from .capture.live import LiveCapture, LiveOptions, error_line
    from .capture.targets import TargetError
    from .fake.clients import write_hosts_file
    from .fake.server import FakeProvider

    if proxy:
        return _proxy_demo(fmt)
    try:
        live = LiveCapture(LiveOptions(mode="llm", fmt=fmt), ignore_pids=frozenset({os.getpid()}))
    except (CaptureUnavailable, TargetError) as e:
        _say(f"error: {error_line(e)}")
        _say("the eBPF demo needs root; `llmspy demo --proxy` shows the proxy front end without it")
        return 1
    tmp = tempfile.mkdtemp(prefix="llmspy-demo-")
    server = FakeProvider(hosts=["api.openai.com", "localhost", "127.0.0.1"], delay=EVENT_DELAY_S).start()
    hosts_file = write_hosts_file(tmp) if _namespaces_work() else None
    where = f"https://api.openai.com:{server.port}" if hosts_file else f"https://localhost:{server.port}"
    _say(f"probes attached in {live.attach_s:.1f} s; ready")
    _say(f"a fake OpenAI API is listening on {where} (127.0.0.1; a local CA)")
    code = 0
    try:
        for what, start in _clients(server, hosts_file):
            _say(f"running the {what} ...")
            running = start()
            while running.proc.poll() is None:
                live.pump()
            result = running.wait()
            if not result.ok:
                _say(f"the client failed (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
                code = 1
            deadline = time.monotonic() + DRAIN_S
            while time.monotonic() < deadline:
                live.pump(50)
    except KeyboardInterrupt:
        code = 130
    finally:
        totals = live.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if code == 130:
        return code
    if code == 0 and totals.llm_calls == 0:
        _say("error: the clients ran but no call was captured; run `llmspy doctor`")
        return 1
    _say("done. Now run `.venv/bin/llmspy` as root and use any OpenSSL program (python, curl, node)")
    return code


def _proxy_demo(fmt: str) -> int:
    """The same clients through `llmspy --proxy` (no root needed)."""
    import socket

    from .fake.server import FakeProvider

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = FakeProvider(hosts=["api.openai.com", "localhost", "127.0.0.1"], delay=EVENT_DELAY_S).start()
    tmp = tempfile.mkdtemp(prefix="llmspy-demo-")
    proxy = subprocess.Popen(
        [sys.executable, "-m", "llmspy", "--proxy", "--port", str(port), "--ca-dir", tmp, "--llm-only",
         "--format", fmt, "--set", f"ssl_verify_upstream_trusted_ca={server.ca_pem_path}"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in proxy.stderr:
            sys.stderr.write(line)
            if "ready" in line:
                break
        else:
            _say("error: the proxy did not start")
            return 1
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{port}", "SSL_CERT_FILE": os.path.join(tmp, "ca.crt")}
        from .fake import clients

        for stream, tools in ((True, False), (False, True)):
            r = clients.openai_chat("localhost", server.port, stream=stream, tools=tools, env=env, prompt=DEMO_PROMPT)
            if not r.ok:
                _say(f"the client failed (exit {r.returncode})")
        time.sleep(DRAIN_S)
    finally:
        proxy.terminate()
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the demo CA's key goes with it
    return 0
