"""Relay URLs (``DIGEST_SMTP_URL``): ``smtp://[user:pass@]host:port``,
``smtp+starttls://…`` or ``smtps://…``, with options. Parsed here, with an error naming
what is wrong, so that a bad value stops the service at start;
:class:`digest.mail.sender.SMTPSender` is built from what this returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_OPTIONS = ("verify", "per_second", "per_hour")


@dataclass(frozen=True)
class RelayURL:
    """What one relay URL says."""

    host: str
    port: int
    mode: str = "smtp"  # smtp | smtp+starttls | smtps
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    # How many messages this relay takes per second and per hour; None: no limit.
    per_second: int | None = None
    per_hour: int | None = None


def redacted_url(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _limit(query: dict[str, list[str]], name: str, shown: str) -> int | None:
    """The ``per_second`` or ``per_hour`` option: a whole number of at least 1."""
    if name not in query:
        return None
    raw = query[name][-1]
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValueError(
            f"SMTP URL {shown!r}: {name} must be a whole number of messages, at least 1 "
            f"(got {raw!r})"
        )
    return int(raw)


def parse_smtp_url(url: str) -> RelayURL:
    """``smtp://[user:pass@]host:port``, ``smtp+starttls://…`` or ``smtps://…``;
    ``?verify=0`` accepts a relay's self-signed certificate, ``?per_second=10``
    and ``&per_hour=20000`` limit how fast messages go to it. A ValueError names what
    is wrong, with the password hidden."""
    shown = redacted_url(url)
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"unsupported SMTP URL scheme {parts.scheme!r} in {shown!r}: "
            "use smtp://, smtp+starttls:// or smtps://"
        )
    if not parts.hostname:
        raise ValueError(f"SMTP URL {shown!r} has no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"SMTP URL {shown!r} has an invalid port") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"SMTP URL {shown!r}: unknown option {unknown[0]!r} (known: {', '.join(_OPTIONS)})"
        )
    verify = query.get("verify", ["1"])[-1].lower()
    if verify not in _YES + _NO:
        raise ValueError(f"SMTP URL {shown!r}: verify must be 1 or 0 (got {verify!r})")
    return RelayURL(
        host=parts.hostname,
        port=port,
        mode=parts.scheme,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        verify=verify in _YES,
        per_second=_limit(query, "per_second", shown),
        per_hour=_limit(query, "per_hour", shown),
    )
