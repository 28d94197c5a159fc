"""Building a batch costs the same number of queries whatever its size: no N+1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from digest.db.engine import get_engine, unit_of_work
from digest.services.sending import building, delivering, planning

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


@contextmanager
def counting(db_url: str) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queries_for(world, settings, db_url: str, size: int, hour: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    for i in range(size):
        topics = "tech,trade" if i % 2 else "tech"
        world.subscriber(f"r{hour}-{i}@example.org", topics, T0, hour=hour)
    slot = SLOT.replace(hour=hour)
    planned = planning.plan(db_url, settings, slot)
    assert len(planned.digest_ids) == size
    with counting(db_url) as built_queries, unit_of_work(db_url) as s:
        report = building.build(s, planned.digest_ids, settings, slot)
    assert len(report.delivery_ids) == size
    claim_ids = report.delivery_ids
    with counting(db_url) as prepare_queries, unit_of_work(db_url) as s:
        claimed = delivering.claim(s, claim_ids, SLOT)
        out = delivering.prepare(s, claimed, settings, SLOT)
    assert len(out) == size and all(o.data for o in out)
    return len(built_queries), len(prepare_queries)


def test_build_and_prepare_queries_do_not_grow_with_the_batch(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "trade")
    for i in range(30):
        world.article(f"a{i}", T0 - timedelta(hours=i % 20), ["tech", "trade"][i % 2 : i % 2 + 1])
    small = queries_for(world, mail_settings, db_url, 5, hour=7)
    large = queries_for(world, mail_settings, db_url, 60, hour=8)
    assert large == small, f"5 digests: {small} queries, 60 digests: {large}"


def queries_to_build_and_render(world, settings, db_url: str, size: int, hour: int) -> int:  # type: ignore[no-untyped-def]
    for i in range(size):
        topics = "tech,trade" if i % 2 else "tech"
        world.subscriber(f"s{hour}-{i}@example.org", topics, T0, hour=hour)
    slot = SLOT.replace(hour=hour)
    planned = planning.plan(db_url, settings, slot)
    with counting(db_url) as statements, unit_of_work(db_url) as s:
        built = building.build(s, planned.digest_ids, settings, slot, claim=True)
        out = delivering.prepare_built(s, built.built, settings, slot)
    assert len(out) == size and all(o.data for o in out)
    return len(statements)


def test_building_claiming_and_rendering_in_one_go_do_not_grow_with_the_batch(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "trade")
    for i in range(30):
        world.article(f"a{i}", T0 - timedelta(hours=i % 20), ["tech", "trade"][i % 2 : i % 2 + 1])
    small = queries_to_build_and_render(world, mail_settings, db_url, 5, hour=9)
    large = queries_to_build_and_render(world, mail_settings, db_url, 80, hour=10)
    assert large == small, f"5 digests: {small} queries, 80 digests: {large}"
