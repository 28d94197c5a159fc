"""What every ``DIGEST_*`` parser shares: the error that names the variable, and the
check of a DNS name."""

from __future__ import annotations

import re


class ConfigError(ValueError):
    """A ``DIGEST_*`` variable holds a value that cannot be used."""


# A DNS name in ASCII (internationalised labels as their xn-- form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def dns_name(name: str, raw: str, example: str = "a domain name like example.org") -> str:
    value = raw.strip().rstrip(".").lower()
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        value = ""
    if not _HOSTNAME.fullmatch(value):
        raise ConfigError(f"{name} must be {example} (got {raw!r})")
    return value
