"""The default relay: a capture server writing .eml files to the outbox."""

from __future__ import annotations

import email.policy
from email import message_from_bytes
from pathlib import Path

from digest.mail.capture import CaptureServer, ensure_capture_server
from digest.mail.sender import SMTPSender

MESSAGE = b"Subject: captured\r\nFrom: a@news.example.org\r\nTo: b@example.org\r\n\r\nbody\r\n"


def test_messages_land_in_the_outbox_as_eml_files(tmp_path: Path) -> None:
    server = CaptureServer(tmp_path / "outbox")
    server.start()
    try:
        with SMTPSender.from_url(server.url).session() as conn:
            for _ in range(3):
                assert conn.send("a@news.example.org", "b@example.org", MESSAGE).code == 250
    finally:
        server.stop()
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 3
    parsed = message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "captured"
    assert not list((tmp_path / "outbox").glob(".*.tmp"))


def test_one_capture_server_per_outbox_in_a_process(tmp_path: Path) -> None:
    first = ensure_capture_server(tmp_path / "box")
    assert ensure_capture_server(tmp_path / "box") == first
    with SMTPSender.from_url(first).session() as conn:
        assert conn.send("a@news.example.org", "b@example.org", MESSAGE).code == 250
    assert len(list((tmp_path / "box").glob("*.eml"))) == 1
