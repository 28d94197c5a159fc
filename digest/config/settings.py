"""Settings, read once from the ``DIGEST_*`` environment variables.

Nothing here touches the disk or the network at import time; values that need I/O
(the generated secret key, the embedded broker) are resolved by the functions that
use them. The one file read while loading is the DKIM key, so that a key that cannot
sign stops a process at start rather than at its first email.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

from digest.config.dkim import load_dkim_key
from digest.config.mailbox import MailboxConfig
from digest.config.parsing import ConfigError
from digest.config.parsing import dns_name as _dns_name
from digest.config.secret import parse_secret_key
from digest.config.sending import DomainLimit, split_smtp_urls
from digest.config.sending import domain_limits_setting as _domain_limits
from digest.config.sending import share_setting as _share
from digest.config.sending import smtp_urls_setting as _smtp_url
from digest.domain.bounce_policy import (
    ADDRESS_GONE,
    DEFAULT_POLICY,
    Action,
    Reason,
    parse_policy,
)
from digest.domain.languages import DEFAULT_LANGUAGE, LanguageError, parse_language


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (got {raw!r})")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {raw!r})") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {value})")
    return value


def _from_address(raw: str) -> tuple[str, str]:
    if "\r" in raw or "\n" in raw:
        raise ConfigError("DIGEST_FROM must not contain line breaks")
    name, addr = parseaddr(raw)
    if "@" not in addr:
        raise ConfigError(
            f"DIGEST_FROM must be an address like 'News <news@example.org>' (got {raw!r})"
        )
    return name, addr


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Branding:
    """The publisher's look, shared by the public pages and every email."""

    site_name: str = "Digest"
    logo_url: str | None = None
    accent_color: str = "#b91c1c"
    postal_address: str = ""


def _branding(get: Callable[[str], str | None]) -> Branding:
    site_name = " ".join((get("DIGEST_SITE_NAME") or "Digest").split())
    if len(site_name) > 100:
        raise ConfigError("DIGEST_SITE_NAME must be at most 100 characters")
    logo_url = (get("DIGEST_LOGO_URL") or "").strip() or None
    if logo_url and not logo_url.startswith(("https://", "http://")):
        raise ConfigError(f"DIGEST_LOGO_URL must be an http(s) URL (got {logo_url!r})")
    if logo_url and any(ch in logo_url for ch in '"<> \r\n'):
        raise ConfigError("DIGEST_LOGO_URL must not contain spaces, quotes or angle brackets")
    accent = (get("DIGEST_ACCENT_COLOR") or "#b91c1c").strip()
    if not _COLOUR.fullmatch(accent):
        raise ConfigError(f"DIGEST_ACCENT_COLOR must look like #1d4ed8 (got {accent!r})")
    postal = " ".join((get("DIGEST_POSTAL_ADDRESS") or "").split())
    return Branding(site_name, logo_url, accent.lower(), postal)


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service; built by :func:`load_settings`."""

    database_url: str
    broker_url: str | None  # None: the embedded Redis server
    smtp_url: str | None  # None: the local capture server writing to ``outbox_dir``
    base_url: str
    from_name: str
    from_address: str
    secret_key: str | None  # None: generated once and kept beside the database
    allow_private_feeds: bool
    data_dir: Path
    outbox_dir: Path
    retry_first_delay: timedelta = timedelta(minutes=5)
    retry_max_age: timedelta = timedelta(days=3)
    catch_up: timedelta = timedelta(hours=6)
    batch_size: int = 200
    # How long the beat lock outlives a beat that stopped renewing it (see workers/beat.py).
    beat_lock_ttl: timedelta = timedelta(seconds=30)
    max_articles_per_topic: int = 10
    max_articles_total: int = 30
    daily_lookback: timedelta = timedelta(days=2)
    weekly_lookback: timedelta = timedelta(days=8)
    feed_timeout: float = 15.0
    feed_max_bytes: int = 10 * 1024 * 1024
    list_name: str = "digest"
    brand: Branding = field(default_factory=lambda: Branding())
    # The site's language: for readers who never chose one and pages that know no
    # reader and whose browser prefers none of the languages offered.
    language: str = "en"
    # How long the audit log keeps an entry (DIGEST_AUDIT_DAYS).
    audit_retention: timedelta = timedelta(days=365)
    # Double opt-in: how long a confirmation link works, and when an address that
    # never confirmed is forgotten.
    confirm_max_age: timedelta = timedelta(days=2)
    pending_max_age: timedelta = timedelta(days=7)
    # Abuse guards on /subscribe: attempts per window, per client address and per
    # email address. At most one confirmation email per address per window.
    subscribe_window: timedelta = timedelta(hours=1)
    subscribe_per_ip: int = 10
    subscribe_per_address: int = 3
    # Bounce policy (digest/domain/bounce_policy.py, digest/services/readers/bouncing.py):
    # each bounce reason's action, changed row by row by DIGEST_BOUNCE_POLICY. This many
    # bounces of a "suppress" reason, of a "repeat" reason or of "soft" ones (the last two
    # within soft_bounce_days) suppress an address; 0 turns that rule off. A complaint
    # always unsubscribes and suppresses; reasons that blame our sending never count.
    bounce_policy: tuple[tuple[Reason, Action], ...] = tuple(DEFAULT_POLICY.items())
    hard_bounce_limit: int = 1
    repeat_bounce_limit: int = 2
    soft_bounce_limit: int = 3
    soft_bounce_days: timedelta = timedelta(days=14)
    # The mailbox bounces are delivered to, read every bounce_poll_interval by beat.
    bounce_mailbox_url: str | None = None
    bounce_poll_interval: timedelta = timedelta(minutes=5)
    # DKIM signing of every outgoing email: all three set, or none (no signature).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_key_file: Path | None = None
    # VERP: each digest's envelope sender is ``local+TOKEN@domain`` of this address,
    # the token naming its delivery. None: the From address, as for other emails.
    bounce_address: str | None = None
    # Sending limits and the circuit breaker (docs/sending-limits.md). Each relay's own
    # limits are options on its URL in ``smtp_url``; these apply whatever the relay.
    # Per recipient domain: at most so many messages per second or per hour.
    domain_limits: tuple[DomainLimit, ...] = ()
    # Sending pauses by itself when, among the last ``breaker_window`` attempts (at
    # least ``breaker_min_attempts`` of them), the share of throttling replies (421,
    # 4.7.x) or of permanent failures (5xx) reaches its threshold; 0 turns one off.
    breaker_window: int = 200
    breaker_min_attempts: int = 20
    breaker_throttle_share: float = 0.5
    breaker_failure_share: float = 0.3
    # Once tripped, the breaker waits ``breaker_cooldown`` (doubled after each failed
    # try, at most an hour), then sends ``breaker_probes`` held-back messages and
    # resumes sending by itself when most of them are accepted.
    breaker_cooldown: timedelta = timedelta(minutes=5)
    breaker_probes: int = 5

    @property
    def from_domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    @property
    def from_header(self) -> str:
        return str(Address(display_name=self.from_name, addr_spec=self.from_address))

    @property
    def list_id(self) -> str:
        """The List-Id value, e.g. ``<digest.example.org>``."""
        return f"<{self.list_name}.{self.from_domain}>"

    @property
    def smtp_urls(self) -> tuple[str, ...]:
        """The relays of ``smtp_url``, in the order they are tried; empty: none set."""
        return split_smtp_urls(self.smtp_url or "")

    def bounce_action(self, reason: str | None, kind: str) -> Action:
        """What the bounce policy does with a bounce of ``reason`` and ``kind`` (one
        stored before reasons existed: by its kind). An address said to be gone in a
        soft bounce (a 4.x.x status) counts as soft rather than suppress at once."""
        if reason is None:
            return "suppress" if kind == "hard" else "soft"
        action: Action = dict(self.bounce_policy).get(reason, "soft")  # type: ignore[call-overload]
        uncertain = reason in ADDRESS_GONE and kind != "hard"  # said with a 4xx, say
        return "soft" if action == "suppress" and uncertain else action

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


# A dot-atom local part (RFC 5322) in ASCII.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# A VERP token is at most 26 characters (see digest/mail/verp.py); with '+' the local
# part must stay within SMTP's 64 octets.
_BOUNCE_LOCAL_MAX = 64 - 27


def _dkim(get: Callable[[str], str | None]) -> tuple[str | None, str | None, Path | None]:
    names = ("DIGEST_DKIM_SELECTOR", "DIGEST_DKIM_DOMAIN", "DIGEST_DKIM_KEY_FILE")
    values = [(get(n) or "").strip() for n in names]
    if not any(values):
        return None, None, None
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise ConfigError(
            f"DKIM signing needs {', '.join(names)} together; {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set"
        )
    selector = _dns_name("DIGEST_DKIM_SELECTOR", values[0], "a DNS label like s2026")
    domain = _dns_name("DIGEST_DKIM_DOMAIN", values[1])
    key_file = Path(values[2]).expanduser()
    load_dkim_key(key_file)  # a key that cannot sign fails now, not at the first email
    return selector, domain, key_file


def _bounce_policy(raw: str) -> tuple[tuple[Reason, Action], ...]:
    try:
        return tuple(parse_policy(raw).items())
    except ValueError as error:
        raise ConfigError(f"DIGEST_BOUNCE_POLICY: {error}") from None


def _bounce_address(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local):
        raise ConfigError(
            f"DIGEST_BOUNCE_ADDRESS must be an address like bounces@bounce.example.org "
            f"(got {raw!r})"
        )
    if len(local) > _BOUNCE_LOCAL_MAX:
        raise ConfigError(
            f"DIGEST_BOUNCE_ADDRESS: the part before '@' must be at most {_BOUNCE_LOCAL_MAX} "
            f"characters, so the per-delivery token still fits (got {len(local)})"
        )
    return f"{local}@{_dns_name('DIGEST_BOUNCE_ADDRESS', domain)}"


def _mailbox_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    try:
        MailboxConfig.from_url(value)
    except ValueError as exc:
        raise ConfigError(f"DIGEST_BOUNCE_MAILBOX_URL: {exc}") from None
    return value


def _language(raw: str) -> str:
    try:
        return parse_language(raw)
    except LanguageError as exc:
        raise ConfigError(f"DIGEST_LANGUAGE: {exc}") from None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``), failing loudly on bad values."""
    env = dict(os.environ if environ is None else environ)
    get = env.get
    data_dir = Path(get("DIGEST_DATA_DIR", ".")).expanduser()
    database_url = get("DIGEST_DATABASE_URL") or f"sqlite:///{(data_dir / 'digest.db')}"
    if "://" not in database_url:
        raise ConfigError(
            f"DIGEST_DATABASE_URL must be a SQLAlchemy URL such as "
            f"sqlite:///digest.db or postgresql+psycopg://user@host/db (got {database_url!r})"
        )
    smtp_url = _smtp_url(get("DIGEST_SMTP_URL") or "")
    base_url = (get("DIGEST_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"DIGEST_BASE_URL must be an http(s) URL (got {base_url!r})")
    from_name, from_address = _from_address(get("DIGEST_FROM") or "Digest <digest@localhost>")
    dkim_selector, dkim_domain, dkim_key_file = _dkim(get)
    settings = Settings(
        database_url=database_url,
        broker_url=get("DIGEST_BROKER_URL") or None,
        smtp_url=smtp_url,
        base_url=base_url,
        from_name=from_name,
        from_address=from_address,
        secret_key=parse_secret_key(get("DIGEST_SECRET_KEY") or ""),
        allow_private_feeds=_flag(
            "DIGEST_ALLOW_PRIVATE_FEEDS", get("DIGEST_ALLOW_PRIVATE_FEEDS", "")
        ),
        data_dir=data_dir,
        outbox_dir=Path(get("DIGEST_OUTBOX_DIR") or data_dir / "outbox"),
        retry_first_delay=timedelta(
            seconds=_int("DIGEST_RETRY_FIRST_DELAY", get("DIGEST_RETRY_FIRST_DELAY", "300"), 1)
        ),
        retry_max_age=timedelta(
            seconds=_int("DIGEST_RETRY_MAX_AGE", get("DIGEST_RETRY_MAX_AGE", "259200"), 1)
        ),
        catch_up=timedelta(seconds=_int("DIGEST_CATCH_UP", get("DIGEST_CATCH_UP", "21600"))),
        batch_size=_int("DIGEST_BATCH_SIZE", get("DIGEST_BATCH_SIZE", "200"), 1),
        beat_lock_ttl=timedelta(
            seconds=_int("DIGEST_BEAT_LOCK_TTL", get("DIGEST_BEAT_LOCK_TTL", "30"), 3)
        ),
        brand=_branding(get),
        confirm_max_age=timedelta(
            seconds=_int("DIGEST_CONFIRM_MAX_AGE", get("DIGEST_CONFIRM_MAX_AGE", "172800"), 60)
        ),
        pending_max_age=timedelta(
            seconds=_int("DIGEST_PENDING_MAX_AGE", get("DIGEST_PENDING_MAX_AGE", "604800"), 60)
        ),
        subscribe_window=timedelta(
            seconds=_int("DIGEST_SUBSCRIBE_WINDOW", get("DIGEST_SUBSCRIBE_WINDOW", "3600"), 1)
        ),
        subscribe_per_ip=_int("DIGEST_SUBSCRIBE_PER_IP", get("DIGEST_SUBSCRIBE_PER_IP", "10"), 1),
        subscribe_per_address=_int(
            "DIGEST_SUBSCRIBE_PER_ADDRESS", get("DIGEST_SUBSCRIBE_PER_ADDRESS", "3"), 1
        ),
        language=_language(get("DIGEST_LANGUAGE") or DEFAULT_LANGUAGE),
        audit_retention=timedelta(
            days=_int("DIGEST_AUDIT_DAYS", get("DIGEST_AUDIT_DAYS", "365"), 1)
        ),
        bounce_policy=_bounce_policy(get("DIGEST_BOUNCE_POLICY") or ""),
        hard_bounce_limit=_int("DIGEST_HARD_BOUNCE_LIMIT", get("DIGEST_HARD_BOUNCE_LIMIT", "1")),
        repeat_bounce_limit=_int(
            "DIGEST_REPEAT_BOUNCE_LIMIT", get("DIGEST_REPEAT_BOUNCE_LIMIT", "2")
        ),
        soft_bounce_limit=_int("DIGEST_SOFT_BOUNCE_LIMIT", get("DIGEST_SOFT_BOUNCE_LIMIT", "3")),
        soft_bounce_days=timedelta(
            days=_int("DIGEST_SOFT_BOUNCE_DAYS", get("DIGEST_SOFT_BOUNCE_DAYS", "14"), 1)
        ),
        bounce_mailbox_url=_mailbox_url(get("DIGEST_BOUNCE_MAILBOX_URL") or ""),
        bounce_poll_interval=timedelta(
            seconds=_int(
                "DIGEST_BOUNCE_POLL_INTERVAL", get("DIGEST_BOUNCE_POLL_INTERVAL", "300"), 10
            )
        ),
        dkim_selector=dkim_selector,
        dkim_domain=dkim_domain,
        dkim_key_file=dkim_key_file,
        bounce_address=_bounce_address(get("DIGEST_BOUNCE_ADDRESS") or ""),
        domain_limits=_domain_limits(get("DIGEST_DOMAIN_LIMITS") or ""),
        breaker_window=_int("DIGEST_BREAKER_WINDOW", get("DIGEST_BREAKER_WINDOW", "200"), 1),
        breaker_min_attempts=_int(
            "DIGEST_BREAKER_MIN_ATTEMPTS", get("DIGEST_BREAKER_MIN_ATTEMPTS", "20"), 1
        ),
        breaker_throttle_share=_share(
            "DIGEST_BREAKER_THROTTLE_SHARE", get("DIGEST_BREAKER_THROTTLE_SHARE") or "0.5"
        ),
        breaker_failure_share=_share(
            "DIGEST_BREAKER_FAILURE_SHARE", get("DIGEST_BREAKER_FAILURE_SHARE") or "0.3"
        ),
        breaker_cooldown=timedelta(
            seconds=_int("DIGEST_BREAKER_COOLDOWN", get("DIGEST_BREAKER_COOLDOWN", "300"), 1)
        ),
        breaker_probes=_int("DIGEST_BREAKER_PROBES", get("DIGEST_BREAKER_PROBES", "5"), 1),
    )
    if settings.pending_max_age < settings.confirm_max_age:
        raise ConfigError(
            "DIGEST_PENDING_MAX_AGE must be at least DIGEST_CONFIRM_MAX_AGE: an address "
            "must not be forgotten while its confirmation link still works"
        )
    if settings.breaker_min_attempts > settings.breaker_window:
        raise ConfigError(
            "DIGEST_BREAKER_MIN_ATTEMPTS must be at most DIGEST_BREAKER_WINDOW: the breaker "
            "judges only the last DIGEST_BREAKER_WINDOW attempts"
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
