# The eBPF front end's event loop: poll the ring buffer, feed the core, fan out to sinks.
# The loop owns the clock (the core never reads one), the signals, and the mute map: when the
# core says a connection is not worth copying, the kernel stops copying it.
from __future__ import annotations

import os
import signal
import stat
import sys
import time
from dataclasses import dataclass

from ..core.capture import CLOSE, RECV, SEND, CaptureEvent
from ..core.events import CallDone, Notice
from ..core.tracker import Mute, Tracker
from ..redact import StreamRedactor
from ..sinks import Totals, fan_out

__all__ = ["LiveOptions", "LiveCapture", "run_live", "RawSink", "error_line"]

# How long one poll waits for events (ms): short enough for Ctrl-C and expiry to be prompt.
POLL_MS = 100
# How often idle connections are expired and the loss counter is checked (seconds).
HOUSEKEEPING_S = 2.0


@dataclass
class LiveOptions:
    mode: str = "smart"
    fmt: str = "pretty"
    output: str | None = None
    debug: bool = False
    raw: bool = False
    processes: tuple[str, ...] = ()
    pids: tuple[int, ...] = ()
    binaries: tuple[str, ...] = ()
    libssls: tuple[str, ...] = ()


class RawSink:
    """``--raw``: capture events to a capture file (mode 0600: it keeps secrets) and/or a
    redacted one-line preview per event on stdout (pretty) or capture lines (jsonl)."""

    PREVIEW_BYTES = 96

    def __init__(self, fmt: str, output: str | None):
        from ..sinks.jsonl import open_append

        self.fmt = fmt
        self.file = None
        if output:
            try:
                self.file = open_append(output, 0o600)
            except OSError as e:
                print(f"llmspy: error: cannot write {output}: {e.strerror or e}", file=sys.stderr)
                sys.exit(1)
            st = os.fstat(self.file.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
                os.fchmod(self.file.fileno(), 0o600)  # an existing file: tighten, never loosen
            print(f"llmspy: writing raw capture to {output} (mode 0600: it contains secrets as captured)",
                  file=sys.stderr, flush=True)
        self.events = 0
        self.redactor = StreamRedactor()

    def event(self, ev: CaptureEvent) -> None:
        self.events += 1
        if self.file is not None:
            self.file.write(ev.to_json() + "\n")
            if self.fmt == "jsonl":
                return  # stdout stays empty: the records are in the file
        clean = self.redactor.redact((ev.conn, ev.dir), ev.data)
        if ev.dir == CLOSE:
            self.redactor.forget((ev.conn, SEND))
            self.redactor.forget((ev.conn, RECV))
        if self.fmt == "jsonl":
            ev = CaptureEvent(**{**{f: getattr(ev, f) for f in ev.__slots__}, "data": clean})
            print(ev.to_json(), flush=True)
        elif self.fmt == "pretty":
            preview = clean[: self.PREVIEW_BYTES].decode("latin-1")
            preview = preview.encode("unicode_escape").decode("ascii")
            server = f" {ev.server}" if ev.server else ""
            flag = " TRUNCATED" if ev.truncated else ""
            print(f"{ev.ts:.6f} {ev.comm}[{ev.pid}] {ev.conn}{server} {ev.dir} {ev.len}B{flag} {preview}", flush=True)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def error_line(e: Exception) -> str:
    """One line for a capture error, with its fix when it has one."""
    fix = getattr(e, "fix", None)
    return f"{e}; fix: {fix}" if fix else str(e)


def _stderr(msg: str) -> None:
    print(f"llmspy: {msg}", file=sys.stderr, flush=True)


class LiveCapture:
    """Probes attached, a Tracker and sinks, pumped by the caller (``run_live``, the demo).
    Raises CaptureUnavailable / TargetError (one-line messages) from the constructor.
    ``ignore_pids``: processes whose events are dropped (the demo's own server)."""

    def __init__(self, opts: LiveOptions, ignore_pids: frozenset[int] = frozenset()):
        from ..cli import make_sinks
        from .ebpf import EBPFCapture
        from .targets import find_targets

        # Outputs first: a bad --output path fails before any probe is attached.
        self.raw = RawSink(opts.fmt, opts.output) if opts.raw else None
        self.sinks = [] if self.raw else make_sinks(opts.fmt, opts.output, opts.debug)
        started = time.monotonic()
        try:
            targets = find_targets(libssl=opts.libssls, binaries=opts.binaries)
            self.cap = EBPFCapture(targets, pids=opts.pids, comms=opts.processes, debug=opts.debug)
        except BaseException:
            for s in self.sinks:
                s.close()
            if self.raw is not None:
                self.raw.close()
            raise
        self.attach_s = time.monotonic() - started
        self.opts = opts
        self.ignore_pids = ignore_pids
        self.tracker = Tracker(source="ebpf", mode=opts.mode)
        self.totals = Totals()
        self._last_house = time.monotonic()
        self._reported_lost = 0

    def describe(self) -> list[str]:
        """What was attached (one line per target) and what could not be."""
        lines = [f"attached to {path}: {', '.join(syms)}" for path, syms in self.cap.attached]
        lines += [f"warning: {err}" for err in self.cap.attach_errors]
        if self.cap.max_call_bytes < (16 << 20):
            lines.append(f"warning: calls larger than {self.cap.max_call_bytes} bytes are truncated (verifier limit)")
        return lines

    def _emit(self, outputs) -> None:
        for o in outputs:
            if isinstance(o, Mute):
                self.cap.mute(o.conn)
                continue
            if isinstance(o, CallDone):
                self.totals.add(o.record)
            fan_out(self.sinks, o)

    def pump(self, timeout_ms: int = POLL_MS) -> int:
        """Poll once, feed what arrived, do housekeeping when due; returns events handled."""
        events = self.cap.poll(timeout_ms)
        for ev in events:
            if ev.pid in self.ignore_pids:
                continue
            if self.raw is not None:
                self.raw.event(ev)
            else:
                self._emit(self.tracker.feed(ev))
        now = time.monotonic()
        if now - self._last_house >= HOUSEKEEPING_S:
            self._last_house = now
            if self.raw is None:
                self._emit(self.tracker.expire(time.time()))
            lost = self.cap.lost()
            if lost > self._reported_lost:
                fan_out(self.sinks, Notice(f"{lost - self._reported_lost} capture events lost (ring buffer full); {lost} in all"))
                self._reported_lost = lost
        return len(events)

    def close(self) -> Totals:
        """Flush open calls, detach, close sinks (the pretty view prints totals)."""
        if self.raw is None:
            self._emit(self.tracker.flush(time.time()))
        self.totals.lost_events = self.cap.lost()
        self.cap.close()
        if self.raw is not None:
            self.raw.close()
            _stderr(f"{self.raw.events} raw events, {self.totals.lost_events} lost")
        for s in self.sinks:
            s.close(self.totals)  # the pretty view prints them; the others ignore them
        if self.opts.fmt != "pretty" and self.raw is None:
            _stderr(self.totals.summary())
        return self.totals


def run_live(opts: LiveOptions) -> int:
    """Capture until SIGINT/SIGTERM; returns the exit code. Errors are one line on stderr."""
    from .diagnose import CaptureUnavailable
    from .targets import TargetError

    try:
        live = LiveCapture(opts, ignore_pids=frozenset({os.getpid()}))
    except (CaptureUnavailable, TargetError) as e:
        _stderr(f"error: {error_line(e)}")
        return 1
    for line in live.describe():
        _stderr(line)
    _stderr(f"ready: probes attached in {live.attach_s:.1f} s; Ctrl-C to stop")
    stop: list[bool] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    try:
        while not stop:
            live.pump()
    finally:
        live.close()
    return 0
