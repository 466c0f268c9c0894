# Real clients, each run as its own process (own pid and comm, so uprobes and the proxy see a
# real program), against the fake provider or through a proxy.
#
# Python SDK calls run llmspy/fake/sdk_client.py with this interpreter (sys.executable); raw
# calls use curl, Node's fetch (node_client.mjs) or httpx. Every runner takes the server
# host name and port, the CA to trust (SSL_CERT_FILE / --cacert / NODE_EXTRA_CA_CERTS), the
# API key (a planted fake secret by default), extra environment (e.g. HTTPS_PROXY), and an
# optional ``hosts_file``: then the client runs as
#     unshare -m --propagation private sh -c 'mount --bind HOSTS /etc/hosts && exec CLIENT'
# so real names (api.openai.com) resolve to 127.0.0.1 for that process only (MACHINE.md;
# needs root). unshare and ``exec`` keep one pid, so ``ClientResult.pid`` is the client's.
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sdk_client import TOOL

__all__ = [
    "PLANTED_KEY", "PROVIDER_HOSTS", "ClientResult", "RunningClient", "write_hosts_file",
    "spawn", "provider_request", "openai_chat", "openai_responses", "anthropic_messages",
    "gemini_generate", "cohere_chat", "curl", "node_fetch", "httpx_request",
]

#: The fake API key every client sends; tests check it never reaches llmspy's output.
PLANTED_KEY = "sk-llmspy-PLANTED-0123456789abcdef"

#: Real API host names a hosts file maps to 127.0.0.1 by default.
PROVIDER_HOSTS = ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
                  "api.cohere.com")

_HERE = Path(__file__).resolve().parent
_SDK_CLIENT = str(_HERE / "sdk_client.py")
_NODE_CLIENT = str(_HERE / "node_client.mjs")


@dataclass
class ClientResult:
    """A finished client: ``output`` is the JSON object the client printed last (SDK clients:
    text, tool_calls, finish_reason, usage, id, model, events, pid; raw clients: status,
    http_version, headers, body), or None when it printed none (e.g. it failed)."""

    name: str
    argv: list[str]
    pid: int
    returncode: int
    stdout: str
    stderr: str
    output: Any
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.output is not None

    def check(self) -> ClientResult:
        """Raise with the client's stderr unless it succeeded; returns self."""
        if not self.ok:
            raise AssertionError(
                f"{self.name} failed (rc={self.returncode}):\n{self.stderr[-4000:]}")
        return self


@dataclass
class RunningClient:
    """A started client (``pid`` known before it finishes); ``wait()`` gives the result."""

    name: str
    argv: list[str]
    proc: subprocess.Popen
    started: float
    timeout: float
    parse: Any = None
    cleanup: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self) -> ClientResult:
        try:
            out, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its pid
            out, err = self.proc.communicate()
            err += f"\n[llmspy.fake.clients: killed after {self.timeout} s]"
        finally:
            for path in self.cleanup:
                Path(path).unlink(missing_ok=True)
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        output = (self.parse or _last_json_line)(stdout, stderr)
        return ClientResult(self.name, self.argv, self.proc.pid, self.proc.returncode, stdout,
                            stderr, output, time.monotonic() - self.started)


def _last_json_line(stdout: str, _stderr: str) -> Any:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def write_hosts_file(directory: str | os.PathLike, names: Sequence[str] = PROVIDER_HOSTS,
                     address: str = "127.0.0.1") -> str:
    """Write a hosts(5) file mapping ``names`` to ``address`` (plus localhost); return its path."""
    path = Path(directory) / "hosts"
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    lines += [f"{address} {name}" for name in names]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def spawn(argv: Sequence[str], *, name: str, env: Mapping[str, str] | None = None,
          hosts_file: str | None = None, timeout: float = 60.0, parse=None,
          cleanup: Sequence[str] = ()) -> RunningClient:
    """Start ``argv`` (inside a private mount namespace with ``hosts_file`` as /etc/hosts,
    when given) with the parent's environment plus ``env``."""
    argv = list(argv)
    if hosts_file:
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts_file), *argv]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env)
    return RunningClient(name, argv, proc, time.monotonic(), timeout, parse, list(cleanup))


def _finish(running: RunningClient, wait: bool) -> ClientResult | RunningClient:
    return running.wait() if wait else running


# ---- official SDKs -----------------------------------------------------------------------

def _sdk(kind: str, base_url: str, *, ca: str | None, api_key: str, stream: bool, tools: bool,
         http2: bool, model: str | None, prompt: str | None, prompt_file: str | None,
         env: Mapping[str, str] | None, hosts_file: str | None, timeout: float,
         wait: bool) -> ClientResult | RunningClient:
    argv = [sys.executable, _SDK_CLIENT, kind, "--base-url", base_url]
    argv += ["--stream"] * stream + ["--tools"] * tools + ["--http2"] * http2
    if model:
        argv += ["--model", model]
    if prompt is not None:
        argv += ["--prompt", prompt]
    if prompt_file:
        argv += ["--prompt-file", str(prompt_file)]
    child_env = {"LLMSPY_FAKE_API_KEY": api_key, **({"SSL_CERT_FILE": ca} if ca else {}),
                 **(env or {})}
    return _finish(spawn(argv, name=kind, env=child_env, hosts_file=hosts_file,
                         timeout=timeout), wait)


def _sdk_runner(kind: str, base_path: str, doc: str):
    def run(host: str, port: int = 443, *, ca: str | None = None, api_key: str = PLANTED_KEY,
            stream: bool = False, tools: bool = False, http2: bool = False,
            model: str | None = None, prompt: str | None = None, prompt_file: str | None = None,
            base_url: str | None = None, env: Mapping[str, str] | None = None,
            hosts_file: str | None = None, timeout: float = 60.0,
            wait: bool = True) -> ClientResult | RunningClient:
        url = base_url or f"https://{host}:{port}{base_path}"
        return _sdk(kind, url, ca=ca, api_key=api_key, stream=stream, tools=tools, http2=http2,
                    model=model, prompt=prompt, prompt_file=prompt_file, env=env,
                    hosts_file=hosts_file, timeout=timeout, wait=wait)

    run.__name__ = kind.replace("-", "_")
    run.__doc__ = doc + """

    ``host``/``port`` make the base URL (or pass ``base_url``); ``ca`` is the PEM to trust;
    ``http2`` gives the SDK an HTTP/2 httpx client (SDKs default to HTTP/1.1); ``prompt_file``
    sends a big prompt; ``wait=False`` returns a RunningClient (pid known at once)."""
    return run


openai_chat = _sdk_runner("openai-chat", "/v1",
                          "openai SDK ``chat.completions.create`` (stream: include_usage).")
openai_responses = _sdk_runner("openai-responses", "/v1", "openai SDK ``responses.create``.")
anthropic_messages = _sdk_runner("anthropic", "",
                                 "anthropic SDK ``messages.create`` / ``messages.stream``.")
gemini_generate = _sdk_runner("gemini", "/",
                              "google-genai ``generate_content`` / ``generate_content_stream``.")
cohere_chat = _sdk_runner("cohere", "", "cohere ``ClientV2.chat`` / ``chat_stream``.")


# ---- raw HTTP clients --------------------------------------------------------------------

def provider_request(api: str, *, stream: bool, tools: bool = False, model: str | None = None,
                     prompt: str = "Say hello.", api_key: str = PLANTED_KEY,
                     gemini_sse: bool = True) -> tuple[str, dict[str, str], dict]:
    """``(path_and_query, headers, json_body)`` of a minimal documented request for ``api``,
    for raw clients (curl, node, httpx). Auth headers as each API expects them."""
    user = {"role": "user", "content": prompt}
    bearer = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
    fn_tool = [{"type": "function", "function": TOOL}] if tools else None
    if api == "openai.chat_completions":
        body: dict = {"model": model or "gpt-4o-mini", "messages": [user], "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        path, headers = "/v1/chat/completions", bearer
        if fn_tool:
            body["tools"] = fn_tool
    elif api == "openai.responses":
        body, path, headers = {"model": model or "gpt-4.1-mini", "input": prompt,
                               "stream": stream}, "/v1/responses", bearer
        if tools:
            body["tools"] = [{"type": "function", **TOOL}]
    elif api == "anthropic.messages":
        body = {"model": model or "claude-sonnet-4-20250514", "max_tokens": 256,
                "messages": [user], "stream": stream}
        if tools:
            body["tools"] = [{"name": TOOL["name"], "description": TOOL["description"],
                              "input_schema": TOOL["parameters"]}]
        path = "/v1/messages"
        headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01",
                   "content-type": "application/json"}
    elif api == "gemini.generate_content":
        method = "streamGenerateContent" if stream else "generateContent"
        path = f"/v1beta/models/{model or 'gemini-2.0-flash'}:{method}"
        if stream and gemini_sse:
            path += "?alt=sse"
        body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if tools:
            body["tools"] = [{"functionDeclarations": [TOOL]}]
        headers = {"x-goog-api-key": api_key, "content-type": "application/json"}
    elif api == "cohere.chat.v2":
        body = {"model": model or "command-a-03-2025", "messages": [user], "stream": stream}
        if fn_tool:
            body["tools"] = fn_tool
        path, headers = "/v2/chat", bearer
    else:
        raise ValueError(f"unknown api {api!r}")
    return path, dict(headers), body


def _body_file(body: bytes | str | dict) -> str:
    data = (json.dumps(body).encode() if isinstance(body, dict)
            else body.encode() if isinstance(body, str) else body)
    fd, path = tempfile.mkstemp(prefix="llmspy-body-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _curl_parse(stdout: str, stderr: str) -> dict:
    out: dict[str, Any] = {"body": stdout, "status": None, "http_version": None}
    for line in stderr.splitlines():
        if line.startswith("llmspy-curl "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            out.update(status=int(fields["status"]), http_version=fields["http"])
    return out


def curl(url: str, *, body: bytes | str | dict, headers: Mapping[str, str] | None = None,
         ca: str | None = None, http2: bool = False, stream: bool = False,
         compressed: bool = False, env: Mapping[str, str] | None = None,
         hosts_file: str | None = None, timeout: float = 60.0,
         wait: bool = True) -> ClientResult | RunningClient:
    """curl POST (``--http1.1`` or ``--http2``; ``-N`` for streams; ``--compressed`` asks for
    and decodes gzip/br/zstd). Output: status, http_version ("1.1" or "2"), body (raw bytes as
    received, or decoded with ``compressed``). curl honours HTTPS_PROXY from ``env``."""
    path = _body_file(body)
    argv = ["curl", "-sS", "--http2" if http2 else "--http1.1", "-X", "POST",
            "--data-binary", f"@{path}",
            "-w", "%{stderr}llmspy-curl status=%{http_code} http=%{http_version}\n"]
    argv += ["-N"] * stream + ["--compressed"] * compressed
    if ca:
        argv += ["--cacert", ca]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    return _finish(spawn(argv, name="curl", env=env, hosts_file=hosts_file, timeout=timeout,
                         parse=_curl_parse, cleanup=[path]), wait)


def node_fetch(url: str, *, body: bytes | str | dict, headers: Mapping[str, str] | None = None,
               ca: str | None = None, env: Mapping[str, str] | None = None,
               hosts_file: str | None = None, timeout: float = 60.0,
               wait: bool = True) -> ClientResult | RunningClient:
    """Node 20 ``fetch`` POST over HTTP/1.1 (undici; decodes gzip/br itself). The CA goes in
    NODE_EXTRA_CA_CERTS. Node's fetch ignores HTTPS_PROXY."""
    path = _body_file(body)
    argv = ["node", _NODE_CLIENT, url, path, json.dumps(dict(headers or {}))]
    child_env = {**({"NODE_EXTRA_CA_CERTS": ca} if ca else {}), **(env or {})}
    return _finish(spawn(argv, name="node-fetch", env=child_env, hosts_file=hosts_file,
                         timeout=timeout, cleanup=[path]), wait)


def httpx_request(url: str, *, body: bytes | str | dict,
                  headers: Mapping[str, str] | None = None, ca: str | None = None,
                  http2: bool = True, env: Mapping[str, str] | None = None,
                  hosts_file: str | None = None, timeout: float = 60.0,
                  wait: bool = True) -> ClientResult | RunningClient:
    """httpx POST (``http2=True`` offers h2 via ALPN), body read as a stream and decoded.
    Output: status, http_version ("HTTP/1.1" or "HTTP/2"), headers, body, events."""
    path = _body_file(body)
    argv = [sys.executable, _SDK_CLIENT, "httpx", "--base-url", url, "--body-file", path]
    argv += ["--http2"] * http2
    for k, v in (headers or {}).items():
        argv += ["--header", f"{k}: {v}"]
    child_env = {**({"SSL_CERT_FILE": ca} if ca else {}), **(env or {})}
    return _finish(spawn(argv, name="httpx", env=child_env, hosts_file=hosts_file,
                         timeout=timeout, cleanup=[path]), wait)
