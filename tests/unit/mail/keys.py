"""DKIM keys for tests, and the DNS answers a receiving server would get."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dkim.util import parse_tag_value

from digest.mail.dkim import Signer

SELECTOR = "s2026"
DOMAIN = "news.example.org"


def write_rsa_key(path: Path, bits: int = 2048, password: bytes | None = None) -> Path:
    """A new RSA private key in ``path`` (PEM, PKCS#8), encrypted when given a password."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def write_ec_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def dns_of(signer: Signer) -> Callable[..., bytes | None]:
    """A DNS lookup for dkim.verify that knows only ``signer``'s TXT record."""
    record = signer.dns_record().encode()

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == f"{signer.record_name}.".encode() else None

    return txt


def signature_tags(message: bytes) -> dict[bytes, bytes]:
    """The tags of the message's first DKIM-Signature, unfolded."""
    found = re.search(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", message, re.MULTILINE | re.DOTALL)
    assert found is not None, "no DKIM-Signature header"
    return dict(parse_tag_value(re.sub(rb"\r\n[ \t]", b" ", found.group(1))))


def signed_headers(message: bytes) -> list[str]:
    """The names in the first signature's h= tag, in order."""
    h = signature_tags(message)[b"h"]
    return [name.strip().decode() for name in h.split(b":")]
