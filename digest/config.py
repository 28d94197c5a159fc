"""Settings, read once from the ``DIGEST_*`` environment variables.

Nothing here touches the disk or the network at import time; values that need I/O
(the generated secret key, the embedded broker) are resolved by the functions that
use them. The one file read while loading is the DKIM key, so that a key that cannot
sign stops a process at start rather than at its first email.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


class ConfigError(ValueError):
    """A ``DIGEST_*`` variable holds a value that cannot be used."""


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

    site_name: str = "digest"
    logo_url: str | None = None
    accent_color: str = "#b91c1c"
    postal_address: str = ""


def _branding(get: Callable[[str], str | None]) -> Branding:
    site_name = " ".join((get("DIGEST_SITE_NAME") or "digest").split())
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
    # Double opt-in: how long a confirmation link works, and when an address that
    # never confirmed is forgotten.
    confirm_max_age: timedelta = timedelta(days=2)
    pending_max_age: timedelta = timedelta(days=7)
    # Abuse guards on /subscribe: attempts per window, per client address and per
    # email address. At most one confirmation email per address per window.
    subscribe_window: timedelta = timedelta(hours=1)
    subscribe_per_ip: int = 10
    subscribe_per_address: int = 3
    # DKIM signing of every outgoing email: all three set, or none (no signature).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_key_file: Path | None = None
    # VERP: each digest's envelope sender is ``local+TOKEN@domain`` of this address,
    # the token naming its delivery. None: the From address, as for other emails.
    bounce_address: str | None = None

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

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


# A DNS name in ASCII (internationalised labels as their xn-- form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
# A dot-atom local part (RFC 5322) in ASCII.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
DKIM_MIN_KEY_BITS = 1024
# A VERP token is at most 26 characters (see digest/mail/verp.py); with '+' the local
# part must stay within SMTP's 64 octets.
_BOUNCE_LOCAL_MAX = 64 - 27


def _dns_name(name: str, raw: str, example: str = "a domain name like example.org") -> str:
    value = raw.strip().rstrip(".").lower()
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        value = ""
    if not _HOSTNAME.fullmatch(value):
        raise ConfigError(f"{name} must be {example} (got {raw!r})")
    return value


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


def load_dkim_key(path: Path) -> RSAPrivateKey:
    """The DKIM private key in ``path`` (PEM, PKCS#1 or PKCS#8, unencrypted, RSA of at
    least 1024 bits); a :class:`ConfigError` naming ``DIGEST_DKIM_KEY_FILE`` otherwise.

    Parsing costs tens of milliseconds; settings check the key and the signer then
    uses it, so the parsed key is kept while the file is unchanged."""
    try:
        found = path.stat()
        stamp: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
    except OSError:
        stamp = None  # reported by the read below
    return _parsed_dkim_key(path, stamp)


@lru_cache(maxsize=4)
def _parsed_dkim_key(path: Path, stamp: tuple[int, int] | None) -> RSAPrivateKey:
    # Imported here: only a process that signs pays for loading OpenSSL's bindings.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    where = f"DIGEST_DKIM_KEY_FILE ({path})"
    make_one = "make one with: openssl genrsa -out dkim.pem 2048"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{where} cannot be read: {exc.strerror or exc}. Point it at the PEM file of "
            "the DKIM private key, readable by the workers and the web process."
        ) from None
    if b"PRIVATE KEY-----" not in pem:
        raise ConfigError(f"{where} holds no PEM private key; {make_one}")
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(
            f"{where} holds an encrypted key; signing needs it unencrypted "
            "(openssl pkey -in encrypted.pem -out dkim.pem)"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{where} holds a key that cannot be read ({exc}); {make_one}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.removesuffix("PrivateKey")
        raise ConfigError(
            f"{where} holds a key of type {kind}; DKIM signing here is rsa-sha256, which "
            f"every receiver checks: {make_one}"
        )
    if key.key_size < DKIM_MIN_KEY_BITS:
        raise ConfigError(
            f"{where} holds a {key.key_size}-bit key; receivers ignore RSA keys under "
            f"{DKIM_MIN_KEY_BITS} bits: {make_one}"
        )
    return key


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
    smtp_url = get("DIGEST_SMTP_URL") or None
    if smtp_url is not None:
        scheme = urlsplit(smtp_url).scheme
        if scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ConfigError(
                "DIGEST_SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// "
                f"(got {smtp_url!r})"
            )
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
        secret_key=get("DIGEST_SECRET_KEY") or None,
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
        dkim_selector=dkim_selector,
        dkim_domain=dkim_domain,
        dkim_key_file=dkim_key_file,
        bounce_address=_bounce_address(get("DIGEST_BOUNCE_ADDRESS") or ""),
    )
    if settings.pending_max_age < settings.confirm_max_age:
        raise ConfigError(
            "DIGEST_PENDING_MAX_AGE must be at least DIGEST_CONFIRM_MAX_AGE: an address "
            "must not be forgotten while its confirmation link still works"
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()


def secret_key_path(settings: Settings) -> Path:
    """Where a generated key is kept: beside the SQLite file, else in the data folder."""
    prefix = "sqlite:///"
    if settings.database_url.startswith(prefix):
        db_file = settings.database_url[len(prefix) :].split("?")[0]
        if db_file and db_file != ":memory:":
            return Path(db_file).expanduser().parent / "digest.secret"
    return settings.data_dir / "digest.secret"


@lru_cache(maxsize=16)
def secret_key(settings: Settings) -> str:
    """The signing key: ``DIGEST_SECRET_KEY``, else one generated once beside the database."""
    if settings.secret_key:
        return settings.secret_key
    path = secret_key_path(settings)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    # O_EXCL: if two processes race, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
