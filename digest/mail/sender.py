"""Sending over SMTP behind a small interface.

A :class:`Sender` opens a session; the session's ``send`` hands one message to the
relay and returns the :class:`~digest.domain.delivery.Reply` that ended the attempt.
It never raises for SMTP or network trouble: the reply (or its absence) is the
outcome, and the delivery rules decide what it means.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from digest.domain.delivery import Reply, parse_enhanced_code

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class Connection(Protocol):
    def send(self, from_addr: str, to_addr: str, data: bytes) -> Reply: ...


class Sender(Protocol):
    def session(self) -> AbstractContextManager[Connection]: ...


def _reply(code: int, message: bytes | str) -> Reply:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    text = " ".join(text.split())
    return Reply(code, parse_enhanced_code(text), text)


@dataclass(frozen=True)
class SMTPSender:
    """SMTP relay settings; each :meth:`session` reuses one connection for a batch."""

    host: str
    port: int
    mode: str = "smtp"  # smtp | smtp+starttls | smtps
    username: str | None = None
    password: str | None = None
    verify: bool = True
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SMTPSender:
        """``smtp://[user:pass@]host:port``, ``smtp+starttls://…`` or ``smtps://…``;
        ``?verify=0`` accepts a relay's self-signed certificate."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError(
                f"unsupported SMTP URL scheme {parts.scheme!r} in {url!r}: "
                "use smtp://, smtp+starttls:// or smtps://"
            )
        if not parts.hostname:
            raise ValueError(f"SMTP URL {url!r} has no host")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            mode=parts.scheme,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            verify=query.get("verify", ["1"])[0] not in ("0", "false", "no"),
            timeout=timeout,
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection (raises on failure)."""
        client: smtplib.SMTP
        if self.mode == "smtps":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        client.ehlo_or_helo_if_needed()
        if self.mode == "smtp+starttls":
            client.starttls(context=self.tls_context())
            client.ehlo()
        if self.username:
            self._login(client)
        return client

    def _login(self, client: smtplib.SMTP) -> None:
        # One mechanism, not smtplib's try-each loop: after a refused PLAIN some
        # servers leave a following AUTH LOGIN hanging until the timeout.
        offered = client.esmtp_features.get("auth", "").upper().split()
        client.user, client.password = self.username or "", self.password or ""
        for mechanism in ("PLAIN", "LOGIN"):
            if mechanism in offered:
                method = client.auth_plain if mechanism == "PLAIN" else client.auth_login
                client.auth(mechanism, method, initial_response_ok=True)
                return
        client.login(self.username or "", self.password or "")

    @contextmanager
    def session(self) -> Iterator[SMTPConnection]:
        conn = SMTPConnection(self)
        try:
            yield conn
        finally:
            conn.close()


class SMTPConnection:
    """One relay connection, opened on first use and reopened after it drops."""

    def __init__(self, sender: SMTPSender) -> None:
        self.sender = sender
        self.client: smtplib.SMTP | None = None
        self.connections = 0

    def _client(self) -> smtplib.SMTP:
        if self.client is None:
            self.client = self.sender.connect()
            self.connections += 1
        return self.client

    def _drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def send(self, from_addr: str, to_addr: str, data: bytes) -> Reply:
        """One SMTP transaction; the reply that ended it, never an exception."""
        try:
            client = self._client()
        except smtplib.SMTPResponseException as exc:
            self._drop()
            return _reply(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            return Reply(
                None, None, f"cannot connect to {self.sender.host}:{self.sender.port}: {exc}"
            )
        try:
            code, msg = client.mail(from_addr)
            if code != 250:
                return self._failed(code, msg)
            code, msg = client.rcpt(to_addr)
            if code not in (250, 251):
                return self._failed(code, msg)
            code, msg = client.data(data)
            if not 200 <= code < 300:
                return self._failed(code, msg)
            return _reply(code, msg)
        except smtplib.SMTPResponseException as exc:
            # smtplib raises for a DATA reply that is not 354/250, after reading it.
            self._reset_or_drop(exc.smtp_code)
            return _reply(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, socket.timeout | TimeoutError):
                detail = f"timed out after {self.sender.timeout:g} s"
            return Reply(None, None, f"connection lost: {detail}")
        except smtplib.SMTPException as exc:
            self._drop()
            return Reply(None, None, f"SMTP error: {exc}")

    def _failed(self, code: int, msg: bytes) -> Reply:
        self._reset_or_drop(code)
        return _reply(code, msg)

    def _reset_or_drop(self, code: int) -> None:
        # 421 means the server is closing the connection; otherwise RSET keeps it usable.
        if code == 421 or self.client is None:
            self._drop()
            return
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def close(self) -> None:
        if self.client is not None:
            with suppress(smtplib.SMTPException, OSError):
                self.client.quit()
            self._drop()
