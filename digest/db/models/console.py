"""The console's own tables: admin users and API keys, rate-limit events, import jobs
with their refused rows, and the metric totals every process adds to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from digest.db.models.base import Base, UTCDateTime, utcnow


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
    # Part of every session cookie's stamp: raised to end all of this admin's sessions.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The zone the console shows times in; None: the browser's (see web/times.py).
    timezone: Mapped[str | None] = mapped_column(String(64))


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


class AuditEntry(Base):
    """One change an operator or editor made, in the console or through the API: who,
    when, through what, to which row, and its fields before and after (JSON objects
    holding only the fields that changed; secrets never appear)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_target", "target", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)  # an address or "api key NAME"
    via: Mapped[str] = mapped_column(String(20))  # console | api | cli
    action: Mapped[str] = mapped_column(String(40), index=True)  # create | update | delete | bulk …
    target: Mapped[str] = mapped_column(String(40))  # subscriber | topic | feed | …
    target_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500), default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class BulkJob(Base):
    """An action on many subscribers at once (change topics, pause, suppress, delete,
    export), run in the background in batches: what, on whom (a filter or a list of
    ids, as JSON), and how far it has come, so its page can show progress."""

    __tablename__ = "bulk_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    params: Mapped[str] = mapped_column(Text, default="{}")  # the action's options, JSON
    selection: Mapped[str] = mapped_column(Text, default="{}")  # filter or ids, JSON
    started_by: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped after every batch: a running job silent for long lost its process.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
