# The eBPF front end's event loop: poll the ring buffer, feed the core, fan out to sinks.
# The loop owns the clock (the core never reads one), the signals, and the mute map: when the
# core says a connection is not worth copying, the kernel stops copying it.
from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass

from ..core.capture import CaptureEvent
from ..core.events import CallDone, Notice
from ..core.tracker import Mute, Tracker
from ..sinks import Totals, fan_out

__all__ = ["LiveOptions", "run_live", "RawSink"]

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
            self.file = open_append(output, 0o600)
            os.chmod(output, 0o600)
            print(f"llmspy: writing raw capture to {output} (mode 0600: it contains secrets as captured)",
                  file=sys.stderr, flush=True)
        self.events = 0

    def event(self, ev: CaptureEvent) -> None:
        from ..redact import redact_bytes

        self.events += 1
        if self.file is not None:
            self.file.write(ev.to_json() + "\n")
        if self.fmt == "jsonl" and self.file is None:
            ev = CaptureEvent(**{**{f: getattr(ev, f) for f in ev.__slots__}, "data": redact_bytes(ev.data)})
            print(ev.to_json(), flush=True)
        elif self.fmt == "pretty":
            preview = redact_bytes(ev.data[: self.PREVIEW_BYTES]).decode("latin-1")
            preview = preview.encode("unicode_escape").decode("ascii")
            server = f" {ev.server}" if ev.server else ""
            flag = " TRUNCATED" if ev.truncated else ""
            print(f"{ev.ts:.6f} {ev.comm}[{ev.pid}] {ev.conn}{server} {ev.dir} {ev.len}B{flag} {preview}", flush=True)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _stderr(msg: str) -> None:
    print(f"llmspy: {msg}", file=sys.stderr, flush=True)


def run_live(opts: LiveOptions) -> int:
    """Capture until SIGINT/SIGTERM; returns the exit code. Errors are one line on stderr."""
    from ..cli import make_sinks
    from .diagnose import CaptureUnavailable, preflight
    from .ebpf import EBPFCapture
    from .targets import TargetError, find_targets

    try:
        preflight()
        targets = find_targets(binaries=opts.binaries, libssls=opts.libssls)
        started = time.monotonic()
        cap = EBPFCapture(targets, pids=opts.pids, comms=opts.processes, debug=opts.debug)
    except (CaptureUnavailable, TargetError) as e:
        _stderr(f"error: {e}")
        return 1
    for line in cap.describe():
        _stderr(line)
    _stderr(f"ready: probes attached in {time.monotonic() - started:.1f} s; Ctrl-C to stop")

    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))

    raw = RawSink(opts.fmt, opts.output) if opts.raw else None
    sinks = [] if raw else make_sinks(opts.fmt, opts.output, opts.debug)
    tracker = Tracker(source="ebpf", mode=opts.mode)
    totals = Totals()
    last_house = time.monotonic()
    reported_lost = 0

    def emit(outputs) -> None:
        for o in outputs:
            if isinstance(o, Mute):
                cap.mute(o.conn)
                continue
            if isinstance(o, CallDone):
                totals.add(o.record)
            fan_out(sinks, o)

    try:
        while not stop:
            for ev in cap.poll(POLL_MS):
                if raw is not None:
                    raw.event(ev)
                else:
                    emit(tracker.feed(ev))
            now = time.monotonic()
            if now - last_house >= HOUSEKEEPING_S:
                last_house = now
                if raw is None:
                    emit(tracker.expire(time.time()))
                lost = cap.lost()
                if lost > reported_lost:
                    fan_out(sinks, Notice(f"{lost - reported_lost} capture events lost (ring buffer full); {lost} in all"))
                    reported_lost = lost
    finally:
        if raw is None:
            emit(tracker.flush(time.time()))
        totals.lost_events = cap.lost()
        cap.close()
        if raw is not None:
            raw.close()
            _stderr(f"{raw.events} raw events, {totals.lost_events} lost")
        for s in sinks:
            s.close(totals if s is sinks[1] and opts.fmt == "pretty" else None)
        if opts.fmt != "pretty" and raw is None:
            _stderr(totals.summary())
    return 0
