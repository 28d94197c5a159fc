"""The sending pipeline's tables: digests and their article lists, the sent-ledger,
deliveries with every attempt, and the run-time controls (pause, breaker)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from digest.db.models.base import Base, UTCDateTime, utcnow


class Digest(Base):
    """One email to one subscriber for one slot; its article window is fixed when planned."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "slot_at", name="uq_digests_subscriber_slot"),
        Index("ix_digests_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    includes_daily: Mapped[bool] = mapped_column(Boolean, default=True)
    includes_weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    weekly_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # planned | built | skipped | failed  (sending state lives on the delivery)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestArticle(Base):
    """What a digest carried, under which topic and in which place.

    This table and the sent-ledger below gain a row per article of every digest
    built, so they carry no foreign keys: on PostgreSQL each key costs an index probe
    per inserted row. Every row is written from rows read in the same transaction,
    and whatever deletes a subscriber deletes their rows here explicitly
    (digest/services/preferences.erase).
    """

    __tablename__ = "digest_articles"

    digest_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


class SentArticle(Base):
    """The sent-ledger: an article reaches a subscriber at most once."""

    __tablename__ = "sent_articles"

    subscriber_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The sending of one digest; the truth about what was sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # A bounce that quotes only our Message-ID is matched by it.
        Index("ix_deliveries_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), unique=True
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(300))
    # queued | sending | sent | deferred | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_enhanced_code: Mapped[str | None] = mapped_column(String(16))
    last_text: Mapped[str | None] = mapped_column(Text)
    # A bounce or complaint about the message: the relay's refusal during the SMTP
    # conversation, or a report that came back after it accepted the message:
    # hard | soft | complaint (the gravest), its reason, and when it arrived.
    bounce_kind: Mapped[str | None] = mapped_column(String(20))
    bounce_reason: Mapped[str | None] = mapped_column(String(30))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.id", lazy="selectin", cascade="all, delete-orphan"
    )


class DeliveryAttempt(Base):
    """One SMTP conversation about one delivery."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # sent | deferred | failed
    code: Mapped[int | None] = mapped_column(Integer)
    enhanced_code: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")


class Control(Base):
    """Switches operators flip at run time, e.g. pausing all sending."""

    __tablename__ = "controls"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))
