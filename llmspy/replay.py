# `llmspy replay FILE`: capture files (llmspy.capture/1, JSON Lines) and mitmproxy flow files
# through the same core as live capture. The only I/O here is reading the file; records come
# out in the order their exchanges complete, and what is still open at the end of the file is
# flushed with complete=false.
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO

from .core.capture import CaptureEvent, CaptureFormatError
from .core.events import Notice, Output
from .core.exchange import Exchange
from .core.tracker import Tracker, visible
from .record import SCHEMA
from .redact import redact_url

__all__ = ["replay_file", "replay_capture", "replay_flows", "is_flow_file", "ReplayError"]

# A file whose first GIVE_UP_LINES non-empty lines are all invalid is not a capture file:
# one error for the file instead of one per line of a binary or unrelated file.
GIVE_UP_LINES = 20
# Longest capture-file line read; a 16 MiB payload is 22.4 MB of base64 plus the envelope.
MAX_LINE_BYTES = 64 << 20


class ReplayError(Exception):
    """The file cannot be replayed at all (unreadable, or neither format)."""


def _why(e: Exception) -> str:
    """A short reason for a bad capture-file line."""
    if isinstance(e, CaptureFormatError):
        return str(e)
    if isinstance(e, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(e, json.JSONDecodeError):
        return f"not JSON ({e.msg}, column {e.colno})"
    return "not JSON (nested too deeply)" if isinstance(e, RecursionError) else "not JSON"


def is_flow_file(head: bytes) -> bool:
    """mitmproxy flow files are tnetstring streams: a decimal length, then ':'."""
    head = head.lstrip()
    digits = len(head) - len(head.lstrip(b"0123456789"))
    return 0 < digits < 12 and head[digits : digits + 1] == b":"


def replay_capture(stream: IO[bytes], name: str, tracker: Tracker) -> Iterator[Output]:
    """Feed each line of a capture file to ``tracker``; yield its outputs, then the flush.
    A malformed line yields a Notice "NAME:LINE: why" and is skipped."""
    last_ts = 0.0
    valid = invalid = 0
    for lineno, line in enumerate(stream, 1):
        if invalid >= GIVE_UP_LINES and not valid:
            yield Notice(f"{name}: not an llmspy capture file (llmspy.capture/1) nor a mitmproxy flow file; stopped after {invalid} bad lines", "error")
            return
        if len(line) > MAX_LINE_BYTES:
            yield Notice(f"{name}:{lineno}: line longer than {MAX_LINE_BYTES} bytes, skipped", "error")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not valid and isinstance(obj, dict) and obj.get("schema") == SCHEMA:
                yield Notice(f"{name}: this is a file of llmspy records (from -o); replay reads capture files "
                             "(from `llmspy --raw -o FILE`) and mitmproxy flow files", "error")
                return
            ev = CaptureEvent.from_dict(obj)
        except (ValueError, RecursionError) as e:
            invalid += 1
            yield Notice(f"{name}:{lineno}: {_why(e)}", "error")
            continue
        valid += 1
        last_ts = max(last_ts, ev.ts)
        yield from tracker.feed(ev)
    yield from tracker.flush(last_ts)


def replay_flows(stream: IO[bytes], name: str, mode: str) -> Iterator[Output]:
    """Each HTTP flow of a mitmproxy flow file through an Exchange (source "replay")."""
    from mitmproxy import http
    from mitmproxy.exceptions import FlowReadException
    from mitmproxy.io import FlowReader

    from .proxy.flows import flow_connection, flow_events

    try:
        for flow in FlowReader(stream).stream():
            if not isinstance(flow, http.HTTPFlow):
                continue
            if flow.response is not None and flow.response.raw_content is None:
                yield Notice(f"{name}: {redact_url(flow.request.pretty_url)}: the response body was streamed "
                             "and mitmproxy did not save it; the record has no answer")
            ex = Exchange(source="replay", connection=flow_connection(flow))
            outputs: list[Output] = []
            for ev in flow_events(flow):
                outputs += ex.handle(ev)
            end = flow.response.timestamp_end if flow.response else flow.request.timestamp_end
            outputs += ex.flush(end or 0.0)
            yield from (o for o in outputs if visible(o, mode))
    except FlowReadException as e:
        yield Notice(f"{name}: not a readable mitmproxy flow file: {e}", "error")


def replay_file(path: str, mode: str = "smart") -> Iterator[Output]:
    """Outputs of replaying ``path`` (capture file or mitmproxy flow file).
    Raises ReplayError when the file cannot be opened."""
    try:
        f = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        raise ReplayError(f"cannot read {path}: {e.strerror or e}") from None
    if path == "-":
        path = "<stdin>"
    with f:
        head = f.peek(16)[:16] if hasattr(f, "peek") else b""
        if is_flow_file(head):
            yield from replay_flows(f, path, mode)
        else:
            yield from replay_capture(f, path, Tracker(source="replay", mode=mode))
