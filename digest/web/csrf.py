"""CSRF protection for the public forms, without sessions: a signed double submit.

The first page sets a random value in an HttpOnly, SameSite cookie; each form
carries an HMAC of it under the secret key. Another site can make a browser send
the cookie but can neither read it nor compute the HMAC, so its forged form fails.
(The RFC 8058 one-click unsubscribe POST is deliberately exempt.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fastapi import Request

COOKIE = "digest_csrf"
FIELD = "csrf_token"
_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _sign(secret: str, value: str) -> str:
    mac = hmac.new(secret.encode(), b"digest.csrf\x1f" + value.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def cookie_value(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and _VALUE.fullmatch(value) else None


def issue(request: Request, secret: str) -> tuple[str, str | None]:
    """The token for this page's forms, and a new cookie value to set (None when the
    browser already has one)."""
    existing = cookie_value(request)
    value = existing or secrets.token_urlsafe(32)
    return _sign(secret, value), None if existing else value


def valid(request: Request, secret: str, token: str | None) -> bool:
    """Does ``token`` (from the submitted form) match this browser's cookie?"""
    value = cookie_value(request)
    if not value or not token:
        return False
    return hmac.compare_digest(_sign(secret, value).encode(), token.encode("utf-8", "replace"))
