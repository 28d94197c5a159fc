"""How fast the operator console finds subscribers among many.

Seeds a fresh database with N subscribers (as bench/run.py does) and times the
console's search: a fragment matching a few addresses, one matching every address
(first page), one matching none (the whole list is read), a status filter, a topic
filter and a page deep in the list (keyset pagination). Prints the median of five
runs of each, in milliseconds.

    python bench/search.py --subscribers 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seeding import FIXED_SLOT, drop_database, fresh_database, seed  # noqa: E402
from digest.db.engine import unit_of_work  # noqa: E402
from digest.db.migrate import upgrade  # noqa: E402
from digest.services.console.lookup import find_subscribers  # noqa: E402


def timed(db_url: str, **query: Any) -> tuple[float, int]:
    runs = []
    found = 0
    for _ in range(5):
        with unit_of_work(db_url) as session:
            start = time.perf_counter()
            rows, _ = find_subscribers(session, **query)
            runs.append((time.perf_counter() - start) * 1000)
            found = len(rows)
    return statistics.median(runs), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_url, created = fresh_database(args.database_url, Path(folder))
        try:
            upgrade(db_url)
            seed(db_url, args.subscribers, 300, FIXED_SLOT)
            cases = {
                "fragment_few": {"fragment": "reader4242"},
                "fragment_all_first_page": {"fragment": "example.net"},
                "fragment_none": {"fragment": "no-such-reader"},
                "status_active": {"status": "active"},
                "topic": {"topic": "technology"},
                "deep_page": {"after_id": args.subscribers - 60},
            }
            figures = {}
            for name, query in cases.items():
                ms, found = timed(db_url, **query)
                figures[name] = {"ms": round(ms, 1), "rows": found}
                print(f"{name:>26}: {ms:7.1f} ms  ({found} rows)")
        finally:
            if created and args.database_url:
                drop_database(args.database_url, created)
    result = {"subscribers": args.subscribers, "database": db_url.split(":")[0], **figures}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
