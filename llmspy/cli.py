# The command line: flags -> a front end + sinks. Front ends live in capture/ (eBPF),
# proxy/ and replay.py; output formatting lives in sinks/. Errors the user can fix are one
# line on stderr and a non-zero exit, never a traceback.
from __future__ import annotations

import sys

import click

from . import __version__

__all__ = ["main"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def fail(message: str, code: int = 1) -> None:
    """Print ``llmspy: error: message`` on stderr and exit with ``code``."""
    click.echo(f"llmspy: error: {message}", err=True)
    sys.exit(code)


def _check_comm(ctx, param, values):
    for v in values:
        if not v or len(v.encode()) > 15:
            raise click.BadParameter(f"{v!r}: a process name (comm) is 1 to 15 bytes; the kernel cuts longer names")
    return values


def _check_pid(ctx, param, values):
    for v in values:
        if v <= 0:
            raise click.BadParameter(f"{v} is not a process id")
    return values


def _mode(llm_only: bool, all_: bool) -> str:
    if llm_only and all_:
        fail("--llm-only and --all exclude each other", 2)
    return "llm" if llm_only else "all" if all_ else "smart"


def make_sinks(fmt: str, output: str | None, debug: bool = False):
    """The sinks for ``--format`` on stdout and ``--output FILE`` (JSON records appended)."""
    from .sinks.jsonl import JSONLSink, open_append
    from .sinks.notices import NoticeSink
    from .sinks.pretty import PrettySink

    sinks = [NoticeSink(debug=debug)]
    sinks.append(PrettySink() if fmt == "pretty" else JSONLSink(sys.stdout))
    if output:
        try:
            sinks.append(JSONLSink(open_append(output), owns=True))
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror or e}")
    return sinks


_common = [
    click.option("--llm-only", is_flag=True, help="Only LLM API calls."),
    click.option("--all", "all_", is_flag=True, help="Every HTTP exchange, not only LLM calls and JSON APIs."),
    click.option("--format", "fmt", type=click.Choice(["pretty", "jsonl"]), default="pretty", show_default=True,
                 help="stdout format: the live view, or one JSON record per line."),
    click.option("--output", "-o", metavar="FILE", help="Append JSON records (one per line) to FILE (with --raw: a capture file)."),
    click.option("--debug", is_flag=True, help="Show every notice, and internal details."),
]


def common(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@common
@click.option("--raw", is_flag=True, help="No parsing: show captured TLS reads/writes; with --output, write a capture file for `llmspy replay`.")
@click.option("--process", "processes", multiple=True, metavar="NAME", callback=_check_comm, help="Only processes with this name (comm, 15 chars). Repeatable.")
@click.option("--pid", "pids", multiple=True, type=int, metavar="N", callback=_check_pid, help="Only this process id. Repeatable.")
@click.option("--binary", "binaries", multiple=True, type=click.Path(), metavar="PATH", help="Also attach to a program that embeds OpenSSL (exports SSL_write). Repeatable.")
@click.option("--libssl", "libssls", multiple=True, type=click.Path(), metavar="PATH", help="Also attach to this libssl. Repeatable.")
@click.option("--proxy", is_flag=True, help="Run the mitmproxy front end instead of eBPF (for Chrome, Electron, Go, rustls...).")
@click.option("--port", type=int, default=8080, show_default=True, help="Proxy port (with --proxy).")
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Proxy address (with --proxy).")
@click.option("--ca-dir", type=click.Path(), metavar="DIR", help="Where the proxy CA lives; trust DIR/ca.crt (default: certs/ in a checkout, else ~/.llmspy/ca).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A mitmproxy option, as mitmdump --set (with --proxy). Repeatable.")
@click.option("--ebpf-source", is_flag=True, hidden=True, help="Print the BPF C program and exit.")
@click.version_option(__version__, "-V", "--version")
@click.pass_context
def main(ctx, llm_only, all_, fmt, output, debug, raw, processes, pids, binaries, libssls, proxy, port,
         listen_host, ca_dir, sets, ebpf_source):
    """Show what programs on this machine send to LLM APIs, live.

    With no command, captures with eBPF uprobes on OpenSSL (run as root): every program
    using OpenSSL (python, curl, node, ...) shows up, no proxy or certificates needed.

    \b
    Examples:
      sudo llmspy                         live view of LLM calls and JSON APIs
      sudo llmspy --llm-only -o calls.jsonl
      sudo llmspy --process python3 --format jsonl | jq .response.text
      sudo llmspy --raw -o capture.jsonl  capture file for `llmspy replay`
      llmspy --proxy --port 8080          proxy for programs uprobes cannot see
      llmspy demo                         a local fake API and a real SDK client, captured
      llmspy replay capture.jsonl
      llmspy doctor                       what eBPF capture needs, and how to fix it
    """
    if ctx.invoked_subcommand is not None:
        return
    mode = _mode(llm_only, all_)
    if raw and (llm_only or all_):
        fail("--raw shows every captured read/write unparsed; --llm-only and --all do not apply", 2)
    proxy_only = [f"--{n.replace('_', '-')}" for n in ("port", "listen_host", "ca_dir", "set")
                  if ctx.get_parameter_source("sets" if n == "set" else n) == click.core.ParameterSource.COMMANDLINE]
    if proxy_only and not proxy:
        fail(f"{', '.join(proxy_only)} {'applies' if len(proxy_only) == 1 else 'apply'} only with --proxy", 2)
    if proxy and (raw or processes or pids or binaries or libssls):
        fail("--raw, --process, --pid, --binary and --libssl apply to eBPF capture, not --proxy", 2)
    if ebpf_source:
        from .capture.ebpf import probe_source

        click.echo(probe_source())
        return
    if proxy:
        from .proxy.run import run_proxy

        sys.exit(run_proxy(mode=mode, fmt=fmt, output=output, debug=debug, port=port,
                           listen_host=listen_host, ca_dir=ca_dir, sets=sets))
    from .capture.live import LiveOptions, run_live

    sys.exit(run_live(LiveOptions(mode=mode, fmt=fmt, output=output, debug=debug, raw=raw,
                                  processes=processes, pids=pids, binaries=binaries, libssls=libssls)))


@main.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path())
@common
def replay(file, llm_only, all_, fmt, output, debug):
    """Print the records in a capture file (llmspy --raw -o) or a mitmproxy flow file
    (FILE "-" reads standard input).

    \b
    Examples:
      llmspy replay capture.jsonl
      llmspy replay --format jsonl capture.jsonl > records.jsonl
      llmspy replay flows.mitm
    """
    from .core.events import CallDone, Notice
    from .replay import ReplayError, replay_file
    from .sinks import Totals, fan_out

    mode = _mode(llm_only, all_)
    sinks = make_sinks(fmt, output, debug)
    totals = Totals()
    errors = 0
    try:
        for event in replay_file(file, mode):
            if isinstance(event, CallDone):
                totals.add(event.record)
            elif isinstance(event, Notice) and event.level == "error":
                errors += 1
            fan_out(sinks, event)
    except ReplayError as e:
        fail(str(e))
    except KeyboardInterrupt:
        pass
    for s in sinks:
        s.close(totals)  # the pretty view prints them; the others ignore them
    if errors and not totals.records:
        sys.exit(1)


@main.command(context_settings=CONTEXT)
def doctor():
    """Check what eBPF capture needs (root, BCC, kernel headers, libssl) and say how to fix it."""
    from .capture.diagnose import run_checks

    checks = run_checks()
    for c in checks:
        if c.ok:
            mark = click.style("ok  ", fg="green")
        else:
            mark = click.style("FAIL", fg="red") if c.required else click.style("warn", fg="yellow")
        click.echo(f"{mark} {c.name}: {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"     fix: {c.fix}")
    sys.exit(0 if all(c.ok or not c.required for c in checks) else 1)


@main.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(["pretty", "jsonl"]), default="pretty", show_default=True)
@click.option("--proxy", is_flag=True, help="Demo the proxy front end instead of eBPF.")
def demo(fmt, proxy):
    """Start a local TLS server speaking OpenAI's wire format, run the official openai SDK
    against it, and show the calls as llmspy captures them (eBPF by default; needs root)."""
    from .demo import run_demo

    sys.exit(run_demo(fmt=fmt, proxy=proxy))


@main.command("gen-ca", context_settings=CONTEXT)
@click.option("--ca-dir", type=click.Path(), metavar="DIR", help="Where to write the CA (default: certs/ in a checkout, else ~/.llmspy/ca).")
@click.option("--force", is_flag=True, help="Replace an existing CA.")
def gen_ca(ca_dir, force):
    """Create the local CA for proxy mode and print how to trust it."""
    from .proxy.ca import gen_ca_main

    sys.exit(gen_ca_main(ca_dir, force))


if __name__ == "__main__":  # pragma: no cover
    main()
