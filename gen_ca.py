#!/usr/bin/env python3
"""Make llmspy's local CA for proxy mode (the same as `llmspy gen-ca`).

    python gen_ca.py                  # into certs/ of this checkout
    python gen_ca.py --ca-dir DIR     # elsewhere
    python gen_ca.py --force          # replace an existing CA (re-trust it afterwards)

Writes DIR/ca.crt (trust this) and mitmproxy's confdir files (mitmproxy-ca.pem holds the key,
mode 0600), then prints how to trust the CA. A new key every time: never shared, never committed.
"""
import argparse
import os
import sys

try:
    import llmspy  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from llmspy.proxy.ca import gen_ca_main  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Create llmspy's local CA for proxy mode and print how to trust it.")
    parser.add_argument("--ca-dir", metavar="DIR", help="where to write it (default: certs/ of this checkout)")
    parser.add_argument("--force", action="store_true", help="replace an existing CA")
    args = parser.parse_args(argv)
    return gen_ca_main(args.ca_dir, args.force)


if __name__ == "__main__":
    sys.exit(main())
