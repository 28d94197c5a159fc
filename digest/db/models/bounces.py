"""Bounce and complaint reports, one row per report and recipient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from digest.db.models.base import Base, UTCDateTime


class BounceEvent(Base):
    """What one bounce, complaint or automatic reply said about one recipient, whom
    it was matched to and what the bounce policy did about it.

    Kept also when it matches no subscriber, for operators to look into; a report
    taken in twice (the same message read again) is stored once, by ``fingerprint``."""

    __tablename__ = "bounce_events"
    __table_args__ = (
        Index("ix_bounce_events_subscriber", "subscriber_id", "received_at"),
        Index("ix_bounce_events_reason", "reason", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(20))  # smtp | lmtp | mailbox | import | relay
    # hard | soft | complaint | auto-reply | not-bounce (an authentication-failure report)
    kind: Mapped[str] = mapped_column(String(20))
    # Why, one of digest.domain.bounce_policy.REASONS (None: stored before reasons existed).
    reason: Mapped[str | None] = mapped_column(String(30))
    how: Mapped[str] = mapped_column(String(20))  # dsn | arf | ses | fallback | auto-reply | smtp
    recipient: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str | None] = mapped_column(String(40))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(300))
    # verp | header | message-id | recipient | none
    matched_by: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    outcome: Mapped[str] = mapped_column(String(200))  # what the policy did, in words
