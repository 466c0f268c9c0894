# Content-Encoding decoding (RFC 9110 §8.4), incremental and bomb-proof.
#
# Approach: a Content-Encoding value names the codings in the order they were applied
# ("gzip, br" = gzip first, then br), so decoding runs them in reverse. Each coding is a small
# *layer* that holds its compressed input and hands out decoded bytes on request, at most about
# ``max_bytes`` per call (zlib's ``max_length``, brotli's ``output_buffer_limit``, zstd fed in
# slices small enough that even its best ratio stays bounded). BodyDecoder pulls from the last
# layer, which pulls from the one before when it starves, and so on: no layer ever expands more
# than one step ahead of what the caller is allowed to receive, so a decompression bomb stops at
# the cap instead of filling memory. Every ``feed`` drains all layers, so streamed bodies (SSE
# inside gzip) come out as soon as their bytes arrive.
#
# Error rule: nothing raises. Bytes that do not decode set ``error`` (one message) and the
# decoder passes nothing more; reaching the cap sets ``truncated`` and drops the rest; a body
# that stops before its coding's end marker sets ``incomplete`` at close().
from __future__ import annotations

import zlib

import brotli
import zstandard

__all__ = ["BodyDecoder", "DEFAULT_MAX_BODY", "SUPPORTED_CODINGS", "parse_content_encoding"]

# The most decoded bytes kept per body, in bytes. The largest bodies llmspy must show whole are
# multimodal requests: providers accept inline images/PDF/audio of 16-20 MiB, which base64
# grows by 4/3 (21-27 MiB) before the JSON around it; 64 MiB holds that with room for several
# parts while bounding what one exchange can cost.
DEFAULT_MAX_BODY = 64 * 1024 * 1024

# Decoded bytes asked of a layer per call, in bytes: the granularity of the cap (a bomb
# overshoots by at most about one step per layer) and small enough to keep each call cheap.
DECODE_STEP_BYTES = 1024 * 1024

# Compressed bytes handed to zlib per call, in bytes: zlib copies the unconsumed tail on each
# call that stops at max_length, so smaller slices keep that copying linear.
ZLIB_INPUT_SLICE_BYTES = 64 * 1024

# zstandard's decompressobj has no output limit, so it is fed slices of this many bytes. A zstd
# RLE block turns 4 input bytes into up to 128 KiB (ratio 32768), so one slice yields at most
# 128 * 32768 = 4 MiB (plus one block of 128 KiB held from earlier input).
ZSTD_INPUT_SLICE_BYTES = 128

# Largest zstd window accepted, in bytes; the window is memory the decoder must allocate.
# RFC 9659 requires HTTP encoders to stay within 8 MiB, but a one-shot frame's window is its
# content size, and a server at --ultra levels exceeds 8 MiB; SDK clients (httpx, libzstd's
# default) accept up to 128 MiB. 32 MiB decodes those while refusing frames that ask for more.
ZSTD_MAX_WINDOW_BYTES = 32 * 1024 * 1024

# brotli before 1.2 has no output_buffer_limit: feed it slices of this many bytes instead. A weak
# guard (one brotli byte can expand a lot); brotli>=1.2 bounds output properly.
BROTLI_FALLBACK_SLICE_BYTES = 16

SUPPORTED_CODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")

_DECODE_ERRORS = (zlib.error, brotli.error, zstandard.ZstdError, ValueError, EOFError)


class _Undecodable(ValueError):
    pass


def parse_content_encoding(value: str | None) -> list[str]:
    """The codings of a Content-Encoding value in the order they were applied, lower case,
    "identity" and empty list members dropped: ``"gzip, BR"`` -> ``["gzip", "br"]``."""
    if not value:
        return []
    codings = (part.strip().lower() for part in value.split(","))
    return [c for c in codings if c and c != "identity"]


class _Pending:
    """Input bytes waiting in a layer: one buffer and a read offset, so taking slices from a
    large input never copies the remainder (no quadratic slicing)."""

    __slots__ = ("_buffer", "_offset")

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0

    def __len__(self) -> int:
        return len(self._buffer) - self._offset

    def push(self, data: bytes) -> None:
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = bytes(data), 0
        else:
            self._buffer, self._offset = self._buffer[self._offset :] + data, 0

    def take(self, limit: int) -> memoryview:
        view = memoryview(self._buffer)[self._offset : self._offset + limit]
        self._offset += len(view)
        return view

    def give_back(self, count: int) -> None:
        """Un-take the last ``count`` bytes (what a decompressor reports it did not consume)."""
        self._offset -= count

    def head(self, count: int) -> bytes:
        return self._buffer[self._offset : self._offset + count]

    def skip_nul_padding(self) -> None:
        while self._offset < len(self._buffer) and self._buffer[self._offset] == 0:
            self._offset += 1


class _Identity:
    def __init__(self) -> None:
        self.pending = _Pending()

    def pull(self, max_bytes: int) -> bytes:
        return bytes(self.pending.take(max_bytes))

    def finished(self) -> bool:
        return True


def _looks_like_zlib(head: bytes) -> bool:
    # RFC 1950 §2.2: CM = 8 (deflate), CINFO <= 7, no preset dictionary, and the 16-bit header
    # is a multiple of 31. Raw deflate (RFC 1951) almost never passes all four.
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and not flg & 0x20 and (cmf << 8 | flg) % 31 == 0


class _Zlib:
    """gzip (RFC 1952, several members in a row allowed, NUL padding after the last one
    ignored) or deflate: zlib-wrapped (RFC 1950) as the RFC says, or raw (RFC 1951) as some
    servers send it, told apart by the first two bytes."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.pending = _Pending()
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj = None
        self._streams = 0  # completed gzip members / deflate streams

    def _start(self) -> bool:
        if self._gzip:
            if self._streams:
                self.pending.skip_nul_padding()
            if not len(self.pending):
                return False
            wbits = 32 + zlib.MAX_WBITS  # gzip header (zlib's auto-detect also accepts zlib)
        else:
            if self._streams and len(self.pending):
                raise _Undecodable("deflate: data after the end of the stream")
            if len(self.pending) < 2:
                return False
            wbits = zlib.MAX_WBITS if _looks_like_zlib(self.pending.head(2)) else -zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        return True

    def pull(self, max_bytes: int) -> bytes:
        while True:
            if self._obj is None and not self._start():
                return b""
            obj = self._obj
            out = obj.decompress(self.pending.take(ZLIB_INPUT_SLICE_BYTES), max_bytes)
            if obj.eof:
                self.pending.give_back(len(obj.unused_data))
                self._obj = None
                self._streams += 1
            else:
                self.pending.give_back(len(obj.unconsumed_tail))
            if out:
                return out
            if self._obj is not None and not len(self.pending):
                return b""

    def finished(self) -> bool:
        return self._obj is None and (not len(self.pending) or self._gzip)


try:  # brotli >= 1.2 bounds each call's output
    brotli.Decompressor().process(b"", output_buffer_limit=1)
    _BROTLI_HAS_LIMIT = True
except TypeError:  # pragma: no cover - depends on the installed brotli
    _BROTLI_HAS_LIMIT = False


class _Brotli:
    """br (RFC 7932) with the brotli library's incremental Decompressor."""

    coding = "br"

    def __init__(self) -> None:
        self.pending = _Pending()
        self._decompressor = brotli.Decompressor()
        self._started = False

    def pull(self, max_bytes: int) -> bytes:
        dec = self._decompressor
        if dec.is_finished():
            if len(self.pending):
                raise _Undecodable("br: data after the end of the stream")
            return b""
        if not _BROTLI_HAS_LIMIT:  # pragma: no cover
            while len(self.pending):
                out = dec.process(bytes(self.pending.take(BROTLI_FALLBACK_SLICE_BYTES)))
                if out:
                    return out
            return b""
        if not dec.can_accept_more_data():  # output of earlier input still waiting
            return dec.process(b"", output_buffer_limit=max_bytes)
        if not len(self.pending):
            return b""
        self._started = True
        return dec.process(bytes(self.pending.take(len(self.pending))), output_buffer_limit=max_bytes)

    def finished(self) -> bool:
        return not self._started or self._decompressor.is_finished()


class _Zstd:
    """zstd (RFC 8878): any number of frames in a row, skippable frames included. One
    decompressobj decodes one frame, so a new one starts where the last frame ended."""

    coding = "zstd"

    def __init__(self) -> None:
        self.pending = _Pending()
        self._context = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW_BYTES)
        self._obj = None

    def pull(self, max_bytes: int) -> bytes:
        # max_bytes is not enforceable here; the input slice size bounds each call instead.
        while len(self.pending):
            if self._obj is None:
                self._obj = self._context.decompressobj()
            obj = self._obj
            out = obj.decompress(self.pending.take(ZSTD_INPUT_SLICE_BYTES))
            if obj.eof:  # the rest of this slice belongs to the next frame
                self.pending.give_back(len(obj.unused_data))
                self._obj = None
            if out:
                return out
        return b""

    def finished(self) -> bool:
        return self._obj is None and not len(self.pending)


_LAYERS = {
    "gzip": _Zlib,
    "x-gzip": _Zlib,
    "deflate": _Zlib,
    "br": lambda coding: _Brotli(),
    "zstd": lambda coding: _Zstd(),
}


class BodyDecoder:
    """Decode one body's Content-Encoding (RFC 9110 §8.4.1) incrementally.

    ``content_encoding`` is the header value (None or "" for none), e.g. ``"gzip"`` or
    ``"gzip, br"`` (applied in that order, so decoded br first). Supported: gzip / x-gzip
    (multi-member), deflate (zlib-wrapped or raw), br, zstd (multi-frame), identity.

    ``feed(data)`` returns the decoded bytes available now; ``close()`` the rest (normally
    b"") and sets ``incomplete`` when the compressed stream stopped before its end marker.
    At most ``max_decoded`` bytes are ever returned, in total; reaching it sets ``truncated``
    and the remaining input is dropped undecoded. Peak memory during a feed is about twice the
    bytes it returns (the chunks and their join). Bytes that do not decode (or an unknown
    coding) set ``error`` to one message; from then on nothing more is returned. Never raises.

    Attributes: ``codings`` (list, order applied), ``decoded_size`` (bytes returned so far),
    ``truncated``, ``error``, ``incomplete``.
    """

    def __init__(self, content_encoding: str | None, max_decoded: int = DEFAULT_MAX_BODY) -> None:
        self.max_decoded = max_decoded
        self.codings = parse_content_encoding(content_encoding)
        self.decoded_size = 0
        self.truncated = False
        self.error: str | None = None
        self.incomplete = False
        self._closed = False
        self._layers: list | None = []
        for coding in reversed(self.codings):
            make = _LAYERS.get(coding)
            if make is None:
                self._fail(f"unsupported content-encoding {coding!r}")
                break
            self._layers.append(make(coding))
        if self._layers == []:
            self._layers.append(_Identity())

    def __repr__(self) -> str:
        return (
            f"BodyDecoder(codings={self.codings!r}, decoded_size={self.decoded_size}, "
            f"truncated={self.truncated}, error={self.error!r})"
        )

    def feed(self, data: bytes) -> bytes:
        """Decoded bytes that ``data`` (the next encoded bytes of the body) made available."""
        if self._layers is None or self._closed or not data:
            return b""
        out: list[bytes] = []
        self._layers[0].pending.push(data)
        self._drain(out)
        return b"".join(out)

    def close(self) -> bytes:
        """End of the body: returns any last decoded bytes; sets ``incomplete`` if a coding's
        stream was cut before its end."""
        if self._closed:
            return b""
        self._closed = True
        out: list[bytes] = []
        if self._layers is not None:
            self._drain(out)
        if self._layers is not None:
            self.incomplete = not all(layer.finished() for layer in self._layers)
            self._layers = None
        return b"".join(out)

    def _fail(self, message: str) -> None:
        self.error = message
        self._layers = None  # drop all decoder state: nothing more is decoded

    def _drain(self, out: list[bytes]) -> None:
        # Pull from the last layer until every layer starves or the cap is reached. Asking for
        # one byte more than the room left tells "exactly at the cap" from "over it".
        try:
            while True:
                room = self.max_decoded - self.decoded_size
                chunk = self._pull(len(self._layers) - 1, min(room + 1, DECODE_STEP_BYTES))
                if not chunk:
                    return
                if len(chunk) > room:
                    chunk = chunk[:room]
                    self.truncated = True
                if chunk:
                    out.append(chunk)
                    self.decoded_size += len(chunk)
                if self.truncated:
                    self._layers = None
                    return
        except _DECODE_ERRORS as exc:
            layer_names = "/".join(self.codings) or "identity"
            message = str(exc) if isinstance(exc, _Undecodable) else f"{layer_names}: {exc}"
            self._fail(message)

    def _pull(self, index: int, max_bytes: int) -> bytes:
        layer = self._layers[index]
        while True:
            chunk = layer.pull(max_bytes)
            if chunk or index == 0:
                return chunk
            upstream = self._pull(index - 1, DECODE_STEP_BYTES)
            if not upstream:
                return b""
            layer.pending.push(upstream)
