"""Bad input for `llmspy --proxy`: each is one clear line on stderr, no traceback, and a
running proxy keeps serving other clients."""
from __future__ import annotations

import socket
import subprocess
import time

import pytest

import llmspy.fake.clients as clients
from llmspy.fake.scripts import DEFAULT_TEXT_REPLIES
from llmspy.fake.server import FakeProvider
from llmspy.proxy.ca import generate_ca

from .conftest import ROOT, llmspy_argv, start_llmspy_proxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def run_llmspy(*args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run([*llmspy_argv(), "--proxy", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_error_line(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("llmspy: error:")]
    assert len(errors) == 1, r.stderr
    for n in needles:
        assert n in errors[0], errors[0]
    assert r.stdout == ""
    return errors[0]


def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_llmspy("--port", str(port), "--ca-dir", str(tmp_path / "ca"))
    assert r.returncode == 1
    line = one_error_line(r, "cannot listen", f"127.0.0.1:{port}")
    assert "in use" in line.lower()
    assert "proxy ready" not in r.stderr


def test_ca_dir_is_a_file(tmp_path):
    (tmp_path / "ca").write_text("x")
    r = run_llmspy("--port", "0", "--ca-dir", str(tmp_path / "ca"))
    assert r.returncode == 1
    one_error_line(r, "not a directory", str(tmp_path / "ca"))


def test_corrupt_ca_key(tmp_path):
    generate_ca(tmp_path / "ca")
    (tmp_path / "ca" / "mitmproxy-ca.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nnope\n")
    r = run_llmspy("--port", "0", "--ca-dir", str(tmp_path / "ca"))
    assert r.returncode == 1
    one_error_line(r, "mitmproxy-ca.pem", "gen-ca --force")


@pytest.mark.parametrize("args, needle", [
    (["--set", "no_such_option=1"], "no_such_option"),
    (["--set", "listen_port=abc"], "listen_port"),
    (["--output", "/"], "cannot write /"),
], ids=["unknown-option", "bad-value", "output-is-a-dir"])
def test_bad_options(tmp_path, args, needle):
    r = run_llmspy("--port", "0", "--ca-dir", str(tmp_path / "ca"), *args)
    assert r.returncode == 2
    one_error_line(r, needle)


@pytest.fixture(scope="module")
def fake():
    with FakeProvider() as f:
        yield f


def test_untrusting_client_and_upstream_tls_failure(workdir, hosts_file, fake):
    p = start_llmspy_proxy(workdir, ca_dir=workdir / "ca-err", upstream_ca=fake.ca_pem_path, hosts_file=hosts_file,
                           name="errors")
    crt = str(workdir / "ca-err" / "ca.crt")
    try:
        p.wait_ready()
        url = f"https://api.openai.com:{fake.port}/v1/chat/completions"
        path, headers, body = clients.provider_request("openai.chat_completions", stream=False)
        hdr = [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
        import json

        # 1. a client that does not trust the proxy's CA (curl with the system store)
        bad = subprocess.run(["curl", "-sS", "-x", p.url, "-X", "POST", "--data-binary", json.dumps(body), *hdr, url],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0
        # 2. the upstream's certificate does not match the name (wrong-name.example -> the fake)
        upstream = subprocess.run(["curl", "-sS", "-x", p.url, "--cacert", crt, "-o", "/dev/null", "-w", "%{http_code}",
                                   f"https://wrong-name.example:{fake.port}/v1/models"],
                                  capture_output=True, text=True, timeout=30)
        assert upstream.stdout == "502"
        # 3. the proxy still serves a well-behaved client
        good = clients.openai_chat("api.openai.com", fake.port, ca=crt, env={"HTTPS_PROXY": p.url}).check()
        assert good.output["text"] == DEFAULT_TEXT_REPLIES["openai.chat_completions"].full_text
        p.wait_record(lambda r: r["kind"] == "llm")
        time.sleep(0.3)
    finally:
        rc = p.stop()
    assert rc == 0
    err = p.stderr
    assert "Traceback" not in err
    trust = [line for line in err.splitlines() if "does not trust" in line]
    assert len(trust) == 1 and trust[0].startswith("llmspy: warning: proxy: Client TLS handshake failed"), err
    assert trust[0].endswith(f"make it trust {crt}")
    tls = [line for line in err.splitlines() if "upstream TLS failed" in line]
    assert len(tls) == 1, err
    assert tls[0].startswith(f"llmspy: warning: upstream TLS failed for wrong-name.example:{fake.port}: ")
    assert "hostname mismatch" in tls[0].lower()
    assert clients.PLANTED_KEY not in err + p.stdout + p.output.read_text()
