"""The bounce domain's SMTP/LMTP server over real sockets: a message is answered
"250" only once stored, a copy that could not be stored is refused with a temporary
error, and LMTP answers every recipient on its own."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator

import pytest

from digest.mail.capture import free_port
from digest.mail.receiver import BounceReceiver

REPORT = b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure\r\n\r\nbounced\r\n"


class Store:
    """Keeps what it is given; refuses the recipients in ``broken``."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, bytes]] = []
        self.broken: set[str] = set()

    def __call__(self, data: bytes, recipient: str) -> None:
        if recipient in self.broken:
            raise ConnectionError("database unavailable")
        self.kept.append((recipient, data))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def serve(store: Store) -> Iterator[object]:
    servers: list[BounceReceiver] = []

    def start(lmtp: bool) -> int:
        port = free_port()
        server = BounceReceiver(store, port=port, domains=("bounce.example.org",), lmtp=lmtp)
        server.start()
        servers.append(server)
        return port

    yield start
    for server in servers:
        server.stop()


def test_smtp_says_250_only_when_every_copy_is_stored(serve, store: Store) -> None:  # type: ignore[no-untyped-def]
    port = serve(lmtp=False)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("", ["bounces+a@bounce.example.org"], REPORT)
        store.broken.add("bounces+c@bounce.example.org")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(
                "", ["bounces+b@bounce.example.org", "bounces+c@bounce.example.org"], REPORT
            )
    assert refused.value.smtp_code == 451  # the sending server keeps it and tries again
    assert [r for r, _ in store.kept] == [
        "bounces+a@bounce.example.org",
        "bounces+b@bounce.example.org",
    ]
    assert store.kept[0][1].endswith(b"bounced\r\n")


def test_lmtp_answers_each_recipient_in_order(serve, store: Store) -> None:  # type: ignore[no-untyped-def]
    port = serve(lmtp=True)
    store.broken.add("bounces+b@bounce.example.org")
    rcpts = [
        "bounces+a@bounce.example.org",
        "bounces+b@bounce.example.org",
        "bounces+c@bounce.example.org",
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        reader = conn.makefile("rb")

        def reply() -> bytes:
            line = reader.readline()
            while line[3:4] == b"-":
                line = reader.readline()
            return line

        assert reply().startswith(b"220")
        conn.sendall(b"EHLO client.example.net\r\n")
        assert reply().startswith(b"500")  # LMTP speaks LHLO only
        conn.sendall(b"LHLO client.example.net\r\nMAIL FROM:<>\r\n")
        assert reply().startswith(b"250") and reply().startswith(b"250")
        for rcpt in rcpts:
            conn.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
            assert reply().startswith(b"250")
        conn.sendall(b"RCPT TO:<someone@example.com>\r\n")
        assert reply().startswith(b"550 5.1.2")  # not a bounce address: nothing is relayed
        conn.sendall(b"DATA\r\n")
        assert reply().startswith(b"354")
        conn.sendall(REPORT + b".\r\n")
        answers = [reply()[:3] for _ in rcpts]
    assert answers == [b"250", b"451", b"250"]
    assert [r for r, _ in store.kept] == [rcpts[0], rcpts[2]]
