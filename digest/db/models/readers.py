"""Readers: their subscriptions, consent records and the suppression list."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from digest.db.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from digest.db.models.content import Topic


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_due", "status", "next_slot_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    name: Mapped[str | None] = mapped_column(String(200))
    # pending | active | unsubscribed | bounced
    status: Mapped[str] = mapped_column(String(20), default="pending")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hour: Mapped[int] = mapped_column(SmallInteger, default=7)
    weekday: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = Monday
    # BCP 47 code (en, fr, ar…) of the reader's emails and pages; None: the site's.
    language: Mapped[str | None] = mapped_column(String(16))
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Planning makes no digest before this (the reader paused their digests).
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised when the reader replaces their links: every older link stops working.
    link_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", lazy="selectin"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[str] = mapped_column(String(10), default="daily")  # daily | weekly

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    topic: Mapped[Topic] = relationship(lazy="joined")


class Suppression(Base):
    """Addresses that must never be mailed, whatever their subscriber row says.

    Matched by the hash of the address; the address itself is kept for operators,
    except for readers who asked to be erased (``reason`` ``erased``)."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    # hard_bounce | soft_bounce | complaint | manual | operator | erased
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """One request to subscribe (the form as sent) and its confirmation."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    page: Mapped[str | None] = mapped_column(String(2000))  # the form's URL
    wording_version: Mapped[str] = mapped_column(String(40))
    # What the form asked for; applied when the request is confirmed.
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_ip: Mapped[str | None] = mapped_column(String(64))
    confirmed_user_agent: Mapped[str | None] = mapped_column(String(500))
