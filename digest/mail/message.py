"""The bytes of one digest email, assembled directly.

Building a message with the standard library's ``email`` package costs about 2 ms;
a digest is always the same shape (``multipart/alternative``: text, then HTML, both
UTF-8 quoted-printable), so it is written out here in a fraction of that. Every header
value passes through :func:`clean` so no data can add a header (no CR/LF injection).
"""

from __future__ import annotations

import binascii
import re
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_counter = 0


def clean(value: str) -> str:
    """A header value with every control character (CR and LF included) replaced
    by a space, and runs of whitespace collapsed."""
    return " ".join(_CONTROL.sub(" ", value).split())


def make_message_id(domain: str) -> str:
    """A globally unique Message-ID on ``domain``: time, process and random parts."""
    global _counter
    _counter = (_counter + 1) % 1_000_000
    stamp = f"{time.time_ns():x}.{_counter:x}.{secrets.token_hex(6)}"
    return f"<{stamp}@{clean(domain).replace(' ', '') or 'localhost'}>"


def _encoded_words(value: str) -> str:
    """RFC 2047 encoded-words (base64, UTF-8), folded so no line passes 78 octets."""
    words: list[str] = []
    chunk = ""
    # Each encoded word carries at most 42 bytes of UTF-8 (56 base64 characters), and
    # a character is never split between two words.
    for ch in value:
        if len((chunk + ch).encode()) > 42:
            words.append(chunk)
            chunk = ch
        else:
            chunk += ch
    if chunk:
        words.append(chunk)
    encoded = [
        f"=?utf-8?b?{binascii.b2a_base64(w.encode(), newline=False).decode()}?=" for w in words
    ]
    return "\r\n ".join(encoded)


def _fold(value: str, prefix_len: int) -> str:
    """Fold an ASCII header value at spaces so lines stay within 78 octets."""
    lines: list[str] = []
    line = ""
    limit = 78 - prefix_len
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > limit:
            lines.append(line)
            line, limit = word, 77
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def header_text(name: str, value: str) -> str:
    """An unstructured header (e.g. Subject): ASCII folded, anything else encoded."""
    value = clean(value)
    if value.isascii():
        return f"{name}: {_fold(value, len(name) + 2)}"
    return f"{name}: {_encoded_words(value)}"


def address(name: str | None, addr: str) -> str:
    """``Name <addr>``, with the name quoted or encoded as it needs."""
    addr = clean(addr).replace(" ", "")
    name = clean(name or "")
    if not name:
        return addr
    if not name.isascii():
        words = _encoded_words(name)
        last = words.rsplit("\r\n", 1)[-1]
        sep = "\r\n " if len(last) + len(addr) + 7 > 78 else " "
        return f"{words}{sep}<{addr}>"
    if _SPECIALS.search(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{addr}>'
    return f"{name} <{addr}>"


def quoted_printable(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends and lines of at most 76 octets."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(body.encode("utf-8"), quotetabs=False, istext=True, header=False)
    # b2a_qp keeps LF line ends; a line starting with "." or "From " is left as is,
    # which SMTP's dot-stuffing and mbox writers handle; CRLF is what the wire wants.
    return encoded.replace(b"\n", b"\r\n")


def build_message(
    *,
    from_header: str,
    to_addr: str,
    to_name: str | None,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    list_id: str,
    unsubscribe_url: str,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The complete message: headers, then ``multipart/alternative`` (text, HTML)."""
    boundary = f"=_digest_{secrets.token_hex(12)}"
    headers = [
        f"From: {clean(from_header)}",
        f"To: {address(to_name, to_addr)}",
        header_text("Subject", subject),
        f"Date: {format_datetime(date)}",
        f"Message-ID: {clean(message_id)}",
        f"List-Id: {clean(list_id)}",
        f"List-Unsubscribe: <{clean(unsubscribe_url).replace(' ', '%20')}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ]
    headers += [header_text(clean(k).replace(" ", "-"), v) for k, v in extra_headers]
    headers += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
    ]
    part_head = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    out = [
        "\r\n".join(headers).encode("ascii"),
        b"\r\n\r\n",
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n{part_head}".encode(),
        quoted_printable(text),
        f"\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n{part_head}".encode(),
        quoted_printable(html),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(out)
