"""Planner statistics: a table a slot has grown by half is analysed again, once, and
the ledger lookup of a batch then reads the index instead of the whole table."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from digest.db import statistics
from digest.db.bulk import insert_rows
from digest.db.engine import get_engine, unit_of_work
from digest.db.models import SentArticle, table_of

T0 = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)
READERS, ARTICLES = 2000, 12


def ledger_rows() -> list[dict[str, object]]:
    return [
        {"subscriber_id": s, "article_id": a, "digest_id": s, "sent_at": T0}
        for s in range(1, READERS + 1)
        for a in range(1, ARTICLES + 1)
    ]


def batch_lookup_plan(db_url: str) -> str:
    """How PostgreSQL reads the ledger for a batch of 200 readers (as building does)."""
    readers = ",".join(str(s) for s in range(801, 1001))
    articles = ",".join(str(a) for a in range(1, 301))
    with get_engine(db_url).connect() as conn:
        plan = conn.scalar(
            text(
                "EXPLAIN (FORMAT JSON) SELECT subscriber_id, article_id FROM sent_articles "
                f"WHERE subscriber_id IN ({readers}) AND article_id IN ({articles})"
            )
        )
    return json.dumps(plan)


def analysed(db_url: str) -> dict[str, int]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(:names)"
            ),
            {"names": list(statistics.GROWING)},
        )
        return {name: count for name, count in rows}


def test_a_grown_table_is_analysed_once_and_the_ledger_lookup_uses_its_index(
    db_url: str,
) -> None:
    engine = get_engine(db_url)
    if engine.dialect.name != "postgresql":
        # SQLite's planner takes the primary key without statistics: nothing to do.
        with unit_of_work(db_url) as session:
            insert_rows(session, table_of(SentArticle), ledger_rows())
            assert statistics.refresh(session) == []
        assert statistics.refresh_database(db_url) == []
        return
    with engine.connect() as conn:
        # Whatever earlier tests changed is analysed now, so only this test's rows count.
        for name in statistics.GROWING:
            conn.execute(text(f'ANALYZE "{name}"'))
        conn.commit()
    with unit_of_work(db_url) as session:
        insert_rows(session, table_of(SentArticle), ledger_rows())
        session.execute(text("SELECT pg_stat_force_next_flush()"))
    before = analysed(db_url)
    assert '"Seq Scan"' in batch_lookup_plan(db_url)  # the estimate is still "empty table"

    assert statistics.refresh_database(db_url) == ["sent_articles"]
    after = analysed(db_url)
    assert after["sent_articles"] == before["sent_articles"] + 1
    assert {k: v for k, v in after.items() if k != "sent_articles"} == {
        k: v for k, v in before.items() if k != "sent_articles"
    }
    plan = batch_lookup_plan(db_url)
    assert '"Seq Scan"' not in plan and "pk_sent_articles" in plan

    # Fresh now: the next batch's check analyses nothing.
    with unit_of_work(db_url) as session:
        assert statistics.refresh(session) == []
    assert analysed(db_url)["sent_articles"] == after["sent_articles"]
