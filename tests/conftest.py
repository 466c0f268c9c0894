# Shared test policy: tests marked `ebpf` need root and a working BCC. Where those are missing
# they skip on a developer's laptop, but FAIL when LLMSPY_REQUIRE_EBPF=1 (CI sets it), so a CI
# run can never look green while eBPF tests silently did nothing.
from __future__ import annotations

import os

import pytest


def ebpf_problem() -> str | None:
    """Why eBPF tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root"
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import bcc  # noqa: F401
    except Exception as e:  # ImportError, or libbcc.so missing (OSError)
        return f"BCC not importable: {e}"
    if not os.path.exists(f"/lib/modules/{os.uname().release}/build"):
        return "no kernel headers at /lib/modules/$(uname -r)/build"
    return None


def pytest_runtest_setup(item):
    if item.get_closest_marker("ebpf") is None:
        return
    problem = ebpf_problem()
    if problem is None:
        return
    if os.environ.get("LLMSPY_REQUIRE_EBPF") == "1":
        pytest.fail(f"eBPF required (LLMSPY_REQUIRE_EBPF=1) but unavailable: {problem}", pytrace=False)
    pytest.skip(f"eBPF unavailable: {problem}")
