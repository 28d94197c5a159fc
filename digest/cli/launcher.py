"""``digest up``: web, the worker, the feeds worker and beat as child processes sharing
one configuration, each started again when it exits."""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.config import Settings
from digest.embedded import broker_url, runtime_dir, stop_embedded_redis
from digest.mail.capture import CaptureServer

# A child that exits is started again, unless it has exited this many times within
# RESTART_WINDOW seconds: then something is wrong that restarting does not mend, and
# everything stops with the child's log named.
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]
    exits: list[float] = field(default_factory=list)  # monotonic times of recent exits

    def restart(self) -> None:
        self.process = _start(self.args, self.env, self.log)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)


def _spawn(name: str, args: list[str], env: dict[str, str], log: Path) -> Child:
    return Child(name, args, env, log, _start(args, env, log))


def supervise(child: Child, now: float, say: Callable[[str], None] = click.echo) -> bool:
    """Start ``child`` again if it exited; False when it exited too often to go on."""
    code = child.process.poll()
    if code is None:
        return True
    child.exits = [t for t in child.exits if now - t < RESTART_WINDOW] + [now]
    if len(child.exits) > MAX_RESTARTS:
        say(
            f"{child.name} exited ({code}) {len(child.exits)} times in "
            f"{RESTART_WINDOW / 60:.0f} minutes; stopping (see {child.log})"
        )
        return False
    say(f"{child.name} exited ({code}); starting it again (see {child.log})")
    child.restart()
    return True


def _worker(python: str, queue: str) -> list[str]:
    """A Celery worker consuming ``queue``, named after it (two workers on one machine
    need different names)."""
    return [
        python,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "2",
        "--queues",
        queue,
        "--hostname",
        f"{queue}@%h",
    ]


def run_all(settings: Settings, *, sample_data: bool, host: str, port: int) -> None:
    """Start everything, print where to look, and stop everything on Ctrl-C."""
    from digest.services.console import sample

    folder = runtime_dir(settings)
    env = dict(os.environ)
    env["DIGEST_DATABASE_URL"] = settings.database_url
    env["DIGEST_BROKER_URL"] = broker_url(settings)
    capture = None
    if settings.smtp_url is None:
        capture = CaptureServer(settings.outbox_dir)
        capture.start()
        env["DIGEST_SMTP_URL"] = capture.url
    # What the children are told beyond the environment they inherit; the commands
    # printed below repeat it, so that what they send is what the service sends.
    overrides: dict[str, str] = {}
    if settings.base_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        overrides["DIGEST_BASE_URL"] = f"http://{host}:{port}"
        settings = dataclasses.replace(settings, base_url=overrides["DIGEST_BASE_URL"])
    if sample_data and not settings.brand.postal_address:
        overrides["DIGEST_POSTAL_ADDRESS"] = sample.SAMPLE_POSTAL_ADDRESS
        brand = dataclasses.replace(settings.brand, postal_address=sample.SAMPLE_POSTAL_ADDRESS)
        settings = dataclasses.replace(settings, brand=brand)
    env.update(overrides)
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in overrides.items())
    now = datetime.now(UTC)
    notes: list[str] = [
        "Digests go out at each subscriber's local hour; to see one now:",
        f"  {prefix}digest preview ana@example.com --format text",
    ]
    if sample_data:
        click.echo(f"sample data: {sample.load_sample_data(settings, now)}")
        slot = sample.first_slot(settings, now)
        if slot is not None:
            where = " (they land in the outbox)" if capture else ""
            notes += [
                f"To send the sample digests of the first slot now{where}:",
                f"  {prefix}digest run --now {slot.isoformat()}",
            ]
    if not settings.brand.postal_address:
        notes.append(
            "warning: DIGEST_POSTAL_ADDRESS is not set. Bulk email must show the sender's "
            "postal address (CAN-SPAM and most national laws); set it before mailing readers."
        )
    accounts = sample.sample_admins(settings, now) if sample_data else []
    python = sys.executable
    children = [
        _spawn(
            "web",
            # `digest web`: uvicorn with a deadline for headers and a connection cap.
            [python, "-m", "digest.cli", "web", "--host", host, "--port", str(port)],
            env,
            folder / "web.log",
        ),
        _spawn("worker", _worker(python, "celery"), env, folder / "worker.log"),
        # Feeds are polled by a worker of their own, so sending never waits for one.
        _spawn("feeds worker", _worker(python, "feeds"), env, folder / "feeds-worker.log"),
        _spawn(
            "beat",
            [python, "-m", "celery", "-A", "workers", "beat", "--loglevel", "INFO"],
            env,
            folder / "beat.log",
        ),
    ]
    click.echo(
        "\n".join(
            [
                "digest is up:",
                f"  web        http://{host}:{port}/  (health: /healthz)",
                f"  console    http://{host}:{port}/admin",
                *_accounts(accounts),
                f"  database   {settings.database_url}",
                f"  broker     {env['DIGEST_BROKER_URL']}",
                f"  smtp       {env['DIGEST_SMTP_URL']}"
                + (f"  → .eml files in {settings.outbox_dir.resolve()}" if capture else ""),
                f"  logs       {folder.resolve()}/{{web,worker,feeds-worker,beat}}.log",
                *notes,
                "Press Ctrl-C to stop.",
            ]
        )
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:
            for child in children:
                if not stopping and not supervise(child, time.monotonic()):
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children:
            if child.process.poll() is None:
                child.process.terminate()
        for child in children:
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.process.kill()
        if capture is not None:
            capture.stop()
        if settings.broker_url is None:
            stop_embedded_redis(settings)
        click.echo("stopped")


def _accounts(accounts: list[tuple[str, str, str | None]]) -> list[str]:
    """How to sign in to the console: the sample accounts, or how to make one."""
    if not accounts:
        return ["             (make an account: digest admin create EMAIL --role operator)"]
    lines = []
    for email, role, password in accounts:
        if password is None:
            lines.append(f"             {role:<9} {email}  (exists: its password is unchanged)")
        else:
            lines.append(
                f"             {role:<9} {email}  password {password}  (shown once: copy it now)"
            )
    return lines
