"""Which delivery and subscriber a bounce is about (see :mod:`digest.services.bounces.handling`
for the order and why a match by address alone is trusted less)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.bounces.bounce import Bounce
from digest.config import Settings, secret_key
from digest.db.models import Consent, Delivery, Subscriber
from digest.mail.verp import delivery_of_token

# A report matched by its address alone counts only if we mailed it this recently.
RECENT_MAIL = timedelta(days=30)
BY_VERP, BY_HEADER, BY_MESSAGE_ID, BY_RECIPIENT, UNMATCHED = (
    "verp",
    "header",
    "message-id",
    "recipient",
    "none",
)
# These tie a report to a message digest sent (HMAC-checked tokens, random ids).
TIED = (BY_VERP, BY_HEADER, BY_MESSAGE_ID)


@dataclass(frozen=True)
class Match:
    how: str  # one of BY_* or UNMATCHED
    delivery: Delivery | None = None
    subscriber: Subscriber | None = None


def find(session: Session, settings: Settings, bounce: Bounce) -> Match:
    """The delivery and subscriber ``bounce`` is about, by the first of: its VERP
    token, its quoted X-Digest-Delivery header, its quoted Message-ID, its address."""
    secret = secret_key(settings)
    for how, ref in ((BY_VERP, bounce.verp_token), (BY_HEADER, bounce.delivery_ref)):
        delivery_id = delivery_of_token(ref, secret) if ref else None
        delivery = session.get(Delivery, delivery_id) if delivery_id else None
        if delivery is not None:
            return Match(how, delivery, session.get(Subscriber, delivery.subscriber_id))
    message_id = _message_id(bounce.message_id)
    if message_id is not None:
        delivery = session.scalar(
            select(Delivery)
            .where(Delivery.message_id == message_id)
            .order_by(Delivery.id.desc())
            .limit(1)
        )
        if delivery is not None:
            return Match(BY_MESSAGE_ID, delivery, session.get(Subscriber, delivery.subscriber_id))
    subscriber = subscriber_by_address(session, bounce.recipient)
    if subscriber is not None:
        return Match(BY_RECIPIENT, None, subscriber)
    return Match(UNMATCHED)


def _message_id(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    return text if text.startswith("<") else f"<{text}>"


def subscriber_by_address(session: Session, address: str | None) -> Subscriber | None:
    """The subscriber with ``address``; reports lower-case addresses, so a subscriber
    stored with capitals in the local part is found too."""
    if not address or "@" not in address:
        return None
    exact = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if exact is not None:
        return exact
    return session.scalar(
        select(Subscriber)
        .where(func.lower(Subscriber.email) == address.lower())
        .order_by(Subscriber.id)
        .limit(1)
    )


def mailed_recently(session: Session, subscriber: Subscriber, at: datetime) -> bool:
    """Whether a digest or a confirmation email went to ``subscriber`` lately."""
    since = at - RECENT_MAIL
    digest = select(Delivery.id).where(
        Delivery.subscriber_id == subscriber.id, Delivery.sent_at > since
    )
    confirmation = select(Consent.id).where(
        Consent.subscriber_id == subscriber.id, Consent.confirmation_sent_at > since
    )
    return session.scalar(digest.union_all(confirmation).limit(1)) is not None
