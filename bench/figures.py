"""What a benchmark run measured, besides time: database and Redis counters per digest,
the workers' peak memory, and the run as a row of the table in docs/performance.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine, text


def counters(engine: Engine, broker: str) -> dict[str, float]:
    """Server-side totals whose growth over the slot says what each digest costs:
    commands Redis processed and, on PostgreSQL, commits, rows written and WAL."""
    client = redis.Redis.from_url(broker.replace("redis+socket://", "unix://"))
    values: dict[str, float] = {"redis_commands": client.info("stats")["total_commands_processed"]}
    client.close()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
            row = conn.execute(
                text(
                    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted,"
                    " pg_current_wal_lsn() - '0/0'::pg_lsn"
                    " FROM pg_stat_database WHERE datname = current_database()"
                )
            ).one()
        values.update(commits=row[0], rows_written=row[1], wal_bytes=float(row[2]))
    return values


def per_digest(
    before: dict[str, float], after: dict[str, float], digests: int
) -> dict[str, float | None]:
    names = ("redis_commands", "commits", "rows_written", "wal_bytes")
    return {
        f"{name}_per_digest": round((after[name] - before[name]) / digests, 2)
        if name in before and digests
        else None
        for name in names
    }


def tree_peak_rss_mb(pid: int) -> float:
    """The largest peak resident size (VmHWM) among a process and its children."""
    peak = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


# The columns of the table in docs/performance.md, and how each figure is written there.
TABLE = [
    ("database", lambda f: {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[f["database"]]),
    ("subscribers", lambda f: f"{f['subscribers']:,}"),
    ("workers", lambda f: str(f["workers"])),
    ("beats", lambda f: str(f["beats"] or "—")),
    ("delivered", lambda f: f"{f['delivered']:,}"),
    ("duplicates", lambda f: str(f["duplicates"])),
    ("planning (s)", lambda f: "—" if f["plan_s"] is None else f"{f['plan_s']:.2f}"),
    ("digests/s", lambda f: f"{f['digests_per_s']:,.1f}"),
    ("naive/s", lambda f: f"{f['naive_per_s']:,.1f}"),
    ("raw SMTP/s", lambda f: f"{f['raw_smtp_per_s']:,.1f}"),
    ("digests/s ÷ raw", lambda f: f"{f['digests_per_s_over_raw']:.2f}"),
    ("digests/s ÷ naive", lambda f: f"{f['digests_per_s_over_naive']:.1f}"),
    ("queries/digest", lambda f: _or_dash(f["queries_per_digest"], "{:.2f}")),
    ("peak worker RSS (MB)", lambda f: f"{f['peak_worker_rss_mb']:.0f}"),
    ("rows/digest", lambda f: _or_dash(f["rows_written_per_digest"], "{:.0f}")),
    ("WAL/digest (KB)", lambda f: _or_dash(f["wal_bytes_per_digest"], "{:.1f}", 1 / 1024)),
    ("Redis cmds/digest", lambda f: _or_dash(f["redis_commands_per_digest"], "{:.2f}")),
    ("plan runs", lambda f: str(f["plan_runs"]) if f["beats"] else "—"),
    ("beats sending", lambda f: str(f["beats_sending"]) if f["beats"] else "—"),
]


def _or_dash(value: float | None, form: str, scale: float = 1.0) -> str:
    return "—" if value is None else form.format(value * scale)


def markdown_row(figures: dict[str, Any]) -> str:
    """The run as a row of the table in docs/performance.md, under its header."""
    header = "| " + " | ".join(name for name, _ in TABLE) + " |"
    rule = "| --- |" + " ---: |" * (len(TABLE) - 1)
    row = "| " + " | ".join(show(figures) for _, show in TABLE) + " |"
    return "\n".join([header, rule, row])
