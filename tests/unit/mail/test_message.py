"""The hand-assembled MIME message parses back exactly and resists header injection."""

from __future__ import annotations

import email.policy
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.mail.message import (
    _shared_block,
    build_message,
    clean,
    make_message_id,
    quoted_printable,
    quoted_printable_parts,
)

TEXT = (
    "Héllo Zoë\n.a line starting with a dot\n.\nFrom the start of a line\ntrailing  \n"
    "tab at the end\t\n" + ("long " * 40) + "\n." + "x" * 90 + "\nFrom " + "é" * 40 + "\nend  "
)
HTML = '<p style="color:#111">' + "é" * 120 + '</p>\n<a href="https://e.org/?a=1&amp;b=2">x</a>'
HEADER_NAMES = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
]


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
    assert not msg.defects
    return msg


def crlf(text: str) -> str:
    """Text as MIME carries it: every line break is CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def parts(data: bytes) -> tuple[str, str]:
    text, html = parse(data).iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    return text.get_content(), html.get_content()


def display_name(data: bytes) -> str:
    """The To display name as RFC 2047 reads it.

    Whitespace between two adjacent encoded words is not part of the text (RFC 2047
    section 6.2); CPython's address parser keeps it before 3.14 (gh-128110), so a
    long encoded name is decoded here directly.
    """
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    match = re.search(r"^To: (.*?)\r\n(?! )", head + "\r\n", re.MULTILINE | re.DOTALL)
    assert match
    value = match.group(1).replace("\r\n", "")
    if value.startswith("=?"):
        return str(make_header(decode_header(value.rsplit(" <", 1)[0])))
    name = parse(data)["To"].addresses[0].display_name
    assert isinstance(name, str)
    return name


def head_and_body(data: bytes) -> tuple[bytes, bytes]:
    head, body = data.split(b"\r\n\r\n", 1)
    return head, body


def test_parts_and_content_round_trip_exactly() -> None:
    msg = parse(build())
    assert msg.get_content_type() == "multipart/alternative"
    assert parts(build()) == (crlf(TEXT), crlf(HTML))


def test_headers_have_exact_values() -> None:
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
    assert list(msg.keys()) == HEADER_NAMES


def test_wire_format_crlf_ascii_and_line_lengths() -> None:
    data = build(subject="Ünïcödé " * 20, to_name="Zoë Ünïcödé " * 5)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert data.isascii()
    head, body = head_and_body(data)
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    # Quoted-printable lines, soft breaks included, stay within 76 octets.
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_leading_dots_from_lines_and_trailing_spaces_are_encoded() -> None:
    _, body = head_and_body(build())
    lines = body.split(b"\r\n")
    assert not [line for line in lines if line.startswith((b".", b"From "))]
    assert not [line for line in lines if line.endswith((b" ", b"\t"))]
    assert b"trailing =20\r\n" in body and b"end =20\r\n" in body


def test_long_ascii_subject_is_folded_and_reads_back() -> None:
    subject = "Example News: " + " ".join(f"story{i}" for i in range(30))
    data = build(subject=subject)
    head, _ = head_and_body(data)
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parse(data)["Subject"] == subject


def test_unbreakable_subject_and_literal_encoded_words_read_back() -> None:
    for subject in ("x" * 200, "not =?utf-8?q?decoded?= here"):
        data = build(subject=subject)
        head, _ = head_and_body(data)
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        assert parse(data)["Subject"] == subject


def test_non_ascii_and_special_names_survive() -> None:
    msg = parse(build(subject="Nouvelles: l'été à Bruxelles", to_name='Zoë "Z" Smith, Jr.'))
    assert msg["Subject"] == "Nouvelles: l'été à Bruxelles"
    address = msg["To"].addresses[0]
    assert (address.display_name, address.addr_spec) == ('Zoë "Z" Smith, Jr.', "reader@example.org")
    quoted = parse(build(to_name='Smith, "J" \\ Jr.'))["To"].addresses[0]
    assert quoted.display_name == 'Smith, "J" \\ Jr.'


def test_long_non_ascii_name_is_split_into_encoded_words() -> None:
    name = "Zoë Ünïcödé-Łukasiewicz de la Montaña y Peñalosa"
    data = build(to_name=name)
    head, _ = head_and_body(data)
    assert head.count(b"=?utf-8?b?") >= 2
    assert display_name(data) == name


def test_from_header_with_non_ascii_name_is_encoded() -> None:
    data = build(from_header='"Nouvelles, Été" <digest@news.example.org>')
    assert data.isascii()
    sender = parse(data)["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Nouvelles, Été", "digest@news.example.org")


def test_international_domains_become_idna() -> None:
    data = build(to_addr="leser@bücher.example", list_id="<digest.bücher.example>")
    msg = parse(data)
    assert msg["To"].addresses[0].addr_spec == "leser@xn--bcher-kva.example"
    assert msg["List-Id"] == "<digest.xn--bcher-kva.example>"
    assert make_message_id("bücher.example").endswith("@xn--bcher-kva.example>")


def test_a_non_ascii_local_part_stays_utf8() -> None:
    data = build(to_addr="zoë@example.org")
    head, _ = head_and_body(data)
    assert "To: Reader <zoë@example.org>".encode() in head.split(b"\r\n")


def test_no_header_injection_from_data() -> None:
    evil = "Hi\r\nBcc: victim@example.net\r\n\r\nbody"
    data = build(
        subject=evil,
        to_name=evil,
        to_addr="reader@example.org\r\nBcc: v@x.org",
        from_header="News <digest@news.example.org>\nBcc: v@x.org",
        message_id="<a@b>\rBcc: v@x.org",
        list_id="<l.example.org>\u2028Bcc: v@x.org",
        unsubscribe_url="https://x.org/u\r\nBcc: v@x.org",
    )
    msg = parse(data)
    assert msg["Bcc"] is None
    assert list(msg.keys()) == HEADER_NAMES
    head, _ = head_and_body(data)
    assert not re.search(rb"^Bcc:", head, re.MULTILINE)
    assert msg["Subject"] == "Hi Bcc: victim@example.net body"
    assert msg["List-Unsubscribe"] == "<https://x.org/uBcc:%20v@x.org>"


@settings(max_examples=200)
@given(st.text(max_size=120), st.text(max_size=60))
def test_any_subject_and_name_read_back_cleaned_without_new_headers(
    subject: str, name: str
) -> None:
    data = build(subject=subject, to_name=name)
    msg = parse(data)
    assert list(msg.keys()) == HEADER_NAMES
    assert msg["Subject"] == clean(subject)
    assert display_name(data) == clean(name)
    head, _ = head_and_body(data)
    assert max(len(line) for line in head.split(b"\r\n")) <= 78


@settings(max_examples=200)
@given(st.text(), st.text())
def test_any_body_reads_back_exactly(text: str, html: str) -> None:
    data = build(text=text, html=html)
    assert parts(data) == (crlf(text), crlf(html))
    _, body = head_and_body(data)
    for line in body.split(b"\r\n"):
        assert len(line) <= 76
        assert not line.startswith((b".", b"From "))


def test_extra_headers() -> None:
    msg = parse(build(extra_headers=[("X-Digest-Id", "42"), ("X-Note", "a\r\nBcc: v@x.org")]))
    assert msg["X-Digest-Id"] == "42"
    assert msg["X-Note"] == "a Bcc: v@x.org"
    assert msg["Bcc"] is None
    with pytest.raises(ValueError, match="header name"):
        build(extra_headers=[("X-Bad: y\r\nBcc", "v@x.org")])


def test_unsubscribe_url_is_percent_encoded_where_needed() -> None:
    msg = parse(build(unsubscribe_url="https://news.example.org/u/é tok<en>?a=1&b=%2F"))
    assert msg["List-Unsubscribe"] == "<https://news.example.org/u/%C3%A9%20tok%3Cen%3E?a=1&b=%2F>"


def test_boundaries_differ_between_messages() -> None:
    def boundary(data: bytes) -> str | None:
        return parse(data).get_boundary()

    assert boundary(build()) != boundary(build())


def test_message_ids_are_unique_and_on_the_domain() -> None:
    ids = {make_message_id("news.example.org") for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"<[\w.]+@news\.example\.org>", i) for i in ids)


TRICKY_LINES = st.lists(
    st.one_of(
        st.text(max_size=200),
        st.sampled_from([".", ". leading dot", "From here", "trailing space ", "tab\t", "="]),
        st.text(alphabet="=é€ x", min_size=70, max_size=90),  # escapes across the cut
    ),
    max_size=8,
).map(lambda lines: "\n".join(lines))


@settings(max_examples=300)
@given(st.lists(st.tuples(TRICKY_LINES, st.booleans()), max_size=6))
def test_html_in_parts_encodes_exactly_like_the_whole(pieces: list[tuple[str, bool]]) -> None:
    # Parts that end a line and parts that do not, as a renderer may produce them.
    html = [text + "\n" if ends_line else text for text, ends_line in pieces]
    assert quoted_printable_parts(html) == quoted_printable("".join(html))
    assert parts(build(html=html)) == parts(build(html="".join(html)))


def test_shared_blocks_are_encoded_once_across_messages() -> None:
    block = '<tr><td style="padding:12px">Shared story \u2014 caf\u00e9</td></tr>\n' * 20
    before = _shared_block.cache_info()
    for i in range(5):
        data = build(html=[f"<p>Hello {i}</p>\n", block, block, f"<p>bye {i}</p>"])
        assert parts(data)[1] == crlf(f"<p>Hello {i}</p>\n" + block + block + f"<p>bye {i}</p>")
    after = _shared_block.cache_info()
    assert after.misses - before.misses <= 1
    assert after.hits - before.hits >= 9
