# Helpers for the OpenAI-family provider tests: build requests and stream items the way the
# core would (HTTPRequest.build; StreamItem with the SSE data text and its parsed JSON), and
# drive a provider through one exchange without the core.
from __future__ import annotations

import json
from typing import Any

from llmspy.core.events import StreamItem
from llmspy.providers.base import HTTPRequest, Provider
from llmspy.record import LLMRecord

BEARER = {"authorization": "Bearer sk-test", "content-type": "application/json"}


def request(url: str, body: Any = None, headers: dict | None = None, method: str = "POST") -> HTTPRequest:
    raw = json.dumps(body).encode() if body is not None else b""
    return HTTPRequest.build(method, url, dict(BEARER if headers is None else headers), raw, body)


def sse(obj: Any, event: str | None = None) -> StreamItem:
    """One SSE event as the SSE decoder hands it over: ``obj`` a JSON value or raw text."""
    data = obj if isinstance(obj, str) else json.dumps(obj)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return StreamItem(data=data, json=parsed, event=event)


def best(req: HTTPRequest, providers: list[Provider]) -> tuple[Provider | None, float]:
    scores = [(p.match(req), p) for p in providers]
    score, p = max(scores, key=lambda sp: sp[0])
    return (p if score > 0 else None), score


def exchange(provider: Provider, req: HTTPRequest, *, items=None, body: Any = None, text: str | None = None,
             status: int = 200) -> tuple[LLMRecord, list[tuple[str, str]]]:
    """parse_request, then the response as stream ``items`` or a whole ``body``, then finish."""
    rec = LLMRecord()
    provider.parse_request(req, rec)
    rec.response.status = status
    acc = provider.accumulator(req, rec)
    deltas: list[tuple[str, str]] = []
    if items is not None:
        for it in items:
            deltas += acc.item(it)
    else:
        acc.body(body, json.dumps(body) if text is None else text)
    acc.finish()
    return rec, deltas
