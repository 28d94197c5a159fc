"""Is the schema current? Brings an embedded SQLite database up to date by itself."""

from __future__ import annotations

from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from digest.db.engine import get_engine
from digest.db.migrate import alembic_config, upgrade


@lru_cache(maxsize=8)
def ensure_schema(url: str) -> None:
    """Return when the database at ``url`` is at the newest migration.

    SQLite (the embedded default) is migrated on the spot; a server database is left
    to the operator, with a clear message, since migrating it is a deploy step.
    """
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with get_engine(url).connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    if url.startswith("sqlite"):
        upgrade(url)
        return
    raise RuntimeError(
        f"the database schema is at {current or 'nothing'}, not {head}: run 'digest db upgrade'"
    )
