"""llmspy as a mitmproxy script:

    mitmdump -s addons/llmspy_addon.py --set llmspy_output=calls.jsonl --set llmspy_llm_only=true

Options (all optional): llmspy_output=FILE (JSON records appended), llmspy_llm_only=true,
llmspy_all=true, llmspy_format=pretty|jsonl|none (stdout), llmspy_debug=true.

mitmdump may run from another Python than llmspy's (a system mitmproxy, pipx): when llmspy is
not importable, this file adds the checkout it lives in (its parent's parent) to sys.path.
llmspy's own dependencies (h11, hyperframe, brotli, zstandard, rich, click, genai-prices...)
must still be importable there; the venv's `.venv/bin/mitmdump` has them all.
"""
import os
import sys

try:
    import llmspy  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    from llmspy.proxy.addon import LLMSpy
except ImportError as e:  # say what to do instead of a bare traceback
    raise ImportError(
        f"llmspy cannot be imported by this mitmdump ({sys.executable}): {e}. "
        "Run the mitmdump of llmspy's environment (.venv/bin/mitmdump) or `pip install llmspy` there."
    ) from e

addons = [LLMSpy()]
