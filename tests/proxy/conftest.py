"""Harness for the proxy end-to-end tests: the fake provider (llmspy/fake/server.py) and
`llmspy --proxy` / `mitmdump -s addons/llmspy_addon.py` as real subprocesses.

The proxy runs in its own mount namespace with a hosts file mapping the real API names
(api.openai.com...) to 127.0.0.1 (MACHINE.md), so clients ask for the real names through the
proxy and mitmproxy connects to the fake server; it trusts the fake server's CA via
``--set ssl_verify_upstream_trusted_ca=``. Clients trust the proxy's CA (ca.crt).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def llmspy_argv() -> list[str]:
    exe = VENV_BIN / "llmspy"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "llmspy.cli"]


def mitmdump_path() -> str:
    exe = VENV_BIN / "mitmdump"
    return str(exe) if exe.exists() else shutil.which("mitmdump") or "mitmdump"


def in_namespace(argv: list[str], hosts_file: str | None) -> list[str]:
    if not hosts_file:
        return argv
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
            hosts_file, *argv]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProxyProcess:
    """A proxy subprocess with stdout/stderr in files. ``url`` once ready."""

    def __init__(self, argv: list[str], workdir: Path, name: str = "proxy", output: Path | None = None,
                 cwd: Path = ROOT):
        self.workdir = workdir
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self.output = output
        self.url: str | None = None
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                     cwd=cwd, env=env)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"ready on (http://\S+)", self.stderr)
            if m:
                self.url = m.group(1)
                return self.url
            if self.proc.poll() is not None:
                raise AssertionError(f"proxy exited {self.proc.returncode}:\n{self.stderr[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"proxy not ready after {timeout} s:\n{self.stderr[-3000:]}")

    def wait_listening(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}:\n{self.stderr[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                self.url = f"http://127.0.0.1:{port}"
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nothing listening on {port}:\n{self.stderr[-3000:]}")

    def records(self) -> list[dict]:
        if self.output is None or not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.strip()]

    def wait_record(self, predicate, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.records() if predicate(r)]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no matching record; have {[r.get('request', {}).get('url') for r in self.records()]}\n"
                             f"stderr:\n{self.stderr[-2000:]}")

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT, to our own child by its pid
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self._err.close()
        return self.proc.returncode


def start_llmspy_proxy(workdir: Path, *, ca_dir: Path, upstream_ca: str | None, hosts_file: str | None,
                       extra: list[str] = (), name: str = "proxy", fmt: str = "jsonl") -> ProxyProcess:
    output = workdir / f"{name}.records.jsonl"
    argv = [*llmspy_argv(), "--proxy", "--port", "0", "--ca-dir", str(ca_dir), "--format", fmt, "--output", str(output)]
    if upstream_ca:
        argv += ["--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}"]
    argv += list(extra)
    return ProxyProcess(in_namespace(argv, hosts_file), workdir, name, output)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("proxy-e2e")


@pytest.fixture(scope="module")
def hosts_file(workdir) -> str:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private /etc/hosts (MACHINE.md)")
    import llmspy.fake.clients as clients

    return clients.write_hosts_file(workdir, (*clients.PROVIDER_HOSTS, "wrong-name.example"))
