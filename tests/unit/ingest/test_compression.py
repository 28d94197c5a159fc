"""Decoding gzip and deflate within a cap: whatever the data and however it arrives in
pieces, the output is the data, or the data's first cap + 1 bytes when it is longer."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.ingest.compression import STEP, Inflater, inflater_for
from digest.ingest.errors import IngestError

URL = "https://feeds.example.org/rss"
PACK: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
}

# Repetitive data too: long back-references, many bytes out for each byte in.
data_strategy = st.one_of(
    st.binary(max_size=5000),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=40), st.integers(1, 3000)),
)


def decode(encoding: str, packed: bytes, cut: list[int], limit: int) -> bytes:
    inflater = Inflater(encoding, URL, limit)
    body = bytearray()
    pieces = [packed[a:b] for a, b in zip([0, *cut], [*cut, len(packed)], strict=True)]
    for piece in pieces:
        inflater.feed(piece, body)
        if len(body) > limit:
            break
    return bytes(body)


@settings(max_examples=200, deadline=None)
@given(
    encoding=st.sampled_from(sorted(PACK)),
    data=data_strategy,
    cuts=st.lists(st.floats(0, 1), max_size=6),
    limit=st.integers(1, 20_000),
)
def test_the_output_is_the_data_up_to_one_byte_past_the_limit(
    encoding: str, data: bytes, cuts: list[float], limit: int
) -> None:
    packed = PACK[encoding](data)
    cut = sorted({int(c * len(packed)) for c in cuts})
    body = decode(encoding, packed, cut, limit)
    assert body == data[: limit + 1]


def test_one_step_of_output_at_a_time() -> None:
    # A megabyte of zeros is a few hundred bytes of gzip: fed whole, it still comes out
    # a step at a time, and the body never grows past the limit and one byte.
    inflater = Inflater("gzip", URL, 3 * STEP)
    body = bytearray()
    inflater.feed(gzip.compress(bytes(1024 * 1024)), body)
    assert len(body) == 3 * STEP + 1


@pytest.mark.parametrize("header", ["", "identity", " Identity "])
def test_no_encoding_needs_no_decoder(header: str) -> None:
    assert inflater_for(header, URL, 100) is None


@pytest.mark.parametrize("header", ["br", "zstd", "gzip, gzip", "compress"])
def test_other_encodings_are_refused_by_name(header: str) -> None:
    with pytest.raises(IngestError, match=f"Content-Encoding '{header}', which digest cannot"):
        inflater_for(header, URL, 100)


def test_a_gzip_body_of_several_members_is_decoded_whole() -> None:
    body = gzip.compress(b"<rss>first half ") + gzip.compress(b"second half</rss>") + b"\0\0"
    into = bytearray()
    decoder = inflater_for("gzip", "https://example.org/feed", 1024)
    assert decoder is not None
    for i in range(0, len(body), 7):
        decoder.feed(body[i : i + 7], into)
    assert bytes(into) == b"<rss>first half second half</rss>"


def test_raw_deflate_is_told_from_zlib_even_one_byte_at_a_time() -> None:
    text = b"<rss>" + b"news " * 200 + b"</rss>"
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for body in (raw.compress(text) + raw.flush(), zlib.compress(text)):
        into = bytearray()
        decoder = inflater_for("deflate", "https://example.org/feed", 10_000)
        assert decoder is not None
        for i in range(len(body)):
            decoder.feed(body[i : i + 1], into)
        assert bytes(into) == text
