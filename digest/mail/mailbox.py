"""Fetching messages from the bounce mailbox over IMAP or POP3.

``poll(config, handle)`` hands each waiting message, as raw bytes, to ``handle`` and
removes it from the mailbox only after ``handle`` returned: a message whose handling
raised stays for the next poll. Messages are fetched one at a time, so memory does not
grow with the mailbox. ``handle`` gets a message as the server sends it (CRLF line ends).

Delivery to ``handle`` is at least once, so ``handle`` must be idempotent: a connection
lost after ``handle`` returned but before the removal took effect (for POP3, before QUIT),
or two pollers reading one mailbox at the same moment, hand the same message over again.

IMAP: messages are found and fetched by UID with ``BODY.PEEK[]`` (a failed message stays
unread), and a handled message is flagged ``\\Deleted`` and expunged by its UID rather than
moved to a "Processed" folder: once stored, the bounce is the record, and a folder of
copies would only grow. A server that should keep copies can do so on delivery.
POP3: a handled message gets DELE, which the server carries out at QUIT.
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from digest.config.mailbox import MailboxConfig

log = logging.getLogger(__name__)

_FETCHED_UID = re.compile(rb"\bUID (\d+)")
# Failures of the conversation itself (as opposed to a failing ``handle``).
_MAILBOX_ERRORS = (OSError, EOFError, imaplib.IMAP4.error, poplib.error_proto)

Handler = Callable[[bytes], None]


class MailboxError(Exception):
    """The mailbox could not be reached, logged in to or read; ``report`` counts what
    was done before that."""

    def __init__(self, message: str, report: PollReport | None = None) -> None:
        super().__init__(message)
        self.report = report if report is not None else PollReport()


@dataclass
class PollReport:
    """What one poll did. ``left``: messages beyond ``limit`` still waiting, if known."""

    fetched: int = 0
    handled: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    left: int | None = None


def poll(
    config: MailboxConfig, handle: Handler, *, limit: int = 500, timeout: float = 30.0
) -> PollReport:
    """Hand up to ``limit`` waiting messages, in mailbox order, to ``handle`` and remove
    each one ``handle`` returned for.

    A message for which ``handle`` raises stays in the mailbox and is counted in
    ``failed`` and ``errors``; the others go on. Raises :class:`MailboxError` when the
    mailbox cannot be reached, logged in to or read (its ``report`` tells what was done
    until then). ``timeout`` applies to each network operation, in seconds.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 (got {limit})")
    report = PollReport()
    if config.protocol == "imap":
        _poll_imap(config, handle, limit, timeout, report)
    else:
        _poll_pop3(config, handle, limit, timeout, report)
    return report


def _detail(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    first = exc.args[0] if len(exc.args) == 1 else None
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(exc)
    return " ".join(text.split()) or type(exc).__name__


@contextmanager
def _failing_as(
    doing: str, config: MailboxConfig, timeout: float, report: PollReport | None = None
) -> Iterator[None]:
    """Turn a failed conversation into a MailboxError saying what was being done where."""
    try:
        yield
    except _MAILBOX_ERRORS as exc:
        message = f"{doing} {config}: {_detail(exc, timeout)}"
        if config.password:
            message = message.replace(config.password, "***")
        raise MailboxError(message, report) from exc


def _hand_over(handle: Handler, data: bytes, name: str, report: PollReport) -> bool:
    """Call ``handle``; True if it returned, so the message may be removed."""
    try:
        handle(data)
    except Exception as exc:
        log.warning(
            "handling bounce mailbox %s failed; it stays for the next poll", name, exc_info=True
        )
        report.failed += 1
        report.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        return False
    report.handled += 1
    return True


# IMAP


def _poll_imap(
    config: MailboxConfig, handle: Handler, limit: int, timeout: float, report: PollReport
) -> None:
    with _failing_as("cannot connect to", config, timeout):
        client = _imap_client(config, timeout)
    try:
        if config.mode == "imap+starttls":
            with _failing_as("cannot start TLS with", config, timeout):
                client.starttls(config.tls_context())
        with _failing_as("cannot log in to", config, timeout):
            client.login(config.username, config.password)
            uidplus = "UIDPLUS" in _imap_capabilities(client)
        with _failing_as(f"cannot select folder {config.folder!r} at", config, timeout):
            exists = _select(client, config.folder)
        with _failing_as("polling stopped at", config, timeout, report):
            uids, report.left = _waiting_uids(client, exists, limit)
            for uid in uids:
                data = _fetch(client, uid)
                if data is None:
                    continue  # another poller removed it meanwhile
                report.fetched += 1
                if _hand_over(handle, data, f"UID {uid}", report):
                    _remove(client, uid, uidplus)
            # CLOSE also expunges messages a poll that broke off had flagged.
            _checked(client.close(), "CLOSE")
            client.logout()
    finally:
        with suppress(OSError):
            client.shutdown()  # in case LOGOUT was not reached


def _imap_client(config: MailboxConfig, timeout: float) -> imaplib.IMAP4:
    if config.mode == "imaps":
        return imaplib.IMAP4_SSL(
            config.host, config.port, ssl_context=config.tls_context(), timeout=timeout
        )
    return imaplib.IMAP4(config.host, config.port, timeout=timeout)


def _checked(result: tuple[str, Sequence[object]], command: str) -> Sequence[object]:
    typ, data = result
    if typ != "OK":
        text = b" ".join(item for item in data if isinstance(item, bytes))
        raise imaplib.IMAP4.error(f"{command} answered {typ}: {text.decode('utf-8', 'replace')}")
    return data


def _imap_capabilities(client: imaplib.IMAP4) -> set[str]:
    # Servers often offer more after login than imaplib saw in the greeting.
    words: set[str] = set()
    for item in _checked(client.capability(), "CAPABILITY"):
        if isinstance(item, bytes):
            words.update(item.decode("ascii", "replace").upper().split())
    return words


def _select(client: imaplib.IMAP4, folder: str) -> int:
    quoted = '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
    data = _checked(client.select(quoted), f"SELECT {quoted}")
    first = data[0]
    return int(first) if isinstance(first, bytes) else 0


def _waiting_uids(client: imaplib.IMAP4, exists: int, limit: int) -> tuple[list[str], int]:
    """UIDs of the first ``limit`` messages not flagged \\Deleted, and how many wait after
    them. Searched ``limit`` sequence numbers at a time, so a huge mailbox costs no more
    than a small one."""
    uids: list[str] = []
    end = 0
    while len(uids) < limit and end < exists:
        start, end = end + 1, min(exists, end + limit)
        data = _checked(client.uid("SEARCH", f"{start}:{end}", "UNDELETED"), "UID SEARCH")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        uids += sorted(found.decode("ascii").split(), key=int)
    # Messages not searched yet are counted even if flagged \Deleted: rare, and cheap.
    left = max(0, len(uids) - limit) + (exists - end)
    return uids[:limit], left


def _fetch(client: imaplib.IMAP4, uid: str) -> bytes | None:
    data = _checked(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"UID FETCH {uid}")
    for item in data:
        # Other messages' flag changes may arrive in between; keep only ours.
        match item:
            case (bytes(head), bytes(body)):
                found = _FETCHED_UID.search(head)
                if found and found.group(1).decode() == uid:
                    return body
    return None


def _remove(client: imaplib.IMAP4, uid: str, uidplus: bool) -> None:
    _checked(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), f"UID STORE {uid}")
    if uidplus:
        _checked(client.uid("EXPUNGE", uid), f"UID EXPUNGE {uid}")
    else:
        # Also removes what other pollers flagged: those were handled too.
        _checked(client.expunge(), "EXPUNGE")


# POP3


def _poll_pop3(
    config: MailboxConfig, handle: Handler, limit: int, timeout: float, report: PollReport
) -> None:
    with _failing_as("cannot connect to", config, timeout):
        client = _pop3_client(config, timeout)
    try:
        if config.mode == "pop3+starttls":
            with _failing_as("cannot start TLS with", config, timeout):
                client.stls(config.tls_context())
        with _failing_as("cannot log in to", config, timeout):
            client.user(config.username)
            client.pass_(config.password)
        with _failing_as("polling stopped at", config, timeout, report):
            count, _size = client.stat()
            report.left = max(0, count - limit)
            for number in range(1, min(count, limit) + 1):
                data = _retr(client, number)
                report.fetched += 1
                if _hand_over(handle, data, f"message {number}", report):
                    client.dele(number)
            client.quit()  # carries out the DELEs
    finally:
        with suppress(OSError):
            client.close()  # in case QUIT was not reached


def _pop3_client(config: MailboxConfig, timeout: float) -> poplib.POP3:
    if config.mode == "pop3s":
        return poplib.POP3_SSL(
            config.host, config.port, timeout=timeout, context=config.tls_context()
        )
    return poplib.POP3(config.host, config.port, timeout=timeout)


def _retr(client: poplib.POP3, number: int) -> bytes:
    """RETR ``number``: the message with its line ends as sent and dot-stuffing undone.

    Not ``client.retr``: it refuses lines over 2048 bytes, which real bounces have,
    and leaves the connection out of step when it does."""
    client.sock.sendall(b"RETR %d\r\n" % number)
    status = client.file.readline()
    if not status.startswith(b"+OK"):
        raise poplib.error_proto(status.rstrip() or b"-ERR connection closed")
    message = bytearray()
    for line in iter(client.file.readline, b""):
        if line.rstrip(b"\r\n") == b".":
            return bytes(message)
        message += line[1:] if line.startswith(b".") else line
    raise poplib.error_proto(b"-ERR connection closed in the middle of a message")
