"""The migrations build exactly the schema the models describe, and carry the rows
across: editorial control (0005) turns the old pins into pins with an end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, DateTime, create_engine, inspect, text
from sqlalchemy.engine import make_url

from digest.db.engine import get_engine
from digest.db.migrate import alembic_config, upgrade
from digest.db.models import Base


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    with get_engine(db_url).connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on the server the tests use."""
    server_url = os.environ.get("DIGEST_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'migrating.db'}"
        return
    name = f"digest_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _article(conn: Connection, slug: str, *, pinned: bool, held: bool) -> None:
    published = datetime(2026, 6, 1, 8, 0)
    conn.execute(
        text(
            "INSERT INTO articles (guid, url, title, summary, published_at, ingested_at, "
            "updated_at, pinned, held) VALUES (:guid, :url, :title, '', :at, :at, :at, "
            ":pinned, :held)"
        ),
        {
            "guid": f"urn:test:{slug}",
            "url": f"https://news.example.org/{slug}",
            "title": slug,
            "at": published,
            "pinned": pinned,
            "held": held,
        },
    )


def test_0005_gives_a_pin_an_end_a_week_away_keeps_holds_and_goes_back(
    empty_database: str,
) -> None:
    url = empty_database
    upgrade(url, "0004")
    engine = get_engine(url)
    with engine.begin() as conn:
        _article(conn, "pinned", pinned=True, held=False)
        _article(conn, "held", pinned=False, held=True)
        _article(conn, "both", pinned=True, held=True)
        _article(conn, "plain", pinned=False, held=False)
    start = datetime.now(UTC).replace(tzinfo=None)
    upgrade(url, "0005")
    end = datetime.now(UTC).replace(tzinfo=None)
    query = text(
        "SELECT title, pinned_until, held, edited_by, edited_at FROM articles ORDER BY id"
    ).columns(pinned_until=DateTime(), edited_at=DateTime())
    with engine.connect() as conn:
        rows = {r.title: r for r in conn.execute(query)}
    week = timedelta(days=7)
    for title in ("pinned", "both"):
        until = rows[title].pinned_until
        assert until is not None and start + week <= until <= end + week, title
    assert rows["held"].pinned_until is None and rows["plain"].pinned_until is None
    assert {t: bool(r.held) for t, r in rows.items()} == {
        "pinned": False,
        "held": True,
        "both": True,
        "plain": False,
    }
    assert all(r.edited_by is None and r.edited_at is None for r in rows.values())

    command.downgrade(alembic_config(url), "0004")
    with engine.connect() as conn:
        back = {
            r.title: (bool(r.pinned), bool(r.held))
            for r in conn.execute(text("SELECT title, pinned, held FROM articles"))
        }
        columns = {c["name"] for c in inspect(conn).get_columns("articles")}
    assert back == {
        "pinned": (True, False),
        "held": (False, True),
        "both": (True, True),
        "plain": (False, False),
    }
    assert not columns & {"pinned_until", "edited_by", "edited_at"}
    # And up again, as a deploy rolled back and forward would.
    upgrade(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
