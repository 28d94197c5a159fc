"""The sign-up and sign-in limits hold when many requests arrive at the same moment,
and count an IPv6 client by its /64 network."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.services.console import admins
from digest.services.readers import signup
from digest.services.readers.choices import Choices

T = TypeVar("T")
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
CHOICES = Choices(topics={"tech": "daily"}, hour=7, timezone="UTC", weekday=0)


def at_once(n: int, call: Callable[[int], T]) -> list[T]:
    """``call(0)`` … ``call(n - 1)``, each in its own thread, released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def subscribe(db_url: str, settings: Settings, email: str, ip: str) -> signup.Request:
    with unit_of_work(db_url) as session:
        return signup.request_subscription(
            session, email, CHOICES, signup.Origin(ip, None, None), settings, NOW
        )


def client_allowed(db_url: str, settings: Settings, ip: str) -> bool:
    with unit_of_work(db_url) as session:
        return signup.client_allowed(session, ip, settings, NOW)


def sign_in(db_url: str, email: str, password: str, client: str) -> admins.SignIn:
    with unit_of_work(db_url) as session:
        return admins.sign_in(session, email, password, client, NOW)


def test_concurrent_subscribes_of_one_address_accept_only_the_limit(
    world, db_url, settings
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    assert settings.subscribe_per_address == 3
    results = at_once(9, lambda i: subscribe(db_url, settings, "same@example.org", f"192.0.2.{i}"))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(signup.Outcome.ACCEPTED) == 3
    assert outcomes.count(signup.Outcome.LIMITED) == 6
    # One confirmation email per address per window, however the requests interleave.
    assert sum(r.send_consent_id is not None for r in results) == 1
    # The window is full: a later request is refused too.
    assert subscribe(db_url, settings, "same@example.org", "192.0.2.99").outcome is (
        signup.Outcome.LIMITED
    )


def test_concurrent_subscribes_from_one_client_accept_only_the_limit(db_url, settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.subscribe_per_ip == 10
    allowed = at_once(25, lambda _: client_allowed(db_url, settings, "198.51.100.7"))
    assert allowed.count(True) == 10
    assert not client_allowed(db_url, settings, "198.51.100.7")
    assert client_allowed(db_url, settings, "198.51.100.8")


def test_concurrent_failed_sign_ins_check_only_the_limit_of_passwords(
    db_url,
) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db_url) as session:
        admins.create_admin(session, "ops@example.org", "the right password", "operator", NOW)
    attempts = at_once(
        12, lambda i: sign_in(db_url, "ops@example.org", "a wrong guess", f"203.0.113.{i}")
    )
    assert [a.user for a in attempts] == [None] * 12
    assert sum(not a.refused for a in attempts) == admins.SIGN_IN_PER_ADDRESS
    # Those failures lock the address for the window, even for the right password.
    assert sign_in(db_url, "ops@example.org", "the right password", "203.0.113.99").refused


def test_concurrent_sign_ins_that_succeed_count_nothing(
    db_url,
) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db_url) as session:
        admins.create_admin(session, "ops@example.org", "the right password", "operator", NOW)
    attempts = at_once(
        8, lambda i: sign_in(db_url, "ops@example.org", "the right password", f"203.0.113.{i}")
    )
    assert all(a.user is not None and not a.refused for a in attempts)
    failures = [
        sign_in(db_url, "ops@example.org", "a wrong guess", "203.0.113.50")
        for _ in range(admins.SIGN_IN_PER_ADDRESS)
    ]
    assert not any(f.refused for f in failures)
    assert sign_in(db_url, "ops@example.org", "a wrong guess", "203.0.113.50").refused


def test_addresses_of_one_ipv6_network_share_one_subscribe_limit(db_url, settings) -> None:  # type: ignore[no-untyped-def]
    # Sixteen addresses a client in one /64 may pick at will, from ::1 to ::f001.
    addresses = [f"2001:db8::{i:x}" for i in range(1, 0x10000, 0x1000)]
    allowed = [client_allowed(db_url, settings, a) for a in addresses]
    assert allowed == [True] * 10 + [False] * 6
    # The same address written out in full is the same client.
    assert not client_allowed(db_url, settings, "2001:0db8:0000:0000:0000:0000:0000:abcd")
    # The next /64 is another client.
    assert client_allowed(db_url, settings, "2001:db8:0:1::1")


def test_an_ipv4_client_counts_the_same_written_as_ipv6(db_url, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert client_allowed(db_url, settings, "192.0.2.1")
        assert client_allowed(db_url, settings, "::ffff:192.0.2.1")
    assert not client_allowed(db_url, settings, "192.0.2.1")
    assert not client_allowed(db_url, settings, "::ffff:c000:201")
    # IPv4 addresses are not grouped: the next one is another client.
    assert client_allowed(db_url, settings, "192.0.2.2")


def test_failed_sign_ins_from_one_ipv6_network_share_one_limit(
    db_url,
) -> None:  # type: ignore[no-untyped-def]
    for i in range(admins.SIGN_IN_PER_IP):
        attempt = sign_in(db_url, f"guess{i}@example.org", "a wrong guess", f"2001:db8::{i + 1:x}")
        assert not attempt.refused, i
    assert sign_in(db_url, "another@example.org", "a wrong guess", "2001:db8::beef").refused
    assert not sign_in(db_url, "another@example.org", "a wrong guess", "2001:db8:0:1::1").refused
