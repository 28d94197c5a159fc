"""Fault tests: real services behind a proxy that can be cut, real processes that can
be killed. They need a database reached over TCP, so they run on PostgreSQL
(``DIGEST_TEST_DATABASE_URL``) and are skipped on the embedded SQLite: CI runs them in
its PostgreSQL pass."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from bench.proxy import Proxy
from digest.config import Settings
from tests.conftest import ScriptedHandler, SmtpServer


class SlowHandler(ScriptedHandler):
    """Accepts mail after a pause per message, so a slot takes long enough to be
    interrupted in the middle."""

    delay = 0.02

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.handler = SlowHandler()
    server.controller = Controller(server.handler, hostname="127.0.0.1", port=server.port)
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def db_proxy(db_url: str) -> Iterator[Proxy]:
    """A proxy in front of the test's PostgreSQL database."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("fault tests cut a database reached over TCP: run them on PostgreSQL")
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def proxied_url(db_url: str, db_proxy: Proxy) -> str:
    """The test database's URL, through the proxy."""
    url = make_url(db_url).set(host="127.0.0.1", port=db_proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def fault_settings(
    settings: Settings, proxied_url: str, slow_smtp: SmtpServer, broker: str
) -> Settings:
    """Settings as a worker has them: the database through the proxy, the slow SMTP
    server, and the broker's Redis (which holds the reply journal)."""
    return dataclasses.replace(
        settings, database_url=proxied_url, smtp_url=slow_smtp.url, broker_url=broker
    )
