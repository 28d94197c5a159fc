"""parse_message on constructed messages: one for each reader, VERP tokens, the
original message's identifiers, and input that is not mail at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.bounces import Bounce, parse_message

ORIGINAL = """\
From: Example News <digest@news.example.org>
To: reader@example.net
Subject: Your morning digest
Message-ID: <digest-42@news.example.org>
X-Digest-Delivery: d-1234
Content-Type: text/plain

Spam, spam, blocked accounts and full mailboxes: words a newsletter may contain.
"""


def dsn(*recipients: str, human: str = "Delivery failed.", to: str = "x@news.example.org") -> bytes:
    """A multipart/report DSN with one block per recipient (each block's text given)."""
    blocks = "\n\n".join(recipients)
    return f"""\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: {to}
Delivered-To: {to}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

{human}

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

{blocks}

--BOUNDARY
Content-Type: message/rfc822

{ORIGINAL}
--BOUNDARY--
""".encode()


USER_UNKNOWN = """\
Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown"""


def only(found: list[Bounce]) -> Bounce:
    assert len(found) == 1, found
    return found[0]


def test_a_standard_dsn_for_an_unknown_user_is_hard() -> None:
    bounce = only(parse_message(dsn(USER_UNKNOWN)))
    assert bounce.kind == "hard" and bounce.how == "dsn"
    assert bounce.recipient == "reader@example.net"
    assert (bounce.status, bounce.action) == ("5.1.1", "failed")
    assert bounce.diagnostic == (
        "550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown"
    )
    assert bounce.reporter == "mx.example.net"


def test_a_delayed_dsn_is_soft() -> None:
    block = """\
Final-Recipient: rfc822; reader@example.net
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.1]:25: Connection timed out
Will-Retry-Until: Fri, 13 Mar 2026 08:00:00 +0000"""
    bounce = only(parse_message(dsn(block)))
    assert (bounce.kind, bounce.action, bounce.status) == ("soft", "delayed", "4.4.1")


def test_each_recipient_of_a_dsn_is_judged_on_its_own() -> None:
    full = """\
Original-Recipient: rfc822;Friend@Example.org
Final-Recipient: rfc822; friend.alias@mail.example.org
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full"""
    delivered = """\
Final-Recipient: rfc822; other@example.com
Action: delivered
Status: 2.0.0"""
    found = parse_message(dsn(USER_UNKNOWN, full, delivered))
    assert [(b.recipient, b.kind) for b in found] == [
        ("reader@example.net", "hard"),
        ("friend@example.org", "soft"),  # the Original-Recipient, as we addressed it
        ("other@example.com", "not-bounce"),
    ]


def test_a_policy_refusal_with_a_generic_status_is_soft() -> None:
    block = """\
Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 5.7.1 Message rejected as spam by Content Filtering"""
    assert only(parse_message(dsn(block))).kind == "soft"


def test_a_dsn_without_a_diagnostic_is_judged_on_its_text() -> None:
    block = "Final-Recipient: rfc822; reader@example.net\nAction: failed\nStatus: 5.0.0"
    human = "reader@example.net: 550 5.7.26 Unauthenticated email is not accepted (DMARC)"
    assert only(parse_message(dsn(block, human=human))).kind == "soft"


def arf(feedback_type: str, rcpt: str = "Original-Rcpt-To: reader@example.net\n") -> bytes:
    return f"""\
From: Feedback Loop <fbl@isp.example.com>
To: abuse@news.example.org
Subject: Abuse Report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

This is an email abuse report.

--B
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
{rcpt}
--B
Content-Type: message/rfc822

{ORIGINAL}
--B--
""".encode()


def test_an_arf_abuse_report_is_a_complaint() -> None:
    bounce = only(parse_message(arf("abuse")))
    assert (bounce.kind, bounce.how, bounce.recipient) == ("complaint", "arf", "reader@example.net")
    assert bounce.reporter == "abuse"


def test_an_arf_report_without_a_recipient_field_names_the_original_to() -> None:
    assert only(parse_message(arf("abuse", rcpt=""))).recipient == "reader@example.net"


def test_not_spam_and_dmarc_reports_are_not_complaints() -> None:
    assert only(parse_message(arf("not-spam"))).kind == "not-bounce"
    assert only(parse_message(arf("auth-failure"))).kind == "not-bounce"


def test_an_out_of_office_reply_is_an_auto_reply() -> None:
    raw = b"""\
Return-Path: <>
From: Reader <reader@example.net>
To: bounces+tok3n@bounce.example.org
Subject: Out of Office: Your morning digest
Auto-Submitted: auto-replied
In-Reply-To: <digest-42@news.example.org>

I am away until Monday.
"""
    bounce = only(parse_message(raw))
    assert (bounce.kind, bounce.how) == ("auto-reply", "auto-reply")
    assert bounce.recipient == "reader@example.net"
    assert bounce.message_id == "<digest-42@news.example.org>"
    assert bounce.verp_token == "tok3n"


def qmail(reason: str) -> bytes:
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: bounces+abc@bounce.example.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@example.net>:
{reason}

--- Below this line is a copy of the message.

{ORIGINAL}""".encode()


def test_a_qmail_bounce_is_read_from_its_text() -> None:
    bounce = only(parse_message(qmail("Sorry, no mailbox here by that name. (#5.1.1)")))
    assert (bounce.kind, bounce.how, bounce.recipient) == ("hard", "fallback", "reader@example.net")
    assert bounce.status == "5.1.1"
    assert bounce.reporter == "mx.example.net"


def test_the_reason_in_a_qmail_bounce_decides_the_kind() -> None:
    assert only(parse_message(qmail("Remote host said: 552 Mailbox quota exceeded"))).kind == "soft"
    assert only(parse_message(qmail("Remote host said: 550 Unknown user"))).kind == "hard"
    # No reason: qmail calls every such failure permanent, but a failure nobody
    # explains must not suppress an address.
    gave_up = only(parse_message(qmail("Giving up on 192.0.2.7.")))
    assert (gave_up.reason, gave_up.kind) == ("expired", "soft")


def test_a_bounce_that_says_nothing_about_why_is_soft() -> None:
    raw = b"""\
From: Postmaster <postmaster@mx.example.net>
To: digest@news.example.org
Subject: Undeliverable: Your morning digest

Your message did not reach the following recipient: reader@example.net
"""
    bounce = only(parse_message(raw))
    assert (bounce.kind, bounce.how, bounce.recipient) == ("soft", "fallback", "reader@example.net")


def test_words_in_the_returned_newsletter_do_not_count() -> None:
    bounce = only(parse_message(qmail("Sorry, no mailbox here by that name.")))
    assert bounce.kind == "hard"  # not "soft" for the "spam" and "full mailboxes" below the line


def test_an_exim_bounce_names_its_failed_address() -> None:
    raw = f"""\
Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: digest@news.example.org
X-Failed-Recipients: reader@example.net
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@example.net
    SMTP error from remote mail server after RCPT TO:<reader@example.net>:
    host mx.example.net [192.0.2.2]: 550 5.7.1 Client blocked using zen.spamhaus.org

------ This is a copy of the message, including all the headers. ------

{ORIGINAL}""".encode()
    bounce = only(parse_message(raw))
    assert (bounce.kind, bounce.recipient, bounce.status) == ("soft", "reader@example.net", "5.7.1")


def test_a_verp_token_comes_from_delivered_to() -> None:
    raw = dsn(USER_UNKNOWN, to="bounces+Ab-9_x=y.z@bounce.example.org")
    assert only(parse_message(raw)).verp_token == "Ab-9_x=y.z"  # case kept


def test_the_envelope_recipient_wins_over_headers() -> None:
    raw = dsn(USER_UNKNOWN, to="bounces+fromheader@bounce.example.org")
    found = parse_message(raw, envelope_to="<bounces+fromenvelope@bounce.example.org>")
    assert only(found).verp_token == "fromenvelope"


def test_the_verp_prefix_is_ours_to_choose() -> None:
    raw = dsn(USER_UNKNOWN, to="return+t1@bounce.example.org")
    assert only(parse_message(raw)).verp_token is None
    assert only(parse_message(raw, verp_prefix="return")).verp_token == "t1"


def test_the_original_message_is_found_in_the_returned_copy() -> None:
    bounce = only(parse_message(dsn(USER_UNKNOWN)))
    assert bounce.message_id == "<digest-42@news.example.org>"
    assert bounce.delivery_ref == "d-1234"


def test_the_original_message_is_found_in_returned_headers_only() -> None:
    raw = dsn(USER_UNKNOWN).replace(b"message/rfc822", b"text/rfc822-headers")
    bounce = only(parse_message(raw))
    assert (bounce.message_id, bounce.delivery_ref) == ("<digest-42@news.example.org>", "d-1234")


def test_the_original_message_is_found_in_plain_text() -> None:
    bounce = only(parse_message(qmail("550 Unknown user")))
    assert (bounce.message_id, bounce.delivery_ref) == ("<digest-42@news.example.org>", "d-1234")


def test_ordinary_mail_is_not_a_bounce() -> None:
    raw = f"""\
From: A Reader <reader@example.net>
To: digest@news.example.org
Subject: Fwd: the story about delivery failures
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: text/plain

Have a look at this bounce handling story, it could not be better.

--M
Content-Type: message/rfc822

{ORIGINAL}
--M--
""".encode()
    bounce = only(parse_message(raw))
    assert (bounce.kind, bounce.how) == ("not-bounce", "none")


def test_garbage_does_not_raise() -> None:
    for raw in (
        b"",
        b"\x00\xff" * 5000,
        b"Content-Type: multipart/report; boundary=\n\n--\n--\n",
        b"Subject: =?x-unknown?B?////?=\nContent-Type: text/plain; charset=no-such-charset\n\n\xff",
        b"From: MAILER-DAEMON\nSubject: failure notice\n\n" + b"<a@b.c>: " * 100_000,
        dsn(USER_UNKNOWN)[:300],
    ):
        found = parse_message(raw)
        assert found and found[0].how != "error"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_give_an_answer(raw: bytes) -> None:
    found = parse_message(raw)
    assert found and all(isinstance(b, Bounce) for b in found)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(dsn(USER_UNKNOWN))), st.binary(max_size=200))
def test_a_damaged_dsn_gives_an_answer(position: int, noise: bytes) -> None:
    raw = dsn(USER_UNKNOWN)
    found = parse_message(raw[:position] + noise + raw[position:])
    assert found and all(b.how != "error" for b in found)
