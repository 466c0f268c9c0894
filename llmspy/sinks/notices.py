# Notices (warnings from the core) go to stderr as one line each, never to stdout, so
# `--format jsonl` output stays one record per line. A repeated message is shown once.
from __future__ import annotations

import sys
from typing import IO

from ..core.events import Notice, Output

__all__ = ["NoticeSink"]

# Distinct messages remembered for de-duplication; beyond this, repeats may show again.
MAX_REMEMBERED = 1024


class NoticeSink:
    def __init__(self, stream: IO[str] | None = None, debug: bool = False):
        self.stream = stream or sys.stderr
        self.debug = debug
        self._seen: set[str] = set()
        self.count = 0

    def handle(self, event: Output) -> None:
        if not isinstance(event, Notice):
            return
        if event.level == "info" and not self.debug:
            return
        self.count += 1
        if event.message in self._seen and not self.debug:
            return
        if len(self._seen) < MAX_REMEMBERED:
            self._seen.add(event.message)
        print(f"llmspy: {event.level}: {event.message}", file=self.stream, flush=True)

    def close(self, totals=None) -> None:
        pass
