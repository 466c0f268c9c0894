# Sinks turn the core's output events into output: a live terminal view, JSON Lines, files.
# A sink never parses HTTP; a front end never formats output (DESIGN.md). Every record that
# reaches a sink has already been redacted by the core.
from __future__ import annotations

from typing import Protocol

from ..core.events import Output

__all__ = ["Sink", "Totals", "fan_out"]


class Sink(Protocol):
    def handle(self, event: Output) -> None: ...

    def close(self, totals: "Totals | None" = None) -> None: ...


class Totals:
    """Counts shown at exit: calls (LLM records), records (all), tokens, cost, lost events."""

    def __init__(self) -> None:
        self.llm_calls = 0
        self.server_side = 0  # LLM calls seen from a traced server (also seen as clients)
        self.records = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.lost_events = 0
        self.lost_bytes = 0

    def add(self, record) -> None:
        self.records += 1
        if record.kind == "llm" and record.connection.role == "server":
            # The server side of a call (a local LLM server or gateway that is traced too):
            # counted apart so a call seen from both ends does not double tokens and cost.
            self.server_side += 1
        elif record.kind == "llm":
            self.llm_calls += 1
            u = record.response.usage
            self.input_tokens += u.input_tokens or 0
            self.output_tokens += u.output_tokens or 0
            if record.cost is not None:
                self.cost_usd += record.cost.usd

    def summary(self) -> str:
        s = (
            f"{self.llm_calls} LLM call{'' if self.llm_calls == 1 else 's'}"
            + (f" (+{self.server_side} seen from the server side)" if self.server_side else "")
            + f", {self.records} record{'' if self.records == 1 else 's'}, "
            f"{self.input_tokens} input / {self.output_tokens} output tokens"
        )
        if self.cost_usd:
            s += f", ${self.cost_usd:.6f}" if self.cost_usd < 0.01 else f", ${self.cost_usd:.2f}"
        return s + f", {self.lost_events} lost event{'' if self.lost_events == 1 else 's'}"


def fan_out(sinks: list[Sink], event: Output) -> None:
    for sink in sinks:
        sink.handle(event)
