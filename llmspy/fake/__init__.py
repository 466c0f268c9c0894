"""A local fake LLM provider (real wire formats, scripted replies) and real-client runners.

Used by ``llmspy demo``, the eBPF and proxy end-to-end tests, and benchmarks::

    from llmspy.fake import FakeProvider, clients, expected

    with FakeProvider() as fake:                      # api.openai.com, ... on 127.0.0.1:PORT
        hosts = clients.write_hosts_file(tmp_dir)     # real names -> 127.0.0.1, per process
        res = clients.openai_chat("api.openai.com", fake.port, ca=fake.ca_pem_path,
                                  stream=True, hosts_file=hosts).check()
        want = expected(fake.requests[-1].reply, "openai.chat_completions")

Server names are imported lazily so ``python -m llmspy.fake.server`` runs cleanly.
"""
from .scripts import (APIS, DEFAULT_TEXT_REPLIES, DEFAULT_TOOL_REPLIES, Reply, ToolCall, Usage,
                      default_reply, expected, finish_reason)

__all__ = ["APIS", "DEFAULT_HOSTS", "DEFAULT_TEXT_REPLIES", "DEFAULT_TOOL_REPLIES", "FakeProvider",
           "ReceivedRequest", "Reply", "ToolCall", "Usage", "clients", "default_reply",
           "expected", "finish_reason"]

_LAZY = {"FakeProvider", "ReceivedRequest", "DEFAULT_HOSTS"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.server"), name)
    if name == "clients":
        return importlib.import_module(f"{__name__}.clients")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
