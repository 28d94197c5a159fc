"""DKIM signatures verify with dkimpy, cover the list headers, break when a signed
part changes, and misconfiguration fails loudly, naming the variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st

from digest.config import ConfigError, Settings, load_settings
from digest.mail.dkim import HEADERS, relaxed_body, signed, signer_for
from digest.mail.message import make_message_id
from digest.services.sending.composing import message_of
from tests.unit.mail.keys import (
    DOMAIN,
    SELECTOR,
    dns_of,
    signature_tags,
    signed_headers,
    write_ec_key,
    write_rsa_key,
)
from tests.unit.rendering.factories import article, content, recipient, render

NOW = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
BASE = {
    "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
    "DIGEST_FROM": "Example News <digest@news.example.org>",
    "DIGEST_BASE_URL": "https://news.example.org",
}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rsa_key(tmp_path_factory.mktemp("dkim") / "dkim.pem")


def dkim_settings(key_file: Path, **extra: str) -> Settings:
    return load_settings(
        {
            **BASE,
            "DIGEST_DKIM_SELECTOR": SELECTOR,
            "DIGEST_DKIM_DOMAIN": DOMAIN,
            "DIGEST_DKIM_KEY_FILE": str(key_file),
            **extra,
        }
    )


def digest_message(settings: Settings) -> bytes:
    c = content(("technology", [article(1), article(2)]), ("trade", [article(3)]))
    r = recipient()
    return message_of(
        render(c, r),
        r,
        settings,
        content=c,
        message_id=make_message_id(settings.from_domain),
        date=NOW,
    )


def test_a_signed_digest_verifies_against_the_published_key(key_file: Path) -> None:
    settings = dkim_settings(key_file)
    signer = signer_for(settings)
    assert signer is not None
    message = signed(digest_message(settings), settings)
    assert message.startswith(b"DKIM-Signature: ")
    assert dkim.verify(message, dnsfunc=dns_of(signer))
    tags = signature_tags(message)
    assert tags[b"d"] == DOMAIN.encode() and tags[b"s"] == SELECTOR.encode()
    assert tags[b"a"] == b"rsa-sha256" and tags[b"c"] == b"relaxed/relaxed"
    # The header lines stay within 78 octets, the signature folded included.
    head = message.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78


def test_every_listed_header_is_signed_list_unsubscribe_post_and_feedback_id_included(
    key_file: Path,
) -> None:
    settings = dkim_settings(key_file)
    message = signed(digest_message(settings), settings)
    names = signed_headers(message)
    assert set(names) == set(HEADERS)
    for name in (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "feedback-id",
    ):
        assert name in names
    # Singletons are signed once more than present, so a copy added later breaks it.
    assert names.count("from") == 2 and names.count("subject") == 2


def test_headers_absent_from_a_message_are_not_signed(key_file: Path) -> None:
    settings = dkim_settings(key_file)
    c = content(("technology", [article(1)]))
    r = recipient()
    copy = message_of(
        render(c, r),
        r,
        settings,
        content=c,
        message_id="<t.1@news.example.org>",
        date=NOW,
        to_addr="editor@example.org",
        test_copy=True,
    )
    message = signed(copy, settings)
    names = signed_headers(message)
    assert "list-unsubscribe" not in names and "list-unsubscribe-post" not in names
    signer = signer_for(settings)
    assert signer is not None
    assert dkim.verify(message, dnsfunc=dns_of(signer))


@pytest.mark.parametrize(
    ("change", "verifies"),
    [
        (lambda m: m.replace(b"Subject: ", b"Subject: Re: ", 1), False),
        (lambda m: m.replace(b"Story number 2", b"Story number 9", 1), False),
        (lambda m: m.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"", 1), False),
        (lambda m: m.replace(b"\r\nFrom: ", b"\r\nFrom: M <m@evil.example>\r\nFrom: ", 1), False),
        (lambda m: m.replace(b"Feedback-ID: daily", b"Feedback-ID: weekly", 1), False),
        # relaxed/relaxed: a relay that refolds or respaces headers breaks nothing.
        (lambda m: m.replace(b"Subject: ", b"subject:   ", 1), True),
        (lambda m: m.replace(b"\r\n\r\n", b"\r\nReceived: by relay.example.net\r\n\r\n", 1), True),
    ],
)
def test_a_change_to_a_signed_part_fails_verification(key_file: Path, change, verifies) -> None:  # type: ignore[no-untyped-def]
    settings = dkim_settings(key_file)
    signer = signer_for(settings)
    assert signer is not None
    message = signed(digest_message(settings), settings)
    changed = change(message)
    assert changed != message
    assert dkim.verify(changed, dnsfunc=dns_of(signer)) is verifies


def test_another_key_under_the_same_name_fails_verification(key_file: Path, tmp_path: Path) -> None:
    settings = dkim_settings(key_file)
    other = signer_for(dkim_settings(write_rsa_key(tmp_path / "other.pem")))
    assert other is not None
    message = signed(digest_message(settings), settings)
    assert not dkim.verify(message, dnsfunc=dns_of(other))


def test_without_dkim_settings_nothing_is_signed() -> None:
    settings = load_settings(BASE)
    assert signer_for(settings) is None
    message = digest_message(settings)
    assert signed(message, settings) is message


# Bodies as build_message writes them: CRLF line ends only.
_LINES = st.lists(st.text(alphabet=" \tab=.", max_size=12), max_size=8)


@given(_LINES, st.booleans())
def test_relaxed_body_is_dkimpys(lines: list[str], final_crlf: bool) -> None:
    body = "\r\n".join(lines).encode() + (b"\r\n" if final_crlf else b"")
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@pytest.mark.parametrize(
    "missing",
    ["DIGEST_DKIM_SELECTOR", "DIGEST_DKIM_DOMAIN", "DIGEST_DKIM_KEY_FILE"],
)
def test_part_of_the_dkim_settings_names_what_is_missing(key_file: Path, missing: str) -> None:
    env = {
        **BASE,
        "DIGEST_DKIM_SELECTOR": SELECTOR,
        "DIGEST_DKIM_DOMAIN": DOMAIN,
        "DIGEST_DKIM_KEY_FILE": str(key_file),
    }
    del env[missing]
    with pytest.raises(ConfigError, match=f"{missing} is not set"):
        load_settings(env)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DIGEST_DKIM_SELECTOR", "s 2026"),
        ("DIGEST_DKIM_SELECTOR", "-s"),
        ("DIGEST_DKIM_DOMAIN", "news example.org"),
        ("DIGEST_DKIM_DOMAIN", "news..example.org"),
    ],
)
def test_a_malformed_selector_or_domain_is_named(key_file: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        dkim_settings(key_file, **{variable: value})


def test_an_internationalised_dkim_domain_is_stored_as_ascii(key_file: Path) -> None:
    settings = dkim_settings(key_file, DIGEST_DKIM_DOMAIN="Nachrichten.Bücher.example")
    assert settings.dkim_domain == "nachrichten.xn--bcher-kva.example"


def _key_error(path: Path) -> str:
    """The error loading settings with ``path`` as the key file: at start, not at the
    first email."""
    with pytest.raises(ConfigError) as caught:
        dkim_settings(path)
    message = str(caught.value)
    assert "DIGEST_DKIM_KEY_FILE" in message and str(path) in message
    return message


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    assert "cannot be read" in _key_error(tmp_path / "absent.pem")


def test_a_file_that_is_no_private_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "dkim.pem"
    path.write_text("v=DKIM1; k=rsa; p=MIIBIjANBgkq\n")
    assert "no PEM private key" in _key_error(path)


def test_a_damaged_key_is_named(key_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "dkim.pem"
    lines = key_file.read_bytes().splitlines()
    lines[5] = lines[5][::-1]  # base64 still, but no longer the key's
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert "cannot be read" in _key_error(path)


def test_an_encrypted_key_is_named(tmp_path: Path) -> None:
    path = write_rsa_key(tmp_path / "dkim.pem", password=b"secret")
    assert "encrypted" in _key_error(path)


def test_a_key_that_is_not_rsa_is_named(tmp_path: Path) -> None:
    assert "of type EC" in _key_error(write_ec_key(tmp_path / "dkim.pem"))


def test_the_key_is_read_once_per_process(key_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dkim.pem"
    copy.write_bytes(key_file.read_bytes())
    settings = dkim_settings(copy)
    first = signer_for(settings)
    copy.unlink()
    assert signer_for(settings) is first
    assert re.match(rb"DKIM-Signature: ", signed(digest_message(settings), settings))
