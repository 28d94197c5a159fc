"""Writes of many rows in one statement of fixed size.

On PostgreSQL every column travels as one array parameter and ``unnest()`` turns the
arrays back into rows, so a batch of 2,000 rows is one short statement: the driver
parses no thousands of placeholders and the server plans and executes once. SQLite
runs in-process, where the driver's own ``executemany`` is already cheap; it gets
that instead.

Values go through each column's bind processing (e.g. :class:`UTCDateTime` turns
aware times into naive UTC), exactly as with ordinary statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Rows = Sequence[Mapping[str, Any]]


def upsert_insert(session: Session) -> Callable[..., Any]:
    """The dialect's own INSERT, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _postgresql(session: Session) -> Dialect | None:
    dialect = session.get_bind().dialect
    return dialect if dialect.name == "postgresql" else None


def _arrays(table: Table, names: Sequence[str], rows: Rows, dialect: Dialect) -> dict[str, Any]:
    """One list per column, each value bound as the column binds it."""
    params: dict[str, Any] = {}
    for name in names:
        processor = table.c[name].type.bind_processor(dialect)
        values = [row[name] for row in rows]
        params[f"a_{name}"] = [processor(v) for v in values] if processor else values
    return params


def _unnest(table: Table, names: Sequence[str], dialect: Dialect) -> str:
    """``unnest(CAST(:a_x AS type[]), …) AS v(x, …)`` over the columns ``names``."""
    casts = ", ".join(
        f"CAST(:a_{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names
    )
    return f"unnest({casts}) AS v({', '.join(names)})"


def insert_rows(
    session: Session,
    table: Table,
    rows: Rows,
    *,
    returning: Sequence[str] = (),
    skip_conflicts: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys) into ``table``.

    ``skip_conflicts`` names the columns of a unique constraint: rows that would
    violate it are skipped (``[]``: any constraint). ``returning`` names columns to
    return for the rows actually inserted, in no particular order.
    """
    if not rows:
        return []
    names = list(rows[0])
    dialect = _postgresql(session)
    if dialect is not None:
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM {_unnest(table, names, dialect)}"
        )
        if skip_conflicts is not None:
            target = f" ({', '.join(skip_conflicts)})" if skip_conflicts else ""
            sql += f" ON CONFLICT{target} DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(returning)}"
        result = session.execute(text(sql), _arrays(table, names, rows, dialect))
        return [tuple(row) for row in result] if returning else []
    stmt = sqlite.insert(table)
    if skip_conflicts is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts) or None)
    if returning:
        return list(session.execute(stmt.returning(*(table.c[n] for n in returning)), list(rows)))
    session.execute(insert(table) if skip_conflicts is None else stmt, list(rows))
    return []


def update_rows(session: Session, table: Table, rows: Rows, key: str = "id") -> None:
    """Set, in each row of ``table`` whose ``key`` matches, the other values given
    (all ``rows`` with the same keys)."""
    if not rows:
        return
    names = list(rows[0])
    columns = [n for n in names if n != key]
    dialect = _postgresql(session)
    if dialect is not None:
        assignments = ", ".join(f"{n} = v.{n}" for n in columns)
        sql = (
            f"UPDATE {table.name} SET {assignments} "
            f"FROM {_unnest(table, names, dialect)} WHERE {table.name}.{key} = v.{key}"
        )
        session.execute(text(sql), _arrays(table, names, rows, dialect))
        return
    stmt = (
        update(table)
        .where(table.c[key] == bindparam(f"k_{key}"))
        .values({n: bindparam(f"k_{n}") for n in columns})
    )
    session.execute(stmt, [{f"k_{n}": row[n] for n in names} for row in rows])
