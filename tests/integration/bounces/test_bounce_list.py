"""``digest bounces list`` as a process: each event's reason in its own column, and
``--reason`` listing one reason's events, refused with the known reasons when it is
not one of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import Cli, World
from tests.integration.services.bounce_events import SENDER_OUTCOME, add_event

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
# when, kind, reason, recipient, status, [matched by] what was done
LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d) (\S+) +(\S+) +(\S+) +(\S+) +\[(\S+)\] (.+)$", re.MULTILINE
)


def listed(out: str) -> list[tuple[str, ...]]:
    return LINE.findall(out)


def test_the_list_shows_each_events_reason_and_filters_by_it(
    cli: Cli, world: World, db_url: str
) -> None:
    world.topics("tech")
    ana = world.subscriber("ana@example.org", "tech", T0 - timedelta(days=30))
    add_event(
        db_url,
        T0,
        "user_unknown",
        kind="hard",
        recipient="ana@example.org",
        subscriber_id=ana,
        status="5.1.1",
        matched_by="verp",
        outcome="suppressed: hard bounce 5.1.1 (user_unknown)",
    )
    # A DMARC failure report about our mail, matched to nobody.
    add_event(
        db_url,
        T0 + timedelta(hours=1),
        "auth_failure",
        kind="not-bounce",
        source="mailbox",
        reporter="dmarc-reports.example.com",
    )
    # The relay refused our sending IP during the SMTP conversation.
    add_event(
        db_url,
        T0 + timedelta(hours=2),
        "blocked",
        kind="soft",
        source="relay",
        recipient="ben@example.net",
        status="5.7.1",
        matched_by="verp",
    )
    add_event(db_url, T0 - timedelta(days=1), None, kind="soft", recipient="cy@example.org")

    everything = listed(cli("bounces", "list"))
    assert everything == [
        (
            "2026-05-04 11:30",
            "soft",
            "blocked",
            "ben@example.net",
            "5.7.1",
            "verp",
            SENDER_OUTCOME,
        ),
        ("2026-05-04 10:30", "not-bounce", "auth_failure", "-", "-", "none", SENDER_OUTCOME),
        (
            "2026-05-04 09:30",
            "hard",
            "user_unknown",
            "ana@example.org",
            "5.1.1",
            "verp",
            "suppressed: hard bounce 5.1.1 (user_unknown)",
        ),
        ("2026-05-03 09:30", "soft", "-", "cy@example.org", "-", "none", "recorded"),
    ]

    # Written as the docs write it, or with hyphens and capitals.
    for spelling in ("auth_failure", "Auth-Failure"):
        only = listed(cli("bounces", "list", "--reason", spelling))
        assert [row[2] for row in only] == ["auth_failure"]
    assert listed(cli("bounces", "list", "--kind", "not-bounce")) == [everything[1]]
    both = cli("bounces", "list", "--reason", "user_unknown", "--email", "ANA@example.org")
    assert listed(both) == [everything[2]]
    none = cli("bounces", "list", "--reason", "mailbox_full")
    assert listed(none) == [] and "no bounce events" in none

    refused = cli("bounces", "list", "--reason", "mailbox_ful", ok=False)
    assert "Invalid value for '--reason'" in refused
    assert "'mailbox_ful' is not a bounce reason" in refused
    assert "user_unknown, host_unknown, has_moved, mailbox_full" in refused
