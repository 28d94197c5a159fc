"""What every table shares: the declarative base with its naming convention, UTC
timestamps (stored naive, handed out aware), and helpers for bulk statements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    MetaData,
    Table,
    TypeDecorator,
    bindparam,
)
from sqlalchemy.orm import DeclarativeBase


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
