"""Previewing: the next digest of one subscriber, built by the same selection,
rendering and MIME code as a real send, without storing anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Article, Digest, Subscriber, Topic
from digest.domain.content import DigestContent, Section
from digest.domain.schedule import last_slot_at_or_before, next_slot_after
from digest.domain.selection import Selection
from digest.mail.message import build_message, make_message_id
from digest.rendering import RenderedEmail, render_digest
from digest.services.building import selections_for
from digest.services.composing import article_view, recipient_for
from digest.services.planning import cadence_of, last_window_ends, window_start
from digest.services.subscribers import SubscriberError, normalise_email


class PreviewError(LookupError):
    """No such subscriber, or nothing they could receive."""


@dataclass
class Preview:
    slot_at: datetime
    selection: Selection
    email: RenderedEmail | None
    message: bytes | None


def draft_digest(session: Session, sub: Subscriber, slot_at: datetime) -> Digest:
    """The digest planning would create for ``sub`` at ``slot_at`` (not stored)."""
    cadence = cadence_of(sub)
    weekly = cadence.is_weekly_slot(slot_at)
    daily_end = last_window_ends(session, [sub.id], weekly=False).get(sub.id)
    weekly_end = last_window_ends(session, [sub.id], weekly=True).get(sub.id)
    return Digest(
        id=0,
        subscriber_id=sub.id,
        slot_at=slot_at,
        includes_daily=cadence.has_daily,
        includes_weekly=weekly,
        daily_since=window_start(daily_end, slot_at, "daily") if cadence.has_daily else None,
        weekly_since=window_start(weekly_end, slot_at, "weekly") if weekly else None,
        window_end=slot_at,
    )


def content_of(session: Session, selection: Selection, digest: Digest, tz: str) -> DigestContent:
    ids = selection.article_ids
    found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    topics = {
        t.id: t
        for t in session.scalars(
            select(Topic).where(Topic.id.in_([t for t, _ in selection.sections]))
        )
    }
    return DigestContent(
        sections=tuple(
            Section(topics[t].slug, topics[t].name, tuple(article_view(found[a]) for a in items))
            for t, items in selection.sections
        ),
        slot_at=digest.slot_at,
        timezone=tz,
        weekly=digest.includes_weekly,
    )


def preview_next(database_url: str, settings: Settings, email: str, now: datetime) -> Preview:
    """The digest ``email`` would get at their slot due at ``now`` (if one is due
    right now) or else at their next slot."""
    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise PreviewError(str(exc)) from None
    with unit_of_work(database_url) as session:
        sub = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if sub is None:
            raise PreviewError(f"no subscriber with email {address}")
        cadence = cadence_of(sub)
        slot = last_slot_at_or_before(cadence, now)
        if slot is None or slot != now:
            slot = next_slot_after(cadence, now)
        if slot is None:
            raise PreviewError(f"{address} follows no topic, so gets no digest")
        digest = draft_digest(session, sub, slot)
        selection = selections_for(session, [digest], {sub.id: sub}, settings)[0]
        if selection.empty:
            return Preview(slot, selection, None, None)
        content = content_of(session, selection, digest, sub.timezone)
        recipient = recipient_for(sub, settings)
        rendered = render_digest(content, recipient, brand=settings.brand)
        message = build_message(
            from_header=settings.from_header,
            to_addr=sub.email,
            to_name=sub.name,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html_parts,
            message_id=make_message_id(settings.from_domain),
            date=now,
            list_id=settings.list_id,
            unsubscribe_url=recipient.unsubscribe_url,
        )
        return Preview(slot, selection, rendered, message)
