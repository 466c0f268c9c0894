"""`llmspy --proxy` end to end: real clients (the official openai and anthropic SDKs, curl,
headless Chromium) through the proxy subprocess to the fake provider, each record checked
field by field against the reply the server was scripted to send (llmspy/fake/scripts.py).

Also: streaming pass-through timing, `mitmdump -s addons/llmspy_addon.py`, and the planted
API key never appearing in stdout, stderr or the --output file.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

import llmspy.fake.clients as clients
from llmspy.fake.scripts import DEFAULT_TEXT_REPLIES, DEFAULT_TOOL_REPLIES, expected
from llmspy.fake.server import FakeProvider

from .conftest import ROOT, ProxyProcess, free_port, in_namespace, mitmdump_path, start_llmspy_proxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

KEY = clients.PLANTED_KEY
SYSTEM = "You are a terse assistant."  # llmspy/fake/sdk_client.py
PROMPT = "Say hello."


@pytest.fixture(scope="module")
def fake():
    with FakeProvider(delay=0.02, pages={"/chat.html": CHAT_PAGE}) as f:
        yield f


@pytest.fixture(scope="module")
def proxy(workdir, hosts_file, fake):
    p = start_llmspy_proxy(workdir, ca_dir=workdir / "ca", upstream_ca=fake.ca_pem_path, hosts_file=hosts_file)
    p.wait_ready()
    yield p
    p.stop()


def ca_crt(proxy: ProxyProcess) -> str:
    return str(proxy.workdir / "ca" / "ca.crt")


def by_url(part: str, after: float = 0.0):
    return lambda r: part in (r["request"]["url"] or "") and (r["timing"]["start"] or 0) >= after


def check_usage(got: dict, want: dict) -> None:
    """Token counts as scripted; a count the script leaves at 0 that the API does not send at
    all (OpenAI has no cache-creation count) is null in the record, never invented."""
    for k, v in want.items():
        assert got[k] == v or (v == 0 and got[k] is None), (k, got[k], v)


def check_response(rec: dict, reply, api: str, request_model: str) -> None:
    want = expected(reply, api, request_model)
    resp = rec["response"]
    assert resp["status"] == 200
    for k in ("id", "model", "text", "finish_reason"):
        assert resp[k] == want[k], (k, resp[k], want[k])
    assert [(t["id"], t["name"], json.loads(t["arguments"])) for t in resp["tool_calls"]] == \
        [(t["id"], t["name"], json.loads(t["arguments"])) for t in want["tool_calls"]]
    check_usage(resp["usage"], want["usage"])
    assert resp["error"] is None


def check_common(rec: dict, *, provider: str, api: str, server: str, port: int, model: str, stream: bool) -> None:
    assert rec["schema"] == "llmspy/1" and rec["kind"] == "llm" and rec["source"] == "proxy"
    assert (rec["provider"], rec["api"]) == (provider, api)
    assert rec["process"] is None
    assert (rec["connection"]["server"], rec["connection"]["port"], rec["connection"]["role"]) == (server, port, "client")
    assert rec["request"]["method"] == "POST" and rec["request"]["model"] == model
    assert rec["request"]["stream"] is stream and rec["response"]["streamed"] is stream
    t = rec["timing"]
    assert t["start"] <= t["first_byte"] <= t["end"] and t["duration_ms"] >= 0


# -- the official SDKs -------------------------------------------------------------------------

def test_openai_sdk_streamed_tool_call(proxy, fake):
    t0 = time.time()
    r = clients.openai_chat("api.openai.com", fake.port, ca=ca_crt(proxy), env={"HTTPS_PROXY": proxy.url},
                            stream=True, tools=True).check()
    reply = DEFAULT_TOOL_REPLIES["openai.chat_completions"]
    assert r.output["text"] == reply.full_text  # the client got the answer through the proxy
    rec = proxy.wait_record(by_url("api.openai.com", t0))
    check_common(rec, provider="openai", api="openai.chat_completions", server="api.openai.com", port=fake.port,
                 model="gpt-4o-mini", stream=True)
    assert rec["request"]["url"] == f"https://api.openai.com:{fake.port}/v1/chat/completions"
    assert rec["request"]["system"] == SYSTEM
    assert rec["request"]["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    assert [t["name"] for t in rec["request"]["tools"]] == ["get_weather"]
    assert rec["request"]["headers"]["authorization"] == "Bearer [REDACTED]"
    check_response(rec, reply, "openai.chat_completions", "gpt-4o-mini")
    assert rec["timing"]["first_token"] is not None
    # The SDK stops reading at `data: [DONE]` and closes, racing the chunked terminator;
    # `complete` may then be false (a cut the client made). The content above is whole.


def test_anthropic_sdk_streamed(proxy, fake):
    t0 = time.time()
    r = clients.anthropic_messages("api.anthropic.com", fake.port, ca=ca_crt(proxy),
                                   env={"HTTPS_PROXY": proxy.url}, stream=True).check()
    reply = DEFAULT_TEXT_REPLIES["anthropic.messages"]
    assert r.output["text"] == reply.full_text
    rec = proxy.wait_record(by_url("api.anthropic.com", t0))
    check_common(rec, provider="anthropic", api="anthropic.messages", server="api.anthropic.com", port=fake.port,
                 model="claude-sonnet-4-20250514", stream=True)
    assert rec["request"]["system"] == SYSTEM
    assert rec["request"]["messages"] == [{"role": "user", "content": PROMPT}]
    check_response(rec, reply, "anthropic.messages", "claude-sonnet-4-20250514")
    assert rec["response"]["chunks"] >= len(reply.text)


def test_anthropic_sdk_whole_json_http2(proxy, fake):
    t0 = time.time()
    clients.anthropic_messages("api.anthropic.com", fake.port, ca=ca_crt(proxy), env={"HTTPS_PROXY": proxy.url},
                               stream=False, http2=True).check()
    rec = proxy.wait_record(by_url("api.anthropic.com", t0))
    check_common(rec, provider="anthropic", api="anthropic.messages", server="api.anthropic.com", port=fake.port,
                 model="claude-sonnet-4-20250514", stream=False)
    assert rec["connection"]["http_version"] == "2"
    check_response(rec, DEFAULT_TEXT_REPLIES["anthropic.messages"], "anthropic.messages", "claude-sonnet-4-20250514")
    assert rec["complete"] is True
    assert rec["response"]["body"]["type"] == "message"


# -- curl ----------------------------------------------------------------------------------------

def test_curl_gemini_sse(proxy, fake):
    path, headers, body = clients.provider_request("gemini.generate_content", stream=True)
    t0 = time.time()
    argv = ["curl", "-sS", "-N", "-x", proxy.url, "--cacert", ca_crt(proxy), "-X", "POST",
            "--data-binary", json.dumps(body), f"https://generativelanguage.googleapis.com:{fake.port}{path}"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    reply = DEFAULT_TEXT_REPLIES["gemini.generate_content"]
    assert out.stdout.count("data: ") == len(reply.text)
    rec = proxy.wait_record(by_url("generativelanguage.googleapis.com", t0))
    check_common(rec, provider="gcp.gemini", api="gemini.generate_content", server="generativelanguage.googleapis.com",
                 port=fake.port, model="gemini-2.0-flash", stream=True)
    assert rec["request"]["messages"] == [{"role": "user", "content": PROMPT}]
    assert rec["request"]["headers"]["x-goog-api-key"] == "[REDACTED]"
    assert rec["request"]["headers"]["user-agent"].startswith("curl/")
    check_response(rec, reply, "gemini.generate_content", "gemini-2.0-flash")
    assert rec["complete"] is True


# -- headless Chromium (BoringSSL) ---------------------------------------------------------------

CHAT_PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
(async () => {
  const r = await fetch("/v1/chat/completions", {method: "POST",
    headers: {"content-type": "application/json", "authorization": "Bearer %KEY%"},
    body: JSON.stringify({model: "gpt-4o-mini", stream: true, stream_options: {include_usage: true},
                          messages: [{role: "user", content: "Hello from Chromium"}]})});
  const reader = r.body.getReader(), dec = new TextDecoder();
  let raw = "", text = "";
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    raw += dec.decode(value, {stream: true});
  }
  for (const line of raw.split("\\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    for (const c of JSON.parse(line.slice(6)).choices || []) text += (c.delta && c.delta.content) || "";
  }
  return text;
})().then(
  text => fetch("/done", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({text})}),
  e => fetch("/done", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({error: String(e)})}));
</script></body></html>""".replace("%KEY%", KEY)


def test_chromium_fetch_stream(proxy, fake, workdir):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    from llmspy.proxy.ca import load_ca

    spki = load_ca(workdir / "ca").spki
    t0 = time.time()
    # MACHINE.md's verified flags. Not --dump-dom: headless virtual time does not wait for a
    # streamed body, so the page reports back with a POST /done and Chromium is then stopped.
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={workdir / 'chromium-profile'}", f"--proxy-server={proxy.url}",
            "--proxy-bypass-list=<-loopback>", f"--ignore-certificate-errors-spki-list={spki}",
            f"https://api.openai.com:{fake.port}/chat.html"]
    browser = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        done = None
        while done is None and time.monotonic() < deadline and browser.poll() is None:
            done = next((r for r in fake.requests if r.path == "/done"), None)
            time.sleep(0.1)
    finally:
        browser.terminate()  # our own child, by its pid
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
    assert done is not None, "the page never reported back"
    reply = DEFAULT_TEXT_REPLIES["openai.chat_completions"]
    assert done.json == {"text": reply.full_text}
    rec = proxy.wait_record(by_url("/v1/chat/completions", t0))
    check_common(rec, provider="openai", api="openai.chat_completions", server="api.openai.com", port=fake.port,
                 model="gpt-4o-mini", stream=True)
    assert "Chrome" in rec["request"]["headers"]["user-agent"]
    assert rec["request"]["messages"] == [{"role": "user", "content": "Hello from Chromium"}]
    check_response(rec, reply, "openai.chat_completions", "gpt-4o-mini")
    assert rec["complete"] is True  # the page reads the stream to its end
    # the page itself (text/html) is not an LLM call or a JSON API: not recorded by default
    assert not any((r["request"]["url"] or "").endswith("/chat.html") for r in proxy.records())


# -- streaming pass-through ----------------------------------------------------------------------

EVENT_DELAY_S = 0.4


def test_first_event_arrives_before_the_server_sends_the_last(workdir, hosts_file):
    import httpx

    with FakeProvider(delay=EVENT_DELAY_S) as slow:
        p = start_llmspy_proxy(workdir, ca_dir=workdir / "ca", upstream_ca=slow.ca_pem_path, hosts_file=hosts_file,
                               name="slow")
        try:
            p.wait_ready()
            path, headers, body = clients.provider_request("anthropic.messages", stream=True)
            reply = DEFAULT_TEXT_REPLIES["anthropic.messages"]
            received: list[tuple[float, str]] = []
            with httpx.Client(proxy=p.url, verify=ca_crt(p), timeout=30) as client:
                t_send = time.monotonic()
                with client.stream("POST", f"https://api.anthropic.com:{slow.port}{path}", headers=headers, json=body) as r:
                    for line in r.iter_lines():
                        if line.startswith("event: "):
                            received.append((time.monotonic(), line[7:]))
                    t_done = time.monotonic()
            names = [n for _, n in received]
            assert names[0] == "message_start" and names[-1] == "message_stop"
            # The server sleeps EVENT_DELAY_S after each event, so it cannot send the last one
            # before (n - 1) delays after the first. The client must have had the first long before.
            n = len(received)
            first_at, last_at = received[0][0], received[-1][0]
            assert last_at - first_at >= (n - 1) * EVENT_DELAY_S * 0.8, (first_at, last_at, n)
            assert first_at - t_send < 2 * EVENT_DELAY_S, "first event held back by the proxy"
            # and the record comes when the stream ends, with every event
            rec = p.wait_record(by_url("api.anthropic.com"))
            assert rec["response"]["text"] == reply.full_text and rec["response"]["chunks"] == n
            assert rec["timing"]["first_token"] < rec["timing"]["end"]
            assert rec["timing"]["duration_ms"] >= (n - 2) * EVENT_DELAY_S * 1000
            assert t_done - t_send >= (n - 1) * EVENT_DELAY_S * 0.8
        finally:
            p.stop()
        assert KEY not in p.stdout + p.stderr + p.output.read_text()


# -- mitmdump -s addons/llmspy_addon.py ---------------------------------------------------------

def test_mitmdump_script(workdir, hosts_file, fake):
    from llmspy.proxy.ca import ensure_ca

    ensure_ca(workdir / "ca")
    port = free_port()
    out = workdir / "mitmdump.records.jsonl"
    argv = [mitmdump_path(), "-q", "-s", str(ROOT / "addons" / "llmspy_addon.py"),
            "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "--set", f"confdir={workdir / 'ca'}", "--set", f"ssl_verify_upstream_trusted_ca={fake.ca_pem_path}",
            "--set", f"llmspy_output={out}", "--set", "llmspy_llm_only=true", "--set", "llmspy_format=none"]
    # run from elsewhere: the script itself must find the checkout (llmspy is not installed)
    p = ProxyProcess(in_namespace(argv, hosts_file), workdir, "mitmdump", out, cwd=workdir)
    try:
        p.wait_listening(port)
        clients.openai_chat("api.openai.com", fake.port, ca=ca_crt(p), env={"HTTPS_PROXY": p.url}).check()
        # a JSON API that is not an LLM call: llmspy_llm_only leaves it out
        subprocess.run(["curl", "-sS", "-x", p.url, "--cacert", ca_crt(p), f"https://api.openai.com:{fake.port}/v1/nothing"],
                       capture_output=True, timeout=30)
        rec = p.wait_record(by_url("/v1/chat/completions"))
        check_common(rec, provider="openai", api="openai.chat_completions", server="api.openai.com", port=fake.port,
                     model="gpt-4o-mini", stream=False)
        check_response(rec, DEFAULT_TEXT_REPLIES["openai.chat_completions"], "openai.chat_completions", "gpt-4o-mini")
        assert rec["complete"] is True
    finally:
        rc = p.stop()
    assert rc == 0, p.stderr[-2000:]
    assert [r["kind"] for r in p.records()] == ["llm"]
    assert "Traceback" not in p.stderr
    assert KEY not in p.stdout + p.stderr + out.read_text()


# -- last: the planted key went nowhere ----------------------------------------------------------

def test_zz_stdout_is_records_only_and_no_secret_anywhere(proxy):
    proxy.stop()
    stdout, stderr, output = proxy.stdout, proxy.stderr, proxy.output.read_text()
    lines = stdout.splitlines()
    assert len(lines) >= 4
    assert all(json.loads(line)["schema"] == "llmspy/1" for line in lines)  # nothing but records
    assert stdout.splitlines() == output.splitlines()
    for text in (stdout, stderr, output):
        assert KEY not in text
        assert "PLANTED" not in text
    assert "Traceback" not in stderr
