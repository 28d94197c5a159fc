"""VERP: an envelope sender per delivery, so a bounce names its delivery.

With a bounce address ``bounces@bounce.example.org``, delivery 1234 is sent with
``MAIL FROM:<bounces+TOKEN@bounce.example.org>``; a relay that gives up returns the
bounce to that address, and the token alone says which delivery it was about,
without reading the bounce's body. The token is the delivery id and a short HMAC of
it (keyed by the service's secret key), in lower-case base32: safe in a local part,
and unaffected by relays that change its case. A token that was altered, or made
with another key, names no delivery.

The bounce mailbox receives ``bounces+anything`` when its mail server splits local
parts at ``+`` (Postfix's ``recipient_delimiter``, Exim's ``local_part_suffix``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_MAC_BYTES = 8  # 64 bits: a forged token is a blind guess against the relay
_ID_BYTES = 8  # delivery ids are 64-bit integers
_SALT = b"digest.verp\x00"


def _mac(delivery: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), _SALT + delivery, hashlib.sha256).digest()[:_MAC_BYTES]


def token(delivery_id: int, secret: str) -> str:
    """The token of ``delivery_id``: at most 26 characters of ``a-z2-7``."""
    if not 0 < delivery_id < 1 << (8 * _ID_BYTES):
        raise ValueError(f"delivery id {delivery_id} is out of range")
    raw = delivery_id.to_bytes((delivery_id.bit_length() + 7) // 8, "big")
    return base64.b32encode(raw + _mac(raw, secret)).decode("ascii").rstrip("=").lower()


def delivery_of_token(value: str, secret: str) -> int | None:
    """The delivery id ``value`` was made for; None when it is not one of our tokens."""
    text = value.strip()
    if not text.isascii() or not 0 < len(text) <= 26:
        return None
    text = text.upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    delivery, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not 0 < len(delivery) <= _ID_BYTES or delivery[0] == 0:
        return None
    if not hmac.compare_digest(mac, _mac(delivery, secret)):
        return None
    return int.from_bytes(delivery, "big")


def return_path(bounce_address: str, delivery_id: int, secret: str) -> str:
    """The envelope sender of ``delivery_id``: ``local+TOKEN@domain``."""
    return address_of(bounce_address, token(delivery_id, secret))


def address_of(bounce_address: str, value: str) -> str:
    """``local+VALUE@domain`` for the token ``value`` already made."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{value}@{domain}"


def delivery_of(address: str, bounce_address: str, secret: str) -> int | None:
    """The delivery a bounce sent to ``address`` is about (``address`` as in a
    bounce's To or the original's Return-Path, angle brackets allowed); None when it
    is not a VERP address of ``bounce_address`` or its token is not ours."""
    addr = address.strip().removeprefix("<").removesuffix(">")
    local, at, domain = addr.rpartition("@")
    base_local, _, base_domain = bounce_address.rpartition("@")
    if not at or domain.lower() != base_domain.lower():
        return None
    prefix, plus, value = local.rpartition("+")
    if not plus or prefix.lower() != base_local.lower():
        return None
    return delivery_of_token(value, secret)
