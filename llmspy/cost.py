# Cost of a call in USD from token usage, using genai-prices (maintained LLM price data,
# bundled with the package: no network). The price is looked up as of the call's start time.
from __future__ import annotations

import datetime
from functools import lru_cache

from .record import Cost, LLMRecord

__all__ = ["price"]

# OTel provider names -> genai-prices provider ids.
_PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "cohere": "cohere",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together": "together",
    "fireworks": "fireworks",
}


@lru_cache(maxsize=1)
def _source() -> str:
    try:
        from importlib.metadata import version

        return f"genai-prices {version('genai-prices')}"
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "genai-prices"


def price(record: LLMRecord) -> Cost | None:
    """The cost of ``record`` or None when the provider, model or usage is unknown to the price
    data (local models, unknown providers, no usage). Never raises."""
    provider_id = _PROVIDER_IDS.get(record.provider or "")
    model = record.response.model or record.request.model
    u = record.response.usage
    if provider_id is None or not model or (u.input_tokens is None and u.output_tokens is None):
        return None
    try:
        from genai_prices import Usage, calc_price

        kwargs = {
            "input_tokens": u.input_tokens or 0,
            "output_tokens": u.output_tokens or 0,
        }
        if u.cache_read_input_tokens:
            kwargs["cache_read_tokens"] = u.cache_read_input_tokens
        if u.cache_creation_input_tokens:
            kwargs["cache_write_tokens"] = u.cache_creation_input_tokens
        when = None
        if record.timing.start:
            when = datetime.datetime.fromtimestamp(record.timing.start, datetime.UTC)
        calc = calc_price(Usage(**kwargs), model, provider_id=provider_id, genai_request_timestamp=when)
        return Cost(usd=float(calc.total_price), source=_source())
    except Exception:
        # unknown model, or price data that cannot price this usage: no cost rather than a guess
        return None
