# A local fake LLM provider: HTTPS (HTTP/1.1 and HTTP/2 via ALPN) speaking the real wire
# formats of OpenAI, Anthropic, Gemini and Cohere, with scripted answers.
#
# Approach: a small raw ASGI app served by hypercorn (a real h11/h2 server) on a socket we
# bind ourselves (so ``port=0`` works and ``start`` returns only when the port is listening),
# in a background thread with its own asyncio loop. TLS uses a trustme CA and a leaf
# certificate for the given host names; the CA PEM is written to a temp dir for clients.
# Each request is routed to an endpoint family (``api``), a ``Reply`` is chosen from the
# scripts (see scripts.py), rendered by wire.py, and sent one write per event. Every request
# is kept in ``requests`` (bounded) with the Reply that answered it, so tests know exactly
# what the server sent.
#
# Traced by llmspy too: this server's ``SSL_read`` carries requests and ``SSL_write`` responses.
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import re
import shutil
import socket
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union
from urllib.parse import parse_qs

from .scripts import APIS, Reply, RequestView, default_reply
from .wire import render

__all__ = ["FakeProvider", "ReceivedRequest", "Script", "DEFAULT_HOSTS", "route", "main"]

log = logging.getLogger("llmspy.fake.server")

#: Host names the default certificate covers.
DEFAULT_HOSTS = ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
                 "api.cohere.com", "localhost", "127.0.0.1")

#: Largest request body accepted (bytes). Tests send 16 MiB prompts; twice that leaves room
#: for JSON escaping. Larger bodies get 413 and are not kept.
MAX_REQUEST_BODY_BYTES = 32 * 1024 * 1024

#: How many received requests ``requests`` keeps (oldest dropped first): enough for any test,
#: bounded for long benchmark runs.
MAX_REQUESTS_KEPT = 1000

#: A script: one Reply for every call, a sequence served in order (the last one repeats), or
#: a function of the request returning a Reply (None = the default reply).
Script = Union[Reply, Sequence[Reply], Callable[["ReceivedRequest"], Reply | None]]

_GEMINI_PATH = re.compile(
    r"^/v1(?:beta|alpha)?/models/([^/:]+):(generateContent|streamGenerateContent)$")
_CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-headers", b"*"),
         (b"access-control-allow-methods", b"GET, POST, OPTIONS")]


@dataclass
class ReceivedRequest:
    """One request as the server got it. ``headers`` has lower-case names in arrival order;
    ``json`` is the parsed body or None; ``body_size`` in bytes; ``http_version`` "1.1" or "2";
    ``host`` the :authority / Host value; ``client`` the peer (address, port); ``reply`` the
    Reply that answered it (None for non-API paths)."""

    api: str | None
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    json: Any
    body_size: int
    http_version: str
    host: str | None
    client: tuple[str, int] | None
    reply: Reply | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


def route(method: str, path: str) -> tuple[str | None, str | None, bool]:
    """``(api, model_from_path, streaming_endpoint)`` for a request path; api None = not an API."""
    if method != "POST":
        return None, None, False
    if path.endswith("/chat/completions"):
        return "openai.chat_completions", None, False
    if path.endswith("/responses"):
        return "openai.responses", None, False
    if path.endswith("/v1/messages"):
        return "anthropic.messages", None, False
    if path.rstrip("/").endswith("/v2/chat"):
        return "cohere.chat.v2", None, False
    m = _GEMINI_PATH.match(path)
    if m:
        return "gemini.generate_content", m.group(1), m.group(2) == "streamGenerateContent"
    return None, None, False


def _view(api: str, body: Any, path_model: str | None, path_stream: bool,
          query: str) -> RequestView:
    body = body if isinstance(body, dict) else {}
    if api == "gemini.generate_content":
        alt = parse_qs(query).get("alt", [""])[-1]
        return RequestView(api, model=path_model, stream=path_stream, sse=alt == "sse")
    opts = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
    model = body.get("model")
    return RequestView(api, model=model if isinstance(model, str) else None,
                       stream=body.get("stream") is True,
                       include_usage=opts.get("include_usage") is True,
                       obfuscation=opts.get("include_obfuscation", True) is not False)


def _compress(body: bytes, accept: str, allowed: Sequence[str]) -> tuple[bytes, str | None]:
    """Encode with the first of ``allowed`` the client accepts (RFC 9110 §12.5.3, q ignored)."""
    offered = {t.split(";")[0].strip().lower() for t in accept.split(",")}
    for coding in allowed:
        if coding in offered:
            if coding == "gzip":
                return gzip.compress(body), coding
            if coding == "br":
                import brotli
                return brotli.compress(body), coding
            if coding == "zstd":
                import zstandard
                return zstandard.ZstdCompressor().compress(body), coding
    return body, None


class _Abort(Exception):
    """Raised inside the app to cut a response mid-stream (hypercorn then resets it)."""


class _QuietAborts(logging.Filter):
    """Keep hypercorn's "Error in ASGI Framework" traceback out of the log for scripted cuts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Abort))


log.addFilter(_QuietAborts())


class FakeProvider:
    """A fake provider HTTPS server.

    ``hosts``: names in the certificate. ``port``: 0 picks a free one. ``http2``: offer h2 in
    ALPN (else HTTP/1.1 only). ``scripts``: ``{api: Script}`` overriding the defaults (api names
    as in scripts.APIS). ``delay``: seconds between stream events. ``compression``: codings
    ("gzip", "br", "zstd") used for whole (non-streamed) bodies when the client accepts them.
    ``body_chunk_size``: send whole bodies in pieces of this many bytes, chunked (HTTP/1.1),
    instead of one write with Content-Length. ``pages``: ``{path: html}`` served on GET, e.g. a
    browser test page from the same origin. ``bind``: listen address. ``keep_alive_timeout``:
    seconds an idle connection stays open; it also bounds how long a client waits after a
    scripted HTTP/2 cut (``Reply.abort_after``), since hypercorn then sends no RST_STREAM and
    the connection closes when idle.
    """

    def __init__(self, hosts: Sequence[str] = DEFAULT_HOSTS, port: int = 0, http2: bool = True,
                 scripts: Mapping[str, Script] | None = None, delay: float = 0.0,
                 compression: Sequence[str] = (), body_chunk_size: int | None = None,
                 pages: Mapping[str, str] | None = None, bind: str = "127.0.0.1",
                 keep_alive_timeout: float = 5.0):
        self.hosts = list(hosts)
        self.http2 = http2
        self.delay = delay
        self.compression = tuple(compression)
        self.body_chunk_size = body_chunk_size
        self.pages = dict(pages or {})
        self.bind = bind
        self.keep_alive_timeout = keep_alive_timeout
        self._want_port = port
        self._scripts: dict[str, Script] = dict(scripts or {})
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._requests: deque[ReceivedRequest] = deque(maxlen=MAX_REQUESTS_KEPT)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._dir: str | None = None
        self.port = 0
        self.ca_pem_path = ""

    # -- public ----------------------------------------------------------------------------

    def url(self, host: str | None = None) -> str:
        """``https://HOST:PORT`` (default host: the first name in ``hosts``)."""
        return f"https://{host or self.hosts[0]}:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of the requests received so far (at most MAX_REQUESTS_KEPT)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def set_script(self, api: str, script: Script | None) -> None:
        """Replace (or with None remove) the script for one api; restarts its sequence."""
        if api not in APIS:
            raise ValueError(f"unknown api {api!r}; one of {APIS}")
        with self._lock:
            if script is None:
                self._scripts.pop(api, None)
            else:
                self._scripts[api] = script
            self._served.pop(api, None)

    def start(self) -> FakeProvider:
        """Make the certificates, bind, and serve in a background thread; returns once listening."""
        import trustme
        from hypercorn.config import Config

        self._dir = tempfile.mkdtemp(prefix="llmspy-fake-")
        ca = trustme.CA()
        leaf = ca.issue_cert(*self.hosts)
        d = Path(self._dir)
        self.ca_pem_path = str(d / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_pem_path)
        leaf.private_key_pem.write_to_path(str(d / "key.pem"))
        for i, pem in enumerate(leaf.cert_chain_pems):
            pem.write_to_path(str(d / "cert.pem"), append=i > 0)

        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.bind, self._want_port))
        sock.listen(128)
        self.port = sock.getsockname()[1]

        config = Config()
        config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns the fd from here on
        config.certfile = str(d / "cert.pem")
        config.keyfile = str(d / "key.pem")
        config.alpn_protocols = ["h2", "http/1.1"] if self.http2 else ["http/1.1"]
        config.accesslog = None
        config.errorlog = log
        config.loglevel = "WARNING"
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = self.keep_alive_timeout
        config.include_server_header = False
        config.h11_max_incomplete_size = 64 * 1024  # request line + headers
        config.wsgi_max_body_size = MAX_REQUEST_BODY_BYTES  # (ASGI bodies are not capped)
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True,
                                        name=f"llmspy-fake-{self.port}")
        self._thread.start()
        if not self._ready.wait(15) or self._error is not None:
            raise RuntimeError(f"fake provider did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop serving, join the thread, remove the certificate directory."""
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------

    def _run(self, config) -> None:
        from hypercorn.asyncio import serve

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._stop_event = asyncio.Event()
        try:
            loop.run_until_complete(
                serve(self._app, config, shutdown_trigger=self._stop_event.wait))
        except BaseException as exc:  # reported by start() or logged
            self._error = exc
            log.exception("fake provider stopped with an error")
        finally:
            self._ready.set()
            loop.close()

    def _choose(self, request: ReceivedRequest) -> Reply:
        api = request.api
        assert api is not None
        with self._lock:
            script = self._scripts.get(api)
            n = self._served.get(api, 0)
            self._served[api] = n + 1
        reply = None
        if isinstance(script, Reply):
            reply = script
        elif isinstance(script, Sequence) and script:
            reply = script[min(n, len(script) - 1)]
        elif callable(script):
            reply = script(request)
        return reply or default_reply(api, request.json)

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                    self._ready.set()
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        body, too_big = bytearray(), False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if len(body) + len(chunk) > MAX_REQUEST_BODY_BYTES:
                too_big = True
            elif not too_big:
                body += chunk
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        api, path_model, path_stream = route(method, path)
        try:
            parsed = json.loads(body) if body and not too_big else None
        except ValueError:
            parsed = None
        host = next((v for k, v in headers if k in (":authority", "host")), None)
        client = scope.get("client")
        request = ReceivedRequest(api, method, path, query, headers, parsed,
                                  len(body), scope.get("http_version", "1.1"), host,
                                  tuple(client) if client else None)
        with self._lock:
            self._requests.append(request)

        if too_big:
            return await self._plain(send, 413, b'{"error":"request body too large"}')
        if method == "OPTIONS":
            return await self._plain(send, 204, b"")
        if method == "GET" and path in self.pages:
            return await self._plain(send, 200, self.pages[path].encode(),
                                     "text/html; charset=utf-8")
        if api is None:
            return await self._plain(send, 404, b'{"error":"not found"}')

        reply = self._choose(request)
        request.reply = reply
        wire = render(reply, _view(api, parsed, path_model, path_stream, query))
        out_headers = [(k.encode(), v.encode()) for k, v in wire.headers] + _CORS
        if wire.streamed:
            await send({"type": "http.response.start", "status": wire.status,
                        "headers": out_headers})
            for i, chunk in enumerate(wire.chunks):
                if reply.abort_after is not None and i >= reply.abort_after:
                    raise _Abort(f"scripted cut after {i} events")
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if self.delay:
                    await asyncio.sleep(self.delay)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        data = b"".join(wire.chunks)
        accept = next((v for k, v in headers if k == "accept-encoding"), "")
        data, coding = _compress(data, accept, self.compression)
        if coding:
            out_headers.append((b"content-encoding", coding.encode()))
        size = self.body_chunk_size
        if not size:
            out_headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": wire.status,
                    "headers": out_headers})
        pieces = [data[i:i + size] for i in range(0, len(data), size)] if size else [data]
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _plain(send, status: int, body: bytes, ctype: str = "application/json") -> None:
        headers = [(b"content-type", ctype.encode()),
                   (b"content-length", str(len(body)).encode())] + _CORS
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m llmspy.fake.server``: serve until Ctrl-C (for manual use and benchmarks)."""
    p = argparse.ArgumentParser(prog="python -m llmspy.fake.server", description=__doc__)
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--host-name", action="append", dest="hosts",
                   help="name in the certificate (repeatable; default: the provider API hosts)")
    p.add_argument("--http1-only", action="store_true", help="do not offer h2 in ALPN")
    p.add_argument("--delay", type=float, default=0.0, help="seconds between stream events")
    p.add_argument("--compression", action="append", default=[], choices=["gzip", "br", "zstd"])
    p.add_argument("--ca-out", help="also copy the CA certificate (PEM) to this path")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    fake = FakeProvider(hosts=args.hosts or DEFAULT_HOSTS, port=args.port,
                        http2=not args.http1_only, delay=args.delay,
                        compression=args.compression, bind=args.bind).start()
    if args.ca_out:
        shutil.copyfile(fake.ca_pem_path, args.ca_out)
    print(f"llmspy fake provider on {fake.url(fake.hosts[0])} "
          f"(hosts: {', '.join(fake.hosts)}; CA: {args.ca_out or fake.ca_pem_path})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
