# `llmspy --proxy`: mitmproxy started in-process with the llmspy addon.
#
# A plain mitmproxy Master with the default addons (the same set mitmdump loads) and LLMSpy,
# but without mitmdump's flow dumper and terminal log: stdout carries only llmspy's format.
# mitmproxy's own log lines (client does not trust the CA, upstream TLS failure...) are turned
# into llmspy notices, one line each on stderr, never a traceback. A listen failure at
# start-up (port in use) is one error line and exit code 1. The CA comes from ca.py: mitmproxy
# reads it from its confdir, which is the CA directory.
#
# On start (stderr): the proxy address, the CA path, how to point a program at it, then a line
# ending in "ready". `--port 0` picks a free port; the line shows the real one.
from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .ca import CA, CAError, default_ca_dir, ensure_ca

__all__ = ["run_proxy", "ProxyConfig"]


def _say(message: str) -> None:
    print(f"llmspy: {message}", file=sys.stderr, flush=True)


@dataclass
class ProxyConfig:
    """What `llmspy --proxy` was asked for (cli.py flags)."""

    mode: str = "smart"
    fmt: str = "pretty"
    output: str | None = None
    debug: bool = False
    port: int = 8080
    listen_host: str = "127.0.0.1"
    sets: tuple[str, ...] = ()


class _LogToNotices(logging.Handler):
    """mitmproxy log records -> llmspy notices (warnings and errors; info with --debug).
    Until the proxy is up, errors are kept for the start-up check instead of printed."""

    # mitmproxy's line for a failed upstream handshake does not name the server; the addon's
    # tls_failed_server hook says it instead.
    REPLACED = ("Server TLS handshake failed.",)

    def __init__(self, spy, debug: bool, ca_cert: str):
        super().__init__(logging.INFO if debug else logging.WARNING)
        self.spy = spy
        self.ca_cert = ca_cert
        self.starting = True
        self.startup_errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().strip().splitlines()[0] if record.getMessage().strip() else ""
        except Exception:  # noqa: BLE001 - a malformed log call must not break the proxy
            return
        if not message or record.name.startswith("llmspy"):
            return
        if record.levelno >= logging.ERROR and self.starting:
            self.startup_errors.append(message)
            return
        if message.startswith(self.REPLACED):
            return
        if "not trust the proxy's certificate" in message:
            message += f"; make it trust {self.ca_cert}"
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
        self.spy.notice(f"proxy: {message}", level)

    def install(self) -> None:
        root = logging.getLogger()
        root.addHandler(self)
        if self.level < root.level or root.level == logging.NOTSET:
            root.setLevel(self.level)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)


@dataclass
class _StartUp:
    """An addon whose `running` hook checks that the proxy listens, then prints the banner."""

    cfg: ProxyConfig
    ca: CA
    log: _LogToNotices
    exit_code: int = 0
    address: tuple[str, int] | None = None
    _master: object = field(default=None, repr=False)

    def running(self) -> None:
        from mitmproxy import ctx

        self.log.starting = False
        ps = ctx.master.addons.get("proxyserver")
        addrs = ps.listen_addrs() if ps else []
        if not addrs or self.log.startup_errors:
            _say(f"error: cannot listen on {self.cfg.listen_host}:{self.cfg.port}: {_listen_error(self.log.startup_errors)}")
            self.exit_code = 1
            self.log.spy.summary = False  # nothing ran: no totals line
            ctx.master.shutdown()
            return
        host, port = addrs[0][0], addrs[0][1]
        self.address = (host, port)
        _say(banner(self.cfg, self.ca, host, port))


def _listen_error(messages: list[str]) -> str:
    """mitmproxy's start-up errors -> a short reason, with a hint for the usual ones."""
    text = "; ".join(messages) or "no listening socket"
    m = re.search(r"\[Errno (\d+)\]", text)
    if m is None:
        if "could not bind on any address" in text:  # mitmproxy lost the errno on the way
            return "could not bind that address (is it an address of this machine? check --listen-host)"
        return text
    code = int(m.group(1))
    hint = {errno.EADDRINUSE: "another program uses it; pick another --port, or 0 for any free one",
            errno.EACCES: "ports below 1024 need root; pick another --port",
            errno.EADDRNOTAVAIL: "no such local address; check --listen-host"}.get(code)
    return os.strerror(code).lower() + (f" ({hint})" if hint else "")


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def banner(cfg: ProxyConfig, ca: CA, host: str, port: int) -> str:
    """The start-up text: address, CA, how to use it, and the "ready" line."""
    proxy = f"http://{_url_host(host)}:{port}"
    crt = ca.cert_path
    mode = {"llm": "LLM calls only", "all": "every exchange", "smart": "LLM calls and JSON APIs"}[cfg.mode]
    return (
        f"proxy listening on {proxy} ({mode})\n"
        f"  CA certificate: {crt}  (`llmspy gen-ca --help`; certs/README.md: how to trust it)\n"
        f"  point a program at it:\n"
        f"    HTTPS_PROXY={proxy} SSL_CERT_FILE={crt} REQUESTS_CA_BUNDLE={crt} NODE_EXTRA_CA_CERTS={crt} PROGRAM\n"
        f"    curl -x {proxy} --cacert {crt} URL\n"
        f"    chromium --proxy-server={proxy} --ignore-certificate-errors-spki-list={ca.spki} --user-data-dir=DIR\n"
        f"llmspy: proxy ready on {proxy}"
    )


def _build_master(cfg: ProxyConfig, ca: CA):
    """(master, addon, startup check, log handler); raises mitmproxy OptionsError / KeyError."""
    from mitmproxy import addons, options
    from mitmproxy.master import Master

    from .addon import LLMSpy

    # confdir first: the TLS addon loads its CA as soon as it is added, and a default
    # confdir would make mitmproxy write a CA of its own into ~/.mitmproxy.
    opts = options.Options(confdir=str(ca.dir), listen_host=cfg.listen_host, listen_port=cfg.port)
    master = Master(opts, with_termlog=False)
    spy = LLMSpy(tls_notices=True)
    log = _LogToNotices(spy, cfg.debug, str(ca.cert_path))
    log.install()
    startup = _StartUp(cfg, ca, log)
    master.addons.add(*addons.default_addons())
    master.addons.add(spy, startup)
    opts.update(
        llmspy_format=cfg.fmt,
        llmspy_output=cfg.output,
        llmspy_llm_only=cfg.mode == "llm",
        llmspy_all=cfg.mode == "all",
        llmspy_debug=cfg.debug,
    )
    if cfg.sets:
        opts.set(*cfg.sets)
    return master, spy, startup, log


async def _serve(cfg: ProxyConfig, ca: CA) -> int:
    from mitmproxy import exceptions

    try:
        master, spy, startup, log = _build_master(cfg, ca)
    except (exceptions.OptionsError, KeyError, ValueError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        _say(f"error: {text}")
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, master.shutdown)
    try:
        await master.run()
    finally:
        # Connections still open at exit are cancelled by asyncio.run; their callbacks'
        # CancelledError would otherwise be printed with a traceback by the default handler.
        loop.set_exception_handler(_quiet_exit_handler(cfg.debug))
        log.uninstall()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return startup.exit_code


def _quiet_exit_handler(debug: bool):
    def handle(loop, context) -> None:
        exc = context.get("exception")
        if isinstance(exc, asyncio.CancelledError) or not debug:
            return
        _say(f"info: at exit: {context.get('message')}: {exc!r}")

    return handle


def run_proxy(*, mode: str = "smart", fmt: str = "pretty", output: str | None = None, debug: bool = False,
              port: int = 8080, listen_host: str = "127.0.0.1", ca_dir: str | None = None,
              sets: tuple[str, ...] | list[str] = ()) -> int:
    """Run the proxy until SIGINT/SIGTERM. Returns the exit code: 0 stopped, 1 the CA or the
    listening socket failed, 2 a bad option (--set, --output)."""
    target = Path(ca_dir).expanduser() if ca_dir else default_ca_dir()
    try:
        ca, created = ensure_ca(target)
    except CAError as e:
        _say(f"error: {e}")
        return 1
    if created:
        _say(f"created a new local CA in {ca.dir}; `llmspy gen-ca --help` and certs/README.md say how to trust it")
    if not 0 <= port <= 65535:
        _say(f"error: --port {port} is not a TCP port (0-65535)")
        return 2
    cfg = ProxyConfig(mode=mode, fmt=fmt, output=output, debug=debug, port=port, listen_host=listen_host, sets=tuple(sets))
    try:
        return asyncio.run(_serve(cfg, ca))
    except KeyboardInterrupt:
        return 0
