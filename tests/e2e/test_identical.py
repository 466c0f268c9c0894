"""Both front ends emit identical records for the same call (DESIGN.md): the same four SDK
calls (openai stream + tools, anthropic stream, gemini stream, cohere non-stream), once
captured with eBPF uprobes and once through `llmspy --proxy`, over HTTP/1.1 on both paths so
the wire is the same. Records are compared whole, after removing only what legitimately
differs (listed below with the reason).
"""
from __future__ import annotations

import copy
import json

import pytest

import llmspy.fake.clients as clients

from ..proxy.conftest import start_llmspy_proxy
from .support import Capture, prompt_for

pytestmark = [pytest.mark.ebpf, pytest.mark.slow, pytest.mark.timeout(240)]

CALLS = [  # (tag, runner, host, stream, tools)
    ("ident_openai", clients.openai_chat, "api.openai.com", True, True),
    ("ident_anthropic", clients.anthropic_messages, "api.anthropic.com", True, False),
    ("ident_gemini", clients.gemini_generate, "generativelanguage.googleapis.com", True, False),
    ("ident_cohere", clients.cohere_chat, "api.cohere.com", False, False),
]

# What may differ between the two records of one call, and why:
DIFFERENT = {
    "id": "a record id is unique per llmspy run",
    "source": '"ebpf" vs "proxy": the point of the field',
    "process": "the proxy cannot know which process connected",
    "timing": "two calls made at different times",
}
DIFFERENT_CONNECTION = {"id": 'eBPF names a connection "<pid>:<SSL*>", the proxy by its own id'}
DIFFERENT_RESPONSE_HEADERS = {
    "date": "the server stamps each response with the time: two calls, two dates (not a proxy change)",
}


def comparable(rec: dict) -> dict:
    out = copy.deepcopy(rec)
    for key in DIFFERENT:
        out.pop(key)
    for key in DIFFERENT_CONNECTION:
        out["connection"].pop(key)
    for key in DIFFERENT_RESPONSE_HEADERS:
        out["response"]["headers"].pop(key, None)
    return out


def tagged(tag: str):
    return lambda r: prompt_for(tag) in json.dumps(r["request"]["body"], ensure_ascii=False)


def test_ebpf_and_proxy_records_are_identical(workdir, fake, hosts_file):
    # eBPF: clients resolve the real names to the fake server themselves
    cap = Capture(workdir, "ident-ebpf")
    cap.wait_ready()
    try:
        ebpf = {}
        for tag, run, host, stream, tools in CALLS:
            r = run(host, fake.port, ca=fake.ca_pem_path, stream=stream, tools=tools, prompt=prompt_for(tag),
                    hosts_file=hosts_file).check()
            (ebpf[tag],) = cap.wait_records(r.pid)
    finally:
        assert cap.stop() == 0, cap.stderr[-3000:]

    # proxy: clients send the same requests through `llmspy --proxy`, which resolves the names
    proxy = start_llmspy_proxy(workdir, ca_dir=workdir / "ca", upstream_ca=fake.ca_pem_path, hosts_file=hosts_file,
                               name="ident-proxy")
    try:
        proxy.wait_ready()
        ca = str(workdir / "ca" / "ca.crt")
        proxied = {}
        for tag, run, host, stream, tools in CALLS:
            run(host, fake.port, ca=ca, stream=stream, tools=tools, prompt=prompt_for(tag),
                env={"HTTPS_PROXY": proxy.url}).check()
            proxied[tag] = proxy.wait_record(tagged(tag))
    finally:
        assert proxy.stop() == 0, proxy.stderr[-3000:]

    for tag, *_ in CALLS:
        a, b = ebpf[tag], proxied[tag]
        assert (a["source"], b["source"]) == ("ebpf", "proxy")
        assert a["kind"] == "llm" and a["response"]["text"]
        assert a["connection"]["http_version"] == "1.1"
        assert comparable(a) == comparable(b), tag
