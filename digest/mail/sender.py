"""Sending over SMTP behind a small interface.

A :class:`Sender` opens a session; the session's ``send`` hands one message to the
relay and returns the :class:`~digest.domain.delivery.Reply` that ended the attempt.
It never raises for SMTP or network trouble: the reply (or its absence) is the
outcome, and the delivery rules decide what it means.
"""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from digest.config.smtp import RelayURL, parse_smtp_url
from digest.domain.delivery import Reply, parse_enhanced_code
from digest.mail.message import addr_spec

# Called with the relay a message is about to go to, once connected and before a word
# about the message is said: it may wait for room under that relay's sending limits, or
# raise to keep the message back (the exception reaches the caller of ``send``).
Admit = Callable[["SMTPSender"], None]


class Connection(Protocol):
    # Whether the last send's reply repeats a failure this session already reported
    # (the relay could not be reached or refused the session): that message never
    # went to a relay, so it is no answer about it.
    replayed: bool
    # Whether the last send's reply was about the session rather than the message: no
    # connection, a refused greeting, a 421 before the envelope on a new connection,
    # or the connection lost on the way.
    session_failed: bool

    def send(self, from_addr: str, to_addr: str, data: bytes, admit: Admit | None = None) -> Reply:
        """Hand one message to the relay; SMTP and network trouble become the Reply."""
        ...


class Sender(Protocol):
    def session(self) -> AbstractContextManager[Connection]:
        """A connection for a batch of messages, closed when the block ends."""
        ...


def _reply(code: int, message: bytes | str) -> Reply:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    text = " ".join(text.split())
    return Reply(code, parse_enhanced_code(text), text)


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    # smtplib would look this up (possibly a slow DNS query) for every connection.
    return socket.getfqdn()


@dataclass(frozen=True)
class SMTPSender(RelayURL):
    """A relay (what its URL says, and how long to wait for it); each :meth:`session`
    reuses one connection for a batch."""

    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SMTPSender:
        """The relay a ``DIGEST_SMTP_URL`` entry names (see
        :func:`digest.config.smtp.parse_smtp_url`); ValueError names what is wrong."""
        return cls(**dataclasses.asdict(parse_smtp_url(url)), timeout=timeout)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

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
                self.host,
                self.port,
                local_hostname=_local_hostname(),
                timeout=self.timeout,
                context=self.tls_context(),
            )
        else:
            client = smtplib.SMTP(
                self.host, self.port, local_hostname=_local_hostname(), timeout=self.timeout
            )
        try:
            client.ehlo_or_helo_if_needed()
            if self.mode == "smtp+starttls":
                client.starttls(context=self.tls_context())
                client.ehlo()
            if self.username:
                self._login(client)
        except BaseException:
            client.close()
            raise
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
        """One connection for the messages sent inside the ``with`` block."""
        conn = SMTPConnection(self)
        try:
            yield conn
        finally:
            conn.close()


class _Stale(Exception):
    """The connection was gone before this message's transaction began."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def _lost(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    return str(exc) or type(exc).__name__


def _data(client: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """DATA with ``data`` (CRLF line ends), as ``smtplib.SMTP.data`` sends it.

    smtplib dot-stuffs with a regular expression over the whole message; a message
    where no line starts with '.' (build_message never lets one) needs no stuffing,
    and a search for one is a tenth of the cost."""
    if data.startswith(b".") or b"\n." in data:
        return client.data(data)
    client.putcmd("data")
    code, reply = client.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    client.send(data + b".\r\n" if data.endswith(b"\r\n") else data + b"\r\n.\r\n")
    return client.getreply()


class SMTPConnection:
    """One relay connection, opened on first use and reopened after it drops.

    If opening it fails, the rest of the session gets the same reply without
    trying again: a relay that is down would otherwise cost a timeout per message.

    ``unavailable`` tells whether the last message was turned away before the relay
    took its envelope (no connection, the connection closed, or a 4xx reply to MAIL
    FROM): the relay could not take mail then, and another relay may.
    """

    def __init__(self, sender: SMTPSender) -> None:
        self.sender = sender
        self.client: smtplib.SMTP | None = None
        self.connections = 0
        self.failure: Reply | None = None
        self.unavailable = False
        self.replayed = False
        self.session_failed = False

    def _open(self) -> smtplib.SMTP | Reply:
        if self.client is not None:
            return self.client
        try:
            self.client = self.sender.connect()
        except smtplib.SMTPResponseException as exc:
            self.failure = _reply(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            detail = _lost(exc, self.sender.timeout)
            self.failure = Reply(None, None, f"cannot connect to {self.sender.address}: {detail}")
        else:
            self.connections += 1
            return self.client
        return self.failure

    def _drop(self) -> None:
        if self.client is not None:
            with suppress(OSError):
                self.client.close()
            self.client = None

    def send(self, from_addr: str, to_addr: str, data: bytes, admit: Admit | None = None) -> Reply:
        """One SMTP transaction; the reply that ended it, never an exception (but
        what ``admit`` raises)."""
        self.unavailable = self.replayed = self.session_failed = self.failure is not None
        if self.failure is not None:
            return self.failure
        sender, recipient = addr_spec(from_addr), addr_spec(to_addr)
        while True:
            reused = self.client is not None
            client = self._open()
            if isinstance(client, Reply):
                self.unavailable = self.session_failed = True
                return client
            if admit is not None:
                # Once connected: the token is spent as the message goes, not while
                # a connection is set up, and not at all for a relay that is down.
                admit(self.sender)
                admit = None
            try:
                return self._transaction(client, sender, recipient, data)
            except _Stale as stale:
                self._drop()
                if not reused:
                    self.unavailable = self.session_failed = True
                    return stale.reply
                # A kept connection the server closed while idle: nothing of this
                # message was sent, so one fresh connection may carry it.

    def _transaction(self, client: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> Reply:
        options: list[str] = []
        if not (sender.isascii() and recipient.isascii()):
            if not client.has_extn("smtputf8"):
                return Reply(
                    553,
                    "5.6.7",
                    f"5.6.7 not sent: {recipient} needs SMTPUTF8, "
                    f"which {self.sender.address} does not offer",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"] if client.has_extn("8bitmime") else ["SMTPUTF8"]
        try:
            try:
                code, msg = client.mail(sender, options)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                detail = _lost(exc, self.sender.timeout)
                raise _Stale(Reply(None, None, f"connection lost: {detail}")) from None
            if code == 421:
                raise _Stale(_reply(code, msg))
            if code != 250:
                self.unavailable = 400 <= code < 500
                return self._failed(code, msg)
            code, msg = client.rcpt(recipient)
            if code not in (250, 251):
                return self._failed(code, msg)
            code, msg = _data(client, data)
            if not 200 <= code < 300:
                return self._failed(code, msg)
            return _reply(code, msg)
        except smtplib.SMTPResponseException as exc:
            # smtplib raises for a DATA reply that is not 354, after reading it.
            self._reset_or_drop(exc.smtp_code)
            return _reply(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            self.session_failed = True
            return Reply(None, None, f"connection lost: {_lost(exc, self.sender.timeout)}")
        except (smtplib.SMTPException, UnicodeError) as exc:
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
            code, _ = self.client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
            return
        if code != 250:
            self._drop()

    def close(self) -> None:
        """Say QUIT (best effort) and close."""
        if self.client is not None:
            with suppress(smtplib.SMTPException, OSError):
                self.client.quit()
            self._drop()
