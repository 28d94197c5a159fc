"""Reading a raw message defensively: headers, text, attached originals, addresses.

Bounces come from every mail system ever written, so nothing here trusts the input:
unknown charsets fall back to UTF-8 with replacement characters, and walks over the
MIME tree stop after a bounded number of parts.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import html
import re
from collections.abc import Iterator
from email.message import Message

MAX_PARTS = 200
MAX_TEXT = 200_000  # characters of any one part that the rules look at
MAX_HEADER = 10_000  # characters of any one header value

# Loose on purpose: bounce texts wrap addresses in <>, quotes, brackets, "mailto:",
# and test addresses break the rules ("neko....nyaan@").
# Every repeat is bounded, so a long run of address characters costs linear time.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
ADDRESS = re.compile(
    r"(?<![\w+=-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{0,127}"
    rf"@{_LABEL}(?:\.{_LABEL}){{1,10}}(?![\w-])"
)
_ATTACHED_TYPES = (
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "text/rfc822-header",
    "message/rfc822-headers",
)
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLOCK_TAG = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^>]{0,200}>", re.I)


def read(data: bytes) -> Message:
    """The message in ``data``; the compat32 parser never rejects malformed input."""
    return email.message_from_bytes(data, policy=email.policy.compat32)


def header(msg: Message, name: str) -> str:
    """The first ``name`` header, RFC 2047 decoded, on one line ("" when absent)."""
    found = headers(msg, name)
    return found[0] if found else ""


def headers(msg: Message, name: str) -> list[str]:
    """Every ``name`` header, decoded. Raw values are read, so that undeclared 8-bit
    text (UTF-8 subjects are common) survives."""
    wanted = name.lower()
    return [decode(value) for key, value in msg.raw_items() if key.lower() == wanted]


def decode(value: object) -> str:
    """A header value as text, whatever its encoding."""
    try:
        raw = str(value)[:MAX_HEADER]
    except (LookupError, UnicodeError):
        raw = ""
    try:
        text = str(email.header.make_header(email.header.decode_header(raw)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        text = raw
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())


def part_text(part: Message) -> str:
    """The decoded text of a leaf part (HTML reduced to text), cut to MAX_TEXT."""
    if part.is_multipart():  # message/delivery-status: one Message per block
        blocks = [block for block in part.get_payload() if isinstance(block, Message)]
        text = "\n\n".join(_block_text(block) for block in blocks)
    else:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = _charset(part)
            try:
                text = payload[: MAX_TEXT * 4].decode(charset, "replace")
            except LookupError:
                text = payload[: MAX_TEXT * 4].decode("utf-8", "replace")
        else:
            text = str(payload or "")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text[:MAX_TEXT]


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, one line per block."""
    markup = _drop_element(_drop_element(markup, "style"), "script")
    markup = _BLOCK_TAG.sub("\n", markup)
    return html.unescape(_TAG.sub(" ", markup))


def _drop_element(markup: str, name: str) -> str:
    """``markup`` without its <name>…</name> elements (in linear time)."""
    lower = markup.lower()
    kept = []
    position = 0
    while (start := lower.find("<" + name, position)) != -1:
        end = lower.find("</" + name, start)
        kept.append(markup[position:start])
        if end == -1:
            return "".join(kept)
        position = lower.find(">", end)
        position = len(markup) if position == -1 else position + 1
    kept.append(markup[position:])
    return "".join(kept)


def leaves(msg: Message) -> Iterator[Message]:
    """Parts of ``msg`` in order, without descending into attached messages or into
    delivery-status blocks (both are yielded whole)."""
    queue: list[Message] = [msg]
    seen = 0
    while queue and seen < MAX_PARTS:
        part = queue.pop(0)
        seen += 1
        ctype = part.get_content_type()
        if ctype.startswith("message/") or not part.is_multipart():
            yield part
            continue
        children = [p for p in part.get_payload() if isinstance(p, Message)]
        queue[0:0] = children


def attached(msg: Message) -> list[Message]:
    """The messages attached to ``msg`` (message/rfc822, or text/rfc822-headers
    parsed as headers), outermost first."""
    found: list[Message] = []
    for part in leaves(msg):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global") and part.is_multipart():
            found.extend(p for p in part.get_payload() if isinstance(p, Message))
        elif ctype in _ATTACHED_TYPES:  # headers only, or a message left as text
            found.append(email.message_from_string(part_text(part), policy=email.policy.compat32))
    return found


def addresses(text: str) -> list[str]:
    """Email addresses in ``text``, lowercased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in ADDRESS.finditer(text):
        seen.setdefault(match.group(0).lower().rstrip("."), None)
    return list(seen)


def header_addresses(msg: Message, *names: str) -> list[str]:
    """Addresses named in the given headers of ``msg``, lowercased."""
    values = [v for name in names for v in headers(msg, name)]
    found: list[str] = []
    for _, addr in email.utils.getaddresses(values):
        addr = addr.strip().lower()
        if ADDRESS.fullmatch(addr) and addr not in found:
            found.append(addr)
    return found


def _charset(part: Message) -> str:
    try:
        charset = part.get_content_charset() or "utf-8"
    except (LookupError, UnicodeError, ValueError):
        return "utf-8"
    # Mislabelled Japanese mail is common; the superset decodes more of it.
    return "iso-2022-jp-ext" if charset == "iso-2022-jp" else charset


def _block_text(block: Message) -> str:
    return "\n".join(f"{name}: {decode(value)}" for name, value in block.items())
