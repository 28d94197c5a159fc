"""The database as the entry points see it: a unit of work to hand to the use cases,
the schema brought up to date, and a liveness check.

Web views, commands and worker tasks import these from here and never import
:mod:`digest.db`: models and queries stay inside the services (a contract in
``.importlinter`` keeps it so).
"""

from __future__ import annotations

from sqlalchemy import text

from digest.db.engine import get_engine, unit_of_work
from digest.db.migrate import upgrade
from digest.db.schema import ensure_schema

__all__ = ["ensure_schema", "ping", "unit_of_work", "upgrade"]


def ping(url: str) -> None:
    """Return when the database at ``url`` answers a query; raise when it does not."""
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))
