# Command-line errors a user can make: one line on stderr, a non-zero exit, no traceback,
# and (for capture) no probe attached before the mistake is reported.
from __future__ import annotations

import subprocess
import sys

import pytest

LLMSPY = [sys.executable, "-m", "llmspy"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LLMSPY, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args, code, words",
    [
        (("--process", "averyveryverylongprocessname"), 2, "1 to 15 bytes"),
        (("--process", ""), 2, "1 to 15 bytes"),
        (("--pid", "0"), 2, "not a process id"),
        (("--port", "9000"), 2, "--port applies only with --proxy"),
        (("--ca-dir", "/tmp", "--set", "a=b"), 2, "--ca-dir, --set apply only with --proxy"),
        (("--raw", "--llm-only"), 2, "do not apply"),
        (("--llm-only", "--all"), 2, "exclude each other"),
        (("--proxy", "--pid", "1"), 2, "not --proxy"),
        (("-o", "/proc/llmspy-nope/x.jsonl"), 1, "cannot write /proc/llmspy-nope/x.jsonl"),
        (("--raw", "-o", "/proc/llmspy-nope/cap.jsonl"), 1, "cannot write /proc/llmspy-nope/cap.jsonl"),
    ],
)
def test_bad_flags_are_one_line(args, code, words):
    p = run(*args)
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr
    assert words in p.stderr
    assert "attached" not in p.stderr  # reported before any probe was attached


def test_replay_of_a_binary_file_gives_up_with_one_error(tmp_path):
    path = tmp_path / "binary"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 400)
    p = run("replay", "--format", "jsonl", str(path))
    assert p.returncode == 1 and p.stdout == ""
    assert "not an llmspy capture file" in p.stderr
    assert len(p.stderr.splitlines()) <= 25  # not one line per line of the file


def test_replay_of_a_records_file_says_what_it_is(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"schema": "llmspy/1", "kind": "llm", "id": "1"}\n' * 3)
    p = run("replay", str(path))
    assert p.returncode == 1
    errors = [line for line in p.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "records" in errors[0] and "--raw -o" in errors[0]
