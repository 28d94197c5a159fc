"""Reading the bounce mailbox URL: schemes, default ports, folders, TLS verification,
percent-decoding, and errors that name the problem without showing the password."""

from __future__ import annotations

import pytest

from digest.mail.mailbox import MailboxConfig, poll


@pytest.mark.parametrize(
    ("url", "mode", "port", "folder"),
    [
        ("imap://u:p@mail.example.org", "imap", 143, "INBOX"),
        ("imap://u:p@mail.example.org:1143/INBOX", "imap", 1143, "INBOX"),
        ("imaps://u:p@mail.example.org/Bounces", "imaps", 993, "Bounces"),
        ("imap+starttls://u:p@mail.example.org/", "imap+starttls", 143, "INBOX"),
        ("pop3://u:p@mail.example.org", "pop3", 110, ""),
        ("pop3s://u:p@mail.example.org:1995/", "pop3s", 1995, ""),
        ("pop3+starttls://u:p@mail.example.org", "pop3+starttls", 110, ""),
    ],
)
def test_schemes_ports_and_folders(url: str, mode: str, port: int, folder: str) -> None:
    config = MailboxConfig.from_url(url)
    assert (config.host, config.mode, config.port, config.folder) == (
        "mail.example.org",
        mode,
        port,
        folder,
    )
    assert config.protocol == mode[:4]
    assert config.verify is True


def test_user_password_and_folder_are_percent_decoded() -> None:
    config = MailboxConfig.from_url(
        "imaps://bounces%40news.example.org:p%40ss%2Fw%23rd%3Fx%3A1@mail.example.org"
        "/Bounces%20In?verify=0"
    )
    assert config.username == "bounces@news.example.org"
    assert config.password == "p@ss/w#rd?x:1"
    assert config.folder == "Bounces In"
    assert config.verify is False


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "1", "true", "yes", "on"])
def test_verify_values(value: str) -> None:
    config = MailboxConfig.from_url(f"pop3s://u:p@mail.example.org?verify={value}")
    assert config.verify is (value in ("1", "true", "yes", "on"))


def test_the_password_is_not_in_the_repr_or_str() -> None:
    config = MailboxConfig.from_url("imaps://bounces:hunter2-s3cret@mail.example.org/INBOX")
    assert "hunter2-s3cret" not in repr(config)
    assert str(config) == "imaps://bounces@mail.example.org:993/INBOX"
    assert config.address == "mail.example.org:993"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://u:hunter2@mail.example.org", "unsupported mailbox URL scheme 'http'"),
        ("imap4://u:hunter2@mail.example.org", "unsupported mailbox URL scheme 'imap4'"),
        ("mail.example.org", "unsupported mailbox URL scheme ''"),
        ("imap://mail.example.org", "has no user name and password"),
        ("imap://u@mail.example.org", "needs both a user name and a password"),
        ("imap://:hunter2@mail.example.org", "needs both a user name and a password"),
        ("imap://u:hunter2@/INBOX", "has no host"),
        ("imap://u:hunter2@mail.example.org:imap", "has an invalid port"),
        ("imap://u:hunter2@mail.example.org:99999", "has an invalid port"),
        ("pop3://u:hunter2@mail.example.org/INBOX", "POP3 has no folders"),
        ("imap://u:hunter2@mail.example.org/Rückläufer", "folder name must be ASCII"),
        ("imaps://u:hunter2@mail.example.org?verify=maybe", "verify must be 1 or 0"),
        ("imaps://u:hunter2@mail.example.org?tls=1", "unknown option 'tls'"),
        # Unescaped characters that end the authority part of a URL.
        ("imap://u:hunt#er2@mail.example.org", "must be percent-encoded"),
        ("imap://u:hunt/er2@mail.example.org", "must be percent-encoded"),
        ("imap://u:hunt?er2@mail.example.org", "must be percent-encoded"),
    ],
)
def test_bad_urls_name_the_problem_but_not_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        MailboxConfig.from_url(url)
    text = str(refused.value)
    assert problem in text
    for piece in ("hunter2", "hunt", "er2"):
        assert piece not in text


def test_a_password_with_an_unescaped_at_sign_is_not_shown() -> None:
    # urlsplit takes everything up to the last '@' as user and password.
    config = MailboxConfig.from_url("imap://u:p@ss@mail.example.org")
    assert (config.password, config.host) == ("p@ss", "mail.example.org")


def test_poll_refuses_a_limit_below_one() -> None:
    config = MailboxConfig.from_url("imap://u:p@mail.example.org")
    with pytest.raises(ValueError, match="limit must be at least 1"):
        poll(config, lambda data: None, limit=0)
