"""The default relay: a capture server writing .eml files to the outbox."""

from __future__ import annotations

import email.policy
import re
import socket
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest

from digest.mail.capture import CaptureServer, ensure_capture_server
from digest.mail.message import build_message
from digest.mail.sender import SMTPSender

FROM = "digest@news.example.org"


def message(n: int) -> bytes:
    return build_message(
        from_header=f"Example News <{FROM}>",
        to_addr="reader@example.org",
        to_name="Zoë",
        subject=f"Digest {n}",
        text=f"Text {n}\n.dot",
        html=f"<p>HTML {n}</p>",
        message_id=f"<{n}@news.example.org>",
        date=datetime(2026, 3, 17, 6, 0, tzinfo=UTC),
        list_id="<digest.news.example.org>",
        unsubscribe_url="https://news.example.org/unsubscribe/tok",
    )


def test_messages_land_in_the_outbox_as_eml_files(tmp_path: Path) -> None:
    outbox = tmp_path / "not" / "yet" / "there"
    server = CaptureServer(outbox)
    assert server.url == f"smtp://127.0.0.1:{server.port}" and server.port > 0
    sent = [message(n) for n in range(3)]
    server.start()
    try:
        with SMTPSender.from_url(server.url).session() as conn:
            replies = [conn.send(FROM, "reader@example.org", data) for data in sent]
    finally:
        server.stop()
    assert [r.code for r in replies] == [250] * 3
    files = sorted(outbox.glob("*.eml"))
    assert [f.name for f in files] == sorted(r.text.rsplit(" ", 1)[-1] for r in replies)
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{6}-\d{6}-[0-9a-f]{8}\.eml", f.name) for f in files)
    # Files sort in the order the messages arrived, and hold them byte for byte.
    assert [f.read_bytes() for f in files] == sent
    parsed = message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Digest 0"
    assert not list(outbox.glob(".*.tmp"))


def test_a_busy_fixed_port_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = CaptureServer(tmp_path, port=busy.getsockname()[1])
        with pytest.raises(OSError, match="cannot listen"):
            server.start()


def test_a_port_taken_meanwhile_is_replaced_by_another(tmp_path: Path) -> None:
    server = CaptureServer(tmp_path)
    with socket.socket() as thief:
        thief.bind(("127.0.0.1", server.port))
        thief.listen()
        server.start()
        try:
            assert server.port != thief.getsockname()[1]
            with SMTPSender.from_url(server.url).session() as conn:
                assert conn.send(FROM, "reader@example.org", message(1)).code == 250
        finally:
            server.stop()
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_one_capture_server_per_outbox_in_a_process(tmp_path: Path) -> None:
    first = ensure_capture_server(tmp_path / "box")
    assert ensure_capture_server(tmp_path / "box") == first
    assert ensure_capture_server(str(tmp_path / "box" / ".." / "box")) == first
    other = ensure_capture_server(tmp_path / "other")
    assert other != first
    with SMTPSender.from_url(first).session() as conn:
        assert conn.send(FROM, "reader@example.org", message(1)).code == 250
    assert len(list((tmp_path / "box").glob("*.eml"))) == 1
    assert not list((tmp_path / "other").glob("*.eml"))
