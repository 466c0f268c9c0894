# The mitmproxy addon: flows -> the shared core -> LLM records -> sinks.
#
# mitmproxy has already parsed HTTP, so the addon hands the core HTTP message events
# (flows.py), one Exchange per flow, exactly as the eBPF front end's parsers do; records from
# both front ends therefore come out of the same code (source "proxy").
#
# Hooks (mitmproxy's event order, examples/addons/anatomy.py; every flow ends in `response`
# or `error`):
#   requestheaders  Exchange created, RequestHead fed
#   request         request body (Data, End) fed; a request mitmproxy streams is fed by the
#                   stream callable instead
#   responseheaders ResponseHead fed. Streamed bodies (SSE, NDJSON, Gemini's streamed JSON
#                   array, Bedrock event streams) are STREAMED THROUGH: ``flow.response.stream``
#                   becomes a callable that feeds each chunk to the Exchange and returns it
#                   unchanged, so the client sees each token when it would without the proxy;
#                   b"" at the end becomes End (examples/addons/http-stream-modify.py).
#   response        whole bodies: Data + End
#   error           the exchange is flushed incomplete (connection lost, upstream TLS failure)
#   websocket_*     WebSocket messages (Codex talks to /v1/responses over one) are kept, capped,
#                   and attached to the upgrade's record when the socket closes: see
#                   ``_WebSocketLog`` for the record shape.
#
# Options follow mitmproxy's convention (declared in load(), validated in configure(), files
# closed in done()), prefixed llmspy_, so
#   mitmdump -s addons/llmspy_addon.py --set llmspy_output=calls.jsonl --set llmspy_llm_only=true
# works; `llmspy --proxy` sets the same options. No hook raises into mitmproxy: a failure is
# one notice line on stderr.
from __future__ import annotations

import base64
import functools
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from mitmproxy import exceptions

from ..core.events import RESPONSE, CallDone, Data, End, Notice, Output
from ..core.exchange import Exchange
from ..core.tracker import visible, wanted
from ..sinks import Totals
from .flows import flow_connection, request_events, response_end, response_head

__all__ = ["LLMSpy", "FORMATS", "STREAMED_CONTENT_TYPES", "is_streamed"]

FORMATS = ("pretty", "jsonl", "none")

# Response content types passed through chunk by chunk (lower case, without parameters):
# SSE (WHATWG HTML §9.2: OpenAI, Anthropic, Gemini ?alt=sse, Cohere), NDJSON spellings
# (Ollama, some gateways), and AWS's binary event stream (Bedrock *WithResponseStream).
STREAMED_CONTENT_TYPES = frozenset(
    {
        "text/event-stream",
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/json-lines",
        "application/x-jsonlines",
        "application/vnd.amazon.eventstream",
    }
)
# Gemini's streamGenerateContent without ?alt=sse sends a JSON array element by element as
# application/json (Gemini API reference, models.streamGenerateContent).
GEMINI_STREAM_METHOD = ":streamgeneratecontent"

# Flows in progress at once; beyond this the oldest is flushed incomplete. mitmproxy ends
# every flow in `response` or `error`, so this only bounds memory if that promise breaks.
MAX_OPEN_FLOWS = 10_000
# WebSocket messages kept per socket, and their total size in bytes: a Codex session is a
# few hundred messages of a few KiB; a socket streaming audio is cut here and flagged.
MAX_WS_MESSAGES = 10_000
MAX_WS_BYTES = 16 << 20


def is_streamed(flow) -> bool:
    """Whether the response of ``flow`` is a stream to pass through chunk by chunk (by its
    content type; Gemini's streamGenerateContent also when it says application/json)."""
    ct = flow.response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ct in STREAMED_CONTENT_TYPES:
        return True
    return ct == "application/json" and GEMINI_STREAM_METHOD in (flow.request.path or "").lower()


def _guarded(hook: Callable) -> Callable:
    """Run a hook; a bug becomes one notice line, never a traceback in mitmproxy's loop."""

    @functools.wraps(hook)
    def run(self: LLMSpy, *args):
        try:
            return hook(self, *args)
        except Exception as e:  # noqa: BLE001 - the boundary to mitmproxy's event loop
            self.notice(f"internal error in proxy hook {hook.__name__}: {type(e).__name__}: {e}", "error")

    return run


def _llm_host(exchange: Exchange) -> bool:
    """Whether the exchange's server is a named LLM API host (api.openai.com...): a WebSocket
    there is shown even with llmspy_llm_only."""
    try:
        from ..providers.base import HTTPRequest
        from ..providers.compat import site_of

        url = exchange.record.request.url or f"https://{exchange.record.connection.server}/"
        return site_of(HTTPRequest.build("GET", url, {}, b"", None)).known
    except Exception:  # noqa: BLE001 - the registry may not know this shape: not an LLM host
        return False


@dataclass(slots=True)
class _WebSocketLog:
    """Messages of one WebSocket, capped. Attached to the upgrade's record as
    ``response.body = {"websocket": {"messages": [...], "close_code", "close_reason",
    "closed_by_client", "dropped_messages"}}``, each message
    ``{"from": "client"|"server", "ts": unix seconds, "type": "text"|"binary", "size": bytes,
    "data": parsed JSON | text | base64 of binary}``; ``response.chunks`` counts messages,
    ``response.body_size`` their bytes, ``response.streamed`` is True and ``response.truncated``
    says whether messages were dropped for the caps."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    kept_bytes: int = 0
    dropped: int = 0
    json_seen: bool = False

    def add(self, msg) -> None:
        content = msg.content or b""
        self.size += len(content)
        if len(self.messages) >= MAX_WS_MESSAGES or self.kept_bytes + len(content) > MAX_WS_BYTES:
            self.dropped += 1
            return
        self.kept_bytes += len(content)
        entry: dict[str, Any] = {"from": "client" if msg.from_client else "server", "ts": msg.timestamp,
                                 "type": "text" if msg.is_text else "binary", "size": len(content)}
        if msg.is_text:
            text = content.decode("utf-8", "replace")
            try:
                entry["data"] = json.loads(text)
                self.json_seen = True
            except (ValueError, RecursionError):
                entry["data"] = text
        else:
            entry["data"] = base64.b64encode(content).decode()
        self.messages.append(entry)

    def attach(self, record, ws, ts: float) -> None:
        record.response.body = {
            "websocket": {
                "messages": self.messages,
                "close_code": getattr(ws, "close_code", None),
                "close_reason": getattr(ws, "close_reason", None),
                "closed_by_client": getattr(ws, "closed_by_client", None),
                "dropped_messages": self.dropped,
            }
        }
        record.response.streamed = True
        record.response.chunks = len(self.messages) + self.dropped
        record.response.body_size = self.size
        record.response.truncated = bool(self.dropped)
        record.timing.end = ts
        record.timing.finish()


@dataclass(slots=True)
class _FlowState:
    exchange: Exchange
    request_streamed: bool = False
    response_head: bool = False
    response_streamed: bool = False
    ws: _WebSocketLog | None = None
    held: CallDone | None = None  # the upgrade's record, emitted when its WebSocket ends


class LLMSpy:
    """The addon. Options (``--set``): llmspy_output (file; JSON records appended),
    llmspy_llm_only / llmspy_all (which records: LLM calls only / every exchange; default LLM
    calls plus JSON APIs), llmspy_format (stdout: pretty | jsonl | none), llmspy_debug (every
    notice). ``extra_sinks``: more sinks fed the same outputs (``handle(event)``,
    ``close(totals)``), e.g. a test's list. ``totals`` counts what was shown."""

    def __init__(self, extra_sinks: list | None = None, tls_notices: bool = False) -> None:
        self.extra_sinks = list(extra_sinks or [])
        # `llmspy --proxy` silences mitmproxy's log and says itself which upstream failed;
        # under mitmdump, mitmproxy's own log line already does.
        self.tls_notices = tls_notices
        self.summary = True  # totals line at exit in the pretty format
        self.mode = "smart"
        self.totals = Totals()
        self._flows: dict[str, _FlowState] = {}
        self._notice_sink = None
        self._stdout_sink = None
        self._stdout_format = "none"
        self._file_sink = None
        self._output_path: str | None = None

    # -- options ----------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("llmspy_output", Optional[str], None,
                          "Append one JSON record (schema llmspy/1) per finished exchange to this file.")
        loader.add_option("llmspy_llm_only", bool, False, "Only LLM API calls.")
        loader.add_option("llmspy_all", bool, False, "Every HTTP exchange, not only LLM calls and JSON APIs.")
        loader.add_option("llmspy_format", str, "pretty", "What llmspy prints on stdout.", choices=FORMATS)
        loader.add_option("llmspy_debug", bool, False, "Show every llmspy notice, info level included.")

    def configure(self, updated: set[str]) -> None:
        from mitmproxy import ctx

        opts = ctx.options
        if {"llmspy_llm_only", "llmspy_all"} & updated:
            if opts.llmspy_llm_only and opts.llmspy_all:
                raise exceptions.OptionsError("llmspy_llm_only and llmspy_all exclude each other")
            self.mode = "llm" if opts.llmspy_llm_only else "all" if opts.llmspy_all else "smart"
        if "llmspy_format" in updated and opts.llmspy_format not in FORMATS:
            raise exceptions.OptionsError(f"llmspy_format must be one of {', '.join(FORMATS)}, not {opts.llmspy_format!r}")
        if "llmspy_debug" in updated or self._notice_sink is None:
            from ..sinks.notices import NoticeSink

            self._notice_sink = NoticeSink(debug=opts.llmspy_debug)
        if "llmspy_output" in updated and opts.llmspy_output != self._output_path:
            self._open_output(opts.llmspy_output)
        if "llmspy_format" in updated and opts.llmspy_format != self._stdout_format:
            self._close_stdout()
            self._stdout_format = opts.llmspy_format
            if opts.llmspy_format == "pretty":
                from ..sinks.pretty import PrettySink

                self._stdout_sink = PrettySink()
            elif opts.llmspy_format == "jsonl":
                from ..sinks.jsonl import JSONLSink

                self._stdout_sink = JSONLSink(sys.stdout)

    def _open_output(self, path: str | None) -> None:
        from ..sinks.jsonl import JSONLSink, open_append

        new = None
        if path:
            try:
                new = JSONLSink(open_append(path), owns=True)
            except OSError as e:
                raise exceptions.OptionsError(f"cannot write {path}: {e.strerror or e}") from None
        if self._file_sink is not None:
            self._file_sink.close()
        self._file_sink, self._output_path = new, path

    def _close_stdout(self) -> None:
        if self._stdout_sink is not None:
            self._stdout_sink.close(self.totals if self._stdout_format == "pretty" and self.summary else None)
            self._stdout_sink = None

    def done(self) -> None:
        now = time.time()
        for st in list(self._flows.values()):  # capture stopped: open exchanges end incomplete
            self._emit(st.exchange.flush(now))
            if st.held is not None:
                self._emit([st.held])
        self._flows.clear()
        self._close_stdout()
        if self._file_sink is not None:
            self._file_sink.close()
            self._file_sink, self._output_path = None, None

    # -- output -----------------------------------------------------------------------------
    def notice(self, message: str, level: str = "warning") -> None:
        """Show a notice (one stderr line; "info" only with llmspy_debug)."""
        self._emit([Notice(message, level)])

    def _sinks(self) -> list:
        return [s for s in (self._notice_sink, self._stdout_sink, self._file_sink, *self.extra_sinks) if s is not None]

    def _emit(self, outputs: list[Output], force_visible: bool = False) -> None:
        for o in outputs:
            if not (force_visible or visible(o, self.mode)):
                continue
            if isinstance(o, CallDone):
                self.totals.add(o.record)
            for sink in self._sinks():
                try:
                    sink.handle(o)
                except Exception as e:  # noqa: BLE001 - a closed stdout pipe must not stop the proxy
                    self._drop_sink(sink, e)

    def _drop_sink(self, sink, error: Exception) -> None:
        if sink is self._stdout_sink:
            self._stdout_sink = None
            where = "stdout"
        elif sink is self._file_sink:
            self._file_sink = None
            where = self._output_path or "the output file"
        elif sink in self.extra_sinks:
            self.extra_sinks.remove(sink)
            where = repr(sink)
        else:  # stderr itself failed: nowhere left to say so
            self._notice_sink = None
            return
        if self._notice_sink is not None:
            self._notice_sink.handle(Notice(f"stopped writing to {where}: {type(error).__name__}: {error}", "error"))

    # -- flow state -------------------------------------------------------------------------
    def _state(self, flow) -> _FlowState:
        st = self._flows.get(flow.id)
        if st is None:
            while len(self._flows) >= MAX_OPEN_FLOWS:
                old = self._flows.pop(next(iter(self._flows)))
                self._emit(old.exchange.flush(time.time()))
            st = self._flows[flow.id] = _FlowState(Exchange(source="proxy", connection=flow_connection(flow)))
            self._feed(st, request_events(flow, body=False))
        return st

    def _feed(self, st: _FlowState, events) -> None:
        out: list[Output] = []
        for ev in events:
            out += st.exchange.handle(ev)
        if st.ws is not None:  # the upgrade's record waits for its WebSocket to end
            for o in out:
                if isinstance(o, CallDone):
                    st.held = o
            out = [o for o in out if not isinstance(o, CallDone)]
        self._emit(out)

    def _finish(self, flow) -> None:
        st = self._flows.get(flow.id)
        if st is not None and st.exchange.done and st.ws is None:
            del self._flows[flow.id]

    # -- HTTP hooks -------------------------------------------------------------------------
    @_guarded
    def requestheaders(self, flow) -> None:
        st = self._state(flow)
        if flow.request.stream:  # another addon (stream_large_bodies) streams the request
            st.request_streamed = True
            flow.request.stream = self._tap(st, flow, flow.request.stream, "request")

    @_guarded
    def request(self, flow) -> None:
        st = self._state(flow)
        if not st.request_streamed:
            self._feed(st, request_events(flow)[1:])

    @_guarded
    def responseheaders(self, flow) -> None:
        st = self._state(flow)
        st.response_head = True
        self._feed(st, [response_head(flow)])
        if flow.response.stream or is_streamed(flow):
            st.response_streamed = True
            flow.response.stream = self._tap(st, flow, flow.response.stream, "response")

    @_guarded
    def response(self, flow) -> None:
        st = self._state(flow)
        if getattr(flow, "websocket", None) is not None and st.ws is None:
            st.ws = _WebSocketLog()
        events = [] if st.response_head else [response_head(flow)]
        if not st.response_streamed:
            raw = flow.response.raw_content or b""
            ts = flow.response.timestamp_end or time.time()
            if raw:
                events.append(Data(ts, 0, RESPONSE, raw))
            events.append(response_end(flow, ts))
        self._feed(st, events)
        self._finish(flow)

    @_guarded
    def error(self, flow) -> None:
        st = self._flows.pop(flow.id, None)
        msg = flow.error.msg if flow.error else "unknown error"
        if st is None:
            return
        now = time.time()
        if st.ws is not None:
            self._end_websocket(st, flow, now)
            return
        where = st.exchange.record.request.url or flow.request.pretty_host
        self.notice(f"{where}: {msg}", "info")  # mitmproxy's own log line already says why
        self._emit(st.exchange.flush(now))

    def _tap(self, st: _FlowState, flow, inner, side: str) -> Callable[[bytes], Any]:
        """A ``stream`` callable: feed each chunk as it came from the sender to the Exchange,
        then hand it on unchanged (through ``inner`` when another addon set a callable)."""

        def stream(chunk: bytes):
            try:
                now = time.time()
                if chunk:
                    self._feed(st, [Data(now, 0, side, chunk)])
                elif side == RESPONSE:
                    self._feed(st, [response_end(flow, now)])
                else:
                    self._feed(st, [End(now, 0, side)])
            except Exception as e:  # noqa: BLE001 - never break the client's stream
                self.notice(f"internal error while streaming: {type(e).__name__}: {e}", "error")
            return inner(chunk) if callable(inner) else chunk

        return stream

    # -- TLS ------------------------------------------------------------------------------
    @_guarded
    def tls_failed_server(self, data) -> None:
        if not self.tls_notices:
            return
        conn = data.conn
        host = conn.sni or (conn.address[0] if conn.address else "?")
        port = conn.address[1] if conn.address else "?"
        self.notice(f"upstream TLS failed for {host}:{port}: {conn.error or 'handshake failed'} "
                    f"(the client gets 502; a private CA upstream: --set ssl_verify_upstream_trusted_ca=PEM)")

    # -- WebSocket hooks --------------------------------------------------------------------
    @_guarded
    def websocket_message(self, flow) -> None:
        st = self._flows.get(flow.id)
        if st is not None and st.ws is not None and flow.websocket and flow.websocket.messages:
            st.ws.add(flow.websocket.messages[-1])

    @_guarded
    def websocket_end(self, flow) -> None:
        st = self._flows.pop(flow.id, None)
        if st is not None and st.ws is not None:
            self._end_websocket(st, flow, (flow.websocket and flow.websocket.timestamp_end) or time.time())

    def _end_websocket(self, st: _FlowState, flow, ts: float) -> None:
        if st.held is None:  # the upgrade never finished
            st.exchange.flush(ts)
            st.held = CallDone(st.exchange.record)
        rec = st.held.record
        st.ws.attach(rec, getattr(flow, "websocket", None), ts)
        # A JSON API over a WebSocket counts as JSON traffic ("smart" mode), the way
        # ``wanted`` counts a JSON content type; LLM calls and "all" as usual.
        shown = wanted(rec, self.mode) or (self.mode == "smart" and st.ws.json_seen) or _llm_host(st.exchange)
        if shown:
            self._emit([st.held], force_visible=True)
