"""Reasons and kinds: the status and wording rules, one case each."""

from __future__ import annotations

import pytest

from digest.bounces.classify import (
    best_status,
    enhanced_codes,
    is_delay_notice,
    judge,
    judge_reply,
    reason_for,
)


@pytest.mark.parametrize(
    ("status", "text", "reason", "kind"),
    [
        ("4.2.2", "452 4.2.2 Mailbox full", "mailbox_full", "soft"),
        (None, "421 Service not available, try again later", "system_error", "soft"),
        ("5.1.1", "550 5.1.1 <a@example.org>... User unknown", "user_unknown", "hard"),
        ("5.1.2", "Host or domain name not found", "host_unknown", "hard"),
        ("5.1.6", "550 5.1.6 recipient no longer on server", "has_moved", "hard"),
        (
            "5.4.4",
            "Name service error for name=example.org type=A: Host not found",
            "host_unknown",
            "hard",
        ),
        ("5.7.13", "525 5.7.13 Disabled recipient address", "suspended", "soft"),
        ("5.2.2", "552 5.2.2 Mailbox full", "mailbox_full", "soft"),
        ("5.3.4", "552 5.3.4 Message too big", "message_too_big", "soft"),
        ("5.1.8", "501 5.1.8 Sender address rejected", "rejected", "soft"),
        ("5.7.1", "550 5.7.1 Message rejected as spam", "spam_detected", "soft"),
        ("5.7.1", "553 Invalid recipient a@example.org", "user_unknown", "hard"),  # the words
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied", "user_unknown", "hard"),
        (
            "5.7.1",
            "554 5.7.1 <a@b.example>: Recipient address rejected: Access denied",
            "policy_violation",
            "soft",
        ),
        (
            "5.1.1",
            "550 5.1.1 <a@example.org> - 192.0.2.1 has sent to too many recipients",
            "rate_limited",
            "soft",
        ),
        ("5.1.3", "553 http://www.spamhaus.org/query/bl?ip=192.0.2.1", "blocked", "soft"),
        (
            "5.2.1",
            "550 5.2.1 The user is receiving mail at a rate that prevents delivery",
            "rate_limited",
            "soft",
        ),
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled",
            "suspended",
            "soft",
        ),
        ("5.0.0", "550 Unknown user a@example.org", "user_unknown", "hard"),
        ("5.0.0", "550 Mailbox is frozen", "suspended", "soft"),
        ("5.5.0", "550 5.5.0 The recipient account is blocked", "suspended", "soft"),
        ("5.0.0", "554 Message rejected for policy reasons", "policy_violation", "soft"),
        ("5.3.0", "554 5.3.0 Internal system error", "system_error", "soft"),
        (
            "5.7.26",
            "550-5.7.26 Unauthenticated email is not accepted due to DMARC policy",
            "auth_failure",
            "soft",
        ),
        (
            "5.7.1",
            "554 5.7.1 Client host rejected: blocked using zen.spamhaus.org",
            "blocked",
            "soft",
        ),
        (
            "4.7.0",
            "421 4.7.0 Too many concurrent connections from your IP",
            "too_many_connections",
            "soft",
        ),
        ("4.4.7", "554 4.4.7 Message expired: unable to deliver in 840 minutes", "expired", "soft"),
        (None, "mailbox is full", "mailbox_full", "soft"),
    ],
)
def test_reason_and_kind(status: str | None, text: str, reason: str, kind: str) -> None:
    assert judge(status, text) == (reason, kind)


# The classes of error the reasons were written to end, each with the words of a
# message of the corpus (docs/bounces.md) and what they are.
@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        # Sender-side refusals are never about the address.
        (
            "5.0.0",
            "Connected to 192.0.2.112 but my name was rejected. Remote host said: "
            "501 5.0.0 Invalid domain name",
            "rejected",
        ),  # lhost-qmail-04
        (
            "5.5.0",
            "550 domain [example.com] mismatches client ip 192.0.2.225.",
            "blocked",
        ),  # lhost-outlook-09
        ("5.7.606", "550 5.7.606 Access denied, banned sending IP [198.51.100.222]", "blocked"),
        (
            "5.7.25",
            "550-5.7.25 The IP address sending this message does not have a PTR record",
            "blocked",
        ),
        (
            "5.1.7",
            "SMTP error from remote mail server after MAIL FROM:<s@example.com>: "
            "550 5.1.7 No such domain example.com",
            "rejected",
        ),  # lhost-exim-50
        # A failure nobody explains blames no one.
        ("5.0.0", "", "undetermined"),
        ("5.0.0", "554 Transaction failed", "undetermined"),
        ("5.5.0", "503 Improper sequence of commands", "undetermined"),
        ("5.0.0", "554 Service currently unavailable", "system_error"),
        # Clearer text outranks a status code or a hard word.
        (
            "5.1.1",
            "552 sorry, mailbox kijitora@example.org is over quota temporarily (#5.1.1)",
            "mailbox_full",
        ),  # lhost-mailfoundry-02
        (
            "5.4.4",
            "Host or domain name not found. Name service error for name=example.org "
            "type=MX: Host not found, try again",
            "network_error",
        ),  # lhost-postfix-34
        ("5.2.1", "550 5.2.1 <a@example.jp>... User Unknown", "filtered"),  # the mailbox exists
        # Hard bounces the old rules missed.
        (
            None,
            "Invalid final delivery userid: a@example.co.jp",
            "user_unknown",
        ),  # lhost-imailserver-03
        (
            "4.1.1",
            "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown in "
            "virtual alias table",
            "user_unknown",
        ),
        (
            None,
            "Unable to deliver message to <a@example.jp> (and other recipients in the same "
            "domain). Please check if address is correct.",
            "user_unknown",
        ),  # lhost-trendmicro-02
    ],
)
def test_the_classes_of_error(status: str | None, text: str, reason: str) -> None:
    assert reason_for(status, text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "550 5.7.1 Message rejected: invalid address in From header",
        "550 5.7.1 Command rejected: invalid address format for sender",
        "550 5.7.1 Rejected: user does not exist in allow list",
        "550 5.7.1 Mail from news.example.org not accepted: domain not found",
        "553 5.7.1 Return path domain does not exist",
        "550 5.7.1 URL in message body: domain not found in our whitelist",
        "550 Relaying denied. Unknown user for this sender",
        "550 5.7.0 Mail Sending denied. This error occurs if the sender account is disabled",
        "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException",
        "554 Message rejected: Sending paused for this account.",
    ],
)
def test_an_unknown_or_invalid_address_of_ours_is_no_reader_gone(text: str) -> None:
    assert judge_reply(None, text) == ("rejected", "soft")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("550 5.4.5 Daily user sending quota exceeded", "rate_limited"),
        ("550 Your IP address is not listed in our allowed senders", "blocked"),
        ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred", "rate_limited"),
    ],
)
def test_our_own_limits_blame_our_sending(text: str, reason: str) -> None:
    assert judge_reply(None, text) == (reason, "soft")


def test_user_unknown_in_words_is_hard_even_with_a_4xx_reply() -> None:
    assert judge("4.1.1", "450 4.1.1 <a@b.example>: User unknown") == ("user_unknown", "hard")
    # A 4.x.x code alone does not say it for sure.
    assert judge("4.1.1", "450 4.1.1 try again later") == ("network_error", "soft")
    assert judge("4.1.1", "") == ("user_unknown", "soft")


def test_a_delay_is_soft_whatever_the_text_says() -> None:
    assert judge("4.4.7", "550 5.1.1 User unknown", delayed=True) == ("user_unknown", "soft")


def test_addresses_and_link_paths_are_not_words() -> None:
    text = "There was an error delivering your mail to <filtered@example.net>."
    assert reason_for("5.1.1", text) == "user_unknown"
    assert (
        reason_for("5.1.1", "550 5.1.1 see https://example.org/reason/#blocked") == "user_unknown"
    )


def test_the_recipients_own_lines_come_before_the_whole_report() -> None:
    assert judge(None, "user unknown", "mailbox full for someone else") == ("user_unknown", "hard")


def test_a_relay_refusal_meets_the_same_rules() -> None:
    assert judge_reply("5.1.2", "5.1.2 bad destination system") == ("host_unknown", "hard")
    assert judge_reply(None, "5.1.3 bad address syntax") == ("user_unknown", "hard")
    assert judge_reply("5.7.1", "5.7.1 policy") == ("policy_violation", "soft")
    assert judge_reply("5.2.2", "5.2.2 mailbox full") == ("mailbox_full", "soft")
    assert judge_reply(None, "mailbox unavailable") == ("undetermined", "soft")
    assert judge_reply("5.1.1", "5.1.1 <a@example.org>: User unknown") == ("user_unknown", "hard")
    assert judge_reply(None, "Client host rejected: blocked using zen.spamhaus.org") == (
        "blocked",
        "soft",
    )
    assert judge_reply("5.0.0", "Transaction failed") == ("undetermined", "soft")


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
