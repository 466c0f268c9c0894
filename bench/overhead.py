#!/usr/bin/env python3
"""What eBPF capture costs the traced programs, in one run (about two minutes; needs root and
a quiet machine: another uprobe tracer running makes "bare" not bare, and it says so):

  1. TLS ping-pong round trips per second (64-byte messages on one connection, a CPython
     client and a Node client, against a local TLS echo server), in five set-ups:
       bare      nothing attached;
       floor     EMPTY uprobes/uretprobes on the same functions of the same files llmspy
                 attaches to (a tiny BCC program): what any uprobe tracer costs at least;
       default   `llmspy --format jsonl` (what a user runs);
       --all     `llmspy --all --format jsonl`;
       --raw     `llmspy --raw --format jsonl > /dev/null`: every call copied to user space
                 and printed, nothing muted (its exit line counts events captured and lost).
     The echo traffic is not HTTP, so default and --all mute each connection in the kernel
     after its first bytes; --raw shows the cost of copying everything.
  2. A bulk non-LLM download over TLS (BULK_BYTES of application/octet-stream over HTTP/1.1,
     one connection), bare, floor, and with llmspy default mode (which mutes the connection
     after BULK_MUTE_BYTES of non-JSON body).

Every set-up is measured once per pass (PASSES passes, bare once more at the end), and the
median is reported, with each run, so drift and noise are visible. Prints ratios to bare and
llmspy's cost relative to the floor's: (bare/llmspy - 1) / (bare/floor - 1), where 1.0 means
llmspy adds nothing beyond the uprobes themselves. Goals: within 1.3, no lost events, bulk
within 5 % of bare.

    sudo .venv/bin/python bench/overhead.py

Both sides of every connection are traced (the echo server is CPython on the system libssl
too), as on a real machine. Clients and servers are separate processes, so the only thing
that changes between set-ups is what is attached.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PING_SECONDS = 2.0  # per client, set-up and pass
PASSES = 3  # every set-up is measured in each pass, so slow drift hits all alike
# Ping-pong client and echo server share one CPU: a round trip is then two context switches,
# not two cross-CPU wake-ups whose latency varies run to run; llmspy gets the other CPU(s).
PING_CPU = 0
MESSAGE = b"x" * 64  # one ping; echoed back whole
BULK_BYTES = 512 * 1024 * 1024
BULK_WRITE = 256 * 1024  # the server's write size
READY_TIMEOUT_S = 120

NODE_CLIENT = r"""
const tls = require("tls"), fs = require("fs");
const [port, ca, seconds] = process.argv.slice(1);
const msg = Buffer.alloc(64, "x");
const s = tls.connect({host: "127.0.0.1", port: +port, ca: fs.readFileSync(ca), servername: "localhost"});
s.setNoDelay(true);
let n = 0, got = 0, end = 0;
s.on("secureConnect", () => { end = Date.now() + seconds * 1000; s.write(msg); });
s.on("data", (d) => {
  got += d.length;
  if (got < msg.length) return;
  got -= msg.length; n += 1;
  if (Date.now() < end) s.write(msg); else { console.log(n / seconds); s.end(); process.exit(0); }
});
"""


# -- roles run as subprocesses ------------------------------------------------------------------

def serve(cert: str, key: str) -> None:
    """A TLS server: "GET /bulk/N" gets an HTTP response of N bytes; anything else is echoed."""
    os.sched_setaffinity(0, {PING_CPU})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)

    def handle(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            with ctx.wrap_socket(conn, server_side=True) as s:
                data = s.recv(65536)
                m = re.match(rb"GET /bulk/(\d+) ", data)
                if m:
                    size = int(m.group(1))
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                              b"Content-Length: %d\r\n\r\n" % size)
                    block = b"\x00" * BULK_WRITE
                    while size > 0:
                        s.sendall(block[:size])
                        size -= BULK_WRITE
                    return
                while data:
                    s.sendall(data)
                    data = s.recv(65536)
        except (OSError, ssl.SSLError):
            pass

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _connect(port: int, ca: str) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=ca)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def py_client(port: int, ca: str, seconds: float) -> None:
    os.sched_setaffinity(0, {PING_CPU})
    s = _connect(port, ca)
    n, end = 0, time.perf_counter() + seconds
    while True:
        for _ in range(100):
            s.sendall(MESSAGE)
            got = 0
            while got < len(MESSAGE):
                got += len(s.recv(len(MESSAGE) - got))
        n += 100
        if time.perf_counter() >= end:
            break
    print(n / seconds)


def bulk_client(port: int, ca: str, size: int) -> None:
    s = _connect(port, ca)
    t0 = time.perf_counter()
    s.sendall(b"GET /bulk/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % size)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    received = 0
    head_end = None
    while head_end is None or received - head_end < size:
        n = s.recv_into(view)
        if not n:
            raise SystemExit("bulk: connection closed early")
        if head_end is None:
            i = bytes(view[:n]).find(b"\r\n\r\n")
            assert i >= 0, "response head not in the first read"
            head_end = received + i + 4
        received += n
    print(size / (time.perf_counter() - t0) / 1e6)


def floor() -> None:
    """Empty probes on exactly what llmspy attaches: entry probes on every traced symbol,
    return probes on the data functions, in every target llmspy would find."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # for sigwait below
    from llmspy.capture.diagnose import import_bcc
    from llmspy.capture.targets import DATA_SYMBOLS, find_targets

    bcc = import_bcc()
    bpf = bcc.BPF(text=b"int noop(void *ctx) { return 0; }")
    count = 0
    for target in find_targets():
        for symbol in target.symbols:
            bpf.attach_uprobe(name=target.path.encode(), sym=symbol.encode(), fn_name=b"noop")
            count += 1
            if symbol in DATA_SYMBOLS:
                bpf.attach_uretprobe(name=target.path.encode(), sym=symbol.encode(), fn_name=b"noop")
                count += 1
    print(f"ready: {count} empty probes", file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    os._exit(0)  # closing the perf event fds detaches; skip BCC's tracefs cleanup


# -- the driver ------------------------------------------------------------------------------

def _me() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve())]


def _run(argv: list[str], timeout: float = 120) -> float:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


class Attached:
    """A set-up: a subprocess holding probes (none for bare), started and ready."""

    def __init__(self, name: str, argv: list[str] | None, work: Path):
        self.name, self.proc = name, None
        self.err_path = work / f"{name.strip('-')}.stderr"
        if argv is None:
            return
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.err, cwd=ROOT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready" not in self.err_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{self.err_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> str:
        if self.proc is None:
            return ""
        self.proc.send_signal(signal.SIGINT)  # our own child, by its pid
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        return self.err_path.read_text()


def _lost(stderr: str) -> tuple[int, int | None]:
    """(lost, events) from llmspy's exit line; events only in --raw mode."""
    m = re.search(r"(\d+) raw events, (\d+) lost", stderr)
    if m:
        return int(m.group(2)), int(m.group(1))
    m = re.search(r"(\d+) lost events", stderr)
    if not m:
        raise SystemExit(f"no loss count in llmspy's output:\n{stderr[-2000:]}")
    return int(m.group(1)), None


def other_tracers() -> list[int]:
    """Processes other than this one holding kprobe-type BPF programs (uprobes are of that
    type): with any, "bare" is not bare and the numbers mean little."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fdinfo"):
                with open(f"/proc/{entry}/fdinfo/{fd}") as f:
                    if re.search(r"^prog_type:\s+2$", f.read(), re.M):
                        pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    if os.geteuid() != 0:
        print("bench/overhead.py needs root (eBPF)", file=sys.stderr)
        return 1
    busy = other_tracers()
    if busy:
        print(f"warning: processes {busy} hold uprobe BPF programs: 'bare' is not bare", file=sys.stderr)
    import trustme

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="llmspy-overhead-"))
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca_path, cert, key = work / "ca.pem", work / "cert.pem", work / "key.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    leaf.private_key_pem.write_to_path(str(key))
    for i, pem in enumerate(leaf.cert_chain_pems):
        pem.write_to_path(str(cert), append=i > 0)
    server = subprocess.Popen([*_me(), "--serve", str(cert), str(key)], stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, cwd=ROOT)
    port = int(server.stdout.readline())
    llmspy = [sys.executable, "-m", "llmspy.cli"]
    setups = {
        "bare": None,
        "floor": [*_me(), "--floor"],
        "default": [*llmspy, "--format", "jsonl"],
        "--all": [*llmspy, "--all", "--format", "jsonl"],
        "--raw": [*llmspy, "--raw", "--format", "jsonl"],  # capture lines to stdout (/dev/null)
    }
    clients = {
        "python": lambda: _run([*_me(), "--py-client", str(port), str(ca_path), str(PING_SECONDS)]),
        "node": lambda: _run(["taskset", "-c", str(PING_CPU), "node", "-e", NODE_CLIENT, str(port), str(ca_path), str(PING_SECONDS)]),
    }
    bulk_setups = ("bare", "floor", "default")
    ping = {name: {c: [] for c in clients} for name in setups}
    bulk: dict[str, list[float]] = {name: [] for name in bulk_setups}
    lost: dict[str, list[tuple[int, int | None]]] = {name: [] for name in setups if setups[name] and name != "floor"}
    try:
        for n in range(PASSES):
            for name, argv in setups.items():
                a = Attached(name, argv, work)
                try:
                    for client, run in clients.items():
                        ping[name][client].append(run())
                    if name in bulk_setups:
                        bulk[name].append(_run([*_me(), "--bulk-client", str(port), str(ca_path), str(BULK_BYTES)]))
                finally:
                    err = a.stop()
                if name in lost:
                    lost[name].append(_lost(err))
                print(f"  pass {n + 1} {name:8} " + "   ".join(f"{c} {ping[name][c][-1]:8.0f} rt/s" for c in clients)
                      + (f"   bulk {bulk[name][-1]:5.0f} MB/s" if name in bulk_setups else ""), flush=True)
        for client, run in clients.items():  # bare once more, at the end: how much did the machine drift?
            ping["bare"][client].append(run())
    finally:
        server.terminate()  # our own child
        server.wait(10)

    print()
    print(f"TLS ping-pong, {len(MESSAGE)}-byte messages: round trips/s (median of {PASSES} runs of "
          f"{PING_SECONDS:.0f} s; bare {PASSES + 1} runs), ratio to bare, and llmspy's cost relative to the floor's")
    for client in clients:
        bare = _median(ping["bare"][client])
        fl = _median(ping["floor"][client])
        print(f"  {client:6} bare     {bare:8.0f}   runs {', '.join(f'{v:.0f}' for v in ping['bare'][client])}")
        for name in ("floor", "default", "--all", "--raw"):
            rate = _median(ping[name][client])
            line = (f"  {'':6} {name:8} {rate:8.0f}   x{rate / bare:.3f} of bare   "
                    f"runs {', '.join(f'{v:.0f}' for v in ping[name][client])}")
            if name != "floor":
                floor_cost = bare / fl - 1
                line += (f"   cost/floor {(bare / rate - 1) / floor_cost:.2f}" if floor_cost > 0.01
                         else "   cost/floor n/a (floor within 1 % of bare)")
            print(line)
    bare_bulk = _median(bulk["bare"])
    print(f"bulk download, {BULK_BYTES >> 20} MiB over one TLS connection (median of {PASSES}):")
    for name in bulk_setups:
        rate = _median(bulk[name])
        print(f"  {name:8} {rate:5.0f} MB/s   x{rate / bare_bulk:.3f} of bare"
              + (f", x{rate / _median(bulk['floor']):.3f} of floor" if name == "default" else "")
              + f"   runs {', '.join(f'{v:.0f}' for v in bulk[name])}")
    print("lost events at exit: " + "; ".join(
        f"{name} " + ", ".join(f"{lo} lost" + (f" of {ev} events" if ev is not None else "") for lo, ev in runs)
        for name, runs in lost.items()))
    print(f"(total {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--py-client":
        py_client(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--bulk-client":
        bulk_client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--floor":
        floor()
    else:
        sys.exit(main())
