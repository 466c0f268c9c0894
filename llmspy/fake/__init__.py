"""A local fake LLM provider (real wire formats, scripted replies) and real-client runners.

Used by ``llmspy demo``, the eBPF and proxy end-to-end tests, and benchmarks:

    with FakeProvider() as fake:
        result = clients.openai_chat("api.openai.com", fake.port, ca=fake.ca_pem_path,
                                     hosts_file=clients.write_hosts_file(tmp))
        expected(fake.requests[-1].reply, "openai.chat_completions")
"""
from .scripts import (APIS, DEFAULT_TEXT_REPLIES, DEFAULT_TOOL_REPLIES, Reply, ToolCall, Usage,
                      default_reply, expected, finish_reason)
from .server import DEFAULT_HOSTS, FakeProvider, ReceivedRequest

__all__ = ["APIS", "DEFAULT_HOSTS", "DEFAULT_TEXT_REPLIES", "DEFAULT_TOOL_REPLIES", "FakeProvider",
           "ReceivedRequest", "Reply", "ToolCall", "Usage", "default_reply", "expected",
           "finish_reason"]
