# Detection of OpenAI-shaped requests (host, path, auth, body shape) and the usage and error
# objects the OpenAI-compatible APIs share. Hosts and paths are the documented base URLs.
import pytest

from llmspy.providers import compat
from llmspy.providers.base import Accumulator
from llmspy.providers.openai import PROVIDERS
from llmspy.record import LLMRecord

from .openai_support import best, request

CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
COMPLETION_BODY = {"model": "m", "prompt": "def f(", "suffix": "return 1"}
EMBED_BODY = {"model": "m", "input": "hello"}
RESP_BODY = {"model": "m", "input": "hi"}


@pytest.mark.parametrize(
    "url, body, provider, api",
    [
        ("https://api.openai.com/v1/chat/completions", CHAT_BODY, "openai", "openai.chat_completions"),
        ("https://api.openai.com/v1/completions", COMPLETION_BODY, "openai", "openai.completions"),
        ("https://api.openai.com/v1/embeddings", EMBED_BODY, "openai", "openai.embeddings"),
        ("https://api.openai.com/v1/responses", RESP_BODY, "openai", "openai.responses"),
        ("https://eu.api.openai.com/v1/responses", RESP_BODY, "openai", "openai.responses"),
        ("https://api.mistral.ai/v1/chat/completions", CHAT_BODY, "mistral_ai", "openai.chat_completions"),
        ("https://api.mistral.ai/v1/fim/completions", COMPLETION_BODY, "mistral_ai", "openai.completions"),
        ("https://api.groq.com/openai/v1/chat/completions", CHAT_BODY, "groq", "openai.chat_completions"),
        ("https://api.deepseek.com/chat/completions", CHAT_BODY, "deepseek", "openai.chat_completions"),
        ("https://api.deepseek.com/beta/completions", COMPLETION_BODY, "deepseek", "openai.completions"),
        ("https://api.together.xyz/v1/embeddings", EMBED_BODY, "together", "openai.embeddings"),
        ("https://api.together.ai/v1/chat/completions", CHAT_BODY, "together", "openai.chat_completions"),
        ("https://api.fireworks.ai/inference/v1/chat/completions", CHAT_BODY, "fireworks", "openai.chat_completions"),
        ("https://openrouter.ai/api/v1/chat/completions", CHAT_BODY, "openrouter", "openai.chat_completions"),
        ("https://openrouter.ai/api/v1/responses", RESP_BODY, "openrouter", "openai.responses"),
        ("https://api.x.ai/v1/responses", RESP_BODY, "x_ai", "openai.responses"),
        ("https://api.perplexity.ai/chat/completions", CHAT_BODY, "perplexity", "openai.chat_completions"),
        ("https://api.cohere.com/compatibility/v1/chat/completions", CHAT_BODY, "cohere", "openai.chat_completions"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/chat/completions", CHAT_BODY, "gcp.gemini",
         "openai.chat_completions"),
        (
            "https://myres.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
            {"messages": [{"role": "user", "content": "hi"}]},
            "azure.ai.openai",
            "openai.chat_completions",
        ),
        ("https://myres.cognitiveservices.azure.com/openai/v1/responses", RESP_BODY, "azure.ai.openai", "openai.responses"),
        (
            "https://myres.openai.azure.com/openai/responses?api-version=2025-04-01-preview",
            RESP_BODY,
            "azure.ai.openai",
            "openai.responses",
        ),
        # a known host is enough when the body could not be parsed
        ("https://api.openai.com/v1/chat/completions", None, "openai", "openai.chat_completions"),
    ],
)
def test_known_hosts(url, body, provider, api):
    req = request(url, body, headers={})  # no auth header: the host alone decides
    p, score = best(req, PROVIDERS)
    assert p is not None and p.name == api
    assert score == compat.SCORE_KNOWN_HOST
    assert sum(1 for q in PROVIDERS if q.match(req) > 0) == 1
    rec = LLMRecord()
    p.parse_request(req, rec)
    assert (rec.provider, rec.api) == (provider, api)


def test_operations():
    ops = {p.name: p.endpoint.operation for p in PROVIDERS}
    assert ops == {
        "openai.chat_completions": "chat",
        "openai.completions": "text_completion",
        "openai.embeddings": "embeddings",
        "openai.responses": "chat",
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/v1/chat/completions",  # vLLM
        "http://127.0.0.1:1234/v1/chat/completions",  # LM Studio
        "http://localhost:11434/v1/chat/completions",  # Ollama's OpenAI compatibility
        "http://localhost:8080/chat/completions/",  # llama.cpp, trailing slash
    ],
)
def test_unknown_host_matches_on_shape(url):
    p, score = best(request(url, CHAT_BODY), PROVIDERS)
    assert p.name == "openai.chat_completions"
    assert score == 0.6  # SCORE_SHAPE + SCORE_MODEL_BONUS + SCORE_AUTH_BONUS
    rec = LLMRecord()
    p.parse_request(request(url, CHAT_BODY), rec)
    assert rec.provider == "openai_compatible"


def test_unknown_host_scores_below_known_host():
    _, unknown = best(request("http://localhost:8000/v1/chat/completions", CHAT_BODY), PROVIDERS)
    _, known = best(request("https://api.openai.com/v1/chat/completions", CHAT_BODY, headers={}), PROVIDERS)
    assert 0 < unknown < known


def test_unknown_host_shape_bonuses():
    url = "http://localhost:8000/v1/chat/completions"
    bare = request(url, {"messages": []}, headers={})
    assert best(bare, PROVIDERS)[1] == compat.SCORE_SHAPE
    azure_key = request(url, {"messages": []}, headers={"api-key": "k"})
    assert best(azure_key, PROVIDERS)[1] == 0.55  # SCORE_SHAPE + SCORE_AUTH_BONUS


def test_unknown_host_wrong_shape_is_not_ours():
    req = request("http://localhost:8000/v1/chat/completions", {"model": "m", "contents": []})
    assert best(req, PROVIDERS) == (None, 0.0)


def test_unknown_host_unparsed_body_needs_auth():
    url = "http://localhost:8000/v1/chat/completions"
    assert best(request(url, None), PROVIDERS)[1] == compat.SCORE_PATH_AUTH
    assert best(request(url, None, headers={}), PROVIDERS) == (None, 0.0)


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", "https://api.openai.com/v1/chat/completions"),  # lists stored completions
        ("POST", "https://api.openai.com/v1/audio/speech"),
        ("POST", "https://api.openai.com/v1/responses/resp_1/cancel"),
        ("POST", "http://localhost:8000/v1/messages"),  # Anthropic's shape, not ours
        (None, "https://api.openai.com/v1/chat/completions"),  # head not decoded
    ],
)
def test_not_ours(method, url):
    assert best(request(url, CHAT_BODY, method=method), PROVIDERS) == (None, 0.0)


def test_azure_deployment_path_on_gateway_host():
    url = "https://gw.example.com/openai/deployments/chat%20prod/chat/completions?api-version=2024-10-21"
    req = request(url, {"messages": [{"role": "user", "content": "x"}]}, headers={"api-key": "k"})
    p, score = best(req, PROVIDERS)
    assert (p.name, score) == ("openai.chat_completions", compat.SCORE_AZURE_PATH)
    rec = LLMRecord()
    p.parse_request(req, rec)
    assert rec.provider == "azure.ai.openai"
    assert rec.request.model is None
    assert rec.request.params == {"deployment": "chat prod", "api-version": "2024-10-21"}


# -- usage ---------------------------------------------------------------------------------------


def _acc() -> Accumulator:
    rec = LLMRecord()
    return Accumulator(request("https://api.openai.com/v1/chat/completions", {}), rec)


def test_usage_chat_names_with_details():
    acc = _acc()
    compat.set_usage_from(
        acc,
        {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
        },
    )
    u = acc.response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (1200, 300, 1500)
    assert (u.cache_read_input_tokens, u.reasoning_tokens) == (1024, 256)
    assert u.cache_creation_input_tokens is None


def test_usage_responses_names():
    acc = _acc()
    compat.set_usage_from(
        acc,
        {
            "input_tokens": 40,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 90,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 130,
        },
    )
    u = acc.response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_read_input_tokens, u.reasoning_tokens) == (
        40, 90, 130, 0, 64,
    )


def test_usage_deepseek_cache_hits_and_openrouter_cache_writes():
    acc = _acc()
    compat.set_usage_from(
        acc, {"prompt_tokens": 70, "completion_tokens": 5, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 6}
    )
    assert acc.response.usage.cache_read_input_tokens == 64
    acc2 = _acc()
    compat.set_usage_from(acc2, {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 7}})
    assert (acc2.response.usage.cache_read_input_tokens, acc2.response.usage.cache_creation_input_tokens) == (2, 7)


def test_usage_absent_fields_are_kept_and_junk_ignored():
    acc = _acc()
    compat.set_usage_from(acc, {"prompt_tokens": 5, "completion_tokens": 1})
    compat.set_usage_from(acc, {"completion_tokens": 7, "total_tokens": "12", "prompt_tokens_details": None})
    compat.set_usage_from(acc, None)
    compat.set_usage_from(acc, [1, 2])
    u = acc.response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (5, 7, None)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (  # OpenAI
            {"error": {"message": "Incorrect API key provided: sk-te***st.", "type": "invalid_request_error",
                       "param": None, "code": "invalid_api_key"}},
            ("invalid_api_key", "Incorrect API key provided: sk-te***st."),
        ),
        (  # OpenAI rate limit: the code is more specific than the type
            {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
            ("rate_limit_exceeded", "Rate limit reached"),
        ),
        (  # Azure
            {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}},
            ("DeploymentNotFound", "The API deployment for this resource does not exist."),
        ),
        (  # OpenRouter: numeric code
            {"error": {"code": 402, "message": "Insufficient credits", "metadata": {}}},
            ("402", "Insufficient credits"),
        ),
        (  # vLLM / Mistral: top-level error object
            {"object": "error", "message": "max_tokens too large", "type": "BadRequestError", "param": None, "code": 400},
            ("BadRequestError", "max_tokens too large"),
        ),
        ({"error": "model 'x' not found"}, (None, "model 'x' not found")),  # plain string
    ],
)
def test_error_objects(data, expected):
    acc = _acc()
    acc.response.status = 400
    assert compat.body_error(acc, data, "ignored")
    assert (acc.response.error.type, acc.response.error.message) == expected


def test_error_detail_and_text_bodies():
    acc = _acc()
    acc.response.status = 422
    assert compat.body_error(acc, {"detail": [{"loc": ["body", "model"], "msg": "field required"}]}, "")
    assert acc.response.error.type is None
    assert "field required" in acc.response.error.message

    acc = _acc()
    acc.response.status = 502
    page = "<html>" + "x" * 5000 + "</html>"
    assert compat.body_error(acc, None, page)
    assert acc.response.error.message == page[: compat.ERROR_TEXT_CAP]


def test_no_error_on_success():
    acc = _acc()
    acc.response.status = 200
    assert not compat.body_error(acc, {"id": "x", "error": None}, "{}")
    assert not compat.body_error(acc, None, "not json")
    assert acc.response.error is None
