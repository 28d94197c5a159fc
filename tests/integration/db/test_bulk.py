"""Bulk writes: the same rows and values as ordinary statements, on either database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from digest.db.bulk import insert_rows, update_rows
from digest.db.engine import unit_of_work
from digest.db.models import Subscriber, table_of

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
# An aware time in another zone: stored as the same instant in UTC.
BRUSSELS_SUMMER = timezone(timedelta(hours=2))


def row(email: str, **values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "email": email,
        "name": None,
        "status": "active",
        "timezone": "UTC",
        "hour": 7,
        "weekday": 0,
        "next_slot_at": None,
        "created_at": T0,
    }
    base.update(values)
    return base


def stored(db_url: str) -> dict[str, Subscriber]:
    with unit_of_work(db_url) as s:
        return {sub.email: sub for sub in s.scalars(select(Subscriber))}


def test_inserted_rows_keep_every_value_and_return_their_ids(db_url: str) -> None:
    rows = [
        row(
            "a@example.org",
            name="Ann",
            next_slot_at=datetime(2026, 4, 1, 9, tzinfo=BRUSSELS_SUMMER),
        ),
        row("b@example.org", hour=23, weekday=6),
        row("c@example.org", name='Cé\'cile "quoted"', status="pending"),
    ]
    with unit_of_work(db_url) as s:
        returned = insert_rows(s, table_of(Subscriber), rows, returning=["id", "email"])
    subs = stored(db_url)
    assert {email: id_ for id_, email in returned} == {e: sub.id for e, sub in subs.items()}
    assert subs["a@example.org"].name == "Ann"
    assert subs["a@example.org"].next_slot_at == datetime(2026, 4, 1, 7, tzinfo=UTC)
    assert subs["b@example.org"].name is None and subs["b@example.org"].next_slot_at is None
    assert (subs["b@example.org"].hour, subs["b@example.org"].weekday) == (23, 6)
    assert subs["c@example.org"].name == 'Cé\'cile "quoted"'
    assert subs["c@example.org"].status == "pending"
    assert subs["c@example.org"].created_at == T0


def test_conflicting_rows_are_skipped_and_leave_the_stored_row_alone(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        insert_rows(s, table_of(Subscriber), [row("a@example.org", name="First")])
    with unit_of_work(db_url) as s:
        returned = insert_rows(
            s,
            table_of(Subscriber),
            [row("a@example.org", name="Second"), row("d@example.org")],
            returning=["email"],
            skip_conflicts=["email"],
        )
    assert [email for (email,) in returned] == ["d@example.org"]
    subs = stored(db_url)
    assert subs["a@example.org"].name == "First"
    assert set(subs) == {"a@example.org", "d@example.org"}


def test_updated_rows_change_only_the_rows_and_columns_given(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        ids = dict(
            (email, id_)
            for id_, email in insert_rows(
                s,
                table_of(Subscriber),
                [row(f"{x}@example.org", name=x.upper()) for x in "abc"],
                returning=["id", "email"],
            )
        )
    later = T0 + timedelta(days=1)
    with unit_of_work(db_url) as s:
        update_rows(
            s,
            table_of(Subscriber),
            [
                {"id": ids["a@example.org"], "name": None, "next_slot_at": later},
                {"id": ids["b@example.org"], "name": "Bee", "next_slot_at": None},
            ],
        )
    subs = stored(db_url)
    assert (subs["a@example.org"].name, subs["a@example.org"].next_slot_at) == (None, later)
    assert (subs["b@example.org"].name, subs["b@example.org"].next_slot_at) == ("Bee", None)
    assert (subs["c@example.org"].name, subs["c@example.org"].next_slot_at) == ("C", None)
    assert subs["a@example.org"].hour == 7


def test_nothing_to_write_is_no_statement(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        assert insert_rows(s, table_of(Subscriber), [], returning=["id"]) == []
        update_rows(s, table_of(Subscriber), [])
    assert stored(db_url) == {}
