# JSON Lines: one finished record per line, nothing else (schema llmspy/1).
from __future__ import annotations

import os
from typing import IO

from ..core.events import CallDone, Output

__all__ = ["JSONLSink", "open_append"]


def open_append(path: str, mode: int = 0o644) -> IO[str]:
    """Open ``path`` for appending text, creating it with ``mode``. Raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    return os.fdopen(fd, "a", encoding="utf-8", buffering=1)


class JSONLSink:
    """Writes each CallDone's record as one JSON line to ``stream`` and flushes, so a reader
    (``tail -f``, a pipe) sees every call as soon as it ends."""

    def __init__(self, stream: IO[str], owns: bool = False):
        self.stream = stream
        self.owns = owns

    def handle(self, event: Output) -> None:
        if isinstance(event, CallDone):
            self.stream.write(event.record.to_json() + "\n")
            self.stream.flush()

    def close(self, totals=None) -> None:
        if self.owns:
            self.stream.close()
