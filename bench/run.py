"""Throughput of one delivery slot through the real pipeline.

Seeds a fresh database with N confirmed subscribers over 12 topics (varied topic sets,
several time zones, all due in the same slot) and 300 articles; starts K Celery worker
processes on Redis and a local SMTP sink (Postfix's smtp-sink when installed, else an
aiosmtpd sink); plans the slot, queues it, and waits until every digest is accepted by
the sink. Prints digests per second, planning time, the two reference rates (naive and
raw SMTP) and the peak memory of the workers.

    python bench/run.py --subscribers 2000 --workers 2
    python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

With a server URL, a throw-away database is created beside the one named and dropped
afterwards. Without --broker-url, a Redis server is started for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bench.figures import counters, markdown_row, per_digest, tree_peak_rss_mb
from bench.seeding import (
    FIXED_SLOT,
    drop_database,
    fresh_database,
    seed,
    write_dkim_key,
)
from bench.sinks import Sink, start_sink
from digest.embedded import run_redis_server
from digest.mail.capture import free_port

REPO = Path(__file__).resolve().parent.parent


# The slot everyone is due in, unless beat plans it (then: the current hour).
def wait_ready(logs: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(log.exists() and "ready." in log.read_text(errors="replace") for log in logs):
            return
        time.sleep(0.2)
    raise SystemExit("workers did not start; see " + ", ".join(map(str, logs)))


def wait_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the SMTP sink did not listen on port {port}")


def start_beat(env: dict[str, str], folder: Path, log: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(folder / f"{name}-schedule"),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=folder,
    )


def wait_for(sink: Sink, count: int, timeout: float) -> None:
    """Until the sink accepted ``count`` messages (or the time is up)."""
    deadline = time.monotonic() + timeout
    while sink.accepted() < count:
        sink.check()
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)


_PLAN_DONE = re.compile(rb"Task digest\.plan\[[^\]]+\] succeeded in ([\d.]+)s: \{'planned': (\d+)")


def plan_runs(logs: list[Path]) -> list[tuple[float, int]]:
    """(seconds, digests planned) of every plan task the workers ran."""
    return [
        (float(seconds), int(count))
        for log in logs
        for seconds, count in _PLAN_DONE.findall(log.read_bytes())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--database-url", help="SQLite (default) or a PostgreSQL server URL")
    parser.add_argument("--broker-url", help="a Redis URL (default: a Redis started here)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--sink",
        choices=["auto", "smtp-sink", "aiosmtpd"],
        default="auto",
        help="SMTP server to send to (auto: Postfix's smtp-sink when installed)",
    )
    parser.add_argument(
        "--beats",
        type=int,
        default=0,
        help="start this many beat processes and let beat plan the current hour's slot "
        "(default: plan a fixed slot in this process and count its queries)",
    )
    parser.add_argument(
        "--dkim",
        action="store_true",
        help="DKIM-sign every digest with a fresh RSA-2048 key (see bench/signing.py)",
    )
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--reference-sample",
        type=int,
        default=200,
        help="digests used for the naive and raw references",
    )
    parser.add_argument(
        "--raw-messages", type=int, default=3000, help="messages sent for the raw SMTP reference"
    )
    parser.add_argument(
        "--raw-rounds",
        type=int,
        default=5,
        help="rounds of the raw SMTP reference, each on a new connection (the median counts)",
    )
    args = parser.parse_args()
    if args.raw_rounds < 1:
        parser.error("--raw-rounds must be at least 1")

    folder = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    db_url, created = fresh_database(args.database_url, folder)
    redis_proc, broker = (None, args.broker_url) if args.broker_url else run_redis_server(folder)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_BROKER_URL=broker,
        DIGEST_SMTP_URL=f"smtp://127.0.0.1:{port}",
        DIGEST_SECRET_KEY="bench-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(folder),
        DIGEST_BASE_URL="https://news.example.org/digest",
        DIGEST_FROM="Example News <digest@news.example.org>",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if args.dkim:
        env.update(
            DIGEST_DKIM_SELECTOR="bench",
            DIGEST_DKIM_DOMAIN="news.example.org",
            DIGEST_DKIM_KEY_FILE=str(write_dkim_key(folder / "dkim.pem")),
        )
    os.environ.update({k: v for k, v in env.items() if k.startswith("DIGEST_")})
    sys.path.insert(0, str(REPO))
    from bench.reference import naive_rate, prebuilt, raw_rate, sample
    from digest.config import get_settings
    from digest.db.engine import get_engine
    from digest.db.migrate import upgrade
    from digest.db.models import Delivery
    from digest.mail.sender import SMTPSender
    from digest.services.sending.pipeline import build_and_send
    from digest.services.sending.planning import plan
    from workers.tasks import queue_digests

    children: list[subprocess.Popen[bytes]] = []
    sinks: list[Sink] = []
    try:
        upgrade(db_url)
        t = time.perf_counter()
        slot = (
            datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            if args.beats
            else FIXED_SLOT
        )
        seed(db_url, args.subscribers, args.articles, slot)
        seed_s = time.perf_counter() - t
        sink = start_sink(args.sink, port, folder, env)
        sinks.append(sink)
        wait_listening(port)
        logs = []
        for k in range(args.workers):
            log = folder / f"worker{k}.log"
            logs.append(log)
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "workers",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        "1",
                        "--hostname",
                        f"bench{k}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    cwd=folder,
                )
            )
        wait_ready(logs)
        settings = get_settings()

        engine = get_engine(db_url)
        time.sleep(1)  # statistics of the seeding settle
        before = counters(engine, broker)
        if args.beats:
            # Beat plans the slot: several beats share one Redis, as on several machines.
            start = time.perf_counter()
            beat_logs = [folder / f"beat{b}.log" for b in range(args.beats)]
            for b, log in enumerate(beat_logs):
                children.append(start_beat(env, folder, log, f"beat{b}"))
            planned = args.subscribers  # every subscriber is due in this hour
            wait_for(sink, planned, args.timeout)
            elapsed = time.perf_counter() - start
            plans = plan_runs(logs)
            plan_s: float | None = max((s for s, count in plans if count), default=None)
            beats_sending = sum(
                1 for log in beat_logs if b"Sending due task plan" in log.read_bytes()
            )
            queries_per_digest = None
            measured = planned
        else:
            start = time.perf_counter()
            report = plan(db_url, settings, slot)
            plan_s = time.perf_counter() - start
            planned = len(report.digest_ids)

            # The first batch runs here, with every SQL statement counted.
            first = report.digest_ids[: settings.batch_size]
            statements = 0

            def count(*_: object) -> None:
                nonlocal statements
                statements += 1

            event.listen(engine, "before_cursor_execute", count)
            sender = SMTPSender.from_url(env["DIGEST_SMTP_URL"])
            build_and_send(db_url, first, settings, sender, lambda: slot)
            event.remove(engine, "before_cursor_execute", count)
            queries_per_digest = statements / max(len(first), 1)

            rest = report.digest_ids[len(first) :]
            start = time.perf_counter()
            queue_digests(rest, slot.isoformat())
            wait_for(sink, planned, args.timeout)
            elapsed = time.perf_counter() - start
            plans, beats_sending, measured = [], 0, len(rest)
        time.sleep(1)  # anything sent twice would arrive now
        costs = per_digest(before, counters(engine, broker), planned)
        peak = max(tree_peak_rss_mb(c.pid) for c in children[: args.workers])
        received = list(sink.recipients())
        with engine.connect() as conn:
            sent = conn.scalar(select(func.count()).where(Delivery.status == "sent"))

        # The references, on the same messages, to a second sink of the same kind.
        ref_port = free_port()
        sinks.append(start_sink(args.sink, ref_port, folder, env))
        wait_listening(ref_port)
        items = sample(settings, args.reference_sample)
        if not items:
            raise SystemExit("no sent digest to measure the references on")
        naive_per_s = naive_rate(items, settings, ref_port)
        messages = prebuilt(items, settings)
        raw_rounds = [
            raw_rate(messages, settings, ref_port, args.raw_messages)
            for _ in range(args.raw_rounds)
        ]
        raw_per_s = statistics.median(raw_rounds)
        engine.dispose()
    finally:
        for c in children:
            c.terminate()
        for c in children:
            c.wait(timeout=30)
        for each in sinks:
            each.stop()
        if redis_proc is not None:
            redis_proc.terminate()
        if created and args.database_url:
            drop_database(args.database_url, created)

    per_address = Counter(received)
    figures = {
        "subscribers": args.subscribers,
        "workers": args.workers,
        "database": make_url(db_url).get_backend_name(),
        "sink": sink.kind,
        "beats": args.beats,
        "dkim": args.dkim,
        "planned": planned,
        "delivered": len(per_address),
        "duplicates": sum(n - 1 for n in per_address.values()),
        "sent_in_database": sent,
        "seed_s": round(seed_s, 2),
        "plan_s": None if plan_s is None else round(plan_s, 3),
        "slot_s": round(elapsed, 2),
        "digests_per_s": round(measured / elapsed, 1),
        "naive_per_s": round(naive_per_s, 1),
        "raw_smtp_per_s": round(raw_per_s, 1),
        "raw_smtp_rounds": [round(r) for r in raw_rounds],
        "digests_per_s_over_raw": round(measured / elapsed / raw_per_s, 2),
        "digests_per_s_over_naive": round(measured / elapsed / naive_per_s, 1),
        "queries_per_digest": None if queries_per_digest is None else round(queries_per_digest, 2),
        "peak_worker_rss_mb": round(peak, 1),
        **costs,
        "plan_runs": len(plans),
        "beats_sending": beats_sending,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["delivered"] != planned or figures["duplicates"]:
        raise SystemExit(f"FAILED: a digest was not delivered exactly once (logs in {folder})")
    print()
    print(markdown_row(figures))
    shutil.rmtree(folder, ignore_errors=True)  # kept above, for its logs, when a run fails


if __name__ == "__main__":
    main()
