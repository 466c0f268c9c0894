"""llmspy: see what programs on this machine send to LLM APIs and what they get back."""

__version__ = "0.1.0"
