"""Fresh planner statistics for the tables a slot grows.

PostgreSQL picks its plans from statistics that ANALYZE gathers; autovacuum refreshes
them about once a minute at best, after a tenth of a table has changed, and not at
all where it is turned off. A slot grows the per-digest tables by millions of rows
in minutes, and on a new installation they start empty: with statistics that old,
the planner believes a batch's 200 subscribers match most of the ledger and reads
all of it, each batch a little slower than the one before. So the sending step asks
once per batch whether a table has changed by half since it was last analysed, and
then analyses it; an advisory lock lets one worker do it while the others go on.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from digest.db.engine import unit_of_work

# The tables that grow with every slot, and those read per batch.
GROWING = (
    "digests",
    "deliveries",
    "delivery_attempts",
    "digest_articles",
    "sent_articles",
    "subscribers",
    "subscriptions",
)
# Analysed again once this share of the rows it was analysed with has changed...
STALE_SHARE = 0.5
# ...and at least this many rows: small tables are cheap to read whatever the plan.
STALE_ROWS = 5000
# pg_try_advisory_xact_lock key: "digest statistics".
LOCK_KEY = 0x6469676573740001


def stale_tables(session: Session) -> list[str]:
    """The growing tables whose statistics are out of date and that this database
    user may analyse (PostgreSQL only)."""
    rows = session.execute(
        text(
            "SELECT s.relname, s.n_live_tup, s.n_mod_since_analyze "
            "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.schemaname = current_schema() AND s.relname = ANY(:names) "
            # Only the owner may analyse a table (others get a warning and nothing).
            "AND pg_has_role(c.relowner, 'USAGE')"
        ),
        {"names": list(GROWING)},
    )
    stale = []
    for name, live, changed in rows:
        analysed_with = max(live - changed, 0)
        if changed >= STALE_ROWS and changed >= STALE_SHARE * analysed_with:
            stale.append(name)
    return sorted(stale)


def refresh(session: Session) -> list[str]:
    """Analyse the growing tables whose statistics are stale, unless another
    process is doing so now; returns the tables analysed. Nothing on SQLite, whose
    planner leans on the indexes without statistics."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    stale = stale_tables(session)
    if not stale or not session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
    ):
        return []
    for name in stale:
        session.execute(text(f'ANALYZE "{name}"'))
    return stale


def refresh_database(database_url: str) -> list[str]:
    """:func:`refresh` in a short transaction of its own, opened only on PostgreSQL
    (on SQLite a transaction would take the database's write lock for nothing)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return []
    with unit_of_work(database_url) as session:
        return refresh(session)
