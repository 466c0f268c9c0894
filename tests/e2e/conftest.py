"""Fixtures for the eBPF end-to-end tests (see support.py for the harness)."""
from __future__ import annotations

from pathlib import Path

import pytest

import llmspy.fake.clients as clients
from llmspy.fake.scripts import APIS
from llmspy.fake.server import FakeProvider

from .support import tagged_script


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ebpf-e2e")


@pytest.fixture(scope="module")
def fake():
    """The fake provider (HTTP/1.1 and HTTP/2), answering each tagged call with its own reply.
    A small delay between stream events makes streams arrive in many TLS reads."""
    with FakeProvider(delay=0.005, scripts={api: tagged_script(api) for api in APIS}) as f:
        yield f


@pytest.fixture(scope="module")
def hosts_file(workdir) -> str:
    """A hosts file mapping the real API names to 127.0.0.1, for clients run in their own
    mount namespace (MACHINE.md; needs root, like every eBPF test)."""
    return clients.write_hosts_file(workdir)
