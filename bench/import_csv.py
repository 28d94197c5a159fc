"""Subscriber CSV import at scale: time, peak memory, and a second run that must
change nothing.

Writes a CSV of N rows in which one row in every 200 is bad (an invalid address,
an unknown topic, an hour of 25, a duplicate address, a row with a missing
value), plus a few addresses already on the suppression list, then runs
``digest subscribers import --confirmed`` on it twice in a fresh database, each in
its own process, and reads that process's peak resident memory. It also imports a
file a tenth of the size, so the two peaks can be compared: a streaming import
keeps the same peak whatever the file's length. After the imports it runs
``digest subscribers export FILE`` at both sizes, also in its own process, and
reads its time and peak memory the same way.

    python bench/import_csv.py --rows 100000 [--database-url URL] [--json FILE]

It exits non-zero unless the first run imports every good row, refuses exactly the
bad ones and reports each under its own row number and the column at fault, the
second run adds and updates nothing, the export writes one row per stored
subscriber, and the peak memory of the import and of the export each grows by no
more than 40 MB from the small file to the large one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seeding import drop_database, fresh_database  # noqa: E402
from digest.db.engine import unit_of_work  # noqa: E402
from digest.db.migrate import upgrade  # noqa: E402
from digest.db.models import Subscriber  # noqa: E402
from digest.services.readers.suppressing import suppress_erased  # noqa: E402
from digest.services.readers.topics import add_topic  # noqa: E402

TOPICS = ("world", "politics", "business", "technology", "science", "climate")
ZONES = ("Europe/Brussels", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
SUPPRESSED_EVERY = 1000


def write_csv(path: Path, rows: int, expected: dict[int, str] | None = None) -> int:
    """Write ``rows`` rows; returns how many of them are bad (to be refused). With
    ``expected``, each bad row's number in the file (the header is row 1) is mapped
    to the column the report must name ("" for the whole row)."""
    expected = {} if expected is None else expected
    bad = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,topics,frequency,timezone,hour,weekday\n")
        for i in range(rows):
            topics = ";".join(TOPICS[(i + k) % len(TOPICS)] for k in range(1 + i % 3))
            good = (
                f"reader{i}@example.net,Reader {i},{topics},"
                f"{'weekly' if i % 7 == 0 else 'daily'},{ZONES[i % len(ZONES)]},{i % 24},"
                f"{('mon', 'wed', 'fri')[i % 3]}\n"
            )
            kind = i % 200
            if i % SUPPRESSED_EVERY == 500:
                bad += 1  # on the suppression list, seeded below
                expected[i + 2] = "email"
                out.write(good)
            elif kind == 10:
                bad += 1
                expected[i + 2] = "email"
                out.write(f"reader{i}-at-example.net,Reader {i},world,daily,UTC,7,mon\n")
            elif kind == 20:
                bad += 1
                expected[i + 2] = "topics"
                out.write(f"reader{i}@example.net,Reader {i},no-such-topic,daily,UTC,7,mon\n")
            elif kind == 30:
                bad += 1
                expected[i + 2] = "hour"
                out.write(f"reader{i}@example.net,Reader {i},world,daily,UTC,25,mon\n")
            elif kind == 40:
                bad += 1
                expected[i + 2] = "email"  # the address of the row before
                out.write(f"reader{i - 1}@example.net,Again,world,daily,UTC,7,mon\n")
            elif kind == 50:
                bad += 1
                expected[i + 2] = ""  # too few values: the whole row
                out.write(f"reader{i}@example.net,Reader {i},world\n")
            else:
                out.write(good)
    return bad


def prepare(db_url: str, rows: int) -> None:
    upgrade(db_url)
    with unit_of_work(db_url) as session:
        for slug in TOPICS:
            add_topic(session, slug, slug.title(), [])
        for i in range(500, rows, SUPPRESSED_EVERY):
            suppress_erased(session, f"reader{i}@example.net", _now())


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def run_import(db_url: str, csv_path: Path, errors_path: Path) -> dict[str, Any]:
    """One ``digest subscribers import`` in its own process: its output, its wall
    time and its peak resident memory."""
    env = {**os.environ, "DIGEST_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "digest.cli", "subscribers", "import", str(csv_path)]
    command += ["--confirmed", "--errors", str(errors_path)]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    words = output.split()
    counts = {words[i + 1].rstrip(","): int(words[i]) for i in range(0, len(words) - 1, 2)}
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "exit_code": process.returncode,
        **{k: counts.get(k, 0) for k in ("added", "updated", "unchanged", "refused")},
        "report_lines": sum(1 for _ in errors_path.open(encoding="utf-8")) - 1,
    }


def run_export(db_url: str, target: Path) -> dict[str, Any]:
    """One ``digest subscribers export`` in its own process: its wall time, its peak
    resident memory and how many subscriber rows the file holds."""
    env = {**os.environ, "DIGEST_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "digest.cli", "subscribers", "export", str(target)]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    rows = 0
    if target.exists():
        with target.open(encoding="utf-8", newline="") as exported:
            rows = sum(1 for _ in csv.reader(exported)) - 1  # less the header
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": process.returncode,
        "rows": rows,
    }


def stored_subscribers(db_url: str) -> int:
    with unit_of_work(db_url) as session:
        return int(session.scalar(select(func.count()).select_from(Subscriber)) or 0)


REPORT_SAMPLE = 200


def report_mismatches(errors_path: Path, expected: dict[int, str]) -> list[str]:
    """Report lines whose row number or column is not the bad row the bench wrote
    there: every line is read, and an evenly spread sample of the expected rows
    must each be present with the right column."""
    found: dict[int, str] = {}
    wrong: list[str] = []
    with errors_path.open(encoding="utf-8", newline="") as report:
        for line in csv.DictReader(report):
            row, column = int(line["row"]), line["column"]
            if expected.get(row) != column:
                wrong.append(f"row {row}, column {column!r}: expected {expected.get(row)!r}")
            found[row] = column
    rows = sorted(expected)
    for row in rows[:: max(1, len(rows) // REPORT_SAMPLE)]:
        if found.get(row) != expected[row]:
            wrong.append(f"row {row} should be reported at column {expected[row]!r}")
    return wrong


def measure(database_url: str | None, folder: Path, rows: int) -> dict[str, Any]:
    csv_path = folder / f"subscribers-{rows}.csv"
    expected: dict[int, str] = {}
    bad = write_csv(csv_path, rows, expected)
    db_url, created = fresh_database(database_url, folder / str(rows))
    try:
        prepare(db_url, rows)
        first = run_import(db_url, csv_path, folder / "first-errors.csv")
        mismatches = report_mismatches(folder / "first-errors.csv", expected)
        second = run_import(db_url, csv_path, folder / "second-errors.csv")
        export = run_export(db_url, folder / f"export-{rows}.csv")
        export["stored"] = stored_subscribers(db_url)
    finally:
        if created and database_url:
            drop_database(database_url, created)
    return {
        "rows": rows,
        "bad_rows": bad,
        "file_mb": round(csv_path.stat().st_size / 1e6, 1),
        "first": first,
        "second": second,
        "export": export,
        "report_mismatches": mismatches,
        "rows_per_s": round(rows / first["seconds"]),
        "database": db_url.split(":")[0],
    }


# What the peak may grow by from a tenth of the file to the whole: the duplicate
# check's fingerprints (about 150 bytes a row) and slack. Holding the rows or their
# ORM objects instead would add hundreds of megabytes at 100,000 rows.
MAX_GROWTH_MB_PER_100K = 40


def problems(result: dict[str, Any]) -> list[str]:
    rows, bad, first, second = (result[k] for k in ("rows", "bad_rows", "first", "second"))
    found = []
    if first["report_lines"] != bad:
        found.append(f"the report has {first['report_lines']} lines, expected {bad}")
    if first["added"] != rows - bad:
        found.append(f"first run added {first['added']}, expected {rows - bad}")
    if first["refused"] != bad:
        found.append(f"first run refused {first['refused']}, expected {bad}")
    if second["added"] or second["updated"]:
        found.append(f"second run changed rows: {second}")
    if second["unchanged"] != rows - bad:
        found.append(f"second run left {second['unchanged']} unchanged, expected {rows - bad}")
    for mismatch in result["report_mismatches"][:10]:
        found.append(f"{rows} rows, report: {mismatch}")
    export = result["export"]
    if export["exit_code"] != 0:
        found.append(f"the export of {rows} rows exited {export['exit_code']}")
    if export["rows"] != export["stored"] or export["rows"] != rows - bad:
        found.append(
            f"the export wrote {export['rows']} rows; {export['stored']} subscribers are "
            f"stored, {rows - bad} expected"
        )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        small = measure(args.database_url, folder, max(1000, args.rows // 10))
        large = measure(args.database_url, folder, args.rows)
    found = problems(small) + problems(large)
    for result in (small, large):
        first, second = result["first"], result["second"]
        print(
            f"{result['rows']:>8} rows ({result['file_mb']} MB, {result['bad_rows']} bad) "
            f"on {result['database']}: first {first['seconds']} s, "
            f"{result['rows_per_s']} rows/s, peak RSS {first['peak_rss_mb']} MB, "
            f"{first['added']} added, {first['refused']} refused "
            f"({first['report_lines']} report lines); second {second['seconds']} s, "
            f"{second['added']} added, {second['updated']} updated, "
            f"{second['unchanged']} unchanged"
        )
        export = result["export"]
        print(
            f"{result['rows']:>8} rows exported in {export['seconds']} s, "
            f"peak RSS {export['peak_rss_mb']} MB, {export['rows']} rows written "
            f"({export['stored']} stored)"
        )
    allowed = MAX_GROWTH_MB_PER_100K * max(1, args.rows / 100_000)
    for what in ("first", "export"):
        growth = large[what]["peak_rss_mb"] - small[what]["peak_rss_mb"]
        name = "import" if what == "first" else "export"
        print(
            f"{name} peak RSS growth from {small['rows']} to {large['rows']} rows: {growth:.1f} MB"
        )
        if growth > allowed:
            found.append(f"{name} peak RSS grew by {growth:.1f} MB, more than {allowed:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"small": small, "large": large}, indent=2))
    for problem in found:
        print("FAIL:", problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
