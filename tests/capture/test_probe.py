# Tests for llmspy/capture/ebpf.py and bpf/probe.c.
#
# Part 1 feeds hand-built ring-buffer records to the sans-I/O Reassembler (no root needed).
# Part 2 (@pytest.mark.ebpf) attaches the real program to libssl.so.3 and the node binary and
# runs real clients (CPython, curl, node) as subprocesses against a TLS server in this
# process; the expected bytes are what the clients were told to send and what the server
# recorded, never what the capture produced.
from __future__ import annotations

import ctypes
import hashlib
import os
import random
import shutil
import subprocess
import sys
import time

import pytest

from llmspy.capture.ebpf import (
    FLAG_FAULT,
    FLAG_TRUNCATED,
    HDR_SIZE,
    KIND_CLOSE,
    KIND_EXIT,
    KIND_RECV,
    KIND_SEND,
    KIND_SNI,
    STALE_CALL_NS,
    EBPFCapture,
    Reassembler,
    RecordHeader,
    _summarise,
    _too_complex,
    probe_cflags,
    probe_source,
)
from llmspy.capture.targets import Target, find_targets
from llmspy.core.capture import CLOSE, RECV, SEND

from .conftest import SERVER_NAME, collect, echo, slow_http

# ---------------------------------------------------------------------------------------------
# Part 1: Reassembler


def rec(kind, data=b"", *, pid=100, tid=101, ssl=0xABC0, ts=5_000, total=None, offset=0, lost=0, flags=0):
    h = RecordHeader(ts_ns=ts, ssl=ssl, total_len=len(data) if total is None else total, offset=offset,
                     lost_len=lost, pid=pid, tid=tid, chunk_len=len(data), kind=kind, flags=flags, comm=b"client")
    return bytes(h) + data


def test_header_layout_is_the_c_struct():
    # struct record_hdr: five u64, three u32, two u8, one u16, char[16] = 40 + 12 + 4 + 16.
    assert HDR_SIZE == 72
    assert [getattr(RecordHeader, f).offset for f in ("ts_ns", "pid", "chunk_len", "kind", "flags", "comm")] == \
        [0, 40, 48, 52, 53, 56]
    flags = probe_cflags()
    assert "-DHDR_SIZE=72" in flags and "-DOFF_comm=56" in flags and "-DOFF_kind=52" in flags


def test_probe_source_is_the_repository_file():
    text = probe_source()
    assert "struct record_hdr" in text and "SSL_CTRL_SET_TLSEXT_HOSTNAME" in text
    # No kernel min()/max() macros: they do not compile with the Debian 6.1 headers (MACHINE.md).
    assert "min(" not in text.replace("_min(", "") and " max(" not in text


def test_one_record_call():
    r = Reassembler(clock_offset_s=1_000.0, exe_of=lambda pid: "/usr/bin/client")
    (e,) = r.feed(rec(KIND_SEND, b"POST /v1/chat HTTP/1.1\r\n", ts=2_500_000_000))
    assert (e.dir, e.data, e.len, e.truncated, e.conn, e.pid, e.tid) == \
        (SEND, b"POST /v1/chat HTTP/1.1\r\n", 24, False, "100:0xabc0", 100, 101)
    assert e.ts == pytest.approx(1_002.5) and e.comm == "client" and e.exe == "/usr/bin/client"


def test_chunks_arrive_tail_first_and_are_joined_by_offset():
    # The kernel emits the tail (want % CHUNK_SIZE) first, then the full chunks.
    payload = bytes(random.Random(1).randbytes(40_000))
    r = Reassembler()
    assert r.feed(rec(KIND_RECV, payload[32768:], total=40_000, offset=32768)) == []
    assert r.feed(rec(KIND_RECV, payload[:16384], total=40_000, offset=0)) == []
    (e,) = r.feed(rec(KIND_RECV, payload[16384:32768], total=40_000, offset=16384))
    assert (e.dir, e.data, e.len, e.truncated) == (RECV, payload, 40_000, False)
    assert r.incomplete == 0


def test_capped_call_is_truncated_with_its_real_length():
    r = Reassembler()
    (e,) = r.feed(rec(KIND_SEND, b"a" * 100, total=150, lost=50, flags=FLAG_TRUNCATED))
    assert (e.data, e.len, e.truncated) == (b"a" * 100, 150, True)


def test_missing_record_delivers_prefix_when_the_thread_calls_again():
    r = Reassembler()
    assert r.feed(rec(KIND_SEND, b"x" * 10, total=16394, offset=16384, ts=1)) == []
    # The 16 KiB record at offset 0 never comes (ring full); the thread's next call arrives.
    first, second = r.feed(rec(KIND_SEND, b"next", ts=2))
    assert (first.data, first.len, first.truncated) == (b"", 16394, True)
    assert (second.data, second.truncated) == (b"next", False)
    assert r.incomplete == 1


def test_stale_incomplete_call_expires():
    r = Reassembler()
    r.feed(rec(KIND_RECV, b"abc", total=20000, offset=0, ts=10))
    assert r.expire(10 + STALE_CALL_NS) == []
    (e,) = r.expire(11 + STALE_CALL_NS)
    assert (e.data, e.len, e.truncated) == (b"abc", 20000, True)


def test_fault_marks_truncated():
    (e,) = Reassembler().feed(rec(KIND_RECV, b"\0" * 8, flags=FLAG_FAULT))
    assert e.truncated


def test_sni_names_the_server_of_later_events_and_close():
    r = Reassembler()
    assert r.feed(rec(KIND_SNI, b"api.openai.com")) == []
    (e,) = r.feed(rec(KIND_SEND, b"GET / HTTP/1.1\r\n"))
    assert e.server == "api.openai.com"
    (c,) = r.feed(rec(KIND_CLOSE))
    assert (c.dir, c.server, c.len, c.data, c.conn) == (CLOSE, "api.openai.com", 0, b"", "100:0xabc0")
    assert r.feed(rec(KIND_SEND, b"again")) [0].server is None  # a new SSL at the same address


def test_close_of_connection_without_data_is_dropped():
    r = Reassembler()
    r.feed(rec(KIND_SNI, b"example.com", ssl=0x10))
    assert r.feed(rec(KIND_CLOSE, ssl=0x10)) == []


def test_process_exit_closes_its_connections_only():
    forgotten = []
    r = Reassembler(forget_pid=forgotten.append)
    r.feed(rec(KIND_SEND, b"a", ssl=0x1))
    r.feed(rec(KIND_SEND, b"b", ssl=0x2, tid=102))
    r.feed(rec(KIND_SEND, b"c", ssl=0x1, pid=200, tid=200))
    closes = r.feed(rec(KIND_EXIT, ssl=0, tid=100))
    assert sorted(c.conn for c in closes) == ["100:0x1", "100:0x2"]
    assert all(c.dir == CLOSE and c.tid == 100 for c in closes) and forgotten == [100]
    assert r.feed(rec(KIND_EXIT, ssl=0, tid=100)) == []


def test_muted_connection_drops_data_but_not_close():
    r = Reassembler()
    r.feed(rec(KIND_SEND, b"first"))
    r.mute("100:0xabc0")
    assert r.feed(rec(KIND_RECV, b"second", ts=6_000)) == []
    assert [e.dir for e in r.feed(rec(KIND_CLOSE))] == [CLOSE]
    assert r.feed(rec(KIND_SEND, b"reused", ts=7_000))[0].data == b"reused"  # mute ended with it


def test_state_stays_bounded_for_many_threads_and_connections():
    r = Reassembler()
    for i in range(2000):
        r.feed(rec(KIND_SEND, b"x", tid=1000 + i, ssl=0x1000 + i, ts=i))
        r.feed(rec(KIND_CLOSE, ssl=0x1000 + i, tid=1000 + i))
    assert (len(r._current_call), len(r._conns), len(r._servers), len(r._pending)) == (0, 0, 0, 0)


def test_failed_sni_read_names_no_server():
    r = Reassembler()
    r.feed(rec(KIND_SNI, b"", flags=FLAG_FAULT))
    assert r.feed(rec(KIND_SEND, b"x"))[0].server is None


def test_malformed_records_are_counted_not_raised():
    r = Reassembler()
    assert r.feed(b"\x01\x02") == []
    assert r.feed(rec(KIND_SEND, b"abcdef")[:-2]) == []  # data shorter than chunk_len
    assert r.feed(rec(9, b"x")) == []  # unknown kind
    assert r.malformed == 3


COMPILE_LOG = """\
In file included from <built-in>:2:
/virtual/main.c:120:14: error: use of undeclared identifier 'nope'
    u64 id = nope;
             ^
/virtual/main.c:130:1: error: expected ';' after expression
2 errors generated.
"""

VERIFIER_LOG = """\
bpf: Failed to load program: Permission denied
202: (85) call bpf_probe_read_user#112
invalid access to memory, mem_size=584 off=72 size=16383
R1 min value is outside of the allowed memory range
processed 266991 insns (limit 1000000) max_states_per_insn 10 total_states 5754 peak_states 902 mark_read 0

"""


def test_bcc_failures_summarised_in_one_line():
    assert _summarise(COMPILE_LOG, Exception("Failed to compile BPF module <text>")) == \
        "BPF program failed to compile: use of undeclared identifier 'nope'"
    assert _summarise(VERIFIER_LOG, Exception("Failed to load BPF program b'return_write': Permission denied")) == \
        "BPF verifier rejected the program: R1 min value is outside of the allowed memory range"
    assert _summarise("", Exception("Failed to attach\nmore")) == "Failed to attach"
    assert _too_complex("bpf: Argument list too long. Program  too large (483 insns)", Exception("x"))
    assert not _too_complex(VERIFIER_LOG, Exception("Permission denied"))


# ---------------------------------------------------------------------------------------------
# Part 2: the real program on real clients

PY_ECHO_CLIENT = r"""
import os, socket, ssl, sys
ca, port, *steps = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", int(port))) as raw:
    tls = ctx.wrap_socket(raw, server_hostname="llmspy.test")
    for step in steps:
        if step == "WAIT":
            print("ready", flush=True); sys.stdin.readline()
        elif step == "EXIT":
            os._exit(0)            # no SSL_free: the connection ends with the process
        else:
            message = step.encode()
            tls.sendall(message)
            got = b""
            while len(got) < len(message):
                got += tls.recv(65536)
            assert got == message, got
    tls.close()
"""


def run_py_client(args, **kwargs):
    return subprocess.Popen([sys.executable, "-c", PY_ECHO_CLIENT, *map(str, args)], **kwargs)


def joined(events, direction):
    return b"".join(e.data for e in events if e.dir == direction)


@pytest.mark.ebpf
def test_cpython_send_recv_sni_close(capture, tls_server, tls_ca):
    server = tls_server(echo)
    messages = ["hello over TLS", "second message \u00e9"]
    client = run_py_client([tls_ca[1], server.port, *messages])
    assert client.wait(30) == 0
    events = collect(capture, client.pid, lambda ev: any(e.dir == CLOSE for e in ev))
    data = [e for e in events if e.dir != CLOSE]
    assert joined(data, SEND) == "".join(messages).encode() == bytes(server.connections[0]["received"])
    assert joined(data, RECV) == "".join(messages).encode()
    assert all(not e.truncated and e.len == len(e.data) for e in data)
    assert {e.conn for e in events} == {data[0].conn} and data[0].conn.startswith(f"{client.pid}:0x")
    assert {e.server for e in events} == {SERVER_NAME}
    assert events[-1].dir == CLOSE
    assert data[0].comm.startswith("python")
    assert abs(data[0].ts - time.time()) < 60


@pytest.mark.ebpf
def test_close_arrives_when_the_process_exits_without_ssl_free(capture, tls_server, tls_ca):
    server = tls_server(echo)
    client = run_py_client([tls_ca[1], server.port, "ping", "EXIT"])
    assert client.wait(30) == 0
    events = collect(capture, client.pid, lambda ev: any(e.dir == CLOSE for e in ev))
    assert [e.dir for e in events] == [SEND, RECV, CLOSE]
    assert events[2].conn == events[0].conn


def http_response(body_pieces):
    body = b"".join(body_pieces)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    return [head, *body_pieces]


SSE_PIECES = [b'data: {"delta": "Hel"}\n\n', b'data: {"delta": "lo"}\n\n', b"data: " + b"x" * 5000 + b"\n\n",
              b"data: [DONE]\n\n"]


@pytest.mark.ebpf
def test_nonblocking_curl_no_duplicates_no_garbage(capture, tls_server, tls_ca):
    pieces = http_response(SSE_PIECES)
    server = tls_server(slow_http(pieces, 0.05))
    url = f"https://{SERVER_NAME}:{server.port}/v1/chat/completions"
    client = subprocess.Popen(["curl", "-s", "--http1.1", "--cacert", tls_ca[1], "--resolve",
                               f"{SERVER_NAME}:{server.port}:127.0.0.1", "-o", "/dev/null", url])
    assert client.wait(30) == 0
    events = collect(capture, client.pid, lambda ev: any(e.dir == CLOSE for e in ev))
    assert joined(events, SEND) == bytes(server.connections[0]["received"])
    assert joined(events, SEND).startswith(b"GET /v1/chat/completions HTTP/1.1\r\n")
    assert joined(events, RECV) == b"".join(pieces)
    assert all(e.server == SERVER_NAME for e in events)
    assert len([e for e in events if e.dir == RECV]) >= len(pieces)  # each piece its own SSL_read


@pytest.mark.ebpf
def test_node_embedded_openssl(capture, tls_server, tls_ca):
    node = shutil.which("node")
    assert node, "node is part of the test environment (MACHINE.md)"
    pieces = http_response(SSE_PIECES)
    server = tls_server(slow_http(pieces, 0.02))
    script = r"""
const https = require('https'), fs = require('fs');
const [ca, port] = process.argv.slice(1);
const body = JSON.stringify({model: 'gpt-test', stream: true});
const req = https.request({host: '127.0.0.1', port: Number(port), servername: 'llmspy.test', method: 'POST',
  path: '/v1/chat/completions', ca: fs.readFileSync(ca), agent: false,
  headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)}},
  res => { res.on('data', () => {}); res.on('end', () => process.exit(0)); });
req.on('error', e => { console.error(e); process.exit(1); });
req.end(body);
"""
    client = subprocess.Popen([node, "-e", script, tls_ca[1], str(server.port)])
    assert client.wait(30) == 0
    events = collect(capture, client.pid, lambda ev: any(e.dir == CLOSE for e in ev))
    assert joined(events, SEND) == bytes(server.connections[0]["received"])
    assert joined(events, SEND).endswith(b'{"model":"gpt-test","stream":true}')
    assert joined(events, RECV) == b"".join(pieces)
    assert {e.server for e in events} == {SERVER_NAME}


@pytest.mark.ebpf
def test_16_mib_single_write_arrives_whole(capture, tls_server, tls_ca):
    size = 16 * 1024 * 1024
    payload_code = f"random.Random(42).randbytes({size})"
    payload = random.Random(42).randbytes(size)

    def sink_exact(tls, record):
        while len(record["received"]) < size:
            data = tls.recv(1 << 20)
            if not data:
                return
            record["received"] += data
        tls.sendall(b"ok")

    server = tls_server(sink_exact)
    code = f"""
import random, socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2]))), server_hostname="llmspy.test") as tls:
    tls.sendall({payload_code})   # one SSL_write_ex of 16 MiB (blocking socket, no partial writes)
    assert tls.recv(2) == b"ok"
"""
    lost_before = capture.lost()
    client = subprocess.Popen([sys.executable, "-c", code, tls_ca[1], str(server.port)])
    assert client.wait(60) == 0
    events = collect(capture, client.pid, lambda ev: any(e.dir == RECV for e in ev), timeout_s=30)
    sends = [e for e in events if e.dir == SEND]
    assert len(sends) == 1
    assert (sends[0].len, sends[0].truncated, len(sends[0].data)) == (size, False, size)
    assert hashlib.sha256(sends[0].data).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert capture.lost() == lost_before


@pytest.mark.ebpf
def test_mute_stops_data_of_that_connection(capture, tls_server, tls_ca):
    server = tls_server(echo)
    client = run_py_client([tls_ca[1], server.port, "before mute", "WAIT", "after mute"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert client.stdout.readline() == b"ready\n"
    events = collect(capture, client.pid, lambda ev: any(e.dir == RECV for e in ev))
    assert joined(events, SEND) == b"before mute"
    assert events[0].exe == os.path.realpath(sys.executable)  # read while the process runs
    capture.mute(events[0].conn)
    client.stdin.write(b"go\n")
    client.stdin.flush()
    assert client.wait(30) == 0
    later = collect(capture, client.pid, lambda ev: any(e.dir == CLOSE for e in ev))
    assert [e.dir for e in later] == [CLOSE]
    assert bytes(server.connections[0]["received"]) == b"before muteafter mute"  # it was sent


@pytest.mark.ebpf
def test_burst_of_50_connections_loses_nothing(capture, tls_server, tls_ca):
    server = tls_server(echo)
    code = r"""
import socket, ssl, sys, threading
ctx = ssl.create_default_context(cafile=sys.argv[1])
def one(i):
    message = (b"%02d" % i) * 10_000
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2]))), server_hostname="llmspy.test") as tls:
        tls.sendall(message)
        got = b""
        while len(got) < len(message):
            got += tls.recv(65536)
threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
[t.start() for t in threads]; [t.join() for t in threads]
"""
    lost_before = capture.lost()
    client = subprocess.Popen([sys.executable, "-c", code, tls_ca[1], str(server.port)])
    assert client.wait(60) == 0
    events = collect(capture, client.pid, lambda ev: sum(e.dir == CLOSE for e in ev) >= 50)
    # One list per connection lifetime: a freed SSL's address is often reused by the next one.
    connections, current = [], {}
    for e in events:
        current.setdefault(e.conn, []).append(e)
        if e.dir == CLOSE:
            connections.append(current.pop(e.conn))
    assert len(connections) == 50 and not current
    sent = sorted(joined(ev, SEND) for ev in connections)
    assert sent == [(b"%02d" % i) * 10_000 for i in range(50)]
    assert all(joined(ev, RECV) == joined(ev, SEND) for ev in connections)
    assert capture.lost() == lost_before == 0


def libssl_target(symbols):
    base = next(t for t in find_targets(processes=False, path_programs=False) if t.kind == "libssl")
    return Target(base.path, "libssl", tuple(symbols), "test")


@pytest.mark.ebpf
def test_ex_functions_alone_capture_cpython_not_curl(ebpf_available, tls_server, tls_ca):
    # CPython calls SSL_write_ex/SSL_read_ex, curl SSL_write/SSL_read: with only the _ex
    # functions probed, CPython is captured whole and curl not at all.
    server = tls_server(echo)
    http = tls_server(slow_http(http_response([b"data: hi\n\n"]), 0))
    with EBPFCapture([libssl_target(["SSL_write_ex", "SSL_read_ex", "SSL_ctrl", "SSL_free"])]) as cap:
        py = run_py_client([tls_ca[1], server.port, "via the ex functions"])
        curl = subprocess.Popen(["curl", "-s", "--http1.1", "--cacert", tls_ca[1], "--resolve",
                                 f"{SERVER_NAME}:{http.port}:127.0.0.1", "-o", "/dev/null",
                                 f"https://{SERVER_NAME}:{http.port}/"])
        assert py.wait(30) == 0 and curl.wait(30) == 0
        events: list = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.pid == py.pid and e.dir == CLOSE for e in events):
            events += cap.poll(50)
        events += cap.poll(200)
    py_events = [e for e in events if e.pid == py.pid]
    assert joined(py_events, SEND) == joined(py_events, RECV) == b"via the ex functions"
    assert [e for e in events if e.pid == curl.pid and e.dir != CLOSE] == []


@pytest.mark.ebpf
def test_pid_filter_and_call_cap(ebpf_available, tls_server, tls_ca):
    server = tls_server(echo)
    big = "B" * 100_000
    wanted = run_py_client([tls_ca[1], server.port, "WAIT", big], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    other = run_py_client([tls_ca[1], server.port, "WAIT", "not me"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert wanted.stdout.readline() == other.stdout.readline() == b"ready\n"
    with EBPFCapture([libssl_target(["SSL_write_ex", "SSL_read_ex", "SSL_ctrl", "SSL_free"])],
                     pids=[wanted.pid], max_call_bytes=65536, chunk_bytes=16384) as cap:
        assert cap.max_call_bytes == 65536
        for proc in (wanted, other):
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        assert wanted.wait(30) == 0 and other.wait(30) == 0
        events: list = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.dir == CLOSE for e in events):
            events += cap.poll(50)
        events += cap.poll(200)
        stats = cap.stats()
    assert {e.pid for e in events} == {wanted.pid}
    (send,) = [e for e in events if e.dir == SEND]
    assert (send.len, send.truncated, send.data) == (100_000, True, b"B" * 65536)
    assert stats["truncated_bytes"] >= 100_000 - 65536
    assert stats["lost_records"] == 0


@pytest.mark.ebpf
def test_comm_filter(ebpf_available, tls_server, tls_ca, tmp_path):
    server = tls_server(echo)
    renamed = tmp_path / "llmspy-commtst"  # comm is the exec'd file's name (15 bytes max)
    renamed.symlink_to(sys.executable)
    with EBPFCapture([libssl_target(["SSL_write_ex", "SSL_read_ex", "SSL_ctrl", "SSL_free"])],
                     comms=["llmspy-commtst"]) as cap:
        chosen = subprocess.Popen([str(renamed), "-c", PY_ECHO_CLIENT, tls_ca[1], str(server.port), "chosen"])
        plain = run_py_client([tls_ca[1], server.port, "plain"])
        assert chosen.wait(30) == 0 and plain.wait(30) == 0
        events: list = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.dir == CLOSE for e in events):
            events += cap.poll(50)
        events += cap.poll(200)
    assert {e.pid for e in events} == {chosen.pid}
    assert joined(events, SEND) == b"chosen" and {e.comm for e in events} == {"llmspy-commtst"}


@pytest.mark.ebpf
def test_verifier_limit_lowers_the_call_cap(ebpf_available):
    # 4096 loop iterations (64 MiB in 16 KiB chunks) exceed the verifier's 1M-instruction budget
    # on this kernel (1024 use ~630k), so loading retries with a quarter as many.
    with EBPFCapture([libssl_target(["SSL_write_ex"])], max_call_bytes=64 << 20) as cap:
        assert cap.max_call_bytes == 16 << 20
        assert "-DMAX_CHUNKS=1024" in cap.cflags and cap.ring_bytes == 64 << 20


def test_bad_options_are_rejected_before_loading():
    target = Target("/nonexistent", "libssl", ("SSL_write",), "test")
    with pytest.raises(ValueError, match="power of two"):
        EBPFCapture([target], chunk_bytes=10_000)
    with pytest.raises(ValueError, match="15 bytes"):
        EBPFCapture([target], comms=["a-very-long-process-name"])
    with pytest.raises(ValueError, match="at least chunk_bytes"):
        EBPFCapture([target], max_call_bytes=1024)
    assert ctypes.sizeof(RecordHeader) == HDR_SIZE
