# What the OpenAI-shaped APIs share: which endpoint a request is, who serves it, how sure we
# are, and the usage and error objects every one of them returns.
#
# OpenAI's HTTP API is copied by many servers: Azure OpenAI, Mistral, Groq, DeepSeek, Together,
# Fireworks, OpenRouter, xAI, Perplexity, and local servers (vLLM, LM Studio, llama.cpp,
# Ollama's /v1). They keep OpenAI's endpoint names as path suffixes under their own prefixes
# (/v1, /openai/v1, /api/v1, /inference/v1, /openai/deployments/{name}, or none at all), so an
# endpoint is recognised by its path suffix and the serving provider by its host.
#
# Detection (``score``), in falling order of certainty:
#   * a named host (HOST_PROVIDERS, Azure's host suffixes) with an endpoint path;
#   * Azure's /openai/deployments/{name}/ path on another host (API gateways, private DNS);
#   * any other host with an endpoint path AND a request body of that endpoint's shape
#     (``model`` + ``messages`` for chat): "openai_compatible", scored lower so that a
#     provider module that knows the host or path better wins;
#   * any other host with an endpoint path and a Bearer token, body not parsed (cut, not JSON).
# Only POST requests create completions; GET/DELETE on the same paths list or delete stored
# objects and are not LLM calls.
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..record import LLMRecord, Message, RequestInfo
from .base import PARAM_KEYS, Accumulator, HTTPRequest, Provider, as_int, header, params_from

__all__ = [
    "Endpoint",
    "Site",
    "CHAT",
    "COMPLETIONS",
    "EMBEDDINGS",
    "RESPONSES",
    "HOST_PROVIDERS",
    "AZURE_HOST_SUFFIXES",
    "endpoint_of",
    "site_of",
    "score",
    "system_of",
    "set_usage_from",
    "error_from",
    "body_error",
    "ERROR_TEXT_CAP",
    "OpenAIFamilyProvider",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One OpenAI endpoint family. ``suffix`` is the path's tail (after any prefix);
    ``shape`` the body keys of which at least one marks a request of this endpoint."""

    api: str
    operation: str  # OTel gen_ai.operation.name
    suffix: str
    shape: tuple[str, ...]


# OpenAI API reference: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses.
CHAT = Endpoint("openai.chat_completions", "chat", "/chat/completions", ("messages",))
COMPLETIONS = Endpoint("openai.completions", "text_completion", "/completions", ("prompt",))
EMBEDDINGS = Endpoint("openai.embeddings", "embeddings", "/embeddings", ("input",))
RESPONSES = Endpoint("openai.responses", "chat", "/responses", ("input", "instructions", "prompt"))

# CHAT before COMPLETIONS: "/chat/completions" also ends with "/completions".
_ENDPOINTS = (CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES)

# Host -> OTel gen_ai.provider.name. A host matches itself and its subdomains
# ("eu.api.openai.com" is OpenAI's EU data-residency host).
HOST_PROVIDERS: dict[str, str] = {
    "api.openai.com": "openai",
    "api.mistral.ai": "mistral_ai",
    "codestral.mistral.ai": "mistral_ai",
    "api.groq.com": "groq",  # under /openai/v1/
    "api.deepseek.com": "deepseek",  # with or without /v1
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.fireworks.ai": "fireworks",  # under /inference/v1/
    "openrouter.ai": "openrouter",  # under /api/v1/
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",  # no /v1: POST /chat/completions
    # The first-party providers' own OpenAI-compatible endpoints: the provider is still theirs.
    "generativelanguage.googleapis.com": "gcp.gemini",  # /v1beta/openai/chat/completions
    "api.anthropic.com": "anthropic",  # /v1/chat/completions (OpenAI SDK compatibility)
    "api.cohere.com": "cohere",  # /compatibility/v1/chat/completions
    "api.cohere.ai": "cohere",
}

# Azure OpenAI resource hosts (Azure OpenAI REST reference; the newer AI Foundry resources
# serve the same /openai/... paths under cognitiveservices and services.ai).
AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
AZURE = "azure.ai.openai"
COMPATIBLE = "openai_compatible"

_AZURE_DEPLOYMENT = re.compile(r"/openai/deployments/([^/]+)/")

# Scores (see the module comment). Named hosts beat shape matches; Azure's own path is nearly
# as telling as its host; the bonuses rank an unknown host's request between look-alikes.
SCORE_KNOWN_HOST = 0.9
SCORE_AZURE_PATH = 0.7
SCORE_SHAPE = 0.5
SCORE_MODEL_BONUS = 0.05  # the body names a model
SCORE_AUTH_BONUS = 0.05  # Authorization: Bearer ... or Azure's api-key header
SCORE_PATH_AUTH = 0.2  # unknown host, endpoint path, auth header, body not parsed


@dataclass(frozen=True, slots=True)
class Site:
    """Who serves a request: ``provider`` (OTel name), ``known`` (True for a named host),
    ``deployment`` (Azure deployment name from the path, else None)."""

    provider: str
    known: bool
    deployment: str | None = None


def endpoint_of(req: HTTPRequest) -> Endpoint | None:
    """The endpoint a POST request's path names, by suffix; None for other methods/paths."""
    if (req.method or "").upper() != "POST":
        return None
    path = req.path.rstrip("/")
    for ep in _ENDPOINTS:
        if path.endswith(ep.suffix):
            return ep
    return None


def _host_is(host: str, name: str) -> bool:
    return host == name or host.endswith("." + name)


def site_of(req: HTTPRequest) -> Site:
    """The provider serving ``req``, from its host and (for Azure) its path."""
    host = req.host or ""
    m = _AZURE_DEPLOYMENT.search(req.path)
    deployment = unquote(m.group(1)) if m else None
    if host.endswith(AZURE_HOST_SUFFIXES):
        return Site(AZURE, True, deployment)
    for name, provider in HOST_PROVIDERS.items():
        if _host_is(host, name):
            return Site(provider, True, deployment)
    if deployment is not None:  # Azure's path behind a gateway or custom domain
        return Site(AZURE, False, deployment)
    return Site(COMPATIBLE, False)


def _has_auth(req: HTTPRequest) -> bool:
    auth = header(req, "authorization") or ""
    return auth[:7].lower() == "bearer " or header(req, "api-key") is not None


def score(req: HTTPRequest, ep: Endpoint) -> float:
    """How much ``req`` is a call of endpoint ``ep`` (0 = not at all); see the module comment."""
    if endpoint_of(req) is not ep:
        return 0.0
    site = site_of(req)
    if site.known:
        return SCORE_KNOWN_HOST
    if site.provider == AZURE:
        return SCORE_AZURE_PATH
    body = req.json
    auth = SCORE_AUTH_BONUS if _has_auth(req) else 0.0
    if isinstance(body, dict):
        if not any(k in body for k in ep.shape):
            return 0.0
        model = SCORE_MODEL_BONUS if isinstance(body.get("model"), str) else 0.0
        return round(SCORE_SHAPE + model + auth, 3)
    return SCORE_PATH_AUTH if auth else 0.0


def system_of(messages: list[Message], first: str | None = None) -> str | None:
    """The joined text ("\\n" between) of ``first`` and the system/developer messages' text
    contents, or None when there is none."""
    texts = [first] if isinstance(first, str) and first else []
    texts += [
        m.content for m in messages if m.role in ("system", "developer") and isinstance(m.content, str)
    ]
    return "\n".join(texts) if texts else None


def _dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _first_int(d: dict, *keys: str) -> int | None:
    for k in keys:
        v = as_int(d.get(k))
        if v is not None:
            return v
    return None


def set_usage_from(acc: Accumulator, usage: Any) -> None:
    """Copy an OpenAI-style usage object into ``acc``'s usage; fields absent stay as they are.

    Chat/completions/embeddings name them ``prompt_tokens``/``completion_tokens`` with
    ``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``;
    the Responses API ``input_tokens``/``output_tokens`` with ``input_tokens_details`` and
    ``output_tokens_details``. Both input counts already include cached tokens (OTel's rule).
    DeepSeek reports cache hits as ``prompt_cache_hit_tokens``; OpenRouter cache writes as
    ``prompt_tokens_details.cache_write_tokens``. Streams that repeat cumulative usage on every
    chunk (vLLM's continuous usage stats, Perplexity) leave the last one in place.
    """
    if not isinstance(usage, dict):
        return
    inp = _dict(usage.get("prompt_tokens_details")) or _dict(usage.get("input_tokens_details"))
    out = _dict(usage.get("completion_tokens_details")) or _dict(usage.get("output_tokens_details"))
    cached = as_int(inp.get("cached_tokens"))
    if cached is None:
        cached = as_int(usage.get("prompt_cache_hit_tokens"))
    acc.set_usage(
        input_tokens=_first_int(usage, "prompt_tokens", "input_tokens"),
        output_tokens=_first_int(usage, "completion_tokens", "output_tokens"),
        total_tokens=usage.get("total_tokens"),
        cache_read_input_tokens=cached,
        cache_creation_input_tokens=_first_int(inp, "cache_write_tokens", "cache_creation_tokens"),
        reasoning_tokens=out.get("reasoning_tokens"),
    )


# Characters of a non-JSON error body kept as the error message: enough for a gateway's
# plain-text or HTML error page to be recognisable, short enough for one terminal screen.
ERROR_TEXT_CAP = 2000


def _error_type(err: dict) -> str | None:
    # The most specific label: a string code ("context_length_exceeded", "content_filter",
    # "DeploymentNotFound"), else the type ("invalid_request_error"), else a numeric code
    # (OpenRouter and vLLM put the HTTP status there).
    code, kind = err.get("code"), err.get("type")
    if isinstance(code, str) and code:
        return code
    if isinstance(kind, str) and kind:
        return kind
    n = as_int(code)
    return str(n) if n is not None else None


def error_from(acc: Accumulator, obj: Any) -> bool:
    """Record the error in ``obj`` and return True, if it holds one. Shapes (OpenAI, Azure,
    Groq, OpenRouter: ``{"error": {message, type, code, ...}}``; vLLM and Mistral:
    ``{"object": "error", message, type, code}``; Responses stream ``{"type": "error", code,
    message}`` or with a nested ``error``; some local servers ``{"error": "text"}``)."""
    if not isinstance(obj, dict):
        return False
    err = obj.get("error")
    if isinstance(err, str) and err:
        acc.set_error(None, err)
        return True
    if isinstance(err, dict):
        acc.set_error(_error_type(err), err.get("message"))
        return True
    if obj.get("object") == "error" or obj.get("type") == "error":
        src = {k: v for k, v in obj.items() if not (k == "type" and v == "error")}
        acc.set_error(_error_type(src) or "error", obj.get("message"))
        return True
    return False


def body_error(acc: Accumulator, data: Any, text: str) -> bool:
    """Record the error of a whole response body: an error object (see :func:`error_from`),
    or for a status >= 400 a FastAPI-style ``{"detail": ...}`` or the text itself (capped at
    ERROR_TEXT_CAP). Returns True when an error was recorded."""
    if error_from(acc, data):
        return True
    status = acc.response.status
    if status is None or status < 400:
        return False
    if isinstance(data, dict) and "detail" in data:
        acc.set_error(None, data["detail"])
    else:
        acc.set_error(None, (text or "")[:ERROR_TEXT_CAP] or None)
    return True


class OpenAIFamilyProvider(Provider):
    """Base of the OpenAI-shaped endpoint providers: matching by :func:`score`, and the
    request fields every endpoint shares. Subclasses set ``endpoint``, ``name`` (the api
    value), ``extra_params`` (wire names kept in request.params besides base.py's common
    ones) and implement :meth:`parse_body`.

    request.model is the body's ``model``. Azure deployment paths usually carry none: the
    deployment name (a user-chosen alias, not a model name) goes to ``params["deployment"]``
    and the query's ``api-version`` to ``params["api-version"]``; the real model name comes
    from the response's ``model``."""

    endpoint: Endpoint = CHAT
    extra_params: tuple[str, ...] = ()

    def match(self, req: HTTPRequest) -> float:
        return score(req, self.endpoint)

    def parse_request(self, req: HTTPRequest, record: LLMRecord) -> None:
        site = site_of(req)
        record.provider = site.provider
        record.operation = self.endpoint.operation
        record.api = self.endpoint.api
        body = req.json if isinstance(req.json, dict) else {}
        rq = record.request
        if isinstance(body.get("model"), str) and body["model"]:
            rq.model = body["model"]
        rq.stream = body.get("stream") is True
        rq.params = params_from(body, PARAM_KEYS + self.extra_params)
        if site.deployment:
            rq.params["deployment"] = site.deployment
        version = req.query.get("api-version")
        if version:
            rq.params["api-version"] = version[0]
        self.parse_body(body, rq)

    def parse_body(self, body: dict, rq: RequestInfo) -> None:
        """Fill messages, system and tools from the request body (``{}`` when not JSON)."""
