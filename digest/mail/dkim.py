"""DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed, an explicit header list.

Signing is on when ``DIGEST_DKIM_SELECTOR``, ``DIGEST_DKIM_DOMAIN`` and
``DIGEST_DKIM_KEY_FILE`` are set, for every email: digests, confirmation emails and
test copies. The key is read and parsed once per process.

The signature is computed here rather than by dkimpy, which does its RSA arithmetic in
pure Python: about 7 ms per message against 0.25 ms through OpenSSL (``cryptography``),
and its relaxed body canonicalisation rewrites every space of the body (1.3 ms for a
50 KB digest, against 0.09 ms here, where only what changes is touched). dkimpy is
the independent verifier in the tests; docs/performance.md has the measurements.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from digest.config import ConfigError, Settings, load_dkim_key

# Signed when present, in this order. List-Unsubscribe-Post is among them, unlike in
# dkimpy's default list: RFC 8058 requires it to be covered by the signature, or a
# receiver will not offer one-click unsubscribe.
HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "mime-version",
    "content-type",
)
# Fields a message has at most once (RFC 5322): signed once more than present, so a
# second copy added on the way (e.g. a From a mail client would show) breaks the
# signature. Headers a relay may legitimately add, such as a relay's own
# Feedback-ID, are not.
OVERSIGNED = frozenset({"from", "to", "subject", "date", "message-id"})

_FIELD_END = re.compile(rb"\r\n(?![ \t])")
_WSP = re.compile(rb"[ \t]+")
_SPACES = re.compile(rb"  +")


def relaxed_body(body: bytes) -> bytes:
    """The body in the "relaxed" canonical form (RFC 6376 3.4.4), for a body with CRLF
    line ends: whitespace runs become one space, whitespace at line ends and empty
    lines at the end go. Each step runs only when its pattern occurs."""
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    if b"  " in body:
        body = _SPACES.sub(b" ", body)
    # After the runs are one space long, a single space is all a line end can follow.
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    if body and not body.endswith(b"\r\n"):
        # build_message always ends with CRLF; for other input this follows dkimpy.
        body += b"\r\n"
    while body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    return b"" if body == b"\r\n" else body


def relaxed_header(raw: bytes) -> bytes:
    """One header field ``Name: value`` (folded or not) in the "relaxed" canonical
    form (RFC 6376 3.4.2), with its CRLF."""
    name, _, value = raw.partition(b":")
    value = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + b"\r\n"


def _fold(prefix: str, items: Sequence[str], sep: str) -> str:
    """``prefix`` and ``items`` joined by ``sep``, broken after a separator so lines
    stay within 78 octets (folding whitespace is allowed there, RFC 6376 3.2)."""
    lines, line = [], prefix
    for i, item in enumerate(items):
        piece = item + (sep if i < len(items) - 1 else "")
        if len(line) + len(piece) > 77:
            lines.append(line)
            line = " "
        line += piece
    lines.append(line)
    return "\r\n".join(lines)


@dataclass(frozen=True)
class Signer:
    """Signs messages as ``selector._domainkey.domain`` with an RSA key."""

    selector: str
    domain: str
    key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def record_name(self) -> str:
        """The DNS name of the TXT record that publishes the public key."""
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_record(self) -> str:
        """The TXT record's value: ``v=DKIM1; k=rsa; p=…``."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"

    def sign(self, data: bytes, now: float | None = None) -> bytes:
        """``data`` (a whole message with CRLF line ends, Date and Message-ID set) with
        a DKIM-Signature header field before its first header."""
        end = data.find(b"\r\n\r\n")
        head, body = (data, b"") if end < 0 else (data[:end], data[end + 4 :])
        present: dict[str, list[bytes]] = {}
        for raw in _FIELD_END.split(head):
            name, colon, _ = raw.partition(b":")
            if colon:
                present.setdefault(name.strip().lower().decode("ascii", "replace"), []).append(raw)
        names: list[str] = []
        canonical: list[bytes] = []
        for name in HEADERS:
            fields = present.get(name, [])
            # Several instances are signed from the last one up (RFC 6376 5.4.2).
            for raw in reversed(fields):
                names.append(name)
                canonical.append(relaxed_header(raw))
            if fields and name in OVERSIGNED:
                names.append(name)
        if "from" not in names:
            raise ValueError("a message without a From field cannot be DKIM-signed")
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
        stamp = int(time.time() if now is None else now)
        # b= stays empty while signing, and the header field is hashed that way
        # (without its final CRLF); the signature is then written after "b=".
        header = (
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
            f" d={self.domain}; s={self.selector}; t={stamp};\r\n"
            f"{_fold(' h=', names, ':')};\r\n"
            f" bh={body_hash};\r\n"
            " b="
        ).encode("ascii")
        hashed = b"".join(canonical) + relaxed_header(header)[:-2]
        signature = base64.b64encode(
            self.key.sign(hashed, padding.PKCS1v15(), hashes.SHA256())
        ).decode("ascii")
        folded = "\r\n ".join(signature[i : i + 74] for i in range(0, len(signature), 74))
        return header + folded.encode("ascii") + b"\r\n" + data


def load_signer(selector: str, domain: str, key_file: Path) -> Signer:
    """A signer with the RSA private key in ``key_file`` (see :func:`load_dkim_key`)."""
    return Signer(selector, domain, load_dkim_key(key_file))


@lru_cache(maxsize=4)
def signer_for(settings: Settings) -> Signer | None:
    """The process's signer for ``settings``; None when DKIM is not configured."""
    if settings.dkim_key_file is None:
        return None
    if not (settings.dkim_selector and settings.dkim_domain):
        raise ConfigError(
            "DKIM signing needs DIGEST_DKIM_SELECTOR, DIGEST_DKIM_DOMAIN and "
            "DIGEST_DKIM_KEY_FILE together"
        )
    return load_signer(settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)


def signed(data: bytes, settings: Settings) -> bytes:
    """``data`` with a DKIM signature when signing is configured, else as it is."""
    if settings.dkim_key_file is None:
        return data
    signer = signer_for(settings)
    return data if signer is None else signer.sign(data)
