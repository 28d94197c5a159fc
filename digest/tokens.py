"""Signed tokens for the links in every email (unsubscribe, preferences, confirm).

Unsubscribe links must keep working for as long as the email sits in an inbox
(RFC 8058 clients call them much later), so they carry no expiry; they name the
subscriber by id and are bound to one purpose by the salt.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("unsubscribe", "preferences", "confirm")


class InvalidToken(ValueError):
    """The link was altered, truncated, or signed with another key."""


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeSerializer(secret, salt=f"digest.{purpose}")


def make_token(secret: str, purpose: str, subscriber_id: int) -> str:
    """A URL-safe token naming ``subscriber_id`` for ``purpose``."""
    return str(_serializer(secret, purpose).dumps(subscriber_id))


def read_token(secret: str, purpose: str, token: str) -> int:
    """The subscriber id in ``token``; raises :class:`InvalidToken`."""
    try:
        value = _serializer(secret, purpose).loads(token)
    except BadSignature:
        raise InvalidToken("this link is not valid (it may have been cut short)") from None
    if not isinstance(value, int):
        raise InvalidToken("this link is not valid")
    return value
