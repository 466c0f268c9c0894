"""The proxy front end: a mitmproxy addon (addon.py) feeding the shared core, the in-process
runner behind `llmspy --proxy` (run.py) and the local CA it signs with (ca.py)."""
