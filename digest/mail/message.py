"""The bytes of one digest email, assembled directly.

Building a message with the standard library's ``email`` package costs about 2 ms;
a digest is always the same shape (``multipart/alternative``: text, then HTML, both
UTF-8 quoted-printable), so it is written out here in a fraction of that. Every header
value passes through :func:`clean` so no data can add a header (no CR/LF injection).
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from urllib.parse import quote

from digest.config import Settings

# C0 and C1 controls (CR, LF, NEL among them) and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_ID_PARTS = re.compile(r"([.@<>])")
# A literal "\n" prefix lets the regex engine scan with memchr: several times faster
# than `b"\n." in data`, which matters on a 40 KB HTML part.
_GUARDED_START = re.compile(rb"\n(?:\.|From )")
# Characters a URL may keep as they are inside List-Unsubscribe's angle brackets.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"
_counter = itertools.count()


def clean(value: str) -> str:
    """A header value with every control character (CR and LF included) replaced
    by a space, and runs of whitespace collapsed."""
    return " ".join(_CONTROL.sub(" ", value).split())


@lru_cache(maxsize=256)
def ascii_domain(domain: str) -> str:
    """``domain`` as ASCII: internationalised labels become IDNA ``xn--`` labels."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        # The codec refuses some labels (e.g. too long); punycode each one instead.
        return ".".join(
            label if label.isascii() else "xn--" + label.lower().encode("punycode").decode()
            for label in domain.split(".")
        )


def _ascii_id(value: str) -> str:
    """A Message-ID or List-Id with any internationalised domain label encoded."""
    value = clean(value).replace(" ", "")
    if value.isascii():
        return value
    return "".join(p if p.isascii() else ascii_domain(p) for p in _ID_PARTS.split(value))


def make_message_id(domain: str) -> str:
    """A globally unique Message-ID on ``domain``: time, counter and random parts."""
    stamp = f"{time.time_ns():x}.{next(_counter) % 1_000_000:x}.{secrets.token_hex(6)}"
    host = ascii_domain(clean(domain).replace(" ", "")) or "localhost"
    return f"<{stamp}@{host}>"


def _encoded_words(value: str) -> str:
    """RFC 2047 encoded-words (base64, UTF-8), folded so no line passes 78 octets."""
    words: list[str] = []
    chunk, size = "", 0
    # Each encoded word carries at most 42 bytes of UTF-8 (56 base64 characters), and
    # a character is never split between two words.
    for ch in value:
        width = len(ch.encode())
        if size + width > 42:
            words.append(chunk)
            chunk, size = ch, width
        else:
            chunk, size = chunk + ch, size + width
    if chunk:
        words.append(chunk)
    encoded = [
        f"=?utf-8?b?{binascii.b2a_base64(w.encode(), newline=False).decode()}?=" for w in words
    ]
    return "\r\n ".join(encoded)


def _fold(value: str, prefix_len: int) -> list[str]:
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
    return lines


def header_text(name: str, value: str) -> str:
    """An unstructured header (e.g. Subject): ASCII folded, anything else encoded."""
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}: use printable ASCII without ':'")
    value = clean(value)
    # Text that looks like an encoded word is encoded too, so it reads back as written.
    if value.isascii() and "=?" not in value:
        lines = _fold(value, len(name) + 2)
        if max(map(len, lines)) <= 78:
            return f"{name}: " + "\r\n ".join(lines)
    return f"{name}: {_encoded_words(value)}"


def addr_spec(addr: str) -> str:
    """``local@domain`` without controls or spaces, the domain in ASCII (IDNA)."""
    addr = clean(addr).replace(" ", "")
    local, at, domain = addr.rpartition("@")
    if not at or domain.isascii():
        return addr
    return f"{local}@{ascii_domain(domain)}"


def address(name: str | None, addr: str) -> str:
    """``Name <addr>``, with the name quoted or encoded as it needs.

    A non-ASCII local part stays UTF-8 (RFC 6532); such a message can only travel
    over SMTPUTF8, which the sender checks.
    """
    addr = addr_spec(addr)
    name = clean(name or "")
    if not name:
        return addr
    if not name.isascii() or "=?" in name:
        words = _encoded_words(name)
        last = words.rsplit("\r\n", 1)[-1]
        sep = "\r\n " if len(last) + len(addr) + 7 > 78 else " "
        return f"{words}{sep}<{addr}>"
    if _SPECIALS.search(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{addr}>'
    return f"{name} <{addr}>"


@lru_cache(maxsize=64)
def from_value(from_header: str) -> str:
    """The From value for ``Name <addr>`` or a bare address (display name encoded
    when it needs to be)."""
    name, addr = parseaddr(clean(from_header))
    if "@" not in addr:
        raise ValueError(f"From {from_header!r} holds no address")
    return address(name, addr)


def _guard(line: bytes) -> bytes:
    """Encode a line-leading '.' or 'From ': relays that do no dot-stuffing and mbox
    writers that add '>' would otherwise change the text (and break signatures)."""
    if line.startswith(b"."):
        line = b"=2E" + line[1:]
    elif line.startswith(b"From "):
        line = b"=46" + line[1:]
    else:
        return line
    if len(line) <= 76:
        return line
    # Re-break the now longer line without splitting an =XX escape.
    cut = 75
    if line[cut - 1 : cut] == b"=":
        cut -= 1
    elif line[cut - 2 : cut - 1] == b"=":
        cut -= 2
    return line[:cut] + b"=\n" + _guard(line[cut:])


def quoted_printable(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends and lines of at most 76 octets."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # istext: line breaks stay line breaks; trailing whitespace and a lone '.' are
    # encoded by b2a_qp itself.
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if encoded.startswith((b".", b"From ")) or _GUARDED_START.search(encoded):
        encoded = b"\n".join(_guard(line) for line in encoded.split(b"\n"))
    return encoded.replace(b"\n", b"\r\n")


@lru_cache(maxsize=20_000)
def _shared_block(text: str) -> bytes:
    # Blocks are the same string objects message after message: their hash is
    # computed once, so a hit costs a dictionary lookup.
    return quoted_printable(text)


def quoted_printable_parts(parts: Sequence[str]) -> bytes:
    """The quoted-printable form of ``"".join(parts)``, reusing the encoding of the
    inner parts (blocks shared between messages) from one message to the next.

    Quoted-printable encodes line by line, so text cut at line ends encodes to the
    concatenation of its pieces' encodings. A part that does not end a line is
    joined to the next before encoding."""
    out: list[bytes] = []
    pending: list[str] = []
    last = len(parts) - 1
    for i, part in enumerate(parts):
        pending.append(part)
        if part.endswith("\n") or i == last:
            if len(pending) == 1 and 0 < i < last:
                out.append(_shared_block(part))
            else:
                out.append(quoted_printable("".join(pending)))
            pending = []
    return b"".join(out)


def unsubscribe_target(url: str) -> str:
    """The URL as it may stand between angle brackets: controls removed, spaces,
    brackets and non-ASCII characters percent-encoded."""
    return quote(_CONTROL.sub("", url).strip(), safe=_URL_SAFE)


def build_message(
    *,
    from_header: str,
    to_addr: str,
    to_name: str | None,
    subject: str,
    text: str,
    html: str | Sequence[str],
    message_id: str,
    date: datetime,
    list_id: str | None,
    unsubscribe_url: str | None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The complete message: headers, then ``multipart/alternative`` (text, HTML).
    ``list_id`` and ``unsubscribe_url`` are None for a message that is not a list's.

    ``html`` may come in parts (see :func:`quoted_printable_parts`), so blocks shared
    between messages are not encoded again for each."""
    # '=_' never occurs in quoted-printable output, so the boundary cannot collide.
    boundary = f"=_digest_{secrets.token_hex(12)}"
    headers = [
        f"From: {from_value(from_header)}",
        f"To: {address(to_name, to_addr)}",
        header_text("Subject", subject),
        f"Date: {format_datetime(date)}",
        f"Message-ID: {_ascii_id(message_id)}",
    ]
    # A list message names its list and can be left in one click (RFC 2919, 8058);
    # a confirmation request is not one.
    if list_id is not None:
        headers.append(f"List-Id: {_ascii_id(list_id)}")
    if unsubscribe_url is not None:
        headers.append(f"List-Unsubscribe: <{unsubscribe_target(unsubscribe_url)}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    headers += [header_text(k, v) for k, v in extra_headers]
    headers += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
    ]
    part_head = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    out = [
        # UTF-8 only for a non-ASCII local part in To; everything else is ASCII by now.
        "\r\n".join(headers).encode("utf-8"),
        b"\r\n\r\n",
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n{part_head}".encode(),
        quoted_printable(text),
        f"\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n{part_head}".encode(),
        quoted_printable(html) if isinstance(html, str) else quoted_printable_parts(html),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(out)


def feedback_id(settings: Settings, campaign: str, topics: Iterable[str] = ()) -> str:
    """The Feedback-ID of Gmail's feedback loop: ``campaign:topic set:sender id``.

    Complaint rates are reported per field, so each groups many messages and none is
    unique to one: the campaign (``daily``, ``weekly``, ``test``, ``confirm``), a
    short hash of the digest's topic slugs (left out when there are none), and the
    list name as the sender id (Gmail asks for 5 to 15 characters, the same across
    the mail stream)."""
    fields = [campaign]
    slugs = sorted(set(topics))
    if slugs:
        fields.append(hashlib.blake2b(",".join(slugs).encode(), digest_size=4).hexdigest())
    fields.append(settings.list_name)
    return ":".join(fields)
