"""Previewing: the digest a subscriber (or a set of topics) gets at a slot, built by
the planner's window, the builder's selection and the sender's rendering and MIME
code, without storing anything; with the reason every nearby article is in or out.

The preview of a subscriber's slot renders the same bytes as the send of that slot
would, as long as nothing changes in between (new articles, an edit, an earlier digest
sent): only the Message-ID, the Date and the MIME boundary differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Digest, SentArticle, Subscriber, Topic
from digest.domain.content import DigestContent, Recipient
from digest.domain.delivery import why_not_send
from digest.domain.schedule import zone
from digest.domain.selection import Candidate, Selection, TopicWindow, select_articles
from digest.mail.message import make_message_id, quoted_printable
from digest.rendering import RenderedEmail, render_digest
from digest.rendering.checks import Check, check_message
from digest.services.editorial.reasons import (
    NEARBY,
    Case,
    TopicExplained,
    reasons_for,
)
from digest.services.editorial.slots import preview_slot
from digest.services.readers.choices import cadence_of
from digest.services.readers.subscribers import SubscriberError, normalise_email
from digest.services.readers.suppressing import suppressed_among
from digest.services.sending.building import limits_of, load_candidates, topic_windows
from digest.services.sending.composing import (
    contents,
    message_of,
    preview_recipient,
    sample_recipient,
    stored_sections,
)
from digest.services.sending.planning import (
    FIRST_LOOKBACK,
    digest_window,
    last_window_ends,
    window_of,
)

log = logging.getLogger(__name__)

# What a preview of topics (no subscriber) is addressed to; its links lead nowhere.
SAMPLE_ADDRESS = "reader@example.com"
# Digest statuses whose articles are chosen and stored.
BUILT = ("built", "sent", "failed")


class PreviewError(LookupError):
    """No such subscriber or topic, or nothing that could be previewed."""


@dataclass
class Preview:
    slot_at: datetime
    timezone: str
    recipient: Recipient
    subscriber_id: int | None  # None: a preview of topics
    topics: list[TopicExplained]
    selection: Selection
    email: RenderedEmail | None  # None: nothing new, so no email at this slot
    message: bytes | None
    content: DigestContent | None = None
    blocked: str | None = None  # why a real send to this subscriber would not happen
    status: str | None = None  # the slot's digest, when planning has made it already
    status_reason: str | None = None  # why it was skipped or failed

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The message's headers, decoded, in order."""
        if self.message is None:
            return []
        parsed = BytesHeaderParser(policy=policy.default).parsebytes(self.message)
        return [(name, str(value)) for name, value in parsed.items()]

    @cached_property
    def html_part(self) -> bytes:
        """The HTML part of the message, its transfer encoding undone: the bytes a
        mail client renders (CRLF line ends, as MIME carries text)."""
        if self.message is None:
            return b""
        parsed = BytesParser(policy=policy.default).parsebytes(self.message)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(("html",))
        assert body is not None
        return bytes(body.get_payload(decode=True))

    @cached_property
    def encoded_html_bytes(self) -> int:
        return len(quoted_printable(self.email.html)) if self.email else 0

    @cached_property
    def checks(self) -> list[Check]:
        return check_message(self.email.html) if self.email else []


def _select(
    session: Session,
    digest: Digest,
    windows: list[TopicWindow],
    settings: Settings,
    existing: Digest | None = None,
) -> tuple[list[Candidate], Selection]:
    """The builder's selection for ``digest``, from candidates read a day wider on each
    side so the preview can say why the articles just outside the window are out (the
    selection itself leaves them out by their dates, as it does when building).

    For a slot whose digest ``existing`` was sent already, the ledger rows it wrote
    are not held against it: the preview shows that digest, not the one after."""
    wide = Digest(
        id=digest.id, subscriber_id=digest.subscriber_id, window_end=digest.window_end + NEARBY
    )
    wide_windows = [replace(w, since=w.since - NEARBY) for w in windows]
    candidates = load_candidates(session, [(wide, wide_windows)]).get(digest.id, [])
    if existing is not None and existing.status == "sent":
        own = set(
            session.scalars(
                select(SentArticle.article_id).where(SentArticle.digest_id == existing.id)
            )
        )
        candidates = [
            replace(c, already_sent=False) if c.article_id in own else c for c in candidates
        ]
    chosen = select_articles(candidates, windows, digest.window_end, limits_of(settings))
    return candidates, chosen


def _render(
    session: Session,
    digest: Digest,
    sub: Subscriber,
    selection: Selection,
    recipient: Recipient,
    settings: Settings,
    now: datetime,
) -> tuple[DigestContent | None, RenderedEmail | None, bytes | None]:
    if selection.empty:
        return None, None, None
    content = contents(
        session,
        [digest],
        {sub.id: sub},
        {digest.id: selection.sections},
        site_language=settings.language,
    )
    rendered = render_digest(content[digest.id], recipient, brand=settings.brand)
    message = message_of(
        rendered,
        recipient,
        settings,
        content=content[digest.id],
        message_id=make_message_id(settings.from_domain),
        date=now,
    )
    return content[digest.id], rendered, message


def _as_built(selection: Selection, stored: list[tuple[int, list[int]]]) -> Selection:
    """The selection of a digest built already: its stored articles are the ones in,
    and what selecting again would add is out (it came in after)."""
    placed = {a: t for t, ids in stored for a in ids}
    excluded = {a: code for a, code in selection.excluded.items() if a not in placed}
    return Selection(sections=stored, excluded=excluded, placed_in=placed)


def _in_range(build: Callable[[], Preview]) -> Preview:
    try:
        return build()
    except OverflowError:  # a moment near year 1 or 9999, and a day or a week from it
        raise PreviewError("at: the moment is out of range") from None


def preview_subscriber(
    session: Session,
    settings: Settings,
    subscriber_id: int,
    moment: datetime,
    *,
    explain: bool = True,
) -> Preview:
    """The digest subscriber ``subscriber_id`` gets from the send at ``moment``: a
    slot that has come and is not sent yet, else the slot at or after ``moment``
    (:func:`digest.services.editorial.slots.preview_slot`), exactly as that slot's
    send would build it now; with ``explain``, the reason for every article near the
    window too."""
    sub = session.scalar(
        select(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .options(selectinload(Subscriber.subscriptions))
    )
    if sub is None:
        raise PreviewError(f"no subscriber with id {subscriber_id}")
    return _in_range(lambda: _preview_subscriber(session, settings, sub, moment, explain))


def _preview_subscriber(
    session: Session, settings: Settings, sub: Subscriber, moment: datetime, explain: bool
) -> Preview:
    slot = preview_slot(session, sub, moment, settings.catch_up)
    if slot is None:
        raise PreviewError(f"{sub.email} follows no topic, so gets no digest")
    existing = session.scalar(
        select(Digest).where(Digest.subscriber_id == sub.id, Digest.slot_at == slot)
    )
    if existing is None:
        daily_end = last_window_ends(session, [sub.id], weekly=False).get(sub.id)
        weekly_end = last_window_ends(session, [sub.id], weekly=True).get(sub.id)
        window = digest_window(cadence_of(sub), slot, daily_end, weekly_end)
    else:
        # Planned already: its window is fixed, and once built, its articles too.
        window = window_of(existing)
    digest = Digest(id=0, subscriber_id=sub.id, **window)
    windows = topic_windows(digest, sub.subscriptions)
    candidates, selection = _select(session, digest, windows, settings, existing)
    built = existing is not None and existing.status in BUILT
    if existing is not None and built:
        selection = _as_built(
            selection, stored_sections(session, [existing.id]).get(existing.id, [])
        )
    recipient = preview_recipient(sub, settings)
    content, rendered, message = None, None, None
    if existing is None or existing.status != "skipped":  # a skipped slot sends nothing
        content, rendered, message = _render(
            session, digest, sub, selection, recipient, settings, moment
        )
    explained: list[TopicExplained] = []
    if explain:
        case = Case(
            sub.id,
            windows,
            {s.topic_id: s.frequency for s in sub.subscriptions},
            candidates,
            selection,
            slot,
            sub.timezone,
            built,
        )
        explained = reasons_for(session, case, settings)
        due = {w.topic_id for w in windows}
        for s in sorted(sub.subscriptions, key=lambda s: (s.topic.name.lower(), s.topic_id)):
            if s.topic_id not in due:
                explained.append(TopicExplained(s.topic_id, s.topic.name, s.frequency, None, ()))
    suppressed = sub.email in suppressed_among(session, [sub.email])
    return Preview(
        slot_at=slot,
        timezone=sub.timezone,
        recipient=recipient,
        subscriber_id=sub.id,
        topics=explained,
        selection=selection,
        email=rendered,
        message=message,
        content=content,
        blocked=why_not_send(sub.status, sub.paused_until, suppressed, slot),
        status=None if existing is None else existing.status,
        status_reason=None if existing is None else existing.reason,
    )


def preview_topics(
    session: Session,
    settings: Settings,
    frequencies: dict[str, str],
    moment: datetime,
    timezone: str = "UTC",
    *,
    explain: bool = True,
) -> Preview:
    """The first digest a new reader of these topics (slug -> daily|weekly) would get
    at ``moment``, with every topic due."""
    if not frequencies:
        raise PreviewError("choose at least one topic")
    topics = {t.slug: t for t in session.scalars(select(Topic).where(Topic.slug.in_(frequencies)))}
    unknown = sorted(set(frequencies) - set(topics))
    if unknown:
        raise PreviewError(f"no topic with slug {', '.join(unknown)}")
    zone(timezone)  # raises for an unknown zone
    ordered = sorted(topics.values(), key=lambda t: (t.name.lower(), t.id))
    return _in_range(
        lambda: _preview_topics(session, settings, ordered, frequencies, moment, timezone, explain)
    )


def _preview_topics(
    session: Session,
    settings: Settings,
    ordered: list[Topic],
    frequencies: dict[str, str],
    moment: datetime,
    timezone: str,
    explain: bool,
) -> Preview:
    windows = [TopicWindow(t.id, moment - FIRST_LOOKBACK[frequencies[t.slug]]) for t in ordered]
    since = {f: moment - FIRST_LOOKBACK[f] for f in set(frequencies.values())}
    digest = Digest(
        id=0,
        subscriber_id=0,
        slot_at=moment,
        includes_daily="daily" in since,
        includes_weekly="weekly" in since,
        daily_since=since.get("daily"),
        weekly_since=since.get("weekly"),
        window_end=moment,
    )
    # A reader who does not exist: not added to the session, never stored.
    reader = Subscriber(id=0, email=SAMPLE_ADDRESS, name=None, timezone=timezone)
    candidates, selection = _select(session, digest, windows, settings)
    recipient = sample_recipient(settings, SAMPLE_ADDRESS, [t.name for t in ordered])
    content, rendered, message = _render(
        session, digest, reader, selection, recipient, settings, moment
    )
    explained = []
    if explain:
        case = Case(
            None,
            windows,
            {t.id: frequencies[t.slug] for t in ordered},
            candidates,
            selection,
            moment,
            timezone,
            False,
        )
        explained = reasons_for(session, case, settings)
    return Preview(
        moment, timezone, recipient, None, explained, selection, rendered, message, content
    )


def find_subscriber(session: Session, email: str) -> int:
    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise PreviewError(str(exc)) from None
    found = session.scalar(select(Subscriber.id).where(Subscriber.email == address))
    if found is None:
        raise PreviewError(f"no subscriber with email {address}")
    return found


def preview_next(database_url: str, settings: Settings, email: str, now: datetime) -> Preview:
    """The digest ``email`` would get at their slot due at ``now`` (if one is due
    right now) or else at their next slot."""
    with unit_of_work(database_url) as session:
        return preview_subscriber(session, settings, find_subscriber(session, email), now)
