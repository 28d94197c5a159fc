"""Real SMTP relays for the sending-limit tests: each notes when every message
arrives, and can be told to turn MAIL FROM away or to answer RCPT TO by a rule."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from digest.config import Settings, load_settings
from digest.mail.capture import free_port
from tests.conftest import ScriptedHandler


class TimedHandler(ScriptedHandler):
    """Accepts mail like the shared test relay and keeps when each message arrived
    (``time.monotonic()`` as its DATA was taken) and for whom."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []
        self.mail_reply: str | None = None  # answered to every MAIL FROM when set
        self.rcpt_rule: Callable[[int], str | None] | None = None  # by RCPT number
        self.mails = 0  # MAIL FROM commands, answered or turned away
        self.rcpts = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.mails += 1
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        with self.lock:
            self.rcpts += 1
            reply = self.rcpt_rule(self.rcpts) if self.rcpt_rule else None
        if reply:
            return reply
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            with self.lock:
                self.arrivals.append((time.monotonic(), envelope.rcpt_tos[0]))
        return reply


class TimedServer:
    def __init__(self) -> None:
        self.handler = TimedHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def recipients(self) -> list[str]:
        return [r for received in self.handler.received for r in received.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while len(self.handler.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.handler.received)


@contextmanager
def timed_servers(count: int = 1) -> Iterator[list[TimedServer]]:
    """``count`` relays, running until the block ends."""
    servers = [TimedServer() for _ in range(count)]
    for server in servers:
        server.controller.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.controller.stop()


def busiest_window(arrivals: Sequence[float], seconds: float = 1.0) -> int:
    """The most arrivals in any window of ``seconds`` (windows starting at an arrival
    are the fullest ones)."""
    times = sorted(arrivals)
    most, end = 0, 0
    for start, at in enumerate(times):
        while end < len(times) and times[end] < at + seconds:
            end += 1
        most = max(most, end - start)
    return most


def closed_port() -> int:
    """A local port nothing listens on."""
    return free_port()


def settings_for(settings: Settings, broker: str, **env: str) -> Settings:
    """``settings`` read again from ``DIGEST_*`` variables, with ``env`` added: the
    sending settings go through the same parsing as in production."""
    return load_settings(
        {
            "DIGEST_DATABASE_URL": settings.database_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
            "DIGEST_DATA_DIR": str(settings.data_dir),
            "DIGEST_BASE_URL": settings.base_url,
            "DIGEST_FROM": settings.from_header,
            "DIGEST_BROKER_URL": broker,
            **env,
        }
    )
