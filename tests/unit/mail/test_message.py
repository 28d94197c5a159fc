"""The hand-assembled MIME message parses back exactly and resists header injection."""

from __future__ import annotations

import email.policy
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage

from digest.mail.message import build_message, make_message_id

TEXT = (
    "Héllo Zoë\n.a line starting with a dot\nFrom the start of a line\ntrailing  \n"
    + ("long " * 40)
    + "\nend"
)
HTML = '<p style="color:#111">' + "é" * 120 + '</p>\n<a href="https://e.org/?a=1&amp;b=2">x</a>'


def build(**overrides: object) -> bytes:
    fields: dict[str, object] = dict(
        from_header="Example News <digest@news.example.org>",
        to_addr="reader@example.org",
        to_name="Reader",
        subject="Example News: a story and 3 more",
        text=TEXT,
        html=HTML,
        message_id="<abc.123@news.example.org>",
        date=datetime(2026, 3, 17, 6, 0, tzinfo=UTC),
        list_id="<digest.news.example.org>",
        unsubscribe_url="https://news.example.org/unsubscribe/tok.en",
    )
    fields.update(overrides)
    return build_message(**fields)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_parts_and_content_round_trip() -> None:
    msg = parse(build())
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML


def test_headers() -> None:
    msg = parse(build())
    assert msg["From"] == "Example News <digest@news.example.org>"
    assert msg["To"] == "Reader <reader@example.org>"
    assert msg["Subject"] == "Example News: a story and 3 more"
    assert msg["Date"] == "Tue, 17 Mar 2026 06:00:00 +0000"
    assert msg["Message-ID"] == "<abc.123@news.example.org>"
    assert msg["List-Id"] == "<digest.news.example.org>"
    assert msg["List-Unsubscribe"] == "<https://news.example.org/unsubscribe/tok.en>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["MIME-Version"] == "1.0"


def test_wire_format_crlf_and_line_lengths() -> None:
    data = build(subject="Ünïcödé " * 20, to_name="Zoë Ünïcödé " * 5)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    assert data.isascii()


def test_non_ascii_and_special_names_survive() -> None:
    msg = parse(build(subject="Nouvelles: l'été à Bruxelles", to_name='Zoë "Z" Smith, Jr.'))
    assert msg["Subject"] == "Nouvelles: l'été à Bruxelles"
    address = msg["To"].addresses[0]
    assert (address.display_name, address.addr_spec) == ('Zoë "Z" Smith, Jr.', "reader@example.org")


def test_no_header_injection_from_data() -> None:
    evil = "Hi\r\nBcc: victim@example.net\r\n\r\nbody"
    data = build(subject=evil, to_name=evil, unsubscribe_url="https://x.org/u\r\nBcc: v@x.org")
    msg = parse(data)
    assert msg["Bcc"] is None
    assert len(msg.keys()) == 10
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^Bcc:", head, re.MULTILINE)


def test_message_ids_are_unique_and_on_the_domain() -> None:
    ids = {make_message_id("news.example.org") for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"<[\w.]+@news\.example\.org>", i) for i in ids)
