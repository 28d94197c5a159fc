"""Two beats against one Redis: only the lock holder sends; the other takes over
when the holder dies."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.conftest import stop
from workers.beat import LOCK_KEY

TTL = 3  # seconds; the beats renew every second


def start_beat(env: dict[str, str], folder: Path, name: str) -> subprocess.Popen[bytes]:
    log = open(folder / f"beat-{name}.log", "wb")  # noqa: SIM115 - lives with the process
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
            str(folder / f"schedule-{name}"),
        ],
        env={**env, "DIGEST_BEAT_LOCK_TTL": str(TTL)},
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def plan_messages(client: redis.Redis) -> int:
    """digest.plan tasks waiting in the broker's queue."""
    tasks = [json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1)]
    return tasks.count("digest.plan")


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_second_beat_sends_nothing_until_the_first_dies(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    client = redis.Redis.from_url(
        cli_env["DIGEST_BROKER_URL"].replace("redis+socket://", "unix://")
    )
    first = start_beat(cli_env, tmp_path, "first")
    second = None
    try:
        assert wait_until(lambda: plan_messages(client) == 1, 30), "the first beat sent no plan"
        holder = client.get(LOCK_KEY)
        assert holder is not None and f":{first.pid}:".encode() in holder

        second = start_beat(cli_env, tmp_path, "second")
        # Several renewals and several of the second beat's ticks go by.
        assert not wait_until(lambda: plan_messages(client) > 1, 3 * TTL)
        assert client.get(LOCK_KEY) == holder
        assert b"beat lock held by" in (tmp_path / "beat-second.log").read_bytes()

        first.kill()  # no clean release: the lock has to expire
        first.wait()
        assert wait_until(lambda: plan_messages(client) == 2, 4 * TTL), "no takeover"
        taken = client.get(LOCK_KEY)
        assert taken is not None and f":{second.pid}:".encode() in taken
    finally:
        if first.poll() is None:
            stop(first)
        if second is not None:
            stop(second)
    # A beat that stops cleanly gives the lock back at once.
    assert client.get(LOCK_KEY) is None
