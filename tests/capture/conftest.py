# Fixtures for the eBPF capture tests: a gate that skips (or fails, with
# LLMSPY_REQUIRE_EBPF=1) when eBPF cannot run, a local TLS server with a trustme CA, one
# EBPFCapture shared by the session (compiling takes ~2 s), and a poll helper.
#
# The TLS server runs in the pytest process, which EBPFCapture never traces (SELF_PID), so
# the only captured calls are the client subprocesses'. The server records what it received
# and sent per connection: the tests compare the capture with those bytes.
from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable

import pytest

SERVER_NAME = "llmspy.test"


@pytest.fixture(scope="session")
def ebpf_available() -> None:
    from llmspy.capture.diagnose import first_problem, run_checks

    problem = first_problem(run_checks())
    if problem is not None:
        message = f"eBPF unavailable: {problem.name}: {problem.detail} (fix: {problem.fix})"
        if os.environ.get("LLMSPY_REQUIRE_EBPF") == "1":
            pytest.fail(message)
        pytest.skip(message)


class TLSServer:
    """A threaded TLS server on 127.0.0.1. ``handler(tls_socket, record)`` serves one
    connection; ``record`` is a dict with "received"/"sent" bytearrays the handler fills."""

    def __init__(self, context: ssl.SSLContext, handler: Callable) -> None:
        self.context = context
        self.handler = handler
        self.connections: list[dict] = []
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(sock,), daemon=True).start()

    def _one(self, sock: socket.socket) -> None:
        record = {"received": bytearray(), "sent": bytearray(), "done": threading.Event()}
        self.connections.append(record)
        try:
            with self.context.wrap_socket(sock, server_side=True) as tls:
                self.handler(tls, record)
        except (OSError, ssl.SSLError):
            pass
        finally:
            record["done"].set()

    def close(self) -> None:
        self._stop = True
        self.listener.close()


def echo(tls: ssl.SSLSocket, record: dict) -> None:
    """Send back every chunk received, until EOF."""
    while data := tls.recv(65536):
        record["received"] += data
        tls.sendall(data)
        record["sent"] += data


def sink(tls: ssl.SSLSocket, record: dict) -> None:
    """Read until EOF, then answer b"got <n>"."""
    while data := tls.recv(1 << 20):
        record["received"] += data
    reply = b"got %d" % len(record["received"])
    tls.sendall(reply)
    record["sent"] += reply


def slow_http(pieces: list[bytes], delay_s: float) -> Callable:
    """Read one HTTP/1.1 request head, then send ``pieces`` with ``delay_s`` between them
    (so a non-blocking client's SSL_read returns "want read" in between)."""

    def handler(tls: ssl.SSLSocket, record: dict) -> None:
        while b"\r\n\r\n" not in record["received"]:
            data = tls.recv(65536)
            if not data:
                return
            record["received"] += data
        for piece in pieces:
            tls.sendall(piece)
            record["sent"] += piece
            time.sleep(delay_s)

    return handler


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert(SERVER_NAME, "localhost", "127.0.0.1")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, str(ca_file)


@pytest.fixture
def tls_server(tls_ca):
    """Factory: tls_server(handler) -> TLSServer (closed after the test)."""
    servers = []

    def make(handler: Callable) -> TLSServer:
        servers.append(TLSServer(tls_ca[0], handler))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def capture(ebpf_available):
    """One EBPFCapture on every target found (libssl.so.3, node), shared by the session."""
    from llmspy.capture import EBPFCapture, find_targets

    cap = EBPFCapture(find_targets())
    yield cap
    cap.close()


def collect(cap, pid: int, until: Callable[[list], bool], timeout_s: float = 15.0) -> list:
    """Poll ``cap`` until ``until(events of pid)`` or the timeout; returns those events."""
    events: list = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events += [e for e in cap.poll(50) if e.pid == pid]
        if until(events):
            break
    return events
