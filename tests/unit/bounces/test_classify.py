"""Hard or soft: the status and wording rules, one case each."""

from __future__ import annotations

import pytest

from digest.bounces.classify import best_status, enhanced_codes, is_delay_notice, kind_for


@pytest.mark.parametrize(
    ("status", "text", "kind"),
    [
        ("4.2.2", "452 4.2.2 Mailbox full", "soft"),
        (None, "421 Service not available, try again later", "soft"),
        ("5.1.1", "550 5.1.1 <a@example.org>... User unknown", "hard"),
        ("5.1.2", "Host or domain name not found", "hard"),
        ("5.4.4", "Name service error for name=example.org type=A", "hard"),
        ("5.7.13", "525 5.7.13 Disabled recipient address", "hard"),
        ("5.2.2", "552 5.2.2 Mailbox full", "soft"),
        ("5.3.4", "552 5.3.4 Message too big", "soft"),
        ("5.1.8", "501 5.1.8 Sender address rejected", "soft"),
        ("5.7.1", "550 5.7.1 Message rejected as spam", "soft"),
        ("5.7.1", "553 Invalid recipient a@example.org", "hard"),  # the words decide
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied", "hard"),
        ("5.1.1", "550 5.1.1 <a@example.org> - 192.0.2.1 has sent to too many recipients", "soft"),
        ("5.1.3", "553 http://www.spamhaus.org/query/bl?ip=192.0.2.1", "soft"),
        ("5.2.1", "550 5.2.1 The user is receiving mail at a rate that prevents delivery", "soft"),
        ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", "hard"),
        ("5.0.0", "550 Unknown user a@example.org", "hard"),
        ("5.0.0", "550 Mailbox is frozen", "hard"),
        ("5.5.0", "550 5.5.0 The recipient account is blocked", "hard"),
        ("5.0.0", "554 Message rejected for policy reasons", "soft"),
        ("5.0.0", "550 Rejected after MAIL FROM", "soft"),
        ("5.3.0", "554 5.3.0 Internal system error", "soft"),
        ("5.0.0", "554 Transaction failed", "hard"),
        (None, "mailbox is full", "soft"),
        (None, "no reason given", "hard"),  # but Action: failed
    ],
)
def test_kind(status: str | None, text: str, kind: str) -> None:
    assert kind_for(status, text, permanent=True) == kind


def test_a_failure_the_report_does_not_call_permanent_is_soft() -> None:
    assert kind_for(None, "Did not reach the following recipient", permanent=False) == "soft"
    assert kind_for(None, "This is a permanent error.", permanent=False) == "hard"


def test_the_recipients_own_lines_come_before_the_whole_report() -> None:
    assert kind_for(None, "user unknown", "mailbox full for someone else", permanent=True) == "hard"


def test_status_codes_are_not_read_from_ip_addresses() -> None:
    assert enhanced_codes("host 10.5.1.1 said: 550 5.1.1 no") == ["5.1.1"]
    assert enhanced_codes("(#5.5.0) and 5.4.14.") == ["5.5.0", "5.4.14"]


def test_the_remote_servers_code_wins_over_a_generic_status() -> None:
    assert best_status("5.0.0 (permanent failure)", "550 5.1.1 user unknown") == "5.1.1"
    assert best_status("5.1.1", "550 5.7.1 IP address blacklisted") == "5.7.1"
    assert best_status("4.4.7", "554 5.7.1 refused") == "4.4.7"  # another class
    assert best_status(None, "250 2.1.5 Ok then 451 4.3.0 Error") == "4.3.0"
    assert best_status(None, "nothing here") is None


def test_delay_notices() -> None:
    assert is_delay_notice("THIS IS A WARNING MESSAGE ONLY.")
    assert is_delay_notice("Delivery Status Notification (Delay)")
    assert is_delay_notice("has not yet been delivered to one or more of its recipients")
    assert not is_delay_notice("This is a permanent error; I've given up.")
