"""Who is asking: an admin signed in with a session cookie, or a client holding an
API key. Sessions are signed cookies that expire, and end on the server too: at
sign-out, at a password change and when the admin is disabled."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from digest.config import secret_key
from digest.services.console.admins import (
    admin_with_stamp,
    api_key_holder,
    end_sessions,
    may_change,
    session_stamp,
)
from digest.web import cookies
from digest.web.pages import settings_of
from digest.web.times import known_zone

if TYPE_CHECKING:
    from digest.db.models import AdminUser

SESSION_AGE = timedelta(hours=12)


@dataclass(frozen=True)
class Caller:
    """An authenticated admin or API client."""

    who: str  # the admin's address, or "api key NAME"
    role: str
    # The zone the console shows this admin times in (web/times.py).
    timezone: str = "UTC"

    @property
    def may_change(self) -> bool:
        return may_change(self.role)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings_of(request)), salt="digest.admin-session")


def start_session(
    request: Request, response: Response, user: AdminUser, browser_zone: str | None = None
) -> None:
    """Sign ``user`` in; ``browser_zone`` (what their browser reported, checked) is
    kept in the session for their times until they choose a zone of their own."""
    # The random part makes every sign-in a new session, which form tokens are bound to.
    value = _serializer(request).dumps(
        [user.id, session_stamp(user), secrets.token_urlsafe(12), known_zone(browser_zone)]
    )
    cookies.put(request, response, cookies.ADMIN, str(value), int(SESSION_AGE.total_seconds()))


def end_session(request: Request, response: Response, session: Session) -> None:
    """Sign out: the cookie is dropped, and every session of this admin ends on the
    server too, so a copy of the cookie kept from before no longer works."""
    found = _cookie(request)
    if found is not None and admin_with_stamp(session, *found) is not None:
        end_sessions(session, found[0])
    cookies.drop(request, response, cookies.ADMIN)


def _cookie(request: Request) -> tuple[int, str] | None:
    """The admin id and stamp the session cookie names, if it is signed and fresh."""
    found = _session(request)
    return (found[0], found[1]) if found else None


def _session(request: Request) -> tuple[int, str, str | None] | None:
    """The admin id, stamp and browser zone of the session cookie, if it is signed
    and fresh (a cookie from before zones were kept has none)."""
    raw = cookies.read(request, cookies.ADMIN)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw, max_age=int(SESSION_AGE.total_seconds()))
        zone = known_zone(value[3]) if len(value) > 3 and isinstance(value[3], str) else None
        return int(value[0]), str(value[1]), zone
    except (BadSignature, TypeError, ValueError, IndexError):
        return None


def signed_in(request: Request, session: Session) -> Caller | None:
    """The admin whose session cookie came with ``request``, if it is still valid."""
    found = _session(request)
    if found is None:
        return None
    user = admin_with_stamp(session, found[0], found[1])
    if user is None:
        return None
    zone = known_zone(user.timezone) or found[2] or "UTC"
    return Caller(user.email, user.role, zone)


def api_caller(request: Request, session: Session) -> Caller:
    """The caller of an /api route: a bearer API key, else a signed-in admin (for
    reading only). Raises 401 for anyone else."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        holder = api_key_holder(session, key.strip(), datetime.now(UTC))
        if holder is not None:
            name, role = holder
            return Caller(f"api key {name}", role)
        raise HTTPException(401, "this API key is not valid", {"WWW-Authenticate": "Bearer"})
    caller = signed_in(request, session)
    if caller is None:
        raise HTTPException(
            401, "send an API key as 'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"}
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # A cookie rides along with any form another page posts here; a change needs
        # the key, which no other site can send.
        raise HTTPException(
            401,
            "the console's session only reads through /api: changes need an API key",
            {"WWW-Authenticate": "Bearer"},
        )
    return caller


def require_change(caller: Caller) -> None:
    if not caller.may_change:
        raise HTTPException(403, f"the {caller.role} role cannot change or delete data")
