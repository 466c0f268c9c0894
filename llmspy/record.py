# The LLM record (schema "llmspy/1"): one per request/response exchange.
#
# Field names follow ../shared/DESIGN.md, which follows the OpenTelemetry GenAI semantic
# conventions where one exists (gen_ai.provider.name, gen_ai.operation.name, usage tokens).
# Every front end (ebpf, proxy, replay) fills the same dataclasses through the same core, so
# records for the same call are identical apart from source, process, connection.id and timing.
# Unknown values are None: never invented.
from __future__ import annotations

import itertools
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "SCHEMA",
    "Process",
    "Connection",
    "Message",
    "Tool",
    "ToolCall",
    "Usage",
    "Error",
    "RequestInfo",
    "ResponseInfo",
    "Timing",
    "Cost",
    "LLMRecord",
    "new_record_id",
]

SCHEMA = "llmspy/1"

_counter = itertools.count(1)
_prefix = f"{os.getpid():x}"


def new_record_id() -> str:
    """A record id unique within this process run: ``"<pid hex>-<n>"``."""
    return f"{_prefix}-{next(_counter)}"


@dataclass(slots=True)
class Process:
    """The traced process. ``comm`` is the kernel's 15-byte task name; ``exe`` a path or None."""

    pid: int
    tid: int | None = None
    comm: str | None = None
    exe: str | None = None


@dataclass(slots=True)
class Connection:
    """One TLS connection. ``server`` is the host name (SNI, :authority or Host) or None;
    ``role`` is which side the traced process is: "client" or "server"."""

    id: str | None = None
    server: str | None = None
    port: int | None = None
    http_version: str | None = None  # "1.1" or "2"
    role: str | None = "client"


@dataclass(slots=True)
class Message:
    """One input message. ``content`` is text (parts joined) or the provider's JSON when not text."""

    role: str | None
    content: Any


@dataclass(slots=True)
class Tool:
    name: str | None
    description: str | None = None


@dataclass(slots=True)
class ToolCall:
    """A tool (function) call made by the model. ``arguments`` is JSON text, merged from
    stream fragments in arrival order."""

    id: str | None
    name: str | None
    arguments: str = ""


@dataclass(slots=True)
class Usage:
    """Token counts, OTel style: ``input_tokens`` includes cached input tokens."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())


@dataclass(slots=True)
class Error:
    type: str | None
    message: str | None


@dataclass(slots=True)
class RequestInfo:
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, redacted
    model: str | None = None
    stream: bool = False
    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # parsed JSON, else None
    body_size: int = 0  # decoded bytes seen
    truncated: bool = False


@dataclass(slots=True)
class ResponseInfo:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    id: str | None = None
    model: str | None = None
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: Error | None = None
    streamed: bool = False
    chunks: int = 0  # stream items (SSE events, NDJSON lines, array elements)
    body: Any = None  # parsed JSON for non-streamed bodies, else None
    body_size: int = 0
    truncated: bool = False


@dataclass(slots=True)
class Timing:
    """Unix seconds (float) for instants; milliseconds for ``ttft_ms`` and ``duration_ms``."""

    start: float | None = None
    first_byte: float | None = None
    first_token: float | None = None
    end: float | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None

    def finish(self) -> None:
        """Derive ``ttft_ms`` and ``duration_ms`` from the instants."""
        if self.start is not None and self.first_token is not None:
            self.ttft_ms = round((self.first_token - self.start) * 1000.0, 3)
        if self.start is not None and self.end is not None:
            self.duration_ms = round((self.end - self.start) * 1000.0, 3)


@dataclass(slots=True)
class Cost:
    usd: float
    source: str  # where the price came from, e.g. "genai-prices 0.0.40"


@dataclass(slots=True)
class LLMRecord:
    """One request/response exchange. ``kind`` is "llm" when a provider recognised it, else
    "http". Serialise with :meth:`to_dict` / :meth:`to_json`."""

    kind: str = "http"
    id: str = field(default_factory=new_record_id)
    source: str = "replay"
    provider: str | None = None
    operation: str | None = None
    api: str | None = None
    process: Process | None = None
    connection: Connection = field(default_factory=Connection)
    request: RequestInfo = field(default_factory=RequestInfo)
    response: ResponseInfo = field(default_factory=ResponseInfo)
    timing: Timing = field(default_factory=Timing)
    cost: Cost | None = None
    complete: bool = True
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # schema first, like the DESIGN.md listing, so a line is easy to eyeball
        return {"schema": d.pop("schema"), **d}

    def to_json(self) -> str:
        """One line of JSON (no newline inside), non-ASCII kept as is."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), default=str)
