"""Configuration: the ``DIGEST_*`` environment variables read once into
:class:`Settings`, each checked with an error that names the variable.

    settings.py   the Settings and how each variable is read
    parsing.py    shared parsers (domain names) and ConfigError
    sending.py    relay lists, sending rates and per-domain limits
    smtp.py       one relay URL
    mailbox.py    the bounce mailbox URL
    dkim.py       the DKIM signing key
    secret.py     the key that signs links and sessions

This package imports nothing else of digest's: every other layer may read it.
"""

from digest.config.dkim import DKIM_MIN_KEY_BITS, load_dkim_key
from digest.config.mailbox import MailboxConfig
from digest.config.parsing import ConfigError
from digest.config.secret import secret_key, secret_key_path
from digest.config.sending import RATE_PERIODS, DomainLimit, Rate, split_smtp_urls
from digest.config.settings import Branding, Settings, get_settings, load_settings

__all__ = [
    "DKIM_MIN_KEY_BITS",
    "RATE_PERIODS",
    "Branding",
    "ConfigError",
    "DomainLimit",
    "MailboxConfig",
    "Rate",
    "Settings",
    "get_settings",
    "load_dkim_key",
    "load_settings",
    "secret_key",
    "secret_key_path",
    "split_smtp_urls",
]
