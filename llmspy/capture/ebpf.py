# The eBPF front end's capture layer: compile bpf/probe.c with BCC, attach it to the targets
# (targets.py), and turn ring-buffer records into CaptureEvents (llmspy/core/capture.py).
#
# Shape (bcc's tools/sslsniff.py and tools/opensnoop.py, with the parsing split out):
#   * EBPFCapture owns everything with side effects: BCC, the probes, the ring buffer, the
#     muted-connections map, /proc lookups. Its ring-buffer callback only copies each record's
#     bytes into a list (BCC calls it from inside ring_buffer_poll; nothing else belongs there).
#   * Reassembler is sans-I/O: raw records in, CaptureEvents out. One TLS call arrives as
#     1..MAX_CHUNKS records sharing (tid, ts_ns, kind); it is joined by offset and delivered
#     when every byte the kernel copied has arrived. A call whose records went missing (ring
#     full) is delivered with what arrived, `truncated` set, once a newer call of the same
#     thread shows up or it is STALE_CALL_NS old; either way it is counted in lost().
#   * The record header layout is defined once, by RecordHeader below; its size and field
#     offsets are passed to the C compiler, which refuses to build a program that disagrees.
from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import os
import re
import tempfile
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.capture import CLOSE, RECV, SEND, CaptureEvent
from .diagnose import CaptureUnavailable, check_kernel_headers, check_privileges, check_uprobe_pmu, import_bcc
from .targets import DATA_SYMBOLS, Target

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_MAX_CALL_BYTES",
    "DEFAULT_RING_BYTES",
    "EBPFCapture",
    "Reassembler",
    "RecordHeader",
    "probe_cflags",
    "probe_source",
]

# Record kinds and flags: the KIND_* / FLAG_* / COUNTER_* defines of bpf/probe.c.
KIND_SEND, KIND_RECV, KIND_CLOSE, KIND_EXIT, KIND_SNI = range(5)
FLAG_TRUNCATED = 1
FLAG_FAULT = 2
COUNTER_LOST_RECORDS, COUNTER_LOST_BYTES, COUNTER_TRUNCATED_BYTES = range(3)

DEFAULT_CHUNK_BYTES = 16 * 1024  # bytes per ring-buffer record; OpenSSL's max TLS record is 16 KiB
DEFAULT_MAX_CALL_BYTES = 16 * 1024 * 1024  # one call up to 16 MiB arrives whole (big prompts, images)
DEFAULT_RING_BYTES = 64 * 1024 * 1024  # room for one 16 MiB call plus concurrent traffic
# A bounded loop of 1024 chunks is what the verifier accepted here (6.18: ~630k of its 1M
# instructions); older verifiers may need fewer, so loading retries with a quarter as many.
MIN_CHUNKS = 64
MAX_PENDING_CALLS = 256  # calls half-reassembled at once: the records of a call are adjacent in
#                          the ring, so a few per CPU at most; more means records were lost
MAX_PENDING_BYTES = DEFAULT_RING_BYTES  # no more bytes can be in flight than the ring holds
MAX_CONNECTIONS = 65536  # connections remembered (for SNI and CLOSE); the oldest is forgotten
MAX_PROCESSES = 4096  # cached /proc/PID/exe links
STALE_CALL_NS = 2_000_000_000  # an incomplete call this old will not complete: deliver it


class RecordHeader(ctypes.Structure):
    """struct record_hdr of bpf/probe.c; ``chunk_len`` bytes of data follow it."""

    _fields_ = [
        ("ts_ns", ctypes.c_uint64),  # CLOCK_MONOTONIC ns at the call's return
        ("ssl", ctypes.c_uint64),  # SSL*
        ("total_len", ctypes.c_uint64),  # bytes the call moved
        ("offset", ctypes.c_uint64),  # of this record's data within the call
        ("lost_len", ctypes.c_uint64),  # bytes beyond the cap, not copied
        ("pid", ctypes.c_uint32),
        ("tid", ctypes.c_uint32),
        ("chunk_len", ctypes.c_uint32),
        ("kind", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("reserved", ctypes.c_uint16),
        ("comm", ctypes.c_char * 16),
    ]


HDR_SIZE = ctypes.sizeof(RecordHeader)

# uprobe function names in probe.c per OpenSSL symbol: (entry, return or None)
_PROBES = {
    "SSL_write": ("enter_write", "return_write"),
    "SSL_write_ex": ("enter_write_ex", "return_write_ex"),
    "SSL_read": ("enter_read", "return_read"),
    "SSL_read_ex": ("enter_read_ex", "return_read_ex"),
    "SSL_ctrl": ("enter_ctrl", None),
    "SSL_free": ("enter_free", None),
}


def probe_source() -> str:
    """The BPF C program's text (bpf/probe.c, shipped as resource package llmspy.bpf)."""
    try:
        return (importlib.resources.files("llmspy.bpf") / "probe.c").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parents[2] / "bpf" / "probe.c").read_text()


def probe_cflags(
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_chunks: int = DEFAULT_MAX_CALL_BYTES // DEFAULT_CHUNK_BYTES,
    ring_bytes: int = DEFAULT_RING_BYTES,
    filter_pids: bool = False,
    filter_comms: bool = False,
    self_pid: int | None = None,
) -> list[str]:
    """BCC cflags for probe.c: sizes, filters, and the header layout checks."""
    flags = [f"-DCHUNK_SIZE={chunk_bytes}", f"-DMAX_CHUNKS={max_chunks}",
             f"-DRINGBUF_PAGES={ring_bytes // 4096}", f"-DHDR_SIZE={HDR_SIZE}"]
    flags += [f"-DOFF_{name}={getattr(RecordHeader, name).offset}" for name, _ in RecordHeader._fields_]
    if filter_pids:
        flags.append("-DFILTER_PID")
    if filter_comms:
        flags.append("-DFILTER_COMM")
    if self_pid is not None:
        flags.append(f"-DSELF_PID={self_pid}")
    return flags


def parse_conn(conn: str) -> tuple[int, int]:
    """"<pid>:<SSL* hex>" -> (pid, ssl); ValueError otherwise."""
    m = re.fullmatch(r"(\d+):0x([0-9a-fA-F]+)", conn)
    if not m:
        raise ValueError(f"not an eBPF connection id: {conn!r}")
    return int(m.group(1)), int(m.group(2), 16)


@dataclass
class _PendingCall:
    header: RecordHeader
    expected: int  # bytes the kernel meant to copy (total_len - lost_len)
    parts: dict[int, bytes] = field(default_factory=dict)
    received: int = 0
    fault: bool = False


class Reassembler:
    """Raw ring-buffer records -> CaptureEvents. Sans-I/O: no clock, no /proc, no BPF.

    ``clock_offset_s``: unix seconds minus CLOCK_MONOTONIC seconds (kernel ts_ns -> unix);
    ``exe_of(pid) -> str | None`` names the executable (injected: it reads /proc);
    ``forget_pid(pid)`` is called when a process exits.
    Malformed records are counted in ``malformed``, calls delivered with missing records in
    ``incomplete``; nothing raises."""

    def __init__(
        self,
        clock_offset_s: float = 0.0,
        exe_of: Callable[[int], str | None] | None = None,
        forget_pid: Callable[[int], None] | None = None,
    ) -> None:
        self.clock_offset_s = clock_offset_s
        self.exe_of = exe_of or (lambda pid: None)
        self.forget_pid = forget_pid or (lambda pid: None)
        self.incomplete = 0
        self.malformed = 0
        self._pending: OrderedDict[tuple[int, int, int], _PendingCall] = OrderedDict()
        self._pending_bytes = 0
        self._current_call: dict[int, tuple[int, int, int]] = {}  # tid -> its pending call
        self._conns: OrderedDict[str, int] = OrderedDict()  # connections with data -> pid
        self._servers: OrderedDict[str, str] = OrderedDict()  # conn -> SNI host name
        self._muted: set[str] = set()

    def mute(self, conn: str) -> None:
        """Deliver no more data of ``conn`` (its CLOSE still comes)."""
        self._muted.add(conn)

    def feed(self, raw: bytes) -> list[CaptureEvent]:
        """One ring-buffer record (header + data) -> 0..n events."""
        if len(raw) < HDR_SIZE:
            self.malformed += 1
            return []
        h = RecordHeader.from_buffer_copy(raw, 0)
        data = raw[HDR_SIZE:HDR_SIZE + h.chunk_len]
        if len(data) != h.chunk_len or h.kind > KIND_SNI:
            self.malformed += 1
            return []
        conn = f"{h.pid}:{h.ssl:#x}"
        if h.kind == KIND_SNI:
            if data and not h.flags & FLAG_FAULT:
                _remember(self._servers, conn, data.decode("ascii", "replace"))
            return []
        if h.kind == KIND_CLOSE:
            return self._close(conn, h)
        if h.kind == KIND_EXIT:
            return self._exit(h)
        return self._data(conn, h, data)

    def expire(self, now_ns: int) -> list[CaptureEvent]:
        """Deliver calls still incomplete STALE_CALL_NS after they were made
        (``now_ns``: CLOCK_MONOTONIC)."""
        stale = [k for k, p in self._pending.items() if now_ns - p.header.ts_ns > STALE_CALL_NS]
        return [e for k in stale for e in self._deliver(k)]

    # -- internals -------------------------------------------------------------------------

    def _data(self, conn: str, h: RecordHeader, data: bytes) -> list[CaptureEvent]:
        out: list[CaptureEvent] = []
        key = (h.tid, h.ts_ns, h.kind)
        previous = self._current_call.get(h.tid)
        if previous is not None and previous != key:
            # The thread made a newer call, so the kernel finished copying the previous one.
            out += self._deliver(previous)
        if conn in self._muted:
            return out
        expected = h.total_len - h.lost_len
        if key not in self._pending:
            if h.offset == 0 and h.chunk_len == expected:  # the common case: one record
                out.append(self._event(conn, h, data, truncated=bool(h.flags & (FLAG_TRUNCATED | FLAG_FAULT))))
                return out
            while len(self._pending) >= MAX_PENDING_CALLS or (
                self._pending and self._pending_bytes + expected > MAX_PENDING_BYTES
            ):
                out += self._deliver(next(iter(self._pending)))
            self._pending[key] = _PendingCall(h, expected)
            self._current_call[h.tid] = key
        call = self._pending[key]
        if h.offset not in call.parts:
            call.parts[h.offset] = data
            call.received += len(data)
            self._pending_bytes += len(data)
            call.fault |= bool(h.flags & FLAG_FAULT)
        if call.received >= call.expected:
            out += self._deliver(key)
        return out

    def _deliver(self, key: tuple[int, int, int]) -> list[CaptureEvent]:
        call = self._pending.pop(key)
        self._pending_bytes -= call.received
        if self._current_call.get(key[0]) == key:
            del self._current_call[key[0]]
        data, missing = bytearray(), False
        for offset in sorted(call.parts):
            if offset != len(data):  # a hole: keep only the contiguous prefix
                missing = True
                break
            data += call.parts[offset]
        missing |= len(data) < call.expected
        if missing:
            self.incomplete += 1
        h = call.header
        conn = f"{h.pid}:{h.ssl:#x}"
        truncated = missing or call.fault or bool(h.flags & FLAG_TRUNCATED)
        if conn in self._muted:
            return []
        return [self._event(conn, h, bytes(data), truncated)]

    def _event(self, conn: str, h: RecordHeader, data: bytes, truncated: bool) -> CaptureEvent:
        if h.kind in (KIND_SEND, KIND_RECV):
            _remember(self._conns, conn, h.pid)
        return CaptureEvent(
            ts=self.clock_offset_s + h.ts_ns / 1e9,
            pid=h.pid,
            tid=h.tid,
            comm=h.comm.decode("utf-8", "replace"),
            conn=conn,
            dir={KIND_SEND: SEND, KIND_RECV: RECV}.get(h.kind, CLOSE),
            data=data,
            server=self._servers.get(conn),
            len=h.total_len,
            truncated=truncated,
            exe=self.exe_of(h.pid),
        )

    def _close(self, conn: str, h: RecordHeader) -> list[CaptureEvent]:
        server = self._servers.pop(conn, None)
        self._muted.discard(conn)
        if self._conns.pop(conn, None) is None:
            return []  # never carried data: nothing downstream knows it
        event = self._event(conn, h, b"", False)
        event.server, event.len = server, 0
        if h.kind == KIND_EXIT:  # the exiting thread is not the one that used the connection
            event.tid = h.pid
        return [event]

    def _exit(self, h: RecordHeader) -> list[CaptureEvent]:
        """The process ended: CLOSE each of its connections, forget everything about it."""
        prefix = f"{h.pid}:"
        out = []
        for conn in [c for c, pid in self._conns.items() if pid == h.pid]:
            out += self._close(conn, h)
        for conn in [c for c in self._servers if c.startswith(prefix)]:
            del self._servers[conn]
        self._muted = {c for c in self._muted if not c.startswith(prefix)}
        self.forget_pid(h.pid)
        return out


def _remember(table: OrderedDict, key, value, cap: int = MAX_CONNECTIONS) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > cap:
        table.popitem(last=False)


@contextlib.contextmanager
def _stderr_to(path: str, keep: bool) -> Iterator[None]:
    """libbcc prints compiler and verifier messages on fd 2: collect them in ``path``
    (and replay them when ``keep``)."""
    saved = os.dup(2)
    try:
        with open(path, "wb") as f:
            os.dup2(f.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if keep:
            with open(path, "rb") as f:
                os.write(2, f.read())


def _summarise(log: str, error: Exception) -> str:
    """One line for a BCC failure: the first compiler error, or the verifier's complaint."""
    for line in log.splitlines():
        if ": error:" in line:
            return "BPF program failed to compile: " + line.split(": error:", 1)[1].strip()
    lines = [ln for ln in log.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        if line.startswith("processed ") and i > 0:
            return f"BPF verifier rejected the program: {lines[i - 1].strip()}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _too_complex(log: str, error: Exception) -> bool:
    text = log + str(error)
    return "Argument list too long" in text or "too large" in text or "too complex" in text


class _ProcessInfo:
    """/proc/PID/exe, cached per pid (cleared when the process exits)."""

    def __init__(self) -> None:
        self.cache: OrderedDict[int, str | None] = OrderedDict()

    def __call__(self, pid: int) -> str | None:
        if pid not in self.cache:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                exe = None
            _remember(self.cache, pid, exe, MAX_PROCESSES)
        return self.cache[pid]

    def forget(self, pid: int) -> None:
        self.cache.pop(pid, None)


class EBPFCapture:
    """Captures the plaintext of OpenSSL's SSL_read/SSL_write in every traced target.

    ``targets``: from targets.find_targets(); ``pids``/``comms``: only these processes (tgid) /
    thread names (empty: all); ``chunk_bytes``: ring-buffer record size (a power of two,
    4 KiB..64 KiB); ``max_call_bytes``: bytes copied per call, beyond it events are
    ``truncated``; ``ring_bytes``: ring buffer size (a power of two, grown to hold
    2 * max_call_bytes). Raises CaptureUnavailable (one line, ``.fix``) when eBPF cannot run.

    After construction: ``attached`` lists (path, symbols) per target, ``attach_errors``
    what failed, ``compile_seconds``/``attach_seconds`` the start-up cost, ``max_call_bytes``
    the cap in effect (lower than asked when the kernel's verifier refused the larger loop).
    """

    def __init__(
        self,
        targets: Iterable[Target],
        pids: Iterable[int] = (),
        comms: Iterable[str] = (),
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        max_call_bytes: int = DEFAULT_MAX_CALL_BYTES,
        ring_bytes: int = DEFAULT_RING_BYTES,
        debug: bool = False,
    ) -> None:
        targets, pids, comms = list(targets), [int(p) for p in pids], list(comms)
        if chunk_bytes & (chunk_bytes - 1) or not 4096 <= chunk_bytes <= 65536:
            raise ValueError("chunk_bytes must be a power of two from 4096 to 65536")
        if max_call_bytes < chunk_bytes:
            raise ValueError("max_call_bytes must be at least chunk_bytes")
        if ring_bytes & (ring_bytes - 1) or ring_bytes < 4096:
            raise ValueError("ring_bytes must be a power of two >= 4096")
        if any(len(c.encode()) > 15 for c in comms):
            raise ValueError("a comm is at most 15 bytes (TASK_COMM_LEN)")
        if not targets:
            raise CaptureUnavailable("no OpenSSL library or program to attach to",
                                     "name one with --libssl PATH or --binary PATH")
        privileges = check_privileges()
        if not privileges.ok:
            raise CaptureUnavailable(f"eBPF capture needs root or CAP_BPF+CAP_PERFMON ({privileges.detail})",
                                     privileges.fix)
        self._bcc = import_bcc()
        self.bpf = None
        self.debug = debug
        self.attached: list[tuple[str, tuple[str, ...]]] = []
        self.attach_errors: list[str] = []
        self._raw: list[bytes] = []
        self._closed = False
        max_chunks = -(-max_call_bytes // chunk_bytes)
        options = dict(chunk_bytes=chunk_bytes, filter_pids=bool(pids), filter_comms=bool(comms),
                       self_pid=os.getpid())

        started = time.monotonic()
        while True:
            self.ring_bytes = ring_bytes
            while self.ring_bytes < 2 * max_chunks * chunk_bytes:  # room for one whole call, twice
                self.ring_bytes *= 2
            self.cflags = probe_cflags(max_chunks=max_chunks, ring_bytes=self.ring_bytes, **options)
            try:
                self._load(self.cflags)
                break
            except CaptureUnavailable as e:
                if not getattr(e, "too_complex", False) or max_chunks <= MIN_CHUNKS:
                    raise
                max_chunks = max(MIN_CHUNKS, max_chunks // 4)
        self.max_call_bytes = max_chunks * chunk_bytes
        self.compile_seconds = time.monotonic() - started

        for pid in pids:
            self.bpf[b"pid_filter"][ctypes.c_uint32(pid)] = ctypes.c_uint8(1)
        table = self.bpf[b"comm_filter"]
        for comm in comms:
            table[table.Key(comm.encode())] = ctypes.c_uint8(1)

        started = time.monotonic()
        for target in targets:
            self._attach(target)
        self.attach_seconds = time.monotonic() - started
        if not any(set(syms) & set(DATA_SYMBOLS) for _, syms in self.attached):
            self.close()
            first = self.attach_errors[0] if self.attach_errors else "no data functions found"
            raise CaptureUnavailable(f"could not attach to any target: {first}")

        self.bpf[b"records"].open_ring_buffer(self._on_record)
        mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)  # == bpf_ktime_get_ns()
        wall = time.time_ns()
        mono2 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        processes = _ProcessInfo()
        self.reassembler = Reassembler((wall - (mono + mono2) / 2) / 1e9, processes, processes.forget)

    def _load(self, cflags: list[str]) -> None:
        """Compile, and load every program (so verifier errors surface here, not at attach)."""
        with tempfile.NamedTemporaryFile(prefix="llmspy-bcc-", suffix=".log") as log_file:
            try:
                with _stderr_to(log_file.name, self.debug):
                    self.bpf = self._bcc.BPF(text=probe_source().encode(), cflags=cflags)
                    for entry, ret in _PROBES.values():
                        for fn in filter(None, (entry, ret)):
                            self.bpf.load_func(fn.encode(), self._bcc.BPF.KPROBE)
            except Exception as e:  # BCC raises bare Exception for compile/load failures
                with open(log_file.name, errors="replace") as f:
                    log = f.read()
                if self.bpf is not None:
                    with contextlib.suppress(Exception):
                        self._detach_all()
                    self.bpf = None
                headers = check_kernel_headers()
                if not headers.ok:
                    raise CaptureUnavailable(headers.detail, headers.fix) from None
                error = CaptureUnavailable(_summarise(log, e), "run `llmspy doctor`; `llmspy --ebpf-source` shows the program")
                error.too_complex = _too_complex(log, e)
                raise error from None

    def _attach(self, target: Target) -> None:
        done = []
        for symbol in target.symbols:
            entry, ret = _PROBES[symbol]
            try:
                with _stderr_to(os.devnull, False):
                    self.bpf.attach_uprobe(name=target.path.encode(), sym=symbol.encode(), fn_name=entry.encode())
                    if ret:
                        self.bpf.attach_uretprobe(name=target.path.encode(), sym=symbol.encode(), fn_name=ret.encode())
                done.append(symbol)
            except Exception as e:
                self.attach_errors.append(f"{target.path} {symbol}: {str(e).splitlines()[0]}")
        if done:
            self.attached.append((target.path, tuple(done)))

    def _on_record(self, ctx, data, size) -> None:
        # Called by libbpf inside ring_buffer_poll: copy the bytes out, nothing more.
        self._raw.append(ctypes.string_at(data, size))

    def poll(self, timeout_ms: int = 100) -> list[CaptureEvent]:
        """Wait up to ``timeout_ms`` for records; return the events completed so far, in the
        order their last record arrived."""
        self.bpf.ring_buffer_poll(timeout_ms)
        raw, self._raw = self._raw, []
        events: list[CaptureEvent] = []
        for record in raw:
            events += self.reassembler.feed(record)
        events += self.reassembler.expire(time.clock_gettime_ns(time.CLOCK_MONOTONIC))
        return events

    def mute(self, conn: str) -> None:
        """Stop copying data of connection ``conn`` ("<pid>:0x<SSL*>") in the kernel; its
        CLOSE still arrives. ValueError for a malformed id."""
        pid, ssl = parse_conn(conn)
        table = self.bpf[b"muted"]
        table[table.Key(pid=pid, pad=0, ssl=ssl)] = ctypes.c_uint8(1)
        self.reassembler.mute(conn)

    def stats(self) -> dict[str, int]:
        """Counters: ``lost_records`` (failed ring-buffer reservations), ``lost_bytes`` (bytes
        of calls they cut), ``truncated_bytes`` (bytes beyond max_call_bytes), and in user
        space ``incomplete_calls`` and ``malformed_records``."""
        counters = self.bpf[b"counters"]
        value = lambda i: int(counters.sum(ctypes.c_int(i)).value)  # noqa: E731
        return {
            "lost_records": value(COUNTER_LOST_RECORDS),
            "lost_bytes": value(COUNTER_LOST_BYTES),
            "truncated_bytes": value(COUNTER_TRUNCATED_BYTES),
            "incomplete_calls": self.reassembler.incomplete,
            "malformed_records": self.reassembler.malformed,
        }

    def lost(self) -> int:
        """Records the kernel could not deliver plus calls delivered incomplete (0 = nothing
        lost; truncation at max_call_bytes is reported per event and in stats())."""
        s = self.stats()
        return s["lost_records"] + s["incomplete_calls"] + s["malformed_records"]

    def _detach_all(self) -> None:
        # BCC's cleanup() removes uprobes through tracefs, which fails (and prints) when they
        # were created through the uprobe PMU with no tracefs mounted: close their perf
        # events here, and let cleanup() do the rest.
        # Each close waits for an RCU grace period (~0.1 s): close them in parallel (ctypes
        # releases the GIL), so 20 probes take ~0.1 s instead of ~2 s.
        lib = self._bcc.libbcc.lib
        pmu = check_uprobe_pmu(tracefs=()).ok
        probes = list(self.bpf.uprobe_fds.items())

        def detach(item) -> None:
            name, fd = item
            lib.bpf_close_perf_event_fd(fd)
            if not pmu:
                lib.bpf_detach_uprobe(name)

        if probes:
            with ThreadPoolExecutor(max_workers=min(32, len(probes))) as pool:
                list(pool.map(detach, probes))
        for name, _ in probes:
            self.bpf._del_uprobe_fd(name)
        self.bpf.cleanup()

    def close(self) -> None:
        """Detach every probe and free the ring buffer. Idempotent."""
        if self._closed or self.bpf is None:
            return
        self._closed = True
        with _stderr_to(os.devnull, False):
            self._detach_all()

    def __enter__(self) -> EBPFCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
