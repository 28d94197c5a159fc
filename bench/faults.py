"""A slot through the faults of an operator's bad day, with the real clock.

For each fault, a fresh database is seeded with N confirmed subscribers due now; two
Celery workers (concurrency 2) and beat run against their own Redis server, with
PostgreSQL and the SMTP sink behind TCP proxies that can be cut. Once a third of the
slot is delivered, the fault is injected:

    database       PostgreSQL unreachable for 5 s
    worker-kill    one worker (and its pool) killed with SIGKILL
    redis-restart  the Redis server killed and started again, empty, 2 s later
    smtp-421       every new SMTP session refused with a 421 greeting for 8 s
    two-beats      no fault: two beat processes from the start

The run then waits until every reader has a digest (or gives up after --patience
seconds) and prints, per fault, how many readers got nothing (lost), how many extra
copies went out (duplicated), and how long after the fault ended the last reader's
digest arrived (recovery). It exits 1 when a digest was lost.

    python bench/faults.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
    python bench/faults.py --faults worker-kill,redis-restart --subscribers 2000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proxy import Proxy  # noqa: E402
from bench.seeding import drop_database, fresh_database, seed  # noqa: E402
from bench.sinks import PythonSink  # noqa: E402
from digest.db.migrate import upgrade  # noqa: E402
from digest.embedded import redis_server_command  # noqa: E402
from digest.mail.capture import free_port  # noqa: E402

FAULTS = ("database", "worker-kill", "redis-restart", "smtp-421", "two-beats")
REFUSED = b"421 4.7.0 mx.example.net too busy, try again later\r\n"


@dataclass
class Outcome:
    fault: str
    subscribers: int
    delivered: int
    lost: int
    duplicated: int
    recovery_s: float | None  # after the fault ended; None: not everyone got one
    workers_alive: int


class RedisServer:
    """A Redis server on a TCP port that can be killed and started again, empty."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = redis_server_command(self.folder / "redis.sock", self.folder)
        command[command.index("--port") + 1] = str(self.port)
        self.proc = subprocess.Popen([*command, "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", *args, "--loglevel", "INFO"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so a process and its pool are killed together
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_fault(fault: str, args: argparse.Namespace, folder: Path) -> Outcome:
    db_url, created = fresh_database(args.database_url, folder)
    upgrade(db_url)
    slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # due this hour
    seed(db_url, args.subscribers, 300, slot)
    parsed = make_url(db_url)
    db_proxy = None
    if parsed.get_backend_name() == "postgresql":
        db_proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        db_url = parsed.set(host="127.0.0.1", port=db_proxy.port).render_as_string(False)
    redis = RedisServer(folder)
    redis.start()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    sink = PythonSink(free_port(), folder, base_env)
    smtp_proxy = Proxy("127.0.0.1", sink.port)
    env = {
        **base_env,
        "DIGEST_DATABASE_URL": db_url,
        "DIGEST_BROKER_URL": redis.url,
        "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{smtp_proxy.port}",
        "DIGEST_SECRET_KEY": "bench-faults-secret-key-of-enough-length",
        "DIGEST_DATA_DIR": str(folder),
        "DIGEST_BASE_URL": "https://news.example.org/digest",
        "DIGEST_FROM": "Example News <digest@news.example.org>",
        "DIGEST_RETRY_FIRST_DELAY": str(args.retry_first_delay),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    workers = [
        celery(["worker", "-c", "2", "-n", f"w{i}@%h"], env, folder / f"worker{i}.log")
        for i in range(2)
    ]
    beats = []
    for i in range(2 if fault == "two-beats" else 1):
        beat_dir = folder / f"beat{i}"
        beat_dir.mkdir()
        beats.append(celery(["beat"], {**env, "DIGEST_DATA_DIR": str(beat_dir)}, beat_dir / "log"))
    n = args.subscribers
    try:
        started = time.monotonic()
        while sink.accepted() < n // 3:
            if time.monotonic() - started > 180:
                raise SystemExit(f"{fault}: the slot did not start; see the logs in {folder}")
            time.sleep(0.2)
        inject(fault, db_proxy, smtp_proxy, redis, workers)
        ended = time.monotonic()
        done_at = None
        while time.monotonic() - ended < args.patience:
            if len(set(sink.recipients())) >= n:
                done_at = time.monotonic()
                break
            time.sleep(1)
        time.sleep(3)  # late copies, if any, arrive before the count
        alive = sum(1 for w in workers if w.poll() is None)
    finally:
        for proc in [*beats, *workers]:
            stop(proc)
        sink.stop()
        smtp_proxy.close()
        if db_proxy is not None:
            db_proxy.close()
        redis.kill()
        if created and args.database_url:
            drop_database(args.database_url, created)
    copies = Counter(sink.recipients())
    return Outcome(
        fault=fault,
        subscribers=n,
        delivered=len(copies),
        lost=n - len(copies),
        duplicated=sum(copies.values()) - len(copies),
        recovery_s=None if done_at is None else round(max(0.0, done_at - ended), 1),
        workers_alive=alive,
    )


def inject(
    fault: str,
    db_proxy: Proxy | None,
    smtp_proxy: Proxy,
    redis: RedisServer,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    if fault == "database":
        if db_proxy is None:
            raise SystemExit("the database fault needs --database-url (PostgreSQL)")
        db_proxy.cut()
        time.sleep(5)
        db_proxy.restore()
    elif fault == "worker-kill":
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
    elif fault == "redis-restart":
        redis.kill()
        time.sleep(2)
        redis.start()
    elif fault == "smtp-421":
        smtp_proxy.cut(greeting=REFUSED)
        time.sleep(8)
        smtp_proxy.restore()


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| fault | subscribers | delivered | lost | duplicated | recovery (s) | workers alive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for o in outcomes:
        recovery = "—" if o.recovery_s is None else f"{o.recovery_s:.0f}"
        lines.append(
            f"| {o.fault} | {o.subscribers:,} | {o.delivered:,} | {o.lost} | {o.duplicated} "
            f"| {recovery} | {o.workers_alive} of 2 |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server (else SQLite, no database fault)"
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="comma-separated, of: " + ", ".join(FAULTS)
    )
    parser.add_argument(
        "--patience", type=float, default=420.0, help="seconds to wait for recovery"
    )
    parser.add_argument(
        "--retry-first-delay", type=int, default=300, help="DIGEST_RETRY_FIRST_DELAY for the run"
    )
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args()
    chosen = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FAULTS))
    if unknown:
        parser.error(f"unknown fault {unknown[0]!r}; choose from {', '.join(FAULTS)}")
    outcomes = []
    for fault in chosen:
        with tempfile.TemporaryDirectory(prefix=f"digest-fault-{fault}-") as tmp:
            outcome = run_fault(fault, args, Path(tmp))
        print(json.dumps(asdict(outcome)), flush=True)
        outcomes.append(outcome)
    print(table(outcomes))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    if any(o.lost for o in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
