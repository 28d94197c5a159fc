"""The Feedback-ID groups digests by kind and topic set, never one per message."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

from digest.config import load_settings
from digest.domain.content import DigestContent
from digest.mail.message import feedback_id
from digest.services.sending.composing import message_of
from tests.unit.rendering.factories import article, content, recipient, render

NOW = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
SETTINGS = load_settings(
    {
        "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
        "DIGEST_FROM": "Example News <digest@news.example.org>",
    }
)


def feedback_of(c: DigestContent, reader: int = 0, test_copy: bool = False) -> str:
    r = recipient(reader)
    data = message_of(
        render(c, r),
        r,
        SETTINGS,
        content=c,
        message_id=f"<{reader}.{test_copy}@news.example.org>",
        date=NOW,
        test_copy=test_copy,
    )
    value = message_from_bytes(data, policy=policy.default)["Feedback-ID"]
    assert value is not None
    return str(value)


def test_readers_of_the_same_topics_share_one_feedback_id() -> None:
    tech_trade = content(("technology", [article(1)]), ("trade", [article(2)]))
    first = feedback_of(tech_trade, reader=1)
    assert re.fullmatch(r"daily:[0-9a-f]{8}:digest", first)
    # Other readers, other articles, the topics in another order: the same id.
    assert feedback_of(tech_trade, reader=2) == first
    other_order = content(("trade", [article(5)]), ("technology", [article(6), article(7)]))
    assert feedback_of(other_order, reader=3) == first
    assert feedback_of(content(("technology", [article(1)]))) != first


def test_the_campaign_says_daily_weekly_or_test() -> None:
    c = content(("technology", [article(1)]))
    daily = feedback_of(c)
    weekly = feedback_of(dataclasses.replace(c, weekly=True))
    assert weekly == daily.replace("daily:", "weekly:", 1)
    assert feedback_of(c, test_copy=True) == daily.replace("daily:", "test:", 1)


def test_the_sender_id_is_the_last_field_and_gmails_length() -> None:
    value = feedback_id(SETTINGS, "confirm")
    assert value == "confirm:digest"
    assert 5 <= len(value.rsplit(":", 1)[-1]) <= 15
