"""`llmspy` (eBPF uprobes on OpenSSL) end to end, with real clients: the official openai,
anthropic, google-genai and cohere SDKs, curl (HTTP/1.1 and HTTP/2), Node's fetch (node
embeds its own OpenSSL, so the capture must attach to the node binary) and httpx over HTTP/2.

Clients run as their own processes against the fake provider in this process, with the real
API host names resolved to 127.0.0.1 by a private hosts file. One capture runs for the whole
module; each record is checked field by field against the reply the server sent to that
very call (support.py: every call is tagged). Also here: host-based provider detection, a
16 MiB request body, a 50-stream burst with loss accounting, and the planted API key never
reaching any output (including a `--raw` preview).
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

import llmspy.fake.clients as clients
from llmspy.fake.clients import PLANTED_KEY

from .support import SYSTEM, Capture, check_llm_record, prompt_for, reply_for

pytestmark = [pytest.mark.ebpf, pytest.mark.slow, pytest.mark.timeout(240)]

HOSTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com",
         "gcp.gemini": "generativelanguage.googleapis.com", "cohere": "api.cohere.com"}
PROVIDER = {"openai.chat_completions": "openai", "openai.responses": "openai",
            "anthropic.messages": "anthropic", "gemini.generate_content": "gcp.gemini",
            "cohere.chat.v2": "cohere"}
# The request model each runner sends by default (sdk_client.py, clients.provider_request).
MODEL = {"openai.chat_completions": "gpt-4o-mini", "openai.responses": "gpt-4.1-mini",
         "anthropic.messages": "claude-sonnet-4-20250514",
         "gemini.generate_content": "gemini-2.0-flash", "cohere.chat.v2": "command-a-03-2025"}
SDK_RUNNERS = {"openai.chat_completions": clients.openai_chat,
               "openai.responses": clients.openai_responses,
               "anthropic.messages": clients.anthropic_messages,
               "gemini.generate_content": clients.gemini_generate,
               "cohere.chat.v2": clients.cohere_chat}
# Where each SDK puts the system text: its own field, or a system message (kept in messages).
SYSTEM_IN_MESSAGES = {"openai.chat_completions", "cohere.chat.v2"}


@dataclass(frozen=True)
class Case:
    tag: str
    client: str  # "sdk", "curl", "node", "httpx"
    api: str
    stream: bool
    tools: bool = False
    http2: bool = False
    gemini_sse: bool = True  # raw Gemini streams: SSE (alt=sse) or a streamed JSON array

    @property
    def host(self) -> str:
        return HOSTS[PROVIDER[self.api]]

    @property
    def http_version(self) -> str:
        return "2" if self.http2 else "1.1"


CASES = [
    Case("oai_chat_stream_tools", "sdk", "openai.chat_completions", stream=True, tools=True),
    Case("oai_chat", "sdk", "openai.chat_completions", stream=False),
    Case("oai_responses_stream", "sdk", "openai.responses", stream=True),
    Case("anthropic_stream_tools", "sdk", "anthropic.messages", stream=True, tools=True),
    Case("anthropic_h2", "sdk", "anthropic.messages", stream=False, http2=True),
    Case("gemini_stream", "sdk", "gemini.generate_content", stream=True),
    Case("gemini_tools_h2", "sdk", "gemini.generate_content", stream=False, tools=True, http2=True),
    Case("cohere_stream_tools_h2", "sdk", "cohere.chat.v2", stream=True, tools=True, http2=True),
    Case("cohere", "sdk", "cohere.chat.v2", stream=False),
    Case("curl_oai_stream", "curl", "openai.chat_completions", stream=True),
    Case("curl_h2_anthropic_stream", "curl", "anthropic.messages", stream=True, http2=True),
    Case("curl_h2_gemini_tools", "curl", "gemini.generate_content", stream=False, tools=True, http2=True),
    Case("node_oai_stream_tools", "node", "openai.chat_completions", stream=True, tools=True),
    Case("node_anthropic", "node", "anthropic.messages", stream=False),
    Case("httpx_h2_gemini_array", "httpx", "gemini.generate_content", stream=True, http2=True,
         gemini_sse=False),
    Case("httpx_h2_cohere_stream", "httpx", "cohere.chat.v2", stream=True, http2=True),
]


def start(case: Case, fake, hosts_file: str, *, host: str | None = None, **extra):
    """Start the case's client (not waiting); ``host`` overrides the real host name."""
    host = host or case.host
    hosts = hosts_file if host != "127.0.0.1" else None
    if case.client == "sdk":
        return SDK_RUNNERS[case.api](host, fake.port, ca=fake.ca_pem_path, stream=case.stream,
                                     tools=case.tools, http2=case.http2,
                                     prompt=extra.pop("prompt", prompt_for(case.tag)),
                                     hosts_file=hosts, wait=False, **extra)
    path, headers, body = clients.provider_request(case.api, stream=case.stream, tools=case.tools,
                                                   prompt=prompt_for(case.tag),
                                                   gemini_sse=case.gemini_sse)
    url = f"https://{host}:{fake.port}{path}"
    common = dict(body=body, headers=headers, ca=fake.ca_pem_path, hosts_file=hosts, wait=False)
    if case.client == "curl":
        return clients.curl(url, http2=case.http2, stream=case.stream, **common)
    if case.client == "node":
        return clients.node_fetch(url, **common)
    assert case.client == "httpx"
    return clients.httpx_request(url, http2=case.http2, **common)


def check_case(case: Case, result, fake, capture: Capture, *, host: str | None = None,
               provider: str | None = None) -> dict:
    """The one client-role record of ``result``'s process, checked against the server's reply."""
    result.check()
    request, reply = reply_for(fake, case.tag)
    if case.client == "sdk":
        assert result.output["text"] == reply.full_text  # the client itself got the answer
    else:
        assert result.output["status"] == 200
    (rec,) = capture.wait_records(result.pid)
    host = host or case.host
    user = {"role": "user", "content": prompt_for(case.tag)}
    sdk = case.client == "sdk"
    messages = ([{"role": "system", "content": SYSTEM}] if sdk and case.api in SYSTEM_IN_MESSAGES else []) + [user]
    check_llm_record(rec, reply=reply, api=case.api, provider=provider or PROVIDER[case.api],
                     model=MODEL[case.api], stream=case.stream, pid=result.pid, server=host,
                     port=fake.port, http_version=case.http_version, messages=messages,
                     system=SYSTEM if sdk else None, tools=["get_weather"] if case.tools else [])
    query = f"?{request.query}" if request.query else ""
    assert rec["request"]["url"] == f"https://{host}:{fake.port}{request.path}{query}"
    assert rec["request"]["body_size"] == request.body_size
    assert rec["request"]["body"] == request.json
    python = os.path.basename(sys.executable)[:15]  # the kernel's comm: the exec'd file's name
    assert rec["process"]["comm"] == {"sdk": python, "httpx": python, "curl": "curl", "node": "node"}[case.client]
    # every client reads its answer to the end (streams: to the terminal event or the end of
    # the body), so nothing is cut
    assert rec["complete"] is True
    return rec


# -- the capture, and every client at once --------------------------------------------------------

@pytest.fixture(scope="module")
def captures():
    """Every llmspy run of this module, for the planted-key check at the end."""
    return []


@pytest.fixture(scope="module")
def capture(workdir, captures):
    cap = Capture(workdir, "main")
    captures.append(cap)
    cap.wait_ready()
    yield cap
    cap.stop()


@pytest.fixture(scope="module")
def results(capture, fake, hosts_file):
    """Run every case's client, four at a time (the calls overlap on the wire)."""
    def run(case):
        return case.tag, start(case, fake, hosts_file).wait()

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.tag)
def test_client(case, results, fake, capture):
    check_case(case, results[case.tag], fake, capture)


@pytest.mark.parametrize("tag", ["oai_chat_stream_tools", "cohere_stream_tools_h2", "curl_h2_gemini_tools"])
def test_server_side_is_role_server(tag, results, fake, capture):
    """The fake server (this process) is traced too, over HTTP/1.1 and HTTP/2: its records say
    role "server" and carry the same exchange, so a traced TLS server is never taken for a
    client (an HTTP/2 server writes its SETTINGS before it reads the client's preface)."""
    mine = [r for r in capture.records() if (r["process"] or {}).get("pid") == os.getpid()]
    assert mine and all(r["connection"]["role"] == "server" for r in mine), \
        [(r["connection"], r["request"]["url"]) for r in mine if r["connection"]["role"] != "server"]
    case = next(c for c in CASES if c.tag == tag)
    request, reply = reply_for(fake, tag)
    (rec,) = [r for r in mine if r["response"]["id"] == reply.id]
    check_llm_record(rec, reply=reply, api=case.api, provider=PROVIDER[case.api], model=MODEL[case.api],
                     stream=case.stream, pid=os.getpid(), server=case.host, port=fake.port,
                     http_version=case.http_version, tools=["get_weather"] if case.tools else [],
                     system=SYSTEM if case.client == "sdk" else None, role="server")
    assert rec["request"]["body"] == request.json


# -- host-based detection ----------------------------------------------------------------------

def test_provider_from_real_host_name(capture, fake, hosts_file):
    """The same openai SDK call to api.openai.com and to 127.0.0.1: the host name (SNI / Host)
    decides the provider; an address serving OpenAI's paths is only "openai_compatible"."""
    named = Case("oai_named_host", "sdk", "openai.chat_completions", stream=True)
    literal = Case("oai_address", "sdk", "openai.chat_completions", stream=True)
    r1, r2 = start(named, fake, hosts_file), start(literal, fake, hosts_file, host="127.0.0.1")
    rec = check_case(named, r1.wait(), fake, capture)
    assert rec["connection"]["server"] == "api.openai.com" and rec["provider"] == "openai"
    rec = check_case(literal, r2.wait(), fake, capture, host="127.0.0.1", provider="openai_compatible")
    assert rec["connection"]["server"] == "127.0.0.1"


# -- a 16 MiB request body --------------------------------------------------------------------------

BIG_PROMPT_BYTES = 16 * 1024 * 1024 - 4096  # the JSON around it takes the body to just under 16 MiB


def test_16_mib_request_body_arrives_whole(capture, fake, hosts_file, workdir):
    case = Case("big_body", "sdk", "openai.chat_completions", stream=True)
    marker = prompt_for(case.tag)
    prompt = marker + " " + "lorem ipsum dolor sit amet " * ((BIG_PROMPT_BYTES - len(marker)) // 27)
    path = workdir / "big-prompt.txt"
    path.write_text(prompt)
    result = start(case, fake, hosts_file, prompt=None, prompt_file=str(path), timeout=120).wait().check()
    request, reply = reply_for(fake, case.tag)
    assert request.body_size > 16 * 1024 * 1024 - 8192
    (rec,) = capture.wait_records(result.pid, timeout=60)
    req = rec["request"]
    assert req["truncated"] is False
    assert req["body_size"] == request.body_size
    assert [m["role"] for m in req["messages"]] == ["system", "user"]
    assert len(req["messages"][1]["content"]) == len(prompt)
    assert req["messages"][1]["content"] == prompt
    assert rec["response"]["text"] == reply.full_text
    assert rec["complete"] is True


# -- a burst of 50 concurrent streams -------------------------------------------------------------

BURST = 50


def test_burst_of_50_streams(workdir, captures, fake, hosts_file):
    """50 curl processes stream at once, under their own capture (so its loss count is theirs):
    50 records, each with its own reply; any missing record is accounted for as lost events."""
    cap = Capture(workdir, "burst", ("--llm-only",))
    captures.append(cap)
    cap.wait_ready()
    try:
        cases = [Case(f"burst{i}", "curl", "openai.chat_completions", stream=True) for i in range(BURST)]
        running = [start(c, fake, hosts_file) for c in cases]
        done = [r.wait() for r in running]
        for r in done:
            r.check()
        by_pid = cap.wait_pids([r.pid for r in done])
    finally:
        assert cap.stop() == 0, cap.stderr[-3000:]
    lost = cap.lost_events()
    found = {c.tag: by_pid[r.pid] for c, r in zip(cases, done) if by_pid.get(r.pid)}
    missing = [c.tag for c in cases if c.tag not in found]
    # A call that produced no record lost at least one capture event, and without lost events
    # every call has its record: records + loss must add up.
    assert len(missing) <= lost, (missing, lost)
    # The issue allows loss only when the counter says so (asserted above). On a quiet
    # machine it is 0 (see bench/overhead.py); a CI neighbour's load must not turn a correctly
    # counted loss into a red build, so report it instead of failing.
    if lost:
        warnings = "\n".join(x for x in cap.stderr.splitlines() if "warning" in x)[:3000]
        print(f"{lost} capture events lost in a 50-stream burst; missing records: {missing}\n{warnings}")
    assert len(found) >= BURST - lost
    for case in cases if not lost else ():  # with loss, which record lost what is unknown
        _, reply = reply_for(fake, case.tag)
        (rec,) = found[case.tag]
        assert rec["response"]["id"] == reply.id and rec["response"]["text"] == reply.full_text
        assert rec["complete"] is True
    # --llm-only: nothing but LLM records
    assert all(r["kind"] == "llm" for r in cap.records())


# -- secrets: a --raw preview, then every output of the module -------------------------------------

RAW_CLIENT = r"""
import http.client, json, os, ssl, sys
host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
c = http.client.HTTPSConnection(host, port, context=ctx)
body = json.dumps({"model": "claude-sonnet-4-20250514", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
# The key in the first bytes of the write, where the raw preview shows it
c.putrequest("POST", "/v1/messages", skip_host=True, skip_accept_encoding=True)
c.putheader("x-api-key", key)
c.putheader("Host", f"{host}:{port}")
c.putheader("anthropic-version", "2023-06-01")
c.putheader("content-type", "application/json")
c.putheader("content-length", str(len(body)))
c.endheaders(body.encode())
r = c.getresponse(); r.read()
c.putrequest("POST", f"/v1beta/models/gemini-2.0-flash:generateContent?key={key}", skip_accept_encoding=True)
body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
c.putheader("content-type", "application/json")
c.putheader("content-length", str(len(body)))
c.endheaders(body.encode())
r = c.getresponse(); r.read()
print(json.dumps({"pid": os.getpid(), "status": r.status}))
"""


def test_raw_preview_is_redacted(workdir, captures, fake, hosts_file):
    cap = Capture(workdir, "raw-pretty", ("--raw",), fmt="pretty", output=False)
    captures.append(cap)
    cap.wait_ready()
    try:
        raw = clients.spawn([sys.executable, "-c", RAW_CLIENT, "api.anthropic.com", str(fake.port), PLANTED_KEY],
                            name="raw-client", env={"SSL_CERT_FILE": fake.ca_pem_path},
                            hosts_file=hosts_file).wait().check()
        path, headers, body = clients.provider_request("openai.chat_completions", stream=False)
        curl = clients.curl(f"https://api.openai.com:{fake.port}{path}", body=body, headers=headers,
                            ca=fake.ca_pem_path, hosts_file=hosts_file).check()
        lines = []
        for _ in range(100):
            lines = cap.stdout.splitlines()
            if sum(f"[{raw.pid}]" in x for x in lines) >= 4 and any(f"[{curl.pid}]" in x for x in lines):
                break
            time.sleep(0.1)
    finally:
        assert cap.stop() == 0, cap.stderr[-3000:]
    mine = [x for x in cap.stdout.splitlines() if f"[{raw.pid}]" in x]
    sends = [x for x in mine if " send " in x]
    assert any("x-api-key: [REDACTED]" in x for x in sends), mine
    assert any("?key=[REDACTED]" in x for x in sends), mine
    assert any(f"[{curl.pid}]" in x for x in cap.stdout.splitlines())
    assert cap.lost_events() == 0


def test_zz_planted_key_in_no_output(capture, captures):
    """Last: stop the main capture; no llmspy output of this module (stdout, stderr, -o file)
    holds the planted key or any piece of it that names it."""
    assert capture.stop() == 0, capture.stderr[-3000:]
    assert len(captures) >= 3
    for cap in captures:
        for text in cap.texts():
            assert PLANTED_KEY not in text, cap.name
            assert "PLANTED" not in text, cap.name
        assert "Traceback" not in cap.stderr, cap.stderr[-3000:]
    # stdout of a jsonl capture is the records and nothing else; the -o file has the same
    assert capture.stdout.splitlines() == capture.file_text.splitlines()
    assert len(capture.stdout_records()) >= 2 * len(CASES)  # client and server side of each
    assert capture.lost_events() == 0
