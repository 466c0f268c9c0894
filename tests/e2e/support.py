"""Harness for the eBPF end-to-end tests: `llmspy` (the CLI, the thing under test) as a real
subprocess, real clients (llmspy/fake/clients.py) against the fake provider in this process,
and record checks against what the server was scripted to send.

The capture also traces this test process: the fake server's SSL_read carries each request
and its SSL_write the response, so every call shows up twice, once with role "client" (the
client's pid) and once with role "server" (this pid). Tests pick records by the client's pid.

Every case gets a unique tag ("case-NAME") in its prompt; the fake provider's script answers
it with a Reply whose id and last text piece carry the tag, so a record can only match the
reply of its own call (concurrent calls cannot be mixed up without a test noticing).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from llmspy.fake.scripts import Reply, default_reply

from ..proxy.test_e2e import check_response  # the proxy e2e tests' field-by-field response check

ROOT = Path(__file__).resolve().parents[2]
VENV_LLMSPY = ROOT / ".venv" / "bin" / "llmspy"

#: What the SDK runner sends as system text (llmspy/fake/sdk_client.py SYSTEM).
SYSTEM = "You are a terse assistant."

#: How long a capture may take to compile and attach before the test fails (seconds). BCC
#: compiles probe.c at start (about 1-2 s here); a loaded machine can take much longer.
READY_TIMEOUT_S = 90.0
#: How long a finished client's record may take to come out (the ring buffer is polled every
#: 100 ms; a stream the client abandoned ends at SSL_free or process exit).
RECORD_TIMEOUT_S = 20.0

_TAG = re.compile(r"case-([A-Za-z0-9_]+)")


def llmspy_argv() -> list[str]:
    return [str(VENV_LLMSPY)] if VENV_LLMSPY.exists() else [sys.executable, "-m", "llmspy.cli"]


def prompt_for(tag: str) -> str:
    return f"Say hello. case-{tag}"


def tagged_script(api: str):
    """A FakeProvider script for ``api``: the default reply (text or tool reply, as
    ``default_reply``) with the request's case tag in the id and as a last text piece."""

    def script(request) -> Reply | None:
        base = default_reply(api, request.json)
        m = _TAG.search(json.dumps(request.json)) if request.json is not None else None
        if m is None:
            return base
        tag = m.group(1)
        text = base.text + (f" [{tag}]",) if base.text else base.text
        return replace(base, id=f"{base.id}-{tag}", text=text)

    return script


def reply_for(fake, tag: str):
    """``(ReceivedRequest, Reply)`` of the one call tagged ``tag`` the fake server answered."""
    found = [r for r in fake.requests if r.reply is not None and r.reply.id.endswith(f"-{tag}")]
    assert len(found) == 1, f"server saw {len(found)} requests tagged {tag!r}"
    return found[0], found[0].reply


@dataclass
class Capture:
    """One `llmspy ... --format FMT [-o FILE]` subprocess; stdout, stderr and FILE in ``workdir``."""

    workdir: Path
    name: str
    args: tuple[str, ...] = ()
    fmt: str = "jsonl"
    output: bool = True

    def __post_init__(self):
        self.stdout_path = self.workdir / f"{self.name}.stdout"
        self.stderr_path = self.workdir / f"{self.name}.stderr"
        self.output_path = self.workdir / f"{self.name}.out.jsonl" if self.output else None
        argv = [*llmspy_argv(), *self.args, "--format", self.fmt]
        if self.output_path is not None:
            argv += ["-o", str(self.output_path)]
        self.argv = argv
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=ROOT, env=env)
        self.returncode: int | None = None
        self._offset = 0
        self._records: list[dict] = []

    # -- output ---------------------------------------------------------------------------
    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def file_text(self) -> str:
        p = self.output_path
        return p.read_text(errors="replace") if p is not None and p.exists() else ""

    def texts(self) -> list[str]:
        """Everything this capture printed or wrote: stdout, stderr, the -o file."""
        return [self.stdout, self.stderr, self.file_text]

    def records(self) -> list[dict]:
        """Records written to the -o file so far (whole lines only; read incrementally)."""
        if self.output_path is None or not self.output_path.exists():
            return []
        with open(self.output_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a last line may still be being written
        self._offset += end
        self._records += [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        return list(self._records)

    def stdout_records(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def lost_events(self) -> int:
        """The loss count printed at exit ("..., N lost events" / "N raw events, M lost")."""
        m = re.search(r"(\d+) lost events\s*$", self.stderr, re.M) or re.search(r"raw events, (\d+) lost", self.stderr)
        assert m, f"no loss count on stderr:\n{self.stderr[-2000:]}"
        return int(m.group(1))

    # -- control --------------------------------------------------------------------------
    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> Capture:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r"^llmspy: ready", self.stderr, re.M):
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"llmspy exited {self.proc.returncode} before ready: {self.argv}\n"
                                     f"{self.stderr[-4000:]}")
            time.sleep(0.05)
        raise AssertionError(f"llmspy not ready after {timeout} s:\n{self.stderr[-4000:]}")

    def client_records(self, pid: int) -> list[dict]:
        return [r for r in self.records()
                if (r.get("process") or {}).get("pid") == pid and r["connection"]["role"] == "client"]

    def wait_records(self, pid: int, n: int = 1, timeout: float = RECORD_TIMEOUT_S) -> list[dict]:
        """The client-role records of process ``pid`` once there are at least ``n``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.client_records(pid)
            if len(found) >= n or time.monotonic() > deadline:
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"llmspy exited {self.proc.returncode}:\n{self.stderr[-4000:]}")
            time.sleep(0.05)
        assert len(found) >= n, (f"{len(found)} of {n} records for pid {pid}; "
                                 f"pids seen: {sorted({(r.get('process') or {}).get('pid') for r in self.records()})}\n"
                                 f"stderr:\n{self.stderr[-3000:]}")
        return found

    def wait_pids(self, pids: list[int], timeout: float = RECORD_TIMEOUT_S) -> dict[int, list[dict]]:
        """Client-role records by pid once every pid in ``pids`` has one, or at ``timeout``
        (then some pids map to an empty list)."""
        deadline = time.monotonic() + timeout
        while True:
            by_pid: dict[int, list[dict]] = {pid: [] for pid in pids}
            for r in self.records():
                pid = (r.get("process") or {}).get("pid")
                if pid in by_pid and r["connection"]["role"] == "client":
                    by_pid[pid].append(r)
            if all(by_pid.values()) or time.monotonic() > deadline or self.proc.poll() is not None:
                return by_pid
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT (what Ctrl-C sends), then wait; returns the exit code."""
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)  # our own child, by its pid
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    self._err.write(b"\n[test: llmspy killed after SIGINT timeout]\n")
            self.returncode = self.proc.returncode
            self._out.close()
            self._err.close()
        return self.returncode


# -- record checks --------------------------------------------------------------------------------

def check_llm_record(rec: dict, *, reply: Reply, api: str, provider: str, model: str, stream: bool,
                     pid: int, server: str, port: int, http_version: str,
                     messages: list[dict] | None = None, system: str | None = None,
                     tools: list[str] = (), role: str = "client") -> None:
    """``rec`` (a record dict) is the eBPF record of one call whose answer was ``reply``:
    every field the script determines, checked one by one."""
    assert rec["schema"] == "llmspy/1" and rec["source"] == "ebpf"
    assert (rec["kind"], rec["provider"], rec["api"]) == ("llm", provider, api)
    assert rec["process"]["pid"] == pid
    conn = rec["connection"]
    assert (conn["server"], conn["port"], conn["http_version"], conn["role"]) == \
        (server, port, http_version, role), conn
    req, resp = rec["request"], rec["response"]
    assert req["method"] == "POST" and req["model"] == model
    assert req["stream"] is stream and resp["streamed"] is stream
    assert req["truncated"] is False and resp["truncated"] is False
    if messages is not None:
        assert req["messages"] == messages
    assert req["system"] == system
    assert [t["name"] for t in req["tools"]] == list(tools)
    check_response(rec, reply, api, model)  # status, id, model, text, finish, tool calls, usage
    if stream:
        assert resp["chunks"] >= max(len(reply.text), 1)
    else:
        assert isinstance(resp["body"], dict) and resp["chunks"] == 0
    for name in ("authorization", "x-api-key", "x-goog-api-key"):
        if name in req["headers"]:
            assert "[REDACTED]" in req["headers"][name]
    t = rec["timing"]
    assert t["start"] <= t["first_byte"] <= t["end"], t
    assert abs(t["start"] - time.time()) < 600, "timestamps are not unix seconds"
    if stream and reply.text:
        assert t["first_byte"] <= t["first_token"] <= t["end"]
