"""The bounce mailbox's URL (``DIGEST_BOUNCE_MAILBOX_URL``): where the mailbox is and how
to log in to it. Read here, with an error naming what is wrong, so that a bad value
stops the service at start; :mod:`digest.mail.mailbox` reads the mailbox."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote, urlsplit

DEFAULT_PORTS = {
    "imap": 143,
    "imap+starttls": 143,
    "imaps": 993,
    "pop3": 110,
    "pop3+starttls": 110,
    "pop3s": 995,
}
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# Everything from "user:" up to the last "@": urlsplit misreads a password holding an
# unescaped "/", "?" or "#", and such a password must not reach an error message.
_CREDENTIALS = re.compile(r"^([a-z0-9+.-]+://[^:/?#@]*:).*@", re.IGNORECASE)


def _redacted(url: str) -> str:
    return _CREDENTIALS.sub(r"\1***@", url, count=1)


@dataclass(frozen=True)
class MailboxConfig:
    """Where the bounce mailbox is and how to log in to it."""

    host: str
    port: int
    mode: str  # a key of DEFAULT_PORTS
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"  # IMAP only
    verify: bool = True

    @classmethod
    def from_url(cls, url: str) -> MailboxConfig:
        """``imap://user:pass@host[:port][/Folder]``, ``imaps://…``, ``imap+starttls://…``,
        ``pop3://user:pass@host[:port]``, ``pop3s://…`` or ``pop3+starttls://…``;
        ``?verify=0`` accepts a self-signed certificate. User name, password and folder
        are percent-decoded; the folder defaults to INBOX."""
        shown = _redacted(url)
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError(
                f"unsupported mailbox URL scheme {parts.scheme!r} in {shown!r}: use imap://, "
                "imaps://, imap+starttls://, pop3://, pop3s:// or pop3+starttls://"
            )
        if "@" not in parts.netloc:
            if "@" in url:
                raise ValueError(
                    f"mailbox URL {shown!r}: the user name or password holds a '/', '?' or "
                    "'#', which must be percent-encoded (%2F, %3F, %23)"
                )
            raise ValueError(
                f"mailbox URL {shown!r} has no user name and password "
                f"({parts.scheme}://user:password@host)"
            )
        if not parts.username or parts.password is None:
            raise ValueError(f"mailbox URL {shown!r} needs both a user name and a password")
        if not parts.hostname:
            raise ValueError(f"mailbox URL {shown!r} has no host")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError(f"mailbox URL {shown!r} has an invalid port") from None
        return cls(
            host=parts.hostname,
            port=port,
            mode=parts.scheme,
            username=unquote(parts.username),
            password=unquote(parts.password),
            folder=_folder(parts.scheme, unquote(parts.path), shown),
            verify=_verify(parts.query, shown),
        )

    @property
    def protocol(self) -> str:
        """``imap`` or ``pop3``."""
        return "imap" if self.mode.startswith("imap") else "pop3"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        folder = f"/{quote(self.folder)}" if self.protocol == "imap" else ""
        return f"{self.mode}://{quote(self.username, safe='')}@{host}:{self.port}{folder}"

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _folder(scheme: str, path: str, shown: str) -> str:
    folder = path.strip("/")
    if scheme.startswith("pop3"):
        if folder:
            raise ValueError(
                f"mailbox URL {shown!r}: POP3 has no folders, remove {path!r} "
                "(or use imap:// to read a folder)"
            )
        return ""
    if not folder.isascii():
        raise ValueError(f"mailbox URL {shown!r}: the folder name must be ASCII")
    return folder or "INBOX"


def _verify(query: str, shown: str) -> bool:
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"verify"})
    if unknown:
        raise ValueError(f"mailbox URL {shown!r}: unknown option {unknown[0]!r} (known: verify)")
    verify = options.get("verify", ["1"])[-1].lower()
    if verify not in _YES + _NO:
        raise ValueError(f"mailbox URL {shown!r}: verify must be 1 or 0 (got {verify!r})")
    return verify in _YES
