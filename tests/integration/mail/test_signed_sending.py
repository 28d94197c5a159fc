"""Emails as a real SMTP server receives them, with DKIM and VERP configured: each
verifies against the published key, and a digest's envelope sender names its
delivery."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dkim
import pytest
from sqlalchemy import select

from digest.config import ConfigError, Settings, secret_key
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest
from digest.mail.dkim import Signer, signer_for
from digest.mail.sender import SMTPSender
from digest.mail.verp import delivery_of, delivery_of_token
from digest.services.editorial import copies, previewing
from digest.services.readers import signup
from digest.services.readers.choices import Choices
from digest.services.sending import pipeline
from tests.conftest import message_parts
from tests.unit.mail.keys import DOMAIN, SELECTOR, dns_of, signed_headers, write_rsa_key

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # subscribers join at noon
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # their first 07:00 UTC slot
BOUNCES = "bounces@bounce.example.org"
LIST_HEADERS = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
]
DELIVERY_LINE = re.compile(rb"^X-Digest-Delivery: [a-z2-7]+\r\n", re.MULTILINE)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rsa_key(tmp_path_factory.mktemp("dkim") / "dkim.pem")


@pytest.fixture
def signing(mail_settings: Settings, key_file: Path) -> Settings:
    return dataclasses.replace(
        mail_settings,
        dkim_selector=SELECTOR,
        dkim_domain=DOMAIN,
        dkim_key_file=key_file,
        bounce_address=BOUNCES,
    )


def signer(settings: Settings) -> Signer:
    found = signer_for(settings)
    assert found is not None
    return found


def run(settings: Settings, at: datetime) -> pipeline.RunReport:
    sender = SMTPSender.from_url(settings.smtp_url or "")
    return pipeline.run(settings.database_url, settings, sender, lambda: at)


def test_each_digest_verifies_and_its_envelope_sender_names_its_delivery(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server
) -> None:
    world.topics("tech", "trade")
    world.subscriber("ana@example.org", "tech,trade", T0)
    world.subscriber("ben@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("ports", SLOT1 - timedelta(hours=2), ["trade"])
    assert run(signing, SLOT1).sent == 2
    with unit_of_work(db_url) as s:
        deliveries = {email: id_ for email, id_ in s.execute(select(Delivery.email, Delivery.id))}
    assert len(smtp_server.received) == 2
    for received in smtp_server.received:
        assert dkim.verify(received.data, dnsfunc=dns_of(signer(signing)))
        names = signed_headers(received.data)
        assert [h for h in LIST_HEADERS if h not in names] == []
        [to] = received.rcpt_tos
        assert received.mail_from.startswith("bounces+")
        assert received.mail_from.endswith("@bounce.example.org")
        assert delivery_of(received.mail_from, BOUNCES, secret_key(signing)) == deliveries[to]
        # The same token in a header, for bounces that come back elsewhere.
        ref = str(received.message["X-Digest-Delivery"])
        assert delivery_of_token(ref, secret_key(signing)) == deliveries[to]
    feedback = {r.rcpt_tos[0]: r.message["Feedback-ID"] for r in smtp_server.received}
    # Two topic sets, two ids; each one a daily digest of this list.
    assert len(set(feedback.values())) == 2
    assert all(re.fullmatch(r"daily:[0-9a-f]{8}:digest", str(v)) for v in feedback.values())


def test_the_sent_digest_is_the_previewed_one_with_signature_and_delivery_added(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    shown = previewing.preview_next(db_url, signing, "ana@example.org", T0)
    assert shown.message is not None and b"DKIM-Signature" not in shown.message
    assert run(signing, SLOT1).sent == 1
    [sent] = smtp_server.received
    assert sent.data.startswith(b"DKIM-Signature: ")
    unsigned = sent.data.split(b"\r\n", 1)[1]
    while unsigned.startswith((b" ", b"\t")):  # the signature's folded lines
        unsigned = unsigned.split(b"\r\n", 1)[1]
    assert DELIVERY_LINE.search(unsigned) and not DELIVERY_LINE.search(shown.message)
    unsigned = DELIVERY_LINE.sub(b"", unsigned)
    # The same message but for the reader's signed links, which a preview leaves out.
    assert message_parts(unsigned) == message_parts(shown.message)


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    plain = dataclasses.replace(signing, bounce_address=None)
    assert run(plain, SLOT1).sent == 1
    [sent] = smtp_server.received
    assert sent.mail_from == "digest@news.example.org"
    assert sent.message["X-Digest-Delivery"] is None
    assert dkim.verify(sent.data, dnsfunc=dns_of(signer(plain)))


def test_a_test_copy_is_signed_and_sent_from_the_from_address(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    shown = previewing.preview_next(db_url, signing, "ana@example.org", T0)
    sender = SMTPSender.from_url(signing.smtp_url)
    assert copies.send_test(shown, signing, sender, "editor@example.org", T0).code == 250
    [copy] = smtp_server.received
    assert copy.mail_from == "digest@news.example.org"
    assert dkim.verify(copy.data, dnsfunc=dns_of(signer(signing)))
    assert str(copy.message["Feedback-ID"]).startswith("test:")


def test_a_confirmation_email_is_signed_and_sent_from_the_from_address(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server
) -> None:
    world.topics("tech")
    choices = Choices(topics={"tech": "daily"}, hour=7, timezone="UTC", weekday=0)
    origin = signup.Origin("203.0.113.9", "test", "/subscribe")
    with unit_of_work(db_url) as s:
        request = signup.request_subscription(s, "new@example.org", choices, origin, signing, T0)
    assert request.send_consent_id is not None
    sender = SMTPSender.from_url(signing.smtp_url)
    reply = signup.send_confirmation(db_url, request.send_consent_id, signing, sender, T0)
    assert reply is not None and reply.code == 250
    [sent] = smtp_server.received
    assert sent.mail_from == "digest@news.example.org"
    assert dkim.verify(sent.data, dnsfunc=dns_of(signer(signing)))
    assert sent.message["Feedback-ID"] == "confirm:digest"
    assert "list-unsubscribe" not in signed_headers(sent.data)


def test_an_unreadable_key_sends_nothing_and_loses_nothing(  # type: ignore[no-untyped-def]
    world, signing, db_url, smtp_server, tmp_path
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    broken = dataclasses.replace(signing, dkim_key_file=tmp_path / "absent.pem")
    with pytest.raises(ConfigError, match="DIGEST_DKIM_KEY_FILE"):
        run(broken, SLOT1)
    assert smtp_server.received == []
    with unit_of_work(db_url) as s:
        assert s.scalars(select(Digest.status)).all() == ["planned"]
        assert s.scalars(select(Delivery.id)).all() == []
    # With the key in place, the sweep sends the same digest, once.
    sender = SMTPSender.from_url(signing.smtp_url)
    later = SLOT1 + timedelta(minutes=11)
    assert pipeline.retry(db_url, signing, sender, lambda: later).sent == 1
    assert len(smtp_server.received) == 1
