"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
``DIGEST_TEST_DATABASE_URL`` names one) and settings pointing at it."""

from __future__ import annotations

import dataclasses
import email.policy
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from itertools import count
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from digest.config import Settings, load_settings
from digest.db.engine import get_engine, session_factory, unit_of_work
from digest.db.migrate import upgrade
from digest.db.models import Article, Base, Topic
from digest.embedded import run_redis_server
from digest.mail.capture import free_port
from digest.services.readers.subscribers import SubscriberInput, upsert_subscriber
from digest.services.readers.topics import add_topic

REPO = Path(__file__).resolve().parent.parent

# A reader's signed preferences, unsubscribe or web-view link, token and all.
_READER_LINK = re.compile(rb"(/(?:unsubscribe|preferences|view)/)[A-Za-z0-9_.\-]+")


def as_previewed(data: bytes) -> bytes:
    """What was sent to a reader, with their signed links as a staff preview shows
    them (leading nowhere): a preview is the sent email but for those."""
    return _READER_LINK.sub(rb"\1preview", data)


def message_parts(data: bytes) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """A message's headers and decoded parts, the per-send values (Message-ID, Date,
    the MIME boundary) left out and the reader's links as a preview shows them: what
    a preview and the email sent must share (the links' length changes how the
    encoded parts wrap, so the parts are compared decoded)."""
    msg = message_from_bytes(data, policy=email.policy.default)
    headers = [
        (name, as_previewed(str(value).encode()))
        for name, value in msg.items()
        if name not in ("Message-ID", "Date", "Content-Type")
    ]
    bodies = [
        as_previewed(bytes(part.get_payload(decode=True)))
        for part in msg.walk()
        if not part.is_multipart()
    ]
    return headers, bodies


SHARED = REPO.parent / "shared"


def _shared_or_local(relative: str) -> Path:
    """A corpus path: ``../shared`` beside the repo, else the copy under tests/data."""
    shared = SHARED / relative
    return shared if shared.exists() else REPO / "tests" / "data" / relative


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``once`` (layout and accessibility in a browser, the same whatever
    the database) run on SQLite only: on PostgreSQL they would repeat the same pages."""
    if not os.environ.get("DIGEST_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="marked once: run on SQLite, the page is the same")
    for item in items:
        if item.get_closest_marker("once") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_path():
    return _shared_or_local


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test session."""
    server_url = os.environ.get("DIGEST_TEST_DATABASE_URL")
    if not server_url:
        path = tmp_path_factory.mktemp("db") / "digest.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    # A throw-away database on the server, so runs never see each other's rows.
    name = f"digest_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """The test database, emptied after each test (processes under test commit for real)."""
    yield database_url
    truncate_all(database_url)


def truncate_all(database_url: str) -> None:
    """Delete every row (ids restart), leaving the schema in place."""
    engine = get_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    s = session_factory(db_url)()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for in-process calls: the test database, a test secret, files in tmp."""
    return load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_BASE_URL": "https://news.example.org/digest",
            "DIGEST_FROM": "Example News <digest@news.example.org>",
        }
    )


# --- a real SMTP server ----------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class ScriptedHandler:
    """Accepts mail, unless told to answer an address with a given reply, or to drop
    the connection instead of answering the next DATA."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: list[str] = []  # consumed one per DATA, then 250
        self.drop_next_data = False
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.drop_next_data:
                self.drop_next_data = False
                server.transport.close()
                return "421 closing"
            if self.data_replies:
                return self.data_replies.pop(0)
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 queued"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = ScriptedHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.received)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


# --- Redis as the broker ------------------------------------------------------------


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``DIGEST_TEST_BROKER_URL`` (a Redis server), else a Redis server started here."""
    given = os.environ.get("DIGEST_TEST_BROKER_URL")
    if given:
        yield given
        return
    proc, url = run_redis_server(Path(tempfile.mkdtemp(prefix="digest-redis-")))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def broker(broker_url: str) -> str:
    """The broker, emptied so no test sees another's tasks."""
    client = redis.Redis.from_url(broker_url.replace("redis+socket://", "unix://"))
    client.flushdb()
    client.close()
    return broker_url


# --- the digest command and Celery workers as processes -----------------------------


class Cli:
    """Runs ``digest …`` as a separate process with a fixed environment."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "digest.cli", *args],
            env=self.env,
            cwd=self.cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok and done.returncode != 0:
            raise AssertionError(
                f"digest {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout + done.stderr

    def worker(self, name: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
        log = open(self.cwd / f"worker-{name}.log", "wb")  # noqa: SIM115 - lives with the process
        return subprocess.Popen(
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
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def process_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(values)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, smtp_server: SmtpServer, broker: str) -> dict[str, str]:
    return process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_BROKER_URL=broker,
        DIGEST_SMTP_URL=smtp_server.url,
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL="https://news.example.org/digest",
        DIGEST_FROM="Example News <digest@news.example.org>",
    )


@pytest.fixture
def cli(cli_env: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(cli_env, tmp_path)


# --- rows written the way the product writes them -----------------------------------

_ids = count(1)


class World:
    """Writes rows the way the product does, each call in its own transaction."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def topics(self, *slugs: str) -> None:
        with unit_of_work(self.db_url) as s:
            for slug in slugs:
                add_topic(s, slug, slug.title())

    def article(
        self, slug: str, published_at: datetime, topics: Iterable[str], **fields: object
    ) -> int:
        with unit_of_work(self.db_url) as s:
            rows = s.query(Topic).filter(Topic.slug.in_(list(topics))).all()
            article = Article(
                guid=f"urn:test:{slug}:{next(_ids)}",
                url=f"https://news.example.org/{slug}",
                title=f"Story {slug}",
                summary=f"<p>About {slug}.</p>",
                published_at=published_at,
                ingested_at=published_at,
                updated_at=published_at,
                topics=rows,
                **fields,
            )
            s.add(article)
            s.flush()
            return article.id

    def subscriber(
        self,
        email: str,
        topics: str,
        now: datetime,
        *,
        timezone: str = "UTC",
        hour: int = 7,
        frequency: str = "daily",
        weekday: str = "mon",
    ) -> int:
        with unit_of_work(self.db_url) as s:
            sub, _ = upsert_subscriber(
                s,
                SubscriberInput(email, topics.split(","), frequency, timezone, hour, weekday),
                confirmed=True,
                now=now,
            )
            return sub.id


@pytest.fixture
def world(db_url: str) -> World:
    return World(db_url)


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return dataclasses.replace(settings, smtp_url=smtp_server.url)
