"""Compressed feeds: gzip and deflate are read; a gzip bomb is refused at the size cap
without ever holding much more than the cap; an encoding digest does not decode is
named."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import pytest

from digest.ingest import IngestError, fetch_feed, parse_feed
from tests.integration.ingest.servers import Connection, clear_proxies, script_server
from tests.unit.ingest.feeds import rss

FEED = rss(("g1", "https://n.org/1", "One"), ("g2", "https://n.org/2", "Two"))
CAP = 10 * 1024 * 1024
MB = 1024 * 1024


def gzip_bomb(gigabytes: int = 1) -> bytes:
    """gzip data inflating to ``gigabytes`` GB of zeros, about 1 MB of it per GB.

    Each megabyte of zeros is compressed once and ended with a full flush, which makes
    the compressed megabyte stand alone: repeated, it inflates to the next megabyte.
    The trailer is left out; a reader stopping at the cap never gets there.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MB)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH) == again
    return first + again * (gigabytes * 1024 - 1)


def sends(body: bytes, encoding: str) -> Callable[[Connection], None]:
    def script(conn: Connection) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
        conn.sock.sendall(head.encode() + body)

    return script


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


def test_a_gzip_bomb_is_refused_at_the_cap_holding_little_more_than_the_cap() -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 * MB  # what arrives is small…
    assert len(zlib.decompressobj(31).decompress(bomb, CAP + 1)) == CAP + 1  # …what it makes is not
    with script_server(sends(bomb, "gzip")) as server:
        url = f"http://127.0.0.1:{server.port}/feed.xml"
        tracemalloc.start()
        try:
            with pytest.raises(IngestError) as caught:
                fetch_feed(url, timeout=30, max_bytes=CAP, allow_private=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert str(caught.value) == f"feed {url} is larger than the limit of {CAP} bytes"
    # The body itself may reach the cap; decoding adds a small buffer, not a 1000-fold
    # inflated chunk of what arrived.
    assert peak < 4 * CAP, f"fetching held {peak / MB:.0f} MB at its peak"


@pytest.mark.parametrize(
    "encoding, pack",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # no header
        ("identity", lambda data: data),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "identity"],
)
def test_a_compressed_feed_is_read_and_parsed(
    encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    with script_server(sends(pack(FEED), encoding)) as server:
        result = fetch_feed(f"http://127.0.0.1:{server.port}/rss", allow_private=True)
        (request,) = server.requests
    assert result.body == FEED
    assert [i.title for i in parse_feed(result.body, result.final_url).items] == ["One", "Two"]
    assert b"\r\nAccept-Encoding: gzip, deflate\r\n" in request


def test_an_encoding_digest_does_not_decode_is_named() -> None:
    with script_server(sends(b"\x1b\x00 brotli bytes", "br")) as server:
        url = f"http://127.0.0.1:{server.port}/rss"
        with pytest.raises(IngestError) as caught:
            fetch_feed(url, allow_private=True)
    assert str(caught.value) == (
        f"feed {url} is sent with Content-Encoding 'br', which digest cannot decode "
        "(it accepts gzip, deflate)"
    )


def test_corrupt_gzip_is_named() -> None:
    with script_server(sends(b"\x1f\x8b\x08\x00 not really gzip", "gzip")) as server:
        url = f"http://127.0.0.1:{server.port}/rss"
        with pytest.raises(IngestError, match=f"feed {url} is not valid gzip data: "):
            fetch_feed(url, allow_private=True)
