"""The SMTP sender against real aiosmtpd servers: plain, STARTTLS, TLS, auth,
failures on one connection, and a dropped connection."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from digest.mail.sender import SMTPSender
from tests.conftest import SmtpServer, free_port

MESSAGE = b"Subject: hi\r\nFrom: a@news.example.org\r\nTo: b@example.org\r\n\r\nbody\r\n"


class Counting:
    """Accepts mail and counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.received: list[bytes] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:  # noqa: E501
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.content))
        return "250 2.0.0 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
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
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def serve(handler: Any, **kwargs: Any) -> Iterator[tuple[Controller, int]]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield controller, port
    finally:
        controller.stop()


def test_one_connection_for_a_batch(smtp_server: SmtpServer) -> None:
    handler = Counting()
    for _, port in serve(handler):
        sender = SMTPSender.from_url(f"smtp://127.0.0.1:{port}")
        with sender.session() as conn:
            replies = [
                conn.send("a@news.example.org", f"r{i}@example.org", MESSAGE) for i in range(5)
            ]
    assert [r.code for r in replies] == [250] * 5
    assert replies[0].enhanced_code == "2.0.0"
    assert handler.connections == 1
    assert handler.received[0].endswith(b"body\r\n")


def test_a_rejected_recipient_does_not_spoil_the_next_message(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 No such user"
    sender = SMTPSender.from_url(smtp_server.url)
    with sender.session() as conn:
        bad = conn.send("a@news.example.org", "gone@example.org", MESSAGE)
        good = conn.send("a@news.example.org", "here@example.org", MESSAGE)
    assert (bad.code, bad.enhanced_code) == (550, "5.1.1")
    assert "No such user" in bad.text
    assert good.code == 250
    assert [r.rcpt_tos for r in smtp_server.received] == [["here@example.org"]]


def test_a_temporary_failure_is_reported_with_its_code(smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_replies.append("451 4.3.0 Try again later")
    with SMTPSender.from_url(smtp_server.url).session() as conn:
        reply = conn.send("a@news.example.org", "b@example.org", MESSAGE)
        again = conn.send("a@news.example.org", "b@example.org", MESSAGE)
    assert (reply.code, reply.enhanced_code) == (451, "4.3.0")
    assert again.code == 250


def test_a_dropped_connection_is_a_reply_without_code_then_reconnects(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.handler.drop_next_data = True
    with SMTPSender.from_url(smtp_server.url).session() as conn:
        lost = conn.send("a@news.example.org", "b@example.org", MESSAGE)
        after = conn.send("a@news.example.org", "b@example.org", MESSAGE)
    assert lost.code is None or lost.code == 421
    assert lost.text
    assert after.code == 250
    assert len(smtp_server.received) == 1


def test_nobody_listening_is_a_reply_not_an_exception() -> None:
    port = free_port()
    with SMTPSender.from_url(f"smtp://127.0.0.1:{port}", timeout=2).session() as conn:
        reply = conn.send("a@news.example.org", "b@example.org", MESSAGE)
    assert reply.code is None and "cannot connect" in reply.text


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = data.login == b"digest" and data.password == b"s3cret/pass"
    # handled=False: aiosmtpd itself answers 535 to a refused login.
    return AuthResult(success=ok, handled=False)


def test_auth_with_credentials_from_the_url() -> None:
    handler = Counting()
    for _, port in serve(
        handler, authenticator=authenticator, auth_require_tls=False, auth_required=True
    ):
        good = SMTPSender.from_url(f"smtp://digest:s3cret%2Fpass@127.0.0.1:{port}")
        with good.session() as conn:
            assert conn.send("a@news.example.org", "b@example.org", MESSAGE).code == 250
        bad = SMTPSender.from_url(f"smtp://digest:wrong@127.0.0.1:{port}")
        with bad.session() as conn:
            reply = conn.send("a@news.example.org", "b@example.org", MESSAGE)
        assert reply.code == 535
    assert len(handler.received) == 1


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[1]), str(certificate[0]))
    return context


def test_starttls(certificate: tuple[Path, Path]) -> None:
    handler = Counting()
    for _, port in serve(handler, tls_context=server_context(certificate), require_starttls=True):
        sender = SMTPSender.from_url(f"smtp+starttls://127.0.0.1:{port}?verify=0")
        with sender.session() as conn:
            assert conn.send("a@news.example.org", "b@example.org", MESSAGE).code == 250
        # The certificate is self-signed: with verification on, nothing is sent.
        strict = SMTPSender.from_url(f"smtp+starttls://127.0.0.1:{port}")
        with strict.session() as conn:
            refused = conn.send("a@news.example.org", "b@example.org", MESSAGE)
        assert refused.code is None and "certificate" in refused.text.lower()
    assert len(handler.received) == 1


def test_smtps(certificate: tuple[Path, Path]) -> None:
    handler = Counting()
    for _, port in serve(handler, ssl_context=server_context(certificate)):
        sender = SMTPSender.from_url(f"smtps://127.0.0.1:{port}?verify=0")
        with sender.session() as conn:
            assert conn.send("a@news.example.org", "b@example.org", MESSAGE).code == 250
    assert len(handler.received) == 1


def test_unsupported_scheme_is_named() -> None:
    with pytest.raises(ValueError, match="'http'"):
        SMTPSender.from_url("http://127.0.0.1:25")
