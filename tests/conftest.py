"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
``DIGEST_TEST_DATABASE_URL`` names one) and settings pointing at it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from digest.config import Settings, load_settings
from digest.db.engine import get_engine, session_factory
from digest.db.migrate import upgrade
from digest.db.models import Base

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def _shared_or_local(relative: str) -> Path:
    """A corpus path: ``../shared`` beside the repo, else the copy under tests/data."""
    shared = SHARED / relative
    return shared if shared.exists() else REPO / "tests" / "data" / relative


@pytest.fixture(scope="session")
def shared_path():
    return _shared_or_local


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test session."""
    server_url = os.environ.get("DIGEST_TEST_DATABASE_URL")
    if not server_url:
        path = tmp_path_factory.mktemp("db") / "digest.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    # A throw-away database on the server, so runs never see each other's rows.
    name = f"digest_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """The test database, emptied after each test (processes under test commit for real)."""
    yield database_url
    engine = get_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    s = session_factory(db_url)()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for in-process calls: the test database, a test secret, files in tmp."""
    return load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SECRET_KEY": "test-secret",
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_BASE_URL": "https://news.example.org/digest",
            "DIGEST_FROM": "Example News <digest@news.example.org>",
        }
    )
