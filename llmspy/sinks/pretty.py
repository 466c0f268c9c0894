# The live terminal view (rich): a header when a call starts, the answer text streamed as it
# arrives, and a summary line when it ends. Concurrent calls interleave: a delta for another
# call than the one being printed starts a new line tagged with that call's number.
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..core.events import CallDelta, CallDone, CallStarted, Output
from ..record import LLMRecord

__all__ = ["PrettySink", "shorten"]

# Characters of a message shown before "…"; the view is a summary, the JSON has it all.
MESSAGE_CHARS = 160
# Tool-call arguments shown per call in the summary.
ARGS_CHARS = 200


def shorten(value: Any, limit: int = MESSAGE_CHARS) -> str:
    """One line of at most ``limit`` characters from text or JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def _where(rec: LLMRecord) -> str:
    url = rec.request.url or (rec.connection.server or "?")
    return url.split("://", 1)[-1]


def _who(rec: LLMRecord) -> str:
    p = rec.process
    if p is None:
        return ""
    return f"{p.comm or '?'}[{p.pid}]"


class PrettySink:
    """Readable live output on ``console`` (a rich Console, stdout by default)."""

    def __init__(self, console: Console | None = None, show_messages: bool = True):
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.show_messages = show_messages
        self._numbers: dict[str, int] = {}
        self._streaming: tuple[str, str] | None = None  # (record id, kind) mid-line
        self._started: set[str] = set()

    def _n(self, rec: LLMRecord) -> int:
        return self._numbers.setdefault(rec.id, len(self._numbers) + 1)

    def _end_line(self) -> None:
        if self._streaming is not None:
            self.console.print()
            self._streaming = None

    def handle(self, event: Output) -> None:
        if isinstance(event, CallStarted):
            self._start(event.record)
        elif isinstance(event, CallDelta):
            self._delta(event)
        elif isinstance(event, CallDone):
            self._done(event.record)

    def _start(self, rec: LLMRecord) -> None:
        if rec.kind != "llm" or rec.id in self._started:
            return
        self._started.add(rec.id)
        self._end_line()
        p = self.console.print
        model = rec.request.model or "?"
        side = " [yellow](server side)[/]" if rec.connection.role == "server" else ""
        p(
            f"[bold cyan]#{self._n(rec)} {escape(rec.provider or '?')}[/] [bold]{escape(model)}[/]"
            f" [dim]{escape(rec.request.method or '')} {escape(_where(rec))}"
            f"{' stream' if rec.request.stream else ''}  {escape(_who(rec))}[/]{side}"
        )
        if not self.show_messages:
            return
        if rec.request.system:
            p(f"  [magenta]system[/]: {escape(shorten(rec.request.system))}")
        msgs = [m for m in rec.request.messages if m.role not in ("system", "developer")]
        if len(msgs) > 2:
            p(f"  [dim]… {len(msgs) - 2} earlier messages[/]")
        for m in msgs[-2:]:
            p(f"  [green]{escape(str(m.role))}[/]: {escape(shorten(m.content))}")
        if rec.request.tools:
            names = ", ".join(t.name or "?" for t in rec.request.tools)
            p(f"  [dim]tools: {escape(shorten(names, 100))}[/]")

    def _delta(self, ev: CallDelta) -> None:
        rec = ev.record
        if rec.kind != "llm" or ev.kind == "tool":
            return
        if self._streaming != (rec.id, ev.kind):  # another call, or reasoning -> text
            self._end_line()
            tag = f"#{self._n(rec)} " if len(self._started) > 1 else ""
            style = "dim italic" if ev.kind == "reasoning" else "bold"
            self.console.print(f"  [{style}]{tag}⇢[/] ", end="")
            self._streaming = (rec.id, ev.kind)
        style = "dim italic" if ev.kind == "reasoning" else None
        self.console.print(ev.text, end="", markup=False, style=style)

    def _done(self, rec: LLMRecord) -> None:
        self._end_line()
        if rec.kind != "llm":
            self._http_line(rec)
            return
        if rec.id not in self._started:
            self._start(rec)
        p = self.console.print
        r = rec.response
        if not r.streamed and (r.text or r.reasoning):
            if r.reasoning:
                p(f"  [dim italic]⇢ {escape(shorten(r.reasoning, 400))}[/]")
            if r.text:
                p(f"  [bold]⇢[/] {escape(r.text)}")
        for call in r.tool_calls:
            p(f"  [yellow]tool call[/] {escape(call.name or '?')}({escape(shorten(call.arguments, ARGS_CHARS))})")
        if r.error:
            p(f"  [red]error[/] {escape(r.error.type or '')}: {escape(shorten(r.error.message or '', 300))}")
        parts = []
        status = r.status if r.status is not None else "?"
        parts.append(f"[{'green' if isinstance(r.status, int) and r.status < 400 else 'red'}]{status}[/]")
        if r.model and r.model != rec.request.model:
            parts.append(escape(r.model))
        if r.finish_reason or r.error is None:
            parts.append(f"finish={escape(r.finish_reason or '?')}")
        u = r.usage
        if not u.is_empty():
            tok = f"{u.input_tokens if u.input_tokens is not None else '?'} in / {u.output_tokens if u.output_tokens is not None else '?'} out"
            if u.cache_read_input_tokens:
                tok += f" ({u.cache_read_input_tokens} cached)"
            if u.reasoning_tokens:
                tok += f" ({u.reasoning_tokens} reasoning)"
            parts.append(tok + " tokens")
        t = rec.timing
        if t.ttft_ms is not None:
            parts.append(f"TTFT {t.ttft_ms:.0f} ms")
        if t.duration_ms is not None:
            parts.append(f"{t.duration_ms:.0f} ms")
        if rec.cost is not None:
            parts.append(f"${rec.cost.usd:.6f}")
        if _who(rec):
            parts.append(escape(_who(rec)))
        if not rec.complete:
            parts.append("[red]incomplete[/]")
        if rec.request.truncated or r.truncated:
            parts.append("[red]truncated[/]")
        ok = isinstance(r.status, int) and r.status < 400 and rec.complete and r.error is None
        p(f"  {'[dim]✓[/]' if ok else '[red]✗[/]'} #{self._n(rec)} " + " · ".join(parts))

    def _http_line(self, rec: LLMRecord) -> None:
        r = rec.response
        ct = r.headers.get("content-type", "").split(";")[0]
        dur = f"{rec.timing.duration_ms:.0f} ms" if rec.timing.duration_ms is not None else ""
        line = (
            f"[dim]http[/] {escape(rec.request.method or '?')} {escape(_where(rec))} "
            f"{r.status if r.status is not None else '?'} {escape(ct)} {_size(r.body_size)} {dur} {escape(_who(rec))}"
        )
        if not rec.complete:
            line += " [red]incomplete[/]"
        self.console.print(line)

    def close(self, totals=None) -> None:
        self._end_line()
        if totals is not None:
            self.console.print(f"[dim]{escape(totals.summary())}[/]")
