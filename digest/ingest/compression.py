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
    ``limit``."""

    def __init__(self, encoding: str, url: str, limit: int) -> None:
        self.encoding = encoding
        self._url = url
        self._limit = limit
        self._zlib = zlib.decompressobj(_WBITS[encoding])
        self._started = False

    def feed(self, data: bytes, into: bytearray) -> None:
        """Decode ``data`` onto the end of ``into``, stopping once ``into`` holds more
        than the limit (the caller refuses the feed then)."""
        while not self._zlib.eof and len(into) <= self._limit:
            room = min(self._limit + 1 - len(into), STEP)
            try:
                out = self._zlib.decompress(data, room)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    # Some servers send raw deflate data, without the zlib header.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise IngestError(
                    f"feed {self._url} is not valid {self.encoding} data: {exc}"
                ) from None
            self._started = True
            into += out
            data = self._zlib.unconsumed_tail
            if not data and len(out) < room:
                return  # all of data read, and all it decodes to given


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
