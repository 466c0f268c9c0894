# One captured TLS read or write: the unit the eBPF front end produces, the capture file
# (schema "llmspy.capture/1", ../shared/DESIGN.md) stores, and the tracker consumes.
# Two additions to the DESIGN.md line format, both optional for readers: "exe" (the process's
# executable path, when known) and "dir": "close" (the connection ended: SSL_free or process
# exit; "len" 0 and empty "data"), so a replay ends close-delimited bodies where capture did.
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["CaptureEvent", "CaptureFormatError", "SEND", "RECV", "CLOSE"]

SEND = "send"  # written by the traced program (before encryption)
RECV = "recv"  # read by the traced program (after decryption)
CLOSE = "close"  # the connection ended (SSL_free or process exit); len 0, no data


class CaptureFormatError(ValueError):
    """A capture-file line that is not a valid llmspy.capture/1 object."""


@dataclass(slots=True)
class CaptureEvent:
    """``ts`` unix seconds; ``conn`` "<pid>:<SSL* hex>", stable for one TLS connection;
    ``len`` the bytes the call moved (may exceed len(data) when ``truncated``)."""

    ts: float
    pid: int
    tid: int
    comm: str
    conn: str
    dir: str
    data: bytes
    server: str | None = None
    len: int = 0
    truncated: bool = False
    exe: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "ts": self.ts,
                "pid": self.pid,
                "tid": self.tid,
                "comm": self.comm,
                "conn": self.conn,
                "dir": self.dir,
                "server": self.server,
                "len": self.len,
                "truncated": self.truncated,
                "data": base64.b64encode(self.data).decode("ascii"),
                **({"exe": self.exe} if self.exe else {}),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_dict(cls, d: Any) -> CaptureEvent:
        """Raises CaptureFormatError naming the first bad field."""
        if not isinstance(d, dict):
            raise CaptureFormatError("not a JSON object")
        try:
            data = base64.b64decode(d.get("data") or "", validate=True)
        except (binascii.Error, TypeError, ValueError) as e:
            raise CaptureFormatError(f"field 'data' is not base64: {e}") from None
        direction = d.get("dir")
        if direction not in (SEND, RECV, CLOSE):
            raise CaptureFormatError(f"field 'dir' must be send, recv or close, not {direction!r}")
        ts, conn = d.get("ts"), d.get("conn")
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            raise CaptureFormatError("field 'ts' must be a number (unix seconds)")
        if not isinstance(conn, str) or not conn:
            raise CaptureFormatError("field 'conn' must be a non-empty string")
        pid = d.get("pid")
        tid = d.get("tid", pid)
        server = d.get("server")
        length = d.get("len", len(data))
        exe = d.get("exe")
        return cls(
            ts=float(ts),
            pid=pid if isinstance(pid, int) else 0,
            tid=tid if isinstance(tid, int) else 0,
            comm=str(d.get("comm") or ""),
            conn=conn,
            dir=direction,
            data=data,
            server=server if isinstance(server, str) and server else None,
            len=length if isinstance(length, int) else len(data),
            truncated=bool(d.get("truncated", False)),
            exe=exe if isinstance(exe, str) and exe else None,
        )
