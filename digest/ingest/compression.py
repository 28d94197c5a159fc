"""Decoding a response's Content-Encoding without ever holding more than the size cap.

A few kilobytes of gzip can inflate to gigabytes. Decoding each received chunk whole
before counting (as a client library does) holds a thousand times the chunk; here
zlib is asked for no more output than the cap has room for, and the input it has
not read yet waits in ``unconsumed_tail``.
"""

from __future__ import annotations

import zlib

from digest.ingest.errors import IngestError

# What a request may say it accepts: the encodings Inflater decodes.
ACCEPT_ENCODING = "gzip, deflate"
# The most output asked of zlib at once: what decoding holds besides the body.
STEP = 64 * 1024
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class Inflater:
    """Decodes one gzip or deflate body into a buffer that stops growing one byte past
    ``limit``. A gzip body may hold several members, decoded one after another; a
    deflate body may come with or without its zlib header."""

    def __init__(self, encoding: str, url: str, limit: int) -> None:
        self.encoding = encoding
        self._url = url
        self._limit = limit
        self._zlib = zlib.decompressobj(_WBITS[encoding])
        # deflate: the first bytes, kept until there are two to tell the header by.
        self._head: bytes | None = b"" if encoding == "deflate" else None

    def feed(self, data: bytes, into: bytearray) -> None:
        """Decode ``data`` onto the end of ``into``, stopping once ``into`` holds more
        than the limit (the caller refuses the feed then)."""
        if self._head is not None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, None
            if not _zlib_header(data):
                # Some servers send raw deflate data, without the zlib header.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        while len(into) <= self._limit:
            if self._zlib.eof:
                rest = self._zlib.unused_data + data
                if self.encoding == "deflate" or not rest.strip(b"\0"):
                    return  # the end (padding after the last gzip member is ignored)
                self._zlib = zlib.decompressobj(_WBITS[self.encoding])  # the next member
                data = rest
            room = min(self._limit + 1 - len(into), STEP)
            try:
                out = self._zlib.decompress(data, room)
            except zlib.error as exc:
                raise IngestError(
                    f"feed {self._url} is not valid {self.encoding} data: {exc}"
                ) from None
            into += out
            data = self._zlib.unconsumed_tail
            if not data and len(out) < room and not self._zlib.eof:
                return  # all of data read, and all it decodes to given


def _zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts with a zlib header (RFC 1950: deflate, and a check
    that makes the first two bytes a multiple of 31)."""
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def inflater_for(content_encoding: str, url: str, limit: int) -> Inflater | None:
    """The decoder for a response's Content-Encoding, None when the body is sent as is.

    Raises IngestError for an encoding this module does not decode (a server should
    not use one the request did not accept).
    """
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _WBITS:
        return Inflater(codings[0], url, limit)
    raise IngestError(
        f"feed {url} is sent with Content-Encoding {content_encoding!r}, which digest "
        f"cannot decode (it accepts {ACCEPT_ENCODING})"
    )
