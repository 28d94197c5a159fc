"""Admin users and API keys: who may use /admin and /api, with which role.

Operators read and change everything; editors read lists and use previews but
change nothing. Passwords are hashed with argon2; API keys are random and only
their SHA-256 is stored (a key carries enough entropy that a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import AdminUser, ApiKey
from digest.domain.text import text_problem
from digest.services import limits
from digest.services.readers.subscribers import SubscriberError, normalise_email

ROLES = ("operator", "editor")
MIN_PASSWORD = 12
_hasher = PasswordHasher()

# Each argon2 hash or check holds 64 MiB while it runs. At most this many run at once
# in a process; the others wait their turn, so a burst of sign-ins costs time, not
# memory the process does not have.
HASHING_AT_ONCE = 2
_hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> None:
    """Return if ``password`` matches; raise VerificationError or InvalidHashError."""
    with _hashing:
        _hasher.verify(password_hash, password)


@cache
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so a wrong address costs as
    much time as a wrong password and sign-in does not tell which addresses exist.
    Made on first use: hashing costs tens of milliseconds at every import otherwise."""
    return _hash(secrets.token_urlsafe(16))


class AdminError(ValueError):
    """Admin input that cannot be used; the message names the field."""


def may_change(role: str) -> bool:
    return role == "operator"


def create_admin(
    session: Session, email: str, password: str, role: str, now: datetime
) -> AdminUser:
    """Create the admin ``email`` or, if it exists, set its password and role."""
    if role not in ROLES:
        raise AdminError(f"role must be operator or editor (got {role!r})")
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"password must be at least {MIN_PASSWORD} characters")
    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise AdminError(str(exc)) from None
    user = session.scalar(select(AdminUser).where(AdminUser.email == address))
    if user is None:
        user = AdminUser(email=address, created_at=now, disabled=False)
        session.add(user)
    user.password_hash = _hash(password)
    user.role = role
    session.flush()
    return user


# Failed sign-ins allowed per client address and per admin address in the window.
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_PER_IP = 20
SIGN_IN_PER_ADDRESS = 5


@dataclass(frozen=True)
class SignIn:
    """A sign-in's outcome: the admin, or None; ``refused`` when too many failed
    attempts came before it, so the password was not even checked."""

    user: AdminUser | None
    refused: bool = False


def sign_in(session: Session, email: str, password: str, client: str, now: datetime) -> SignIn:
    """Check an admin's address and password, within the limits on failures: per
    client address and per admin address, the latter keyed on the address as sign-in
    reads it (so another spelling of it is the same address), an IPv6 client by its
    /64. Only failures count: an admin who signs in often is never locked out, and
    locking one out costs an attacker as many failed guesses as guessing does."""
    by_client = limits.limit_key("signin-ip", limits.client_key(client))
    by_address = limits.limit_key("signin-address", _limited_address(email))
    # Counted as a failure before the password is checked, and given back if it was
    # right: sign-ins arriving together wait for each other here, so no more passwords
    # are checked than the limits allow.
    taken = limits.take_all(
        session, {by_client: SIGN_IN_PER_IP, by_address: SIGN_IN_PER_ADDRESS}, now, SIGN_IN_WINDOW
    )
    if taken is None:
        return SignIn(None, refused=True)
    user = authenticate(session, email, password, now)
    if user is not None:
        limits.give_back(session, taken)
    return SignIn(user)


def _limited_address(email: str) -> str:
    """The address a sign-in limit counts under: as stored, or for an address that is
    not one, its compatibility-normalised lower case."""
    try:
        return normalise_email(email)
    except SubscriberError:
        return unicodedata.normalize("NFKC", email).strip().lower()


def authenticate(session: Session, email: str, password: str, now: datetime) -> AdminUser | None:
    """The admin whose address and password these are, else None."""
    try:
        address = normalise_email(email)
    except SubscriberError:
        address = ""
    user = session.scalar(select(AdminUser).where(AdminUser.email == address)) if address else None
    try:
        _verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    user.last_sign_in_at = now
    return user


def session_stamp(user: AdminUser) -> str:
    """Changes when the password changes or the admin's sessions are ended, which
    ends every existing session of theirs."""
    material = f"{user.password_hash}\x1f{user.session_epoch or 0}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of the admin ``user_id`` (signing out, disabling)."""
    user = session.get(AdminUser, user_id)
    if user is not None:
        user.session_epoch = (user.session_epoch or 0) + 1
        session.flush()


@dataclass(frozen=True)
class AdminRow:
    email: str
    role: str
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None


def list_admins(session: Session) -> list[AdminRow]:
    """Every admin, by address."""
    users = session.scalars(select(AdminUser).order_by(AdminUser.email))
    return [AdminRow(u.email, u.role, u.disabled, u.created_at, u.last_sign_in_at) for u in users]


def set_disabled(session: Session, email: str, disabled: bool) -> AdminRow:
    """Disable the admin ``email`` (their sessions end at once; they cannot sign in)
    or enable them again; AdminError when there is no such admin."""
    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise AdminError(str(exc)) from None
    user = session.scalar(select(AdminUser).where(AdminUser.email == address))
    if user is None:
        raise AdminError(f"no admin with the address {address}")
    if disabled and not user.disabled:
        user.session_epoch = (user.session_epoch or 0) + 1
    user.disabled = disabled
    session.flush()
    return AdminRow(user.email, user.role, user.disabled, user.created_at, user.last_sign_in_at)


def admin_timezone(session: Session, email: str) -> str | None:
    """The zone ``email`` chose for the console's times; None: their browser's."""
    return session.scalar(select(AdminUser.timezone).where(AdminUser.email == email))


def set_timezone(session: Session, email: str, zone: str | None) -> None:
    """The zone the console shows ``email``'s times in; None: their browser's. The
    caller checks ``zone`` is a known one."""
    user = session.scalar(select(AdminUser).where(AdminUser.email == email))
    if user is None:
        raise AdminError(f"email: no admin account {email}")
    user.timezone = zone


def admin_with_stamp(session: Session, user_id: int, stamp: str) -> AdminUser | None:
    """The admin ``user_id`` if they are enabled and their password has not changed
    since ``stamp`` (see :func:`session_stamp`) was taken; None otherwise."""
    user = session.get(AdminUser, user_id)
    if user is None or user.disabled or session_stamp(user) != stamp:
        return None
    return user


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key_name(name: str) -> str:
    """A key's name on one line; AdminError for one the text rule refuses."""
    name = " ".join(name.split())
    problem = text_problem(name, name=True)
    if problem:
        raise AdminError(f"name {problem}")
    return name


def create_api_key(session: Session, name: str, role: str, now: datetime) -> str:
    """A new key for ``role``; the key itself is returned once and never stored."""
    if role not in ROLES:
        raise AdminError(f"role must be operator or editor (got {role!r})")
    name = _key_name(name)
    if not name:
        raise AdminError("name is empty: say what the key is for")
    key = "dgk_" + secrets.token_urlsafe(32)
    session.add(
        ApiKey(name=name[:200], prefix=key[:12], key_hash=_key_hash(key), role=role, created_at=now)
    )
    session.flush()
    return key


@dataclass(frozen=True)
class KeyRow:
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_api_keys(session: Session) -> list[KeyRow]:
    """Every API key, newest first: its name, the first characters of the key (to tell
    keys apart; the key itself is not kept), role, use and revocation."""
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))
    return [
        KeyRow(k.name, k.prefix, k.role, k.created_at, k.last_used_at, k.revoked_at) for k in rows
    ]


def revoke_api_keys(session: Session, name: str, now: datetime) -> int:
    """Revoke every unrevoked key named ``name``; how many were; AdminError when no key
    has that name."""
    name = _key_name(name)
    keys = list(session.scalars(select(ApiKey).where(ApiKey.name == name)))
    if not keys:
        raise AdminError(f"no API key named {name!r}: 'digest admin api-key list' shows them")
    live = [k for k in keys if k.revoked_at is None]
    for key in live:
        key.revoked_at = now
    session.flush()
    return len(live)


def api_key_holder(session: Session, key: str, now: datetime) -> tuple[str, str] | None:
    """The name and role of a valid, unrevoked key, else None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _key_hash(key)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = now
    return row.name, row.role
