"""Signed tokens for the links in emails: unsubscribe, preferences and confirm.

Unsubscribe and preferences links must keep working for as long as the email sits in
an inbox (RFC 8058 clients call them much later), so they carry no expiry. They name
the subscriber by id together with a stamp of when the subscriber row was created and
of how many times the reader replaced their links, so a link from an erased reader
never opens the row of someone who later got the same id, and a reader who replaces
their links ends every older one. A confirmation link names one subscribe request and
expires.

No token holds an email address; each is bound to its purpose by the salt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

PURPOSES = ("unsubscribe", "preferences", "confirm", "view")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidToken(ValueError):
    """The link was altered, truncated, or signed with another key."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"digest.{purpose}"


def stamp_of(created_at: datetime) -> int:
    """Microseconds since 1970 of a subscriber's creation: part of their tokens."""
    return (created_at - _EPOCH) // timedelta(microseconds=1)


def link_stamp(created_at: datetime, link_epoch: int) -> int:
    """The stamp a subscriber's links carry: their creation time, moved on by one
    microsecond each time they replaced their links (links made before any
    replacement keep working)."""
    return stamp_of(created_at) + link_epoch


def make_token(secret: str, purpose: str, subscriber_id: int, stamp: int) -> str:
    """A URL-safe token naming subscriber ``subscriber_id`` (created at ``stamp``)."""
    return str(URLSafeSerializer(secret, salt=_salt(purpose)).dumps([subscriber_id, stamp]))


def read_token(secret: str, purpose: str, token: str) -> tuple[int, int]:
    """The (subscriber id, stamp) in ``token``; raises :class:`InvalidToken`."""
    try:
        value = URLSafeSerializer(secret, salt=_salt(purpose)).loads(token)
    except BadSignature:
        raise InvalidToken("this link is not valid (it may have been cut short)") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise InvalidToken("this link is not valid")
    return value[0], value[1]


def make_timed_token(secret: str, purpose: str, value: int) -> str:
    """A token naming ``value`` that :func:`read_timed_token` accepts for a while."""
    return str(URLSafeTimedSerializer(secret, salt=_salt(purpose)).dumps(value))


def read_timed_token(secret: str, purpose: str, token: str, max_age: timedelta) -> int:
    """The value in ``token``; raises :class:`ExpiredToken` when it is older than
    ``max_age`` and :class:`InvalidToken` when it is not genuine."""
    serializer = URLSafeTimedSerializer(secret, salt=_salt(purpose))
    try:
        value = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise ExpiredToken("this link has expired") from None
    except BadSignature:
        raise InvalidToken("this link is not valid (it may have been cut short)") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken("this link is not valid")
    return value
