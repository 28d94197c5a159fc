"""The tables. Every timestamp is stored as UTC and comes back time-zone aware."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp kept as naive UTC in the database and handed out as aware UTC.

    SQLite has no time zones; storing naive UTC everywhere keeps comparisons in SQL
    correct on both SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, for bulk inserts that skip the ORM's
    per-row bookkeeping."""
    return cast(Table, model.__table__)


def id_in(column: Any, ids: Iterable[int]) -> Any:
    """``column IN (...)`` with the integer ids written into the statement when it
    runs: a list of thousands of ids then costs the driver no placeholder parsing,
    and the statement stays one cached compilation whatever the list's length."""
    values = [int(i) for i in ids]
    return column.in_(bindparam(None, values, expanding=True, literal_execute=True))


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased words or phrases; an article whose title or summary holds one joins the topic.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary="feed_topics", lazy="selectin")


class FeedTopic(Base):
    __tablename__ = "feed_topics"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(1000), unique=True)
    url: Mapped[str] = mapped_column(String(2000), index=True)
    title: Mapped[str] = mapped_column(String(1000))
    summary: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    author: Mapped[str | None] = mapped_column(String(300))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    # Editorial control: first in its topics while pinned_until is ahead of a
    # digest's window end; held articles go into no digest at all.
    pinned_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_by: Mapped[str | None] = mapped_column(String(320))  # who last pinned or held it
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    topics: Mapped[list[Topic]] = relationship(secondary="article_topics", lazy="selectin")


class ArticleTopic(Base):
    __tablename__ = "article_topics"
    __table_args__ = (Index("ix_article_topics_topic", "topic_id", "article_id"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )


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
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Planning makes no digest before this (the reader paused their digests).
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
    # A bounce or complaint that came back after the relay accepted the message:
    # hard | soft | complaint (the latest), and when it arrived.
    bounce_kind: Mapped[str | None] = mapped_column(String(20))
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


class BounceEvent(Base):
    """What one bounce, complaint or automatic reply said about one recipient, whom
    it was matched to and what the bounce policy did about it.

    Kept also when it matches no subscriber, for operators to look into; a report
    taken in twice (the same message read again) is stored once, by ``fingerprint``."""

    __tablename__ = "bounce_events"
    __table_args__ = (Index("ix_bounce_events_subscriber", "subscriber_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(20))  # smtp | lmtp | mailbox | import | relay
    kind: Mapped[str] = mapped_column(String(20))  # hard | soft | complaint | auto-reply
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


class RateEvent(Base):
    """One counted attempt (e.g. a subscribe request) under a hashed key, for limits
    shared by every web process."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AdminUser(Base):
    """Someone who signs in to /admin: an operator (changes data) or an editor (reads
    lists, previews). The password is kept only as an argon2 hash."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # operator | editor
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    """A key for /api with a role; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # shown to operators to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Control(Base):
    """Switches operators flip at run time, e.g. pausing all sending."""

    __tablename__ = "controls"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))


class ImportJob(Base):
    """One subscriber CSV import: where it stands, so the page can show progress, and
    its totals once done. Bad rows are kept in ``import_problems``."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    started_by: Mapped[str | None] = mapped_column(String(320))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    read_bytes: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportProblem(Base):
    """A row an import refused: its number in the file, the column and the reason."""

    __tablename__ = "import_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True
    )
    row: Mapped[int] = mapped_column(Integer)
    column_name: Mapped[str] = mapped_column(String(40))  # "column" is reserved in SQL
    reason: Mapped[str] = mapped_column(Text)


class MetricValue(Base):
    """A running total behind /metrics, shared by every process and machine: workers
    add to it once per batch, the web app reads it when scraped."""

    __tablename__ = "metric_values"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    labels: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    value: Mapped[float] = mapped_column(Float, default=0.0)
