# The fake provider against every real client: official SDKs (openai, anthropic, google-genai,
# cohere), curl, Node's fetch and httpx, over HTTP/1.1 and HTTP/2, streamed and not.
#
# If an SDK parses what the server sent into exactly the scripted text, tool calls, finish
# reason and usage, the server speaks that provider's wire format. Expected values are written
# here by hand from the scripts below (including each provider's usage field mapping), never
# taken from the server code. Clients run in parallel (module fixture) to keep the suite short.
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmspy.fake import DEFAULT_TEXT_REPLIES, FakeProvider, Reply, ToolCall, Usage, clients
from llmspy.fake import expected
from llmspy.fake.scripts import RequestView
from llmspy.fake.server import route
from llmspy.fake.wire import render

pytestmark = pytest.mark.timeout(180)

USAGE = Usage(input_tokens=100, output_tokens=20, cache_read_input_tokens=30,
              cache_creation_input_tokens=10, reasoning_tokens=5)
TEXT = ("Bonjour", ", ", "le ", "monde", " — ça va ☕")
TEXT_JOINED = "Bonjour, le monde — ça va ☕"
ARGS = ('{"city":', ' "Lyon", "unit"', ': "celsius"}')
ARGS_OBJ = {"city": "Lyon", "unit": "celsius"}
MODELS = {"openai.chat_completions": "gpt-4o-2024-08-06", "openai.responses": "o4-mini-2025-04-16",
          "anthropic.messages": "claude-3-5-haiku-20241022",
          "gemini.generate_content": "gemini-2.5-flash", "cohere.chat.v2": "command-r7b-12-2024"}


def text_reply(api: str) -> Reply:
    return Reply(text=TEXT, usage=USAGE, model=MODELS[api], id=f"id-text-{api}")


def tool_reply(api: str) -> Reply:
    calls = (ToolCall("call_A1", "get_weather", ARGS), ToolCall("call_B2", "get_time", ('{}',)))
    text = () if api == "gemini.generate_content" else ("Checking", " now.")
    return Reply(text=text, tool_calls=calls, usage=USAGE, model=MODELS[api], id=f"id-tool-{api}")


def by_tools(api: str):
    return lambda req: tool_reply(api) if req.json.get("tools") else text_reply(api)


SCRIPTS = {api: by_tools(api) for api in MODELS}

# Wire-level usage as each SDK exposes it, from USAGE (100 in incl. 30 cache read + 10 cache
# write, 20 out incl. 5 reasoning).
OPENAI_USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                "prompt_tokens_details": {"cached_tokens": 30},
                "completion_tokens_details": {"reasoning_tokens": 5}}
RESPONSES_USAGE = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120,
                   "input_tokens_details": {"cached_tokens": 30},
                   "output_tokens_details": {"reasoning_tokens": 5}}
ANTHROPIC_USAGE = {"input_tokens": 60, "output_tokens": 20, "cache_read_input_tokens": 30,
                   "cache_creation_input_tokens": 10}
GEMINI_USAGE = {"prompt_token_count": 100, "candidates_token_count": 15,
                "thoughts_token_count": 5, "cached_content_token_count": 30,
                "total_token_count": 120}
COHERE_USAGE = {"billed_units": {"input_tokens": 100, "output_tokens": 20},
                "tokens": {"input_tokens": 100, "output_tokens": 20}}

SDKS = {  # api -> (runner, wire usage, finish reasons (text, tools))
    "openai.chat_completions": (clients.openai_chat, OPENAI_USAGE, ("stop", "tool_calls")),
    "openai.responses": (clients.openai_responses, RESPONSES_USAGE, ("completed", "completed")),
    "anthropic.messages": (clients.anthropic_messages, ANTHROPIC_USAGE, ("end_turn", "tool_use")),
    "gemini.generate_content": (clients.gemini_generate, GEMINI_USAGE, ("STOP", "STOP")),
    "cohere.chat.v2": (clients.cohere_chat, COHERE_USAGE, ("COMPLETE", "TOOL_CALL")),
}
# Every (stream, tools) combination per SDK, spread over HTTP/1.1 and HTTP/2.
SDK_CASES = [(api, stream, tools, http2) for api in SDKS
             for stream, tools, http2 in ((False, False, False), (False, True, True),
                                          (True, False, True), (True, True, False))]


def _case_id(case) -> str:
    api, stream, tools, http2 = case
    mode = f"{'stream' if stream else 'whole'}-{'tools' if tools else 'text'}"
    return f"{api}-{mode}-h{2 if http2 else 1}"


@pytest.fixture(scope="module")
def fake():
    with FakeProvider(scripts=SCRIPTS) as server:
        yield server


@pytest.fixture(scope="module")
def hosts_file(tmp_path_factory):
    return clients.write_hosts_file(tmp_path_factory.mktemp("hosts"))


def _raw_cases(fake, hosts_file):
    """name -> thunk starting one raw client (wait=False)."""
    ca = fake.ca_pem_path

    def raw(runner, api, streamed, host="localhost", tools=False, sse=True, **kw):
        path, headers, body = clients.provider_request(api, stream=streamed, tools=tools,
                                                       gemini_sse=sse)
        return lambda: runner(fake.url(host) + path, body=body, headers=headers, ca=ca,
                              wait=False, **kw)

    return {
        "curl-openai-stream-h1": raw(clients.curl, "openai.chat_completions", True, stream=True),
        "curl-anthropic-stream-h2-tools": raw(clients.curl, "anthropic.messages", True,
                                              tools=True, stream=True, http2=True),
        "curl-gemini-array-h2": raw(clients.curl, "gemini.generate_content", True, stream=True,
                                    http2=True, sse=False),
        "curl-cohere-whole-h1-hosts": raw(clients.curl, "cohere.chat.v2", False,
                                          host="api.cohere.com", hosts_file=hosts_file),
        "node-cohere-stream": raw(clients.node_fetch, "cohere.chat.v2", True),
        "node-gemini-sse-hosts": raw(clients.node_fetch, "gemini.generate_content", True,
                                     host="generativelanguage.googleapis.com",
                                     hosts_file=hosts_file),
        "httpx-responses-stream-h2-tools": raw(clients.httpx_request, "openai.responses", True,
                                               tools=True),
        "httpx-anthropic-whole-h2": raw(clients.httpx_request, "anthropic.messages", False),
    }


@pytest.fixture(scope="module")
def results(fake, hosts_file):
    """Run every client once, a few at a time; name -> ClientResult."""
    thunks = {}
    for case in SDK_CASES:
        api, stream, tools, http2 = case
        runner = SDKS[api][0]
        thunks[_case_id(case)] = (lambda r=runner, s=stream, t=tools, h=http2: r(
            "localhost", fake.port, ca=fake.ca_pem_path, stream=s, tools=t, http2=h,
            wait=False))
    thunks["openai-hosts-file"] = lambda: clients.openai_chat(
        "api.openai.com", fake.port, ca=fake.ca_pem_path, stream=True, hosts_file=hosts_file,
        wait=False)
    thunks.update(_raw_cases(fake, hosts_file))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:  # 2 cores; clients are mostly CPU (imports)
        futures = {name: pool.submit(lambda t=thunk: t().wait()) for name, thunk in thunks.items()}
        out = {name: f.result() for name, f in futures.items()}
    print(f"{len(out)} clients in {time.monotonic() - started:.1f} s")
    return out


def sse_data(body: str) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE event; accepts LF or CRLF line ends."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, "\n".join(data)))
    return events


# ---- official SDKs -----------------------------------------------------------------------

@pytest.mark.parametrize("case", SDK_CASES, ids=_case_id)
def test_sdk_receives_exactly_the_script(results, case):
    api, stream, tools, http2 = case
    _, usage, reasons = SDKS[api]
    res = results[_case_id(case)].check()
    out = res.output
    assert out["pid"] == res.pid
    assert out["text"] == ("" if api == "gemini.generate_content" and tools
                           else "Checking now." if tools else TEXT_JOINED)
    assert out["finish_reason"] == reasons[tools]
    assert out["id"] == f"id-{'tool' if tools else 'text'}-{api}"
    assert out["model"] == (None if api == "cohere.chat.v2" else MODELS[api])
    for key, value in usage.items():
        got = out["usage"][key]
        assert (got == value if not isinstance(value, dict)
                else {k: got[k] for k in value} == value), (key, got)
    if tools:
        calls = [(t["name"], json.loads(t["arguments"])) for t in out["tool_calls"]]
        assert calls == [("get_weather", ARGS_OBJ), ("get_time", {})]
        ids = [t["id"] for t in out["tool_calls"]]
        assert ids == ([None, None] if api == "gemini.generate_content" else ["call_A1", "call_B2"])
    else:
        assert out["tool_calls"] == []
    if stream and not (api == "gemini.generate_content" and tools):
        assert out["events"] >= len(TEXT) if not tools else out["events"] > 3


def test_sdk_requests_arrive_as_sent(fake, results):
    reqs = [r for r in fake.requests if r.api == "openai.chat_completions"]
    versions = {r.http_version for r in reqs}
    assert versions == {"1.1", "2"}
    for r in reqs:
        assert r.header("authorization") == f"Bearer {clients.PLANTED_KEY}"
        assert r.json["messages"][-1] == {"role": "user", "content": "Say hello."}
        assert r.reply is not None and r.reply.id.startswith("id-")
    streamed = [r for r in reqs if r.json.get("stream")]
    assert streamed and all(r.json["stream_options"] == {"include_usage": True} for r in streamed)
    gemini = [r for r in fake.requests if r.api == "gemini.generate_content"]
    # (google-genai picks the API version path itself: v1beta, or v1 with a custom base_url)
    assert {route(r.method, r.path) for r in gemini} == {
        ("gemini.generate_content", "gemini-2.0-flash", False),
        ("gemini.generate_content", "gemini-2.0-flash", True)}
    assert any(r.query == "alt=sse" for r in gemini) and any(r.query == "" for r in gemini)
    assert all(r.header("x-goog-api-key") == clients.PLANTED_KEY for r in gemini)


def test_hosts_file_resolves_real_name(fake, results):
    res = results["openai-hosts-file"].check()
    assert res.output["text"] == TEXT_JOINED
    assert res.output["pid"] == res.pid  # unshare + exec keep the client's pid
    assert res.argv[:2] == ["unshare", "-m"]
    hosts = [r.host for r in fake.requests]
    assert f"api.openai.com:{fake.port}" in hosts


# ---- raw clients -------------------------------------------------------------------------

def test_curl_openai_stream_http1(results):
    out = results["curl-openai-stream-h1"].check().output
    assert (out["status"], out["http_version"]) == (200, "1.1")
    events = sse_data(out["body"])
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == TEXT_JOINED
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 100
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 30
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" in c and c["usage"] is None for c in chunks[:-1])


def test_curl_anthropic_stream_http2_tools(results):
    out = results["curl-anthropic-stream-h2-tools"].check().output
    assert (out["status"], out["http_version"]) == (200, "2")
    events = [(n, json.loads(d)) for n, d in sse_data(out["body"])]
    assert all(n == d["type"] for n, d in events)
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert events[0][1]["message"]["usage"]["input_tokens"] == 60
    assert events[-2][1]["usage"] == {"output_tokens": 20}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    args: dict[int, str] = {}
    for _, d in events:
        if d["type"] == "content_block_delta" and d["delta"]["type"] == "input_json_delta":
            args[d["index"]] = args.get(d["index"], "") + d["delta"]["partial_json"]
    assert [json.loads(a) for _, a in sorted(args.items())] == [ARGS_OBJ, {}]


def test_curl_gemini_json_array_http2(results):
    out = results["curl-gemini-array-h2"].check().output
    assert out["http_version"] == "2"
    assert out["body"].startswith("[{") and out["body"].endswith("}]") and ",\r\n{" in out["body"]
    chunks = json.loads(out["body"])
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == TEXT_JOINED
    assert [c["usageMetadata"]["totalTokenCount"] for c in chunks] == [100] * 4 + [120]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_curl_cohere_whole_hosts_file(results):
    out = results["curl-cohere-whole-h1-hosts"].check().output
    body = json.loads(out["body"])
    assert body["message"]["content"] == [{"type": "text", "text": TEXT_JOINED}]
    assert body["finish_reason"] == "COMPLETE" and body["usage"] == COHERE_USAGE


def test_node_fetch(results):
    res = results["node-cohere-stream"].check()
    assert res.output["pid"] == res.pid and res.output["status"] == 200
    events = [json.loads(d) for _, d in sse_data(res.output["body"])]
    assert "".join(e["delta"]["message"]["content"]["text"]
                   for e in events if e["type"] == "content-delta") == TEXT_JOINED
    assert events[-1]["type"] == "message-end"
    assert events[-1]["delta"]["usage"] == COHERE_USAGE

    res = results["node-gemini-sse-hosts"].check()
    body = res.output["body"]
    assert "\r\n\r\n" in body  # Gemini's SSE uses CRLF line ends
    chunks = [json.loads(d) for _, d in sse_data(body)]
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 15
    assert chunks[-1]["modelVersion"] == "gemini-2.5-flash"


def test_httpx_http2(results):
    out = results["httpx-responses-stream-h2-tools"].check().output
    assert out["http_version"] == "HTTP/2"
    events = [(n, json.loads(d)) for n, d in sse_data(out["body"])]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    deltas = "".join(d["delta"] for n, d in events if n == "response.function_call_arguments.delta")
    assert deltas == "".join(ARGS) + "{}"
    assert events[-1][0] == "response.completed"
    assert events[-1][1]["response"]["usage"] == RESPONSES_USAGE

    out = results["httpx-anthropic-whole-h2"].check().output
    body = json.loads(out["body"])
    assert out["http_version"] == "HTTP/2" and body["usage"]["cache_creation_input_tokens"] == 10
    assert body["content"] == [{"type": "text", "text": TEXT_JOINED}]


# ---- server options ----------------------------------------------------------------------

def test_defaults_compression_chunking_and_pages(tmp_path):
    page = "<html><body>llmspy</body></html>"
    with FakeProvider(http2=False, compression=("gzip",), body_chunk_size=7,
                      pages={"/demo.html": page}) as fake:
        res = clients.openai_chat("localhost", fake.port, ca=fake.ca_pem_path).check()
        assert res.output["text"] == DEFAULT_TEXT_REPLIES["openai.chat_completions"].full_text
        path, headers, body = clients.provider_request("anthropic.messages", stream=False)
        headers["accept-encoding"] = "gzip"
        raw = clients.httpx_request(fake.url("localhost") + path, body=body, headers=headers,
                                    ca=fake.ca_pem_path).check().output
        assert raw["http_version"] == "HTTP/1.1"  # h2 not offered
        assert raw["headers"]["content-encoding"] == "gzip"
        assert raw["headers"]["transfer-encoding"] == "chunked"
        assert json.loads(raw["body"])["content"][0]["text"] == "Hello from fake Claude — ok."
        get = clients.spawn(["curl", "-sS", "--cacert", fake.ca_pem_path,
                             fake.url("localhost") + "/demo.html"], name="curl").wait()
        assert get.stdout == page


def test_sequence_script_error_and_cut_stream():
    api = "openai.chat_completions"
    cut = Reply(text=("one", "two", "three", "four"), abort_after=3)
    with FakeProvider(keep_alive_timeout=0.5) as fake:
        fake.set_script(api, [Reply(status=429, error_message="slow down"), cut])
        first = clients.openai_chat("localhost", fake.port, ca=fake.ca_pem_path)
        assert first.returncode != 0 and "429" in first.stderr and "slow down" in first.stderr
        for http2 in (False, True):
            path, headers, body = clients.provider_request(api, stream=True)
            res = clients.curl(fake.url("localhost") + path, body=body, headers=headers,
                               ca=fake.ca_pem_path, stream=True, http2=http2)
            assert res.returncode != 0  # curl reports the cut transfer
            texts = [json.loads(d)["choices"][0]["delta"].get("content")
                     for _, d in sse_data(res.output["body"])]
            assert texts == ["", "one", "two"]  # role chunk + 2 pieces = 3 events, then cut
        assert [r.reply.status for r in fake.requests] == [429, 200, 200]


def test_big_request_body_http2(tmp_path):
    prompt = tmp_path / "big.txt"
    prompt.write_text("é" * (8 * 1024 * 1024))  # 16 MiB of UTF-8
    with FakeProvider() as fake:
        started = time.monotonic()
        res = clients.openai_chat("localhost", fake.port, ca=fake.ca_pem_path, http2=True,
                                  prompt_file=str(prompt)).check()
        assert time.monotonic() - started < 30
        (req,) = fake.requests
        assert req.http_version == "2" and req.body_size > 16 * 1024 * 1024
        assert req.json["messages"][-1]["content"] == "é" * (8 * 1024 * 1024)
        assert res.output["finish_reason"] == "stop"


def test_route():
    assert route("POST", "/v1/chat/completions") == ("openai.chat_completions", None, False)
    assert route("POST", "/openai/v1/responses")[0] == "openai.responses"
    assert route("POST", "/v1/messages") == ("anthropic.messages", None, False)
    assert route("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent") == (
        "gemini.generate_content", "gemini-2.0-flash", True)
    assert route("POST", "/v1/models/gemini-pro:generateContent")[2] is False
    assert route("POST", "/v2/chat")[0] == "cohere.chat.v2"
    assert route("GET", "/v1/chat/completions")[0] is None
    assert route("POST", "/v1/embeddings")[0] is None


def test_stop_frees_the_port():
    fake = FakeProvider().start()
    port, ca = fake.port, fake.ca_pem_path
    fake.stop()
    assert not os.path.exists(ca)
    import socket
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


# ---- rendering without a network -----------------------------------------------------------

@pytest.mark.parametrize("reply", [text_reply, tool_reply], ids=["text", "tools"])
@pytest.mark.parametrize("api", list(MODELS))
def test_each_stream_write_is_one_whole_event(api, reply):
    view = RequestView(api, model="m", stream=True, include_usage=True)
    wire = render(reply(api), view)
    assert wire.streamed and len(wire.chunks) >= (len(TEXT) if reply is text_reply else 1)
    eol = "\r\n" if api == "gemini.generate_content" else "\n"
    for chunk in wire.chunks:
        text = chunk.decode()
        assert text.endswith(eol + eol) and text.count(eol + eol) == 1
        assert text.count("data: ") == 1


def test_expected_maps_the_reply_to_record_fields():
    want = expected(tool_reply("anthropic.messages"), "anthropic.messages")
    assert want["text"] == "Checking now." and want["finish_reason"] == "tool_use"
    assert want["tool_calls"][0] == {"id": "call_A1", "name": "get_weather",
                                     "arguments": '{"city": "Lyon", "unit": "celsius"}'}
    assert want["usage"] == {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120,
                             "cache_read_input_tokens": 30, "cache_creation_input_tokens": 10,
                             "reasoning_tokens": 5}
    gemini = expected(tool_reply("gemini.generate_content"), "gemini.generate_content")
    assert [t["id"] for t in gemini["tool_calls"]] == [None, None]
    assert gemini["finish_reason"] == "STOP" and gemini["text"] == ""
    assert expected(text_reply("cohere.chat.v2"), "cohere.chat.v2")["model"] is None
