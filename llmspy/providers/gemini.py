# Google Gemini API (generativelanguage.googleapis.com, provider "gcp.gemini") and Gemini on
# Vertex AI ({region}-aiplatform.googleapis.com, provider "gcp.vertex_ai"): the model methods
# ``{model}:generateContent``, ``:streamGenerateContent``, ``:countTokens``, ``:embedContent``
# and ``:batchEmbedContents`` (Gemini API reference, "Generating content", "Counting tokens",
# "Embeddings"; Vertex AI REST reference ``projects.locations.publishers.models``).
#
# Approach: the model comes from the URL (``models/{model}:method``, "models/" stripped). A
# streamed call returns a sequence of GenerateContentResponse objects: as SSE with ``?alt=sse``,
# else as one JSON array whose elements arrive over time (framing "json-array"). Every chunk
# and a whole response go through the same chunk handler.
#
# Quirks handled:
#  * ``usageMetadata`` is CUMULATIVE on every chunk: the last one is taken, nothing is added.
#  * Token mapping follows genai-prices' Google extractor (and OTel: input includes cached):
#    input = promptTokenCount (already includes cachedContentTokenCount) +
#    toolUsePromptTokenCount; output = candidatesTokenCount + thoughtsTokenCount (thinking is
#    billed as output); reasoning = thoughtsTokenCount; cache_read = cachedContentTokenCount;
#    total = totalTokenCount (= the sum of the four, per the API reference).
#  * Each ``functionCall`` part is one whole call (arguments = JSON of ``args``).
#  * An error can arrive after some SSE events as a raw, pretty-printed JSON object outside
#    any ``data:`` line; such lines are collected (bounded) until they parse. Error bodies may
#    also be a one-element array.
#  * Proto3 JSON accepts both lowerCamelCase and the proto field names, so request fields are
#    read in both spellings (``systemInstruction`` / ``system_instruction``, ...).
from __future__ import annotations

import json
import re
from typing import Any

from ..record import LLMRecord, Message, Tool
from .base import (
    Accumulator,
    HTTPRequest,
    Provider,
    StreamItem,
    as_dict,
    as_int,
    as_list,
    sum_ints,
    text_of,
)

__all__ = ["GeminiProvider", "GeminiAccumulator", "PROVIDERS"]

GEMINI_HOST = "generativelanguage.googleapis.com"
VERTEX_HOST_SUFFIX = "aiplatform.googleapis.com"

# Raw (non-SSE) lines of an error object are collected up to this many characters. Google's
# error objects, with their ``details``, are a few KiB; 64 KiB bounds a stream of junk lines.
MAX_RAW_ERROR_CHARS = 64 * 1024

_METHOD_RE = re.compile(
    r"/(?P<model>(?:models|tunedModels|endpoints)/[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$"
)

_OPERATIONS = {
    "generateContent": ("generate_content", "gemini.generate_content"),
    "streamGenerateContent": ("generate_content", "gemini.generate_content"),
    "countTokens": ("count_tokens", "gemini.count_tokens"),
    "embedContent": ("embeddings", "gemini.embed_content"),
    "batchEmbedContents": ("embeddings", "gemini.embed_content"),
}


def _get(d: dict, camel: str, snake: str) -> Any:
    """A field under its JSON (lowerCamelCase) or proto (snake_case) name."""
    v = d.get(camel)
    return d.get(snake) if v is None else v


def _method(req: HTTPRequest) -> tuple[str, str] | None:
    """(model, method) from the URL path, e.g. ("gemini-2.5-flash", "streamGenerateContent")."""
    m = _METHOD_RE.search(req.path)
    if not m:
        return None
    model = m["model"]
    return (model[len("models/"):] if model.startswith("models/") else model), m["method"]


def _is_vertex(req: HTTPRequest) -> bool:
    host = req.host or ""
    return host.endswith(VERTEX_HOST_SUFFIX) or ("/projects/" in req.path and "/locations/" in req.path)


def _contents_shape(body: Any) -> bool:
    """A GenerateContentRequest body: ``contents`` is a list of objects with ``parts``."""
    contents = as_dict(body).get("contents")
    return isinstance(contents, list) and any(isinstance(as_dict(c).get("parts"), list) for c in contents)


def _content_text(content: Any) -> Any:
    """A Content object's parts as text (text parts joined), or the parts' JSON when some are
    not text (functionCall, functionResponse, inlineData...). A bare string stays a string."""
    if isinstance(content, str):
        return content
    return text_of(as_dict(content).get("parts"))


def _messages(contents: Any) -> list[Message]:
    if isinstance(contents, dict):  # a single Content is accepted by some clients
        contents = [contents]
    return [Message(role=as_dict(c).get("role"), content=_content_text(c)) for c in as_list(contents)]


def _tools(tools: Any) -> list[Tool]:
    """Function declarations by name; other tool kinds (googleSearch, codeExecution, ...) by
    their key."""
    out: list[Tool] = []
    for t in as_list(tools):
        for key, value in as_dict(t).items():
            if key in ("functionDeclarations", "function_declarations"):
                for f in as_list(value):
                    f = as_dict(f)
                    desc = f.get("description")
                    out.append(Tool(name=f.get("name"), description=desc if isinstance(desc, str) else None))
            else:
                out.append(Tool(name=key))
    return out


class GeminiProvider(Provider):
    """Gemini generateContent family on the Gemini API and Vertex AI."""

    name = "gemini"

    def match(self, req: HTTPRequest) -> float:
        if (req.method or "POST").upper() != "POST":  # GET/DELETE on these paths are not calls
            return 0.0
        if _method(req) is None:
            if not req.path and _contents_shape(req.json):  # headers unknown: body shape
                host = req.host or ""
                return 0.9 if host == GEMINI_HOST or host.endswith(VERTEX_HOST_SUFFIX) else 0.4
            return 0.0
        host = req.host or ""
        if host == GEMINI_HOST or host.endswith(VERTEX_HOST_SUFFIX):
            return 1.0
        return 0.7  # a gateway or proxy forwarding the Gemini REST paths

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        model, method = _method(req) or (None, "generateContent")
        record.provider = "gcp.vertex_ai" if _is_vertex(req) else "gcp.gemini"
        record.operation, record.api = _OPERATIONS[method]
        b = as_dict(req.json)
        inner = _get(b, "generateContentRequest", "generate_content_request")
        if method == "countTokens" and isinstance(inner, dict):
            b = inner
        r = record.request
        body_model = b.get("model")
        if model is None and isinstance(body_model, str):
            model = body_model[len("models/"):] if body_model.startswith("models/") else body_model
        r.model = model
        r.stream = method == "streamGenerateContent"
        if method == "embedContent":
            r.messages = [Message(role=None, content=_content_text(b.get("content")))]
        elif method == "batchEmbedContents":
            requests = as_list(b.get("requests"))
            r.messages = [Message(None, _content_text(as_dict(q).get("content"))) for q in requests]
        else:
            r.messages = _messages(b.get("contents"))
        system = _get(b, "systemInstruction", "system_instruction")
        if system is not None:
            text = _content_text(system)
            r.system = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
        r.tools = _tools(b.get("tools"))
        config = as_dict(_get(b, "generationConfig", "generation_config"))
        r.params = dict(config)
        for key in ("taskType", "task_type", "outputDimensionality", "output_dimensionality"):
            if key in b:  # embedContent parameters
                r.params[key] = b[key]

    def accumulator(self, req: HTTPRequest, record: LLMRecord) -> Accumulator:
        return GeminiAccumulator(req, record)

    def framing(self, req: HTTPRequest, content_type: str | None) -> str | None:
        """streamGenerateContent: SSE with ``alt=sse``, else a streamed JSON array. A JSON
        error answer to an ``alt=sse`` request is a whole body."""
        framing = super().framing(req, content_type)
        if framing is not None:
            return framing
        m = _method(req)
        if m is None or m[1] != "streamGenerateContent":
            return None
        if "sse" in req.query.get("alt", []):
            return "sse" if not content_type else None
        return "json-array"


class GeminiAccumulator(Accumulator):
    """Builds record.response from GenerateContentResponse chunks (SSE events or JSON array
    elements) or a whole response, countTokens or embedContent result, or error body."""

    def __init__(self, req: HTTPRequest, record: LLMRecord):
        super().__init__(req, record)
        self._usage_metadata: dict = {}
        self._call_count = 0  # functionCall parts seen: each is a new call
        self._block_reason: str | None = None
        self._total_tokens: int | None = None  # countTokens
        self._raw_lines: list[str] = []
        self._raw_chars = 0

    def item(self, item: StreamItem) -> list[tuple[str, str]]:
        if item.json is None:
            return self._raw_line(item.data)
        return self._any(item.json)

    def body(self, data: Any, text: str) -> None:
        self._any(data)

    def _any(self, data: Any) -> list[tuple[str, str]]:
        if isinstance(data, list):  # a whole streamed array, or a one-element error array
            out: list[tuple[str, str]] = []
            for d in data:
                out += self._chunk(as_dict(d))
            return out
        return self._chunk(as_dict(data))

    def _raw_line(self, line: str) -> list[tuple[str, str]]:
        """Collect lines of a JSON object sent outside SSE ``data:`` lines until they parse."""
        if not line or (not self._raw_lines and not line.lstrip().startswith(("{", "["))):
            return []
        self._raw_lines.append(line)
        self._raw_chars += len(line)
        if self._raw_chars > MAX_RAW_ERROR_CHARS:
            self._raw_lines, self._raw_chars = [], 0
            return []
        try:
            data = json.loads("\n".join(self._raw_lines))
        except (ValueError, RecursionError):
            return []
        self._raw_lines, self._raw_chars = [], 0
        return self._any(data)

    def _chunk(self, d: dict) -> list[tuple[str, str]]:
        if "error" in d:
            err = d["error"]
            e = as_dict(err)
            etype = e.get("status") if isinstance(e.get("status"), str) else None
            if etype is None and as_int(e.get("code")) is not None:
                etype = str(e["code"])
            self.set_error(etype, e.get("message") if e else err)
            return []
        self.set_once("id", d.get("responseId"))
        self.set_once("model", d.get("modelVersion"))
        usage = d.get("usageMetadata")
        if isinstance(usage, dict):
            self._usage_metadata = usage  # cumulative: the last one wins
        reason = as_dict(d.get("promptFeedback")).get("blockReason")
        if isinstance(reason, str):
            self._block_reason = reason
        if as_int(d.get("totalTokens")) is not None:
            self._total_tokens = as_int(d["totalTokens"])
        out: list[tuple[str, str]] = []
        candidates = [as_dict(c) for c in as_list(d.get("candidates"))]
        # With candidateCount > 1 the first candidate (index 0) is recorded.
        first = next((c for c in candidates if as_int(c.get("index")) in (0, None)), None)
        if first is None:
            return out
        for part in as_list(as_dict(first.get("content")).get("parts")):
            part = as_dict(part)
            call = part.get("functionCall")
            if isinstance(call, dict):
                self._call_count += 1
                key = ("functionCall", self._call_count)
                out += self.tool_call(key, call.get("id"), call.get("name"), call.get("args", {}))
            elif part.get("thought") is True:
                out += self.add_reasoning(part.get("text"))
            else:
                out += self.add_text(part.get("text"))
        if isinstance(first.get("finishReason"), str):
            self.response.finish_reason = first["finishReason"]
            self.ended = True  # the last chunk carries the finish reason (and final usage)
        return out

    def finish(self) -> None:
        um = self._usage_metadata
        thoughts = um.get("thoughtsTokenCount")
        self.set_usage(
            input_tokens=sum_ints(um.get("promptTokenCount"), um.get("toolUsePromptTokenCount")),
            output_tokens=sum_ints(um.get("candidatesTokenCount"), thoughts),
            total_tokens=um.get("totalTokenCount"),
            cache_read_input_tokens=um.get("cachedContentTokenCount"),
            reasoning_tokens=thoughts,
        )
        if self._total_tokens is not None and self.response.usage.input_tokens is None:
            self.set_usage(input_tokens=self._total_tokens)  # countTokens result
        if self.response.finish_reason is None and self._block_reason:
            self.response.finish_reason = self._block_reason  # prompt blocked: no candidates
        super().finish()


PROVIDERS = [GeminiProvider()]
