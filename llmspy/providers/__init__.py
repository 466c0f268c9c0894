# The provider registry: every API family module lists its providers in ``PROVIDERS``;
# ``classify`` asks each how much a request is its own and picks the best (mitmproxy's
# contentviews registry, STYLE.md §2). A provider that raises in ``match`` is skipped.
from __future__ import annotations

from . import anthropic, cohere, gemini, ollama, openai
from .base import HTTPRequest, Provider

__all__ = ["PROVIDERS", "classify"]

PROVIDERS: list[Provider] = [
    p for module in (openai, anthropic, gemini, cohere, ollama) for p in module.PROVIDERS
]


def classify(req: HTTPRequest) -> Provider | None:
    """The provider whose ``match`` scores ``req`` highest, or None when none scores > 0."""
    best, best_score = None, 0.0
    for p in PROVIDERS:
        try:
            score = p.match(req)
        except Exception:
            continue
        if score > best_score:
            best, best_score = p, score
    return best
