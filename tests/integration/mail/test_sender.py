"""The SMTP sender against real aiosmtpd servers: plain, STARTTLS, TLS, auth,
failures on one connection, dropped connections and relays that never answer."""

from __future__ import annotations

import asyncio
import email.policy
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from digest.mail.message import build_message
from digest.mail.sender import Connection, SMTPSender
from tests.conftest import free_port

FROM = "digest@news.example.org"
MESSAGE = b"Subject: hi\r\nFrom: digest@news.example.org\r\nTo: b@example.org\r\n\r\nbody\r\n"


class Relay:
    """An aiosmtpd handler that counts connections, keeps what it accepts and can be
    told how to answer: per recipient, per DATA, or by closing the connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.received: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.mail_replies: list[str] = []  # consumed one per MAIL, then 250
        self.data_replies: list[str] = []  # consumed one per DATA, then 250
        self.drop_at_data = False
        self.transports: list[asyncio.BaseTransport] = []
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.transports.append(server.transport)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_at_data:
            self.drop_at_data = False
            server.transport.close()
            return "421 4.3.2 closing"
        if self.data_replies:
            return self.data_replies.pop(0)
        with self.lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 queued as 1234"


class CountingController(Controller):
    """Counts connections: aiosmtpd makes one SMTP protocol object per connection."""

    def factory(self) -> Any:
        self.handler.connections += 1
        return super().factory()


@contextmanager
def serve(relay: Relay | None = None, **kwargs: Any) -> Iterator[tuple[Relay, Controller, int]]:
    relay = relay or Relay()
    port = free_port()
    controller = CountingController(relay, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    # start() makes one connection of its own to see that the server is up.
    relay.connections = 0
    try:
        yield relay, controller, port
    finally:
        controller.stop()


def session(port: int) -> AbstractContextManager[Connection]:
    return SMTPSender.from_url(f"smtp://127.0.0.1:{port}").session()


def digest_message(to_addr: str = "reader@example.org") -> bytes:
    return build_message(
        from_header=f"Example News <{FROM}>",
        to_addr=to_addr,
        to_name="Zoë Reader",
        subject="Example News: l'été",
        text="Hello\n.leading dot\n.\nFrom here\ntrailing  \n" + "long " * 30,
        html="<p>été</p>\n." + "<b>x</b>" * 20,
        message_id="<1.2@news.example.org>",
        date=datetime(2026, 3, 17, 6, 0, tzinfo=UTC),
        list_id="<digest.news.example.org>",
        unsubscribe_url="https://news.example.org/unsubscribe/tok",
    )


def test_a_message_is_accepted_and_arrives_intact() -> None:
    data = digest_message()
    with (
        serve() as (relay, _, port),
        session(port) as conn,
    ):
        reply = conn.send(FROM, "reader@example.org", data)
    assert (reply.code, reply.enhanced_code) == (250, "2.0.0")
    assert reply.text == "2.0.0 queued as 1234"
    [(mail_from, rcpt_tos, content)] = relay.received
    assert (mail_from, rcpt_tos) == (FROM, ["reader@example.org"])
    # Dot-stuffing undone by the server: the very bytes that were built.
    assert content == data
    parsed = message_from_bytes(content, policy=email.policy.default)
    assert parsed["Subject"] == "Example News: l'été"


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: plain\r\n\r\nno line starts with a dot\r\n",
        b"Subject: no final line end\r\n\r\nlast line",
        b".first line\r\n\r\n..two\r\n.\r\nend\r\n",
        b"Subject: dots\r\n\r\nbody\r\n.\r\n.x\r\n",
    ],
    ids=["plain", "unterminated", "leading-dot", "lone-dot"],
)
def test_any_bytes_arrive_as_sent_whether_or_not_they_need_dot_stuffing(data: bytes) -> None:
    with serve() as (relay, _, port), session(port) as conn:
        reply = conn.send(FROM, "reader@example.org", data)
        after = conn.send(FROM, "next@example.org", MESSAGE)
    assert (reply.code, after.code) == (250, 250)
    [(_, _, first), (_, _, second)] = relay.received
    assert first == (data if data.endswith(b"\r\n") else data + b"\r\n")
    assert second == MESSAGE


def test_one_connection_for_a_batch() -> None:
    with serve() as (relay, _, port):
        sender = SMTPSender.from_url(f"smtp://127.0.0.1:{port}")
        with sender.session() as conn:
            replies = [conn.send(FROM, f"r{i}@example.org", MESSAGE) for i in range(5)]
    assert [r.code for r in replies] == [250] * 5
    assert relay.connections == 1
    assert [rcpt for _, rcpt, _ in relay.received] == [[f"r{i}@example.org"] for i in range(5)]


def test_a_rejected_recipient_does_not_spoil_the_next_message() -> None:
    with serve() as (relay, _, port):
        relay.rcpt_replies["gone@example.org"] = "550 5.1.1 No such user"
        with session(port) as conn:
            bad = conn.send(FROM, "gone@example.org", MESSAGE)
            good = conn.send(FROM, "here@example.org", MESSAGE)
    assert (bad.code, bad.enhanced_code, bad.text) == (550, "5.1.1", "5.1.1 No such user")
    assert good.code == 250
    # RSET after the refusal: the second transaction has only its own recipient.
    assert [rcpt for _, rcpt, _ in relay.received] == [["here@example.org"]]
    assert relay.connections == 1


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_temporary_failure_is_reported_with_its_code(stage: str) -> None:
    with serve() as (relay, _, port):
        if stage == "rcpt":
            relay.rcpt_replies["b@example.org"] = "451 4.3.0 try later"
        else:
            relay.data_replies.append("451 4.3.0 try later")
        with session(port) as conn:
            reply = conn.send(FROM, "b@example.org", MESSAGE)
            again = conn.send(FROM, "c@example.org", MESSAGE)
    assert (reply.code, reply.enhanced_code, reply.text) == (451, "4.3.0", "4.3.0 try later")
    assert again.code == 250
    assert relay.connections == 1


def test_a_connection_dropped_mid_message_is_reported_then_reconnected() -> None:
    with serve() as (relay, _, port):
        relay.drop_at_data = True
        with session(port) as conn:
            lost = conn.send(FROM, "b@example.org", MESSAGE)
            after = conn.send(FROM, "c@example.org", MESSAGE)
    assert lost.code in (None, 421)
    assert lost.text.startswith("connection lost")
    assert after.code == 250
    assert relay.connections == 2
    assert [rcpt for _, rcpt, _ in relay.received] == [["c@example.org"]]


def test_a_connection_closed_while_idle_is_reopened_for_the_next_message() -> None:
    with serve() as (relay, controller, port), session(port) as conn:
        assert conn.send(FROM, "b@example.org", MESSAGE).code == 250
        # The server's idle timeout closes the kept connection between two messages.
        closed = threading.Event()

        def close() -> None:
            relay.transports[0].close()
            closed.set()

        controller.loop.call_soon_threadsafe(close)
        assert closed.wait(5)
        second = conn.send(FROM, "c@example.org", MESSAGE)
    assert second.code == 250
    assert relay.connections == 2
    assert len(relay.received) == 2


def test_421_to_mail_on_a_new_connection_is_returned() -> None:
    with serve() as (relay, _, port):
        relay.mail_replies += ["421 4.3.2 shutting down", "421 4.3.2 shutting down"]
        with session(port) as conn:
            reply = conn.send(FROM, "b@example.org", MESSAGE)
    assert (reply.code, reply.enhanced_code) == (421, "4.3.2")
    assert relay.received == []


def test_nobody_listening_is_a_reply_not_an_exception() -> None:
    port = free_port()
    with SMTPSender.from_url(f"smtp://127.0.0.1:{port}", timeout=2).session() as conn:
        replies = [conn.send(FROM, "b@example.org", MESSAGE) for _ in range(3)]
    assert all(r.code is None for r in replies)
    assert replies[0].text.startswith(f"cannot connect to 127.0.0.1:{port}")


def test_a_relay_that_never_answers_times_out_once_per_session() -> None:
    with socket.socket() as listener:
        # Accepts connections (kernel backlog) but never says hello.
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with SMTPSender.from_url(f"smtp://127.0.0.1:{port}", timeout=0.5).session() as conn:
            replies = [conn.send(FROM, "b@example.org", MESSAGE) for _ in range(3)]
        listener.settimeout(0.2)
        attempts = 0
        try:
            while True:
                accepted, _ = listener.accept()
                accepted.close()
                attempts += 1
        except TimeoutError:
            pass
    assert all(r.code is None and "timed out" in r.text for r in replies)
    assert attempts == 1


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = data.login == b"digest" and data.password == b"s3cret/p@ss"
    # handled=False: aiosmtpd itself answers 535 to a refused login.
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_with_credentials_from_the_url() -> None:
    options: dict[str, Any] = {
        "authenticator": authenticator,
        "auth_require_tls": False,
        "auth_required": True,
    }
    with serve(**options) as (relay, _, port):
        good = SMTPSender.from_url(f"smtp://digest:s3cret%2Fp%40ss@127.0.0.1:{port}")
        with good.session() as conn:
            assert conn.send(FROM, "b@example.org", MESSAGE).code == 250
        bad = SMTPSender.from_url(f"smtp://digest:wrong@127.0.0.1:{port}")
        with bad.session() as conn:
            refused = [conn.send(FROM, "b@example.org", MESSAGE) for _ in range(2)]
        anonymous = SMTPSender.from_url(f"smtp://127.0.0.1:{port}")
        with anonymous.session() as conn:
            unauthenticated = conn.send(FROM, "b@example.org", MESSAGE)
    assert [(r.code, r.enhanced_code) for r in refused] == [(535, "5.7.8")] * 2
    assert unauthenticated.code == 530
    assert len(relay.received) == 1
    assert relay.connections == 3


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[1]), str(certificate[0]))
    return context


def test_starttls(certificate: tuple[Path, Path]) -> None:
    with serve(tls_context=server_context(certificate), require_starttls=True) as (relay, _, port):
        sender = SMTPSender.from_url(f"smtp+starttls://127.0.0.1:{port}?verify=0")
        with sender.session() as conn:
            replies = [conn.send(FROM, "b@example.org", MESSAGE) for _ in range(2)]
        # The certificate is self-signed: with verification on, nothing is sent.
        strict = SMTPSender.from_url(f"smtp+starttls://127.0.0.1:{port}")
        with strict.session() as conn:
            refused = conn.send(FROM, "b@example.org", MESSAGE)
        # Plain SMTP to a server that requires STARTTLS is refused by the server.
        plain = SMTPSender.from_url(f"smtp://127.0.0.1:{port}")
        with plain.session() as conn:
            cleartext = conn.send(FROM, "b@example.org", MESSAGE)
    assert [r.code for r in replies] == [250, 250]
    assert refused.code is None and "certificate" in refused.text.lower()
    assert cleartext.code == 530
    assert len(relay.received) == 2
    assert relay.connections == 3


def test_smtps(certificate: tuple[Path, Path]) -> None:
    with serve(ssl_context=server_context(certificate)) as (relay, _, port):
        sender = SMTPSender.from_url(f"smtps://127.0.0.1:{port}?verify=0")
        with sender.session() as conn:
            replies = [conn.send(FROM, "b@example.org", MESSAGE) for _ in range(2)]
        strict = SMTPSender.from_url(f"smtps://127.0.0.1:{port}")
        with strict.session() as conn:
            refused = conn.send(FROM, "b@example.org", MESSAGE)
    assert [r.code for r in replies] == [250, 250]
    assert refused.code is None and "certificate" in refused.text.lower()
    assert len(relay.received) == 2


def test_international_addresses() -> None:
    with serve(enable_SMTPUTF8=True) as (relay, _, port), session(port) as conn:
        utf8 = conn.send(FROM, "zoë@example.org", digest_message("zoë@example.org"))
        idn = conn.send(FROM, "leser@bücher.example", MESSAGE)
    assert (utf8.code, idn.code) == (250, 250)
    assert [rcpt for _, rcpt, _ in relay.received] == [
        ["zoë@example.org"],
        ["leser@xn--bcher-kva.example"],
    ]
    assert "To: =?utf-8?b?Wm/DqyBSZWFkZXI=?= <zoë@example.org>".encode() in relay.received[0][2]


def test_a_utf8_address_without_smtputf8_is_refused_without_sending() -> None:
    with serve(enable_SMTPUTF8=False) as (relay, _, port), session(port) as conn:
        refused = conn.send(FROM, "zoë@example.org", MESSAGE)
        after = conn.send(FROM, "b@example.org", MESSAGE)
    assert (refused.code, refused.enhanced_code) == (553, "5.6.7")
    assert "SMTPUTF8" in refused.text
    assert after.code == 250
    assert [rcpt for _, rcpt, _ in relay.received] == [["b@example.org"]]


# --- the relay URL ---------------------------------------------------------------


def test_url_defaults_and_credentials() -> None:
    plain = SMTPSender.from_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.mode, plain.verify) == (
        "mail.example.org",
        25,
        "smtp",
        True,
    )
    assert SMTPSender.from_url("smtp+starttls://mail.example.org").port == 587
    assert SMTPSender.from_url("smtps://mail.example.org").port == 465
    full = SMTPSender.from_url("smtps://us%40er:p%3Ass%2F@[::1]:2465?verify=0", timeout=5)
    assert (full.host, full.port, full.username, full.password) == ("::1", 2465, "us@er", "p:ss/")
    assert (full.verify, full.timeout) == (False, 5)
    assert "p:ss" not in repr(full)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:25", "'http'"),
        ("smtp://", "no host"),
        ("smtp://host:99999", "invalid port"),
        ("smtp://host?verfy=0", "unknown option 'verfy'"),
        ("smtp://host?verify=maybe", "verify must be 1 or 0"),
    ],
)
def test_bad_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SMTPSender.from_url(url)


def test_a_password_never_appears_in_an_error() -> None:
    with pytest.raises(ValueError) as error:
        SMTPSender.from_url("smtp://user:hunter2@host?bad=1")
    assert "hunter2" not in str(error.value)
    assert "user:***@host" in str(error.value)
