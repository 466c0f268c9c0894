# Tests for llmspy/core/encoding.py: every Content-Encoding a provider or proxy sends, fed
# whole and in pieces, stacked codings, broken input, and decompression bombs built on the fly
# (never materialised) that must stop at the cap with bounded memory.
from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from llmspy.core.encoding import DEFAULT_MAX_BODY, BodyDecoder, parse_content_encoding

SSE_BODY = (
    b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":" w\xc3\xb6rld"}}]}\n\n'
    b"data: [DONE]\n\n"
) * 20
MIB = 1024 * 1024


def decode(encoding, chunks, **kwargs):
    decoder = BodyDecoder(encoding, **kwargs)
    out = b"".join(decoder.feed(c) for c in chunks) + decoder.close()
    return out, decoder


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zstd_frames(*parts: bytes) -> bytes:
    return b"".join(zstandard.ZstdCompressor().compress(p) for p in parts)


ENCODED = {
    "gzip": gzip.compress(SSE_BODY),
    "x-gzip": gzip.compress(SSE_BODY),
    "deflate": zlib.compress(SSE_BODY),  # zlib-wrapped, as RFC 9110 defines deflate
    "br": brotli.compress(SSE_BODY),
    "zstd": zstandard.ZstdCompressor().compress(SSE_BODY),
    "identity": SSE_BODY,
    "GZip": gzip.compress(SSE_BODY),  # coding names are case-insensitive
}


@pytest.mark.parametrize("encoding", sorted(ENCODED))
@pytest.mark.parametrize("size", [1 << 20, 1, 7], ids=["whole", "bytes", "sevens"])
def test_each_coding(encoding, size):
    out, decoder = decode(encoding, pieces(ENCODED[encoding], size))
    assert out == SSE_BODY
    assert decoder.decoded_size == len(SSE_BODY)
    assert (decoder.error, decoder.truncated, decoder.incomplete) == (None, False, False)


@pytest.mark.parametrize("encoding", [None, "", "identity", " , identity"])
def test_no_coding_passes_through(encoding):
    assert decode(encoding, [b"abc", b"def"])[0] == b"abcdef"


def test_parse_content_encoding():
    assert parse_content_encoding("gzip, BR ,identity,") == ["gzip", "br"]
    assert parse_content_encoding(None) == []


def test_raw_deflate_detected():
    body = raw_deflate(SSE_BODY)
    assert decode("deflate", [body])[0] == SSE_BODY
    assert decode("deflate", pieces(body, 1))[0] == SSE_BODY


def test_gzip_multi_member_and_nul_padding():
    body = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    assert decode("gzip", [body])[0] == b"first second third"
    out, decoder = decode("gzip", pieces(body + b"\0" * 5, 3))
    assert out == b"first second third" and decoder.error is None and not decoder.incomplete


def test_zstd_multi_frame_with_skippable_frame():
    skippable = (0x184D2A5A).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"meta"
    body = zstd_frames(b"one ", b"two ") + skippable + zstd_frames(b"three")
    for size in (len(body), 1, 5):
        out, decoder = decode("zstd", pieces(body, size))
        assert out == b"one two three", size
        assert decoder.error is None and not decoder.incomplete


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip, br", lambda d: brotli.compress(gzip.compress(d))),
        ("br, gzip", lambda d: gzip.compress(brotli.compress(d))),
        ("deflate, zstd", lambda d: zstandard.ZstdCompressor().compress(zlib.compress(d))),
        ("gzip,identity, gzip", lambda d: gzip.compress(gzip.compress(d))),
    ],
)
def test_stacked_codings_decoded_in_reverse(encoding, encode):
    body = encode(SSE_BODY)
    for size in (len(body), 1):
        out, decoder = decode(encoding, pieces(body, size))
        assert out == SSE_BODY and decoder.error is None


def test_streamed_gzip_is_decoded_as_it_arrives():
    # a server flushing its gzip stream after each SSE event: each event must come out of
    # feed() at once, not at the end of the body
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    events = [b"data: one\n\n", b"data: two\n\n"]
    decoder = BodyDecoder("gzip")
    for event in events:
        assert decoder.feed(compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH)) == event
    assert decoder.feed(compressor.flush()) == b""
    assert decoder.close() == b"" and not decoder.incomplete


def test_streamed_br_and_zstd_are_decoded_as_they_arrive():
    br = brotli.Compressor()
    zc = zstandard.ZstdCompressor().compressobj()
    br_decoder, zstd_decoder = BodyDecoder("br"), BodyDecoder("zstd")
    for event in (b"data: one\n\n", b"data: two\n\n"):
        assert br_decoder.feed(br.process(event) + br.flush()) == event
        assert zstd_decoder.feed(zc.compress(event) + zc.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)) == event


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_cut_stream_is_incomplete(encoding):
    body = ENCODED[encoding]
    out, decoder = decode(encoding, [body[: len(body) // 2]])
    assert SSE_BODY.startswith(out)
    assert decoder.incomplete and decoder.error is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_garbage_sets_error_once_and_stops(encoding):
    decoder = BodyDecoder(encoding)
    assert decoder.feed(b"<html><body>502 Bad Gateway</body></html>") == b""
    assert decoder.error
    message = decoder.error
    assert decoder.feed(ENCODED[encoding]) == b"" and decoder.close() == b""
    assert decoder.error == message


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_trailing_garbage_after_the_stream(encoding):
    decoder = BodyDecoder(encoding)
    assert decoder.feed(ENCODED[encoding]) == SSE_BODY
    decoder.feed(b"junk")
    assert decoder.error


def test_zstd_frame_asking_for_a_huge_window_is_refused():
    # a streamed frame (no content size) declaring a 256 MiB window: refused before allocating
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    body = compressor.compress(b"x" * 1000) + compressor.flush()
    assert zstandard.get_frame_parameters(body).window_size == 1 << 28
    out, decoder = decode("zstd", [body])
    assert out == b"" and decoder.error


def test_unknown_coding():
    decoder = BodyDecoder("gzip, compress")
    assert decoder.error and "compress" in decoder.error
    assert decoder.feed(b"abc") == b"" and decoder.close() == b""


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_cap(encoding):
    data = bytes(range(256)) * 40  # 10240 bytes
    body = gzip.compress(data) if encoding == "gzip" else data
    out, decoder = decode(encoding, pieces(body, 100), max_decoded=1000)
    assert out == data[:1000] and decoder.truncated and decoder.decoded_size == 1000
    out, decoder = decode(encoding, pieces(body, 100), max_decoded=len(data))
    assert out == data and not decoder.truncated  # exactly at the cap is not truncated


# --- bombs ---------------------------------------------------------------------------------


def gzip_zeros(total: int, chunk: int = MIB):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        yield compressor.compress(zeros)
    yield compressor.flush()


def br_zeros(total: int, chunk: int = MIB):
    compressor = brotli.Compressor(quality=5)
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        yield compressor.process(zeros) + compressor.flush()
    yield compressor.finish()


def zstd_zeros(total: int, chunk: int = MIB):
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        yield compressor.compress(zeros) + compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    yield compressor.flush()


def br_of_gzip_zeros(total: int):
    compressor = brotli.Compressor()
    for piece in gzip_zeros(total):
        yield compressor.process(piece) + compressor.flush()
    yield compressor.finish()


def feed_bomb(encoding, chunks, cap):
    """Feed until the decoder stops decoding; return (decoder, peak traced bytes)."""
    decoder = BodyDecoder(encoding, max_decoded=cap)
    tracemalloc.start()
    try:
        for chunk in chunks:
            decoder.feed(chunk)  # output dropped at once, as a sink with a cap would
            if decoder.truncated or decoder.error:
                break
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return decoder, peak


GIB = 1024 * MIB
BOMB_MAKERS = {"gzip": gzip_zeros, "br": br_zeros, "zstd": zstd_zeros, "gzip, br": br_of_gzip_zeros}
BOMBS = {
    "gzip": lambda: gzip_zeros(GIB),
    "br": lambda: br_zeros(GIB),
    "zstd": lambda: zstd_zeros(GIB),
    "gzip, br": lambda: br_of_gzip_zeros(GIB),
}


@pytest.mark.parametrize("encoding", sorted(BOMBS))
def test_bomb_stops_at_cap_with_bounded_memory(encoding):
    cap = 8 * MIB
    decoder, peak = feed_bomb(encoding, BOMBS[encoding](), cap)
    assert decoder.truncated and decoder.error is None
    assert decoder.decoded_size == cap
    # a feed holds its output twice at most (chunks + join), plus one decode step per layer
    # and the zstd slice bound (4 MiB): far from the 1 GiB the body would decode to
    assert peak < 3 * cap, peak
    assert decoder.feed(b"more") == b""


def test_gzip_bomb_at_default_cap():
    decoder, peak = feed_bomb("gzip", gzip_zeros(GIB), DEFAULT_MAX_BODY)
    assert decoder.truncated and decoder.decoded_size == DEFAULT_MAX_BODY
    assert peak < 2 * DEFAULT_MAX_BODY + 16 * MIB, peak


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_bomb_in_one_feed(encoding):
    # the whole compressed bomb in one read (256 MiB of zeros: ~256 KiB of gzip, far less in
    # br or zstd): one feed must still stop decoding at the cap
    body = b"".join(BOMB_MAKERS[encoding](GIB // 4))
    cap = 4 * MIB
    decoder, peak = feed_bomb(encoding, [body], cap)
    assert decoder.truncated and decoder.decoded_size == cap
    # output held twice, one overshooting zstd slice (<= 4 MiB) and its cut, and the input
    assert peak < 2 * cap + 8 * MIB + 2 * len(body), peak


# --- property ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    encoding=st.sampled_from(["gzip", "deflate", "br", "zstd", "gzip, br"]),
    cuts=st.lists(st.integers(0, 3000), max_size=15),
)
def test_any_split_gives_the_same_bytes(encoding, cuts):
    encoders = {
        "gzip": lambda d: gzip.compress(d[:500]) + gzip.compress(d[500:]),
        "deflate": raw_deflate,
        "br": brotli.compress,
        "zstd": lambda d: zstd_frames(d[:700], d[700:]),
        "gzip, br": lambda d: brotli.compress(gzip.compress(d)),
    }
    body = encoders[encoding](SSE_BODY)
    bounds = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *bounds], [*bounds, len(body)])]
    out, decoder = decode(encoding, chunks)
    assert out == SSE_BODY and decoder.error is None and not decoder.incomplete
