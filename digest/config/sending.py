"""The sending settings: relay URLs (several, with their limits), limits per
recipient domain, and the circuit breaker's shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.config.parsing import ConfigError, dns_name
from digest.config.smtp import parse_smtp_url

# A sending limit's period, as written after the slash: per second or per hour.
RATE_PERIODS = {"s": 1, "h": 3600}


@dataclass(frozen=True)
class Rate:
    """At most ``count`` messages in any ``seconds``."""

    count: int
    seconds: int

    def __str__(self) -> str:
        unit = {v: k for k, v in RATE_PERIODS.items()}.get(self.seconds)
        return f"{self.count}/{unit}" if unit else f"{self.count} per {self.seconds} s"


@dataclass(frozen=True)
class DomainLimit:
    """The pace at which recipients at ``domain`` may be sent to, whatever the relay."""

    domain: str
    rate: Rate

    def __str__(self) -> str:
        return f"{self.domain} {self.rate}"


def split_smtp_urls(raw: str) -> tuple[str, ...]:
    """The relay URLs in a ``DIGEST_SMTP_URL`` value, separated by commas or spaces."""
    return tuple(url for url in re.split(r"[\s,]+", raw.strip()) if url)


def smtp_urls_setting(raw: str) -> str | None:
    """``DIGEST_SMTP_URL`` with every relay URL in it checked, or None when unset."""
    urls = split_smtp_urls(raw)
    for url in urls:
        try:
            parse_smtp_url(url)
        except ValueError as exc:
            raise ConfigError(f"DIGEST_SMTP_URL: {exc}") from None
    return raw.strip() if urls else None


_DOMAIN_LIMIT = re.compile(r"(?P<domain>[^=\s]+)\s*=\s*(?P<count>\d+)\s*/\s*(?P<unit>[a-z]+)")


def domain_limits_setting(raw: str) -> tuple[DomainLimit, ...]:
    """``DIGEST_DOMAIN_LIMITS``, e.g. ``gmail.com=20/s, outlook.com=1000/h``."""
    limits: dict[tuple[str, int], DomainLimit] = {}
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        found = _DOMAIN_LIMIT.fullmatch(entry.lower())
        if not found or found["unit"] not in RATE_PERIODS or int(found["count"]) < 1:
            raise ConfigError(
                f"DIGEST_DOMAIN_LIMITS: {entry!r} is not a limit; write domain=count/s or "
                "domain=count/h with a whole count of at least 1, e.g. gmail.com=20/s, "
                "outlook.com=1000/h"
            )
        domain = dns_name(f"DIGEST_DOMAIN_LIMITS ({entry!r})", found["domain"])
        rate = Rate(int(found["count"]), RATE_PERIODS[found["unit"]])
        if (domain, rate.seconds) in limits:
            raise ConfigError(
                f"DIGEST_DOMAIN_LIMITS: {entry!r} repeats the per-{found['unit']} limit of "
                f"{domain} ({limits[domain, rate.seconds].rate}); keep one"
            )
        limits[domain, rate.seconds] = DomainLimit(domain, rate)
    return tuple(limits.values())


def share_setting(name: str, raw: str) -> float:
    """A share between 0 and 1 (0: off), as a fraction (0.3) or a percentage (30%)."""
    text = raw.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a share like 0.3 or 30% (got {raw!r})") from None
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be between 0 and 1, 0 to turn it off (got {raw!r})")
    return value
