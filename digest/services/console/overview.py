"""The dashboard's answer to "is everything fine?": readers and their growth, today's
sending against the last 7 days, bounce and complaint rates against the limits
mailbox providers enforce, feed health, and the alerts that follow from them; for a
new installation, the next step instead.

Rates are per UTC day, like Gmail's Postmaster Tools: complaints received that day
(a mail client's one-click unsubscribe is not one) divided by digests sent that day;
hard bounces that day divided by digests sent plus hard bounces (a refusal at the SMTP
exchange never counts as sent). Alerts use the last 7 days together, so that one
small day cannot raise one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.bounces.arf import UNSUBSCRIBE_REQUEST
from digest.db.models import BounceEvent, Feed, Subscriber, Topic
from digest.services.console.feeds import FeedHealth, feed_health
from digest.services.console.reporting import utc_day

# Gmail's bulk-sender rules (February 2024): keep the spam complaint rate under 0.1 %
# and never let it reach 0.3 %; Yahoo asks the same. Bounces have no published limit
# from the mailbox providers; 2 % is the ceiling commonly advised for list hygiene.
COMPLAINT_TARGET = 0.001
COMPLAINT_LIMIT = 0.003
BOUNCE_LIMIT = 0.02
WEEK = 7


@dataclass(frozen=True)
class Alert:
    level: str  # serious | warning
    text: str
    link: str | None = None


@dataclass
class Overview:
    active: int
    growth: list[dict[str, Any]]  # per day: day, new, confirmed, left
    week: dict[str, int]  # new, confirmed, left, net over the last 7 days
    today: dict[str, int]  # sent, deferred, failed, bounced today (UTC)
    week_average: dict[str, float]  # the same, per day over the 7 days before today
    rates: list[dict[str, Any]]  # per day: day, sent, complaints, bounces, complaint_rate…
    complaint_rate: float | None  # the last 7 days together; None: nothing sent
    bounce_rate: float | None
    feeds: list[FeedHealth]
    feed_states: dict[str, int]
    alerts: list[Alert] = field(default_factory=list)
    first_steps: list[Alert] = field(default_factory=list)


def _per_day(
    session: Session, column: Any, first: datetime, end: datetime, *where: Any
) -> dict[str, int]:
    day = utc_day(session, column)
    rows = session.execute(
        select(day, func.count()).where(column >= first, column < end, *where).group_by(day)
    )
    return {d: int(n) for d, n in rows}


def _growth(
    session: Session, days: list[str], first: datetime, end: datetime
) -> list[dict[str, Any]]:
    new = _per_day(session, Subscriber.created_at, first, end)
    confirmed = _per_day(session, Subscriber.confirmed_at, first, end)
    left = _per_day(session, Subscriber.unsubscribed_at, first, end)
    return [
        {"day": d, "new": new.get(d, 0), "confirmed": confirmed.get(d, 0), "left": left.get(d, 0)}
        for d in days
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _rates(
    session: Session, outcomes: list[dict[str, Any]], first: datetime, end: datetime
) -> list[dict[str, Any]]:
    complaints = _per_day(
        session,
        BounceEvent.received_at,
        first,
        end,
        BounceEvent.kind == "complaint",
        # A mail client's one-click unsubscribe arrives as a report too: not a complaint.
        func.coalesce(BounceEvent.reporter, "") != UNSUBSCRIBE_REQUEST,
    )
    rows = []
    for o in outcomes:
        sent, bounced, received = o["sent"], o["bounced"], complaints.get(o["day"], 0)
        rows.append(
            {
                "day": o["day"],
                "sent": sent,
                "complaints": received,
                "bounces": bounced,
                "complaint_rate": _rate(received, sent),
                "bounce_rate": _rate(bounced, sent + bounced),
            }
        )
    return rows


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def _alerts(view: Overview, sending_paused: bool) -> list[Alert]:
    alerts = []
    if sending_paused:
        alerts.append(Alert("serious", "Sending is paused: no digest goes out.", "#sending-state"))
    if view.complaint_rate is not None and view.complaint_rate >= COMPLAINT_LIMIT:
        alerts.append(
            Alert(
                "serious",
                f"Complaint rate {_percent(view.complaint_rate)} over the last 7 days: at "
                f"{_percent(COMPLAINT_LIMIT)} Gmail and Yahoo start refusing or filtering "
                "our mail. Look at who complains and slow down sending to them.",
                "#rates",
            )
        )
    elif view.complaint_rate is not None and view.complaint_rate >= COMPLAINT_TARGET:
        alerts.append(
            Alert(
                "warning",
                f"Complaint rate {_percent(view.complaint_rate)} over the last 7 days: above "
                f"Gmail's {_percent(COMPLAINT_TARGET)} target.",
                "#rates",
            )
        )
    if view.bounce_rate is not None and view.bounce_rate >= BOUNCE_LIMIT:
        alerts.append(
            Alert(
                "warning",
                f"Bounce rate {_percent(view.bounce_rate)} over the last 7 days (above "
                f"{_percent(BOUNCE_LIMIT)}): old or mistyped addresses are being mailed.",
                "#rates",
            )
        )
    average = view.week_average.get("deferred", 0.0)
    if view.today.get("deferred", 0) >= 10 and view.today["deferred"] > 3 * average:
        alerts.append(
            Alert(
                "warning",
                f"{view.today['deferred']} deliveries deferred today, against "
                f"{average:.1f} a day last week: a relay is slowing us down.",
                "/admin/deliveries?status=deferred",
            )
        )
    for feed in view.feeds:
        if feed.state == "failing":
            alerts.append(
                Alert(
                    "warning",
                    f"Feed {feed.title or feed.url} failed {feed.failures_in_row} times in a "
                    f"row: {feed.last_error or 'no answer'}.",
                    f"/admin/feeds#feed-{feed.id}",
                )
            )
        elif feed.state == "silent":
            alerts.append(
                Alert(
                    "warning",
                    f"Feed {feed.title or feed.url} has published nothing for longer than usual.",
                    f"/admin/feeds#feed-{feed.id}",
                )
            )
    return alerts


def _first_steps(session: Session, active: int) -> list[Alert]:
    steps = []
    if session.scalar(select(func.count()).select_from(Topic)) == 0:
        steps.append(
            Alert("step", "No topics yet — add one: readers follow topics.", "/admin/topics")
        )
    if session.scalar(select(func.count()).select_from(Feed)) == 0:
        steps.append(
            Alert(
                "step", "No feeds yet — add one, or push articles through the API.", "/admin/feeds"
            )
        )
    if session.scalar(select(func.count()).select_from(Subscriber)) == 0:
        steps.append(
            Alert(
                "step",
                "No subscribers yet — import a list, or share the subscribe page.",
                "/admin/imports",
            )
        )
    elif active == 0:
        steps.append(
            Alert(
                "step",
                "No active subscriber yet: readers become active when they confirm.",
                "/admin/subscribers?status=pending",
            )
        )
    return steps


def overview(
    session: Session, now: datetime, outcomes: list[dict[str, Any]], *, sending_paused: bool
) -> Overview:
    """The dashboard's figures for the UTC days of ``outcomes`` (from
    :func:`reporting.daily_outcomes`, oldest first, today last)."""
    days = [o["day"] for o in outcomes]
    first = datetime.combine(datetime.fromisoformat(days[0]).date(), time(), UTC)
    end = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    active = (
        session.scalar(
            select(func.count()).select_from(Subscriber).where(Subscriber.status == "active")
        )
        or 0
    )
    growth = _growth(session, days, first, end)
    last_week = growth[-WEEK:]
    week = {k: sum(d[k] for d in last_week) for k in ("new", "confirmed", "left")}
    week["net"] = week["confirmed"] - week["left"]
    kinds = ("sent", "deferred", "failed", "bounced")
    before = outcomes[-WEEK - 1 : -1]
    rates = _rates(session, outcomes, first, end)
    recent = rates[-WEEK:]
    sent = sum(r["sent"] for r in recent)
    bounces = sum(r["bounces"] for r in recent)
    feeds = feed_health(session, now)
    states: dict[str, int] = {}
    for f in feeds:
        states[f.state] = states.get(f.state, 0) + 1
    view = Overview(
        active=active,
        growth=growth,
        week=week,
        today={k: outcomes[-1][k] for k in kinds},
        week_average={k: sum(o[k] for o in before) / max(1, len(before)) for k in kinds},
        rates=rates,
        complaint_rate=_rate(sum(r["complaints"] for r in recent), sent),
        bounce_rate=_rate(bounces, sent + bounces),
        feeds=feeds,
        feed_states=states,
    )
    view.alerts = _alerts(view, sending_paused)
    view.first_steps = _first_steps(session, active)
    return view
