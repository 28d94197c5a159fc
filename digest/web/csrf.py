"""CSRF protection for every form, without server-side state: a signed double submit
bound to the admin session.

The first page sets a random value in an HttpOnly, SameSite cookie; each form carries
an HMAC, under the secret key, of that value and of the admin session cookie the page
was rendered with (none for a reader). Another site can make a browser send the cookies
but can neither read them nor compute the HMAC, so its forged form fails; and a pair
taken from a page without a session (the public subscribe form, say) is no good for a
console form, which is checked against the admin's session. (The RFC 8058 one-click
unsubscribe POST is deliberately exempt.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fastapi import Request

from digest.web import cookies

FIELD = "csrf_token"
_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _sign(secret: str, value: str, session: str) -> str:
    message = b"digest.csrf\x1f" + value.encode() + b"\x1f" + session.encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def cookie_value(request: Request) -> str | None:
    value = cookies.read(request, cookies.CSRF)
    return value if value and _VALUE.fullmatch(value) else None


def _session(request: Request) -> str:
    """What ties a token to the admin session it was issued in: a digest of the
    session cookie, or nothing for a reader."""
    raw = cookies.read(request, cookies.ADMIN)
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest() if raw else ""


def issue(request: Request, secret: str) -> tuple[str, str | None]:
    """The token for this page's forms, and a new cookie value to set (None when the
    browser already has one)."""
    existing = cookie_value(request)
    value = existing or secrets.token_urlsafe(32)
    return _sign(secret, value, _session(request)), None if existing else value


def valid(request: Request, secret: str, token: str | None) -> bool:
    """Does ``token`` (from the submitted form) match this browser's cookies?"""
    value = cookie_value(request)
    if not value or not token:
        return False
    expected = _sign(secret, value, _session(request))
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
