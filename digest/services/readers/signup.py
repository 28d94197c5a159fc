"""Subscribing with double opt-in.

A request from the form creates a pending subscriber (or, for an address already
known, only a consent record) and at most one confirmation email per address per
rate window. Whatever the address's state, the form answers the same, so it cannot
be used to learn who is subscribed. Confirming applies what the request asked for.
Nothing but that confirmation email ever goes to a pending address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digest.config import Settings, secret_key
from digest.db.engine import unit_of_work
from digest.db.models import Consent, ImportJob, ImportProblem, Subscriber, Topic
from digest.domain.consent import recorded_version
from digest.domain.delivery import SENT, Reply, outcome
from digest.mail.dkim import signed
from digest.mail.message import build_message, feedback_id, make_message_id
from digest.mail.sender import Sender
from digest.rendering.confirm import TopicChoice, render_confirmation
from digest.services import limits
from digest.services.readers.choices import Choices, apply_choices
from digest.services.readers.suppressing import suppression_of
from digest.tokens import make_timed_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the consent record keeps it, with the language
    the consent wording was shown in."""

    ip: str | None
    user_agent: str | None
    page: str | None
    shown_in: str = "en"

    def clipped(self) -> Origin:
        return Origin(
            ip=(self.ip or "")[:64] or None,
            user_agent=(self.user_agent or "")[:500] or None,
            page=(self.page or "")[:2000] or None,
            shown_in=self.shown_in,
        )


class Outcome(Enum):
    ACCEPTED = "accepted"  # the same answer whatever happened to the address
    LIMITED = "limited"  # too many attempts: answer 429


@dataclass(frozen=True)
class Request:
    outcome: Outcome
    # The consent whose confirmation email should go out now, if any.
    send_consent_id: int | None = None


def client_allowed(session: Session, ip: str, settings: Settings, now: datetime) -> bool:
    """Count one subscribe attempt from ``ip`` (an IPv6 client by its /64); False when
    it is over the limit."""
    key = limits.limit_key("subscribe-ip", limits.client_key(ip))
    return limits.take(session, key, settings.subscribe_per_ip, now, settings.subscribe_window)


def request_subscription(
    session: Session,
    email: str,
    choices: Choices,
    origin: Origin,
    settings: Settings,
    now: datetime,
) -> Request:
    """Record a request to subscribe ``email`` (already normalised) with ``choices``.

    New address: a pending subscriber with those choices. Known address: its
    subscriber is left as it is until the request is confirmed. Suppressed address:
    nothing is stored or sent. At most one confirmation per address per window."""
    # Taken first: requests for the same address then run one after another, which
    # also keeps them from each claiming the confirmation email below.
    key = limits.limit_key("subscribe-address", email)
    if not limits.take(
        session, key, settings.subscribe_per_address, now, settings.subscribe_window
    ):
        return Request(Outcome.LIMITED)
    if suppression_of(session, email) is not None:
        return Request(Outcome.ACCEPTED)
    sub = session.scalar(select(Subscriber).where(Subscriber.email == email))
    if sub is None:
        try:
            with session.begin_nested():
                sub = Subscriber(email=email, status="pending", created_at=now, name=choices.name)
                session.add(sub)
                session.flush()
        except IntegrityError:
            # A request for the same new address won the race: it is known now.
            sub = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        else:
            apply_choices(session, sub, choices, now)
            sub.next_slot_at = None  # scheduled when confirmed
    origin = origin.clipped()
    consent = Consent(
        subscriber_id=sub.id,
        requested_at=now,
        ip=origin.ip,
        user_agent=origin.user_agent,
        page=origin.page,
        wording_version=recorded_version(origin.shown_in),
        choices=choices.to_json(),
    )
    session.add(consent)
    session.flush()
    already_sent = session.scalar(
        select(func.count()).where(
            Consent.subscriber_id == sub.id,
            Consent.confirmation_sent_at > now - settings.subscribe_window,
        )
    )
    if already_sent:
        return Request(Outcome.ACCEPTED)
    # Claimed now, so a second request racing this one sends nothing.
    consent.confirmation_sent_at = now
    return Request(Outcome.ACCEPTED, consent.id)


def confirm_url(settings: Settings, consent_id: int) -> str:
    token = make_timed_token(secret_key(settings), "confirm", consent_id)
    return f"{settings.base_url}/confirm/{token}"


def send_confirmation(
    database_url: str, consent_id: int, settings: Settings, sender: Sender, now: datetime
) -> Reply | None:
    """Email the confirmation link of one request; None when there is nothing to
    send (confirmed or purged since). A failure releases the claim, so the reader
    can ask again at once."""
    with unit_of_work(database_url) as session:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.confirmed_at is not None:
            return None
        sub = session.get(Subscriber, consent.subscriber_id)
        if sub is None or suppression_of(session, sub.email) is not None:
            return None
        choices = Choices.from_json(consent.choices)
        names = {
            slug: name
            for slug, name in session.execute(
                select(Topic.slug, Topic.name).where(Topic.slug.in_(list(choices.topics)))
            )
        }
        email = render_confirmation(
            settings.brand,
            email=sub.email,
            name=choices.name or sub.name,
            confirm_url=confirm_url(settings, consent.id),
            topics=[TopicChoice(names.get(s, s), f) for s, f in choices.topics.items()],
            hour=choices.hour,
            timezone=choices.timezone,
            weekday=choices.weekday,
            expires_in=settings.confirm_max_age,
            language=choices.language or sub.language or settings.language,
        )
        address = sub.email
    data = build_message(
        from_header=settings.from_header,
        to_addr=address,
        to_name=None,
        subject=email.subject,
        text=email.text,
        html=email.html,
        message_id=make_message_id(settings.from_domain),
        date=now,
        list_id=None,
        unsubscribe_url=None,
        extra_headers=[
            ("Auto-Submitted", "auto-generated"),
            ("Feedback-ID", feedback_id(settings, "confirm")),
        ],
    )
    # Signed like every email, but sent from the From address: a bounce here has no
    # delivery to be matched to.
    data = signed(data, settings)
    with sender.session() as connection:
        reply = connection.send(settings.from_address, address, data)
    if outcome(reply) != SENT:
        log.warning(
            "confirmation for request %s not sent: %s %s", consent_id, reply.code, reply.text
        )
        with unit_of_work(database_url) as session:
            consent = session.get(Consent, consent_id)
            if consent is not None:
                consent.confirmation_sent_at = None
    return reply


class ConfirmState(Enum):
    CONFIRMED = "confirmed"
    ALREADY = "already"  # this request was confirmed before: nothing changes
    GONE = "gone"  # the request or subscriber no longer exists (purged, erased)
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Confirmed:
    state: ConfirmState
    subscriber: Subscriber | None = None
    # The language the request asked for (its pages and email are in it).
    language: str | None = None


def pending_request(session: Session, consent_id: int) -> Confirmed:
    """What confirming request ``consent_id`` would do, without doing it."""
    consent = session.get(Consent, consent_id)
    sub = session.get(Subscriber, consent.subscriber_id) if consent else None
    if consent is None or sub is None:
        return Confirmed(ConfirmState.GONE)
    language = Choices.from_json(consent.choices).language or sub.language
    if consent.confirmed_at is not None:
        return Confirmed(ConfirmState.ALREADY, sub, language)
    if suppression_of(session, sub.email) is not None:
        return Confirmed(ConfirmState.SUPPRESSED, sub, language)
    return Confirmed(ConfirmState.CONFIRMED, sub, language)


def confirm(session: Session, consent_id: int, origin: Origin, now: datetime) -> Confirmed:
    """Confirm request ``consent_id``: the subscriber becomes active with the choices
    it asked for, scheduled from their next slot. Confirming twice changes nothing."""
    state = pending_request(session, consent_id)
    if state.state is not ConfirmState.CONFIRMED:
        return state
    consent = session.get(Consent, consent_id)
    sub = state.subscriber
    assert consent is not None and sub is not None
    origin = origin.clipped()
    consent.confirmed_at = now
    consent.confirmed_ip = origin.ip
    consent.confirmed_user_agent = origin.user_agent
    if sub.status != "active":
        sub.status = "active"
        sub.confirmed_at = now
        sub.unsubscribed_at = None
    sub.paused_until = None
    apply_choices(session, sub, Choices.from_json(consent.choices), now)
    return Confirmed(ConfirmState.CONFIRMED, sub)


@dataclass
class Purged:
    pending: int = 0
    requests: int = 0
    rate_events: int = 0
    imports: int = 0


# How long an import's report of refused rows is kept for its operator to download.
IMPORT_REPORT_AGE = timedelta(days=30)
# No import runs this long: 100,000 rows take well under a minute.
STALE_IMPORT = timedelta(hours=6)


def purge(session: Session, settings: Settings, now: datetime) -> Purged:
    """Forget addresses that never confirmed within ``pending_max_age``, requests to
    change a known subscriber that were never confirmed, old rate-limit counts and
    import reports older than ``IMPORT_REPORT_AGE``."""
    cutoff = now - settings.pending_max_age
    # Only addresses that came through the form: a pending row imported by an
    # operator has no request and is left alone. Age counts from the latest request,
    # so a link sent the day before is never outlived by its address.
    has_request = select(Consent.id).where(Consent.subscriber_id == Subscriber.id)
    recent_request = has_request.where(Consent.requested_at >= cutoff)
    stale = list(
        session.scalars(
            select(Subscriber.id).where(
                Subscriber.status == "pending",
                Subscriber.created_at < cutoff,
                has_request.exists(),
                ~recent_request.exists(),
            )
        )
    )
    report = Purged()
    if stale:
        session.execute(delete(Consent).where(Consent.subscriber_id.in_(stale)))
        for sub in session.scalars(select(Subscriber).where(Subscriber.id.in_(stale))):
            session.delete(sub)
        report.pending = len(stale)
    result = session.execute(
        delete(Consent).where(Consent.confirmed_at.is_(None), Consent.requested_at < cutoff)
    )
    report.requests = int(getattr(result, "rowcount", 0) or 0)
    report.rate_events = limits.forget_before(session, now - settings.subscribe_window)
    report.imports = forget_imports(session, now - IMPORT_REPORT_AGE, now)
    return report


def forget_imports(session: Session, before: datetime, now: datetime) -> int:
    """Drop import jobs started before ``before`` with their reports of refused rows,
    which quote what the file held, addresses included."""
    # A job still "running" long after it began lost its process (a restart during
    # the import): say so on its page; running the file again finishes the work.
    session.execute(
        update(ImportJob)
        .where(ImportJob.status == "running", ImportJob.created_at < now - STALE_IMPORT)
        .values(status="failed", error="the import stopped: its process ended", finished_at=now)
    )
    old = select(ImportJob.id).where(ImportJob.created_at < before)
    session.execute(delete(ImportProblem).where(ImportProblem.job_id.in_(old)))
    result = session.execute(delete(ImportJob).where(ImportJob.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
