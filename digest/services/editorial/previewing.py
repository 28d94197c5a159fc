"""Previewing: the digest a subscriber (or a set of topics) gets at a slot, built by
the planner's window, the builder's selection and the sender's rendering and MIME
code, without storing anything; with the reason every nearby article is in or out.

The preview of a subscriber's slot renders the same bytes as the send of that slot
would, as long as nothing changes in between (new articles, an edit, an earlier digest
sent): only the Message-ID, the Date and the MIME boundary differ.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Article, Digest, SentArticle, Subscriber, Topic, id_in
from digest.domain import selection as codes
from digest.domain.content import DigestContent, Recipient
from digest.domain.delivery import Reply, why_not_send
from digest.domain.schedule import last_slot_at_or_before, next_slot_after, zone
from digest.domain.selection import Candidate, Selection, TopicWindow, select_articles
from digest.mail.dkim import signed
from digest.mail.message import make_message_id, quoted_printable
from digest.mail.sender import Sender
from digest.rendering import RenderedEmail, render_digest
from digest.rendering.checks import Check, check_message
from digest.services.building import limits_of, load_candidates, topic_windows
from digest.services.composing import (
    contents,
    message_of,
    recipient_for,
    sample_recipient,
    stored_sections,
)
from digest.services.planning import (
    FIRST_LOOKBACK,
    cadence_of,
    digest_window,
    last_window_ends,
    window_of,
)
from digest.services.subscribers import SubscriberError, normalise_email
from digest.services.suppressing import suppressed_among

log = logging.getLogger(__name__)

# Articles this far outside a digest's window are listed too, so an editor sees why
# a story from just before (or just after) the window is not in it.
NEARBY = timedelta(days=1)
# At most this many such articles per topic, and this many others left out (over
# the caps, held, already sent): a busy topic does not make the page endless.
NEARBY_SHOWN = 10
OUT_SHOWN = 40
# What a preview of topics (no subscriber) is addressed to; its links lead nowhere.
SAMPLE_ADDRESS = "reader@example.com"
# Digest statuses whose articles are chosen and stored.
BUILT = ("built", "sent", "failed")
INCLUDED = "included"
DUPLICATE = "duplicate"
# A candidate a digest already built does not carry although it would now: it came
# in (or changed, or was released) after the digest was built.
AFTER_BUILD = "after-build"


class PreviewError(LookupError):
    """No such subscriber or topic, or nothing that could be previewed."""


@dataclass(frozen=True)
class Explained:
    """One candidate article under one of the digest's topics, and why it is in or out."""

    article_id: int
    title: str
    url: str
    published_at: datetime
    code: str  # INCLUDED, DUPLICATE or one of digest.domain.selection's codes
    reason: str  # the sentence an editor reads
    rank: int | None = None  # position in the email, from 1, when included
    pinned: bool = False

    @property
    def included(self) -> bool:
        return self.code == INCLUDED


@dataclass(frozen=True)
class TopicExplained:
    topic_id: int
    name: str
    frequency: str
    since: datetime | None  # None: the topic is not due in this slot
    articles: tuple[Explained, ...]
    more: int = 0  # articles left out that are not listed


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


def when(moment: datetime, tz: str) -> str:
    return moment.astimezone(zone(tz)).strftime("%a %d %b %Y %H:%M %Z")


def _distance(published: datetime, since: datetime, end: datetime) -> timedelta:
    return since - published if published <= since else published - end


@dataclass(frozen=True)
class _Case:
    """What the reasons of one preview are worked out from."""

    subscriber_id: int | None
    windows: list[TopicWindow]
    frequencies: dict[int, str]  # topic id -> daily|weekly
    candidates: list[Candidate]
    selection: Selection
    window_end: datetime
    timezone: str
    built: bool  # the articles are those of a digest already built


def _explain(session: Session, case: _Case, settings: Settings) -> list[TopicExplained]:
    """Each due topic's candidates with the reason they are in or out."""
    ids = [c.article_id for c in case.candidates]
    articles = {
        row.id: row
        for row in session.execute(
            select(
                Article.id, Article.title, Article.url, Article.edited_by, Article.edited_at
            ).where(id_in(Article.id, ids))
        )
    }
    topic_ids = {w.topic_id for w in case.windows} | set(case.selection.placed_in.values())
    names = {
        topic_id: name
        for topic_id, name in session.execute(
            select(Topic.id, Topic.name).where(id_in(Topic.id, topic_ids))
        )
    }
    sent: dict[int, datetime] = {}
    if case.subscriber_id is not None and ids:
        for article_id, sent_at in session.execute(
            select(SentArticle.article_id, SentArticle.sent_at).where(
                SentArticle.subscriber_id == case.subscriber_id,
                id_in(SentArticle.article_id, ids),
            )
        ):
            sent[article_id] = sent_at
    selection, tz, window_end = case.selection, case.timezone, case.window_end
    rank = {a: i for i, a in enumerate(selection.article_ids, start=1)}
    since = {w.topic_id: w.since for w in case.windows}
    limits = limits_of(settings)

    def reason(c: Candidate, topic_id: int) -> tuple[str, str]:
        a = articles[c.article_id]
        placed = selection.placed_in.get(c.article_id)
        if placed is not None and placed != topic_id:
            return DUPLICATE, f"Duplicate: this article is shown under {names[placed]}."
        if placed is not None:
            text = f"Included, #{rank[c.article_id]} in the email"
            if case.built:
                text += " (as built)"
            if c.pinned_at(window_end):
                assert c.pinned_until is not None
                text += f", pinned until {when(c.pinned_until, tz)}"
            return INCLUDED, text + "."
        code = selection.excluded.get(c.article_id, AFTER_BUILD)
        if code == codes.HELD:
            who = f" by {a.edited_by}" if a.edited_by else ""
            on = f" on {when(a.edited_at, tz)}" if a.edited_at else ""
            return code, f"Held out of all digests{who}{on}."
        if code == codes.ALREADY_SENT:
            on = f" on {when(sent[c.article_id], tz)}" if c.article_id in sent else ""
            return code, f"Already sent to this reader{on}."
        if code == codes.AFTER_WINDOW:
            return code, (
                f"Outside the window: published {when(c.published_at, tz)}, after this "
                f"digest's window closes at {when(window_end, tz)}."
            )
        if code == codes.BEFORE_WINDOW:
            return code, (
                f"Outside the window: published {when(c.published_at, tz)}, before the "
                f"window opens at {when(since[topic_id], tz)}."
            )
        if code == codes.OVER_TOPIC_CAP:
            return code, f"Over the cap: {limits.per_topic} articles per topic are shown."
        if code == codes.OVER_TOTAL_CAP:
            return code, f"Over the cap: {limits.total} articles per email are shown."
        if code == AFTER_BUILD:
            return code, "Not in this digest: it came in or changed after the digest was built."
        return code, "Not in a topic due in this digest."

    by_topic: dict[int, list[Candidate]] = defaultdict(list)
    for c in case.candidates:
        for topic_id in c.topic_ids:
            if topic_id in since:
                by_topic[topic_id].append(c)
    out = []
    for w in case.windows:
        included: list[Explained] = []
        left_out: list[Explained] = []
        nearby: list[Explained] = []
        for c in by_topic[w.topic_id]:
            code, text = reason(c, w.topic_id)
            a = articles[c.article_id]
            row = Explained(
                c.article_id,
                a.title,
                a.url,
                c.published_at,
                code,
                text,
                rank.get(c.article_id) if code == INCLUDED else None,
                c.pinned_at(window_end),
            )
            if code == INCLUDED:
                included.append(row)
            elif code in (codes.BEFORE_WINDOW, codes.AFTER_WINDOW):
                nearby.append(row)
            else:
                left_out.append(row)
        included.sort(key=lambda r: r.rank or 0)
        left_out.sort(key=lambda r: -r.published_at.timestamp())
        # The articles closest to the window first.
        nearby.sort(key=lambda r: _distance(r.published_at, w.since, window_end))
        shown = included + left_out[:OUT_SHOWN] + nearby[:NEARBY_SHOWN]
        more = max(0, len(left_out) - OUT_SHOWN) + max(0, len(nearby) - NEARBY_SHOWN)
        out.append(
            TopicExplained(
                w.topic_id,
                names[w.topic_id],
                case.frequencies[w.topic_id],
                w.since,
                tuple(shown),
                more,
            )
        )
    return out


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
    content = contents(session, [digest], {sub.id: sub}, {digest.id: selection.sections})
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


def slot_for(sub: Subscriber, moment: datetime) -> datetime | None:
    """The subscriber's slot at ``moment`` if one falls exactly then, else their next."""
    cadence = cadence_of(sub)
    slot = last_slot_at_or_before(cadence, moment)
    if slot is not None and slot == moment:
        return slot
    return next_slot_after(cadence, moment)


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
    """The digest subscriber ``subscriber_id`` gets at their slot at or after
    ``moment``, exactly as that slot's send would build it now; with ``explain``,
    the reason for every article near the window too."""
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
    slot = slot_for(sub, moment)
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
    recipient = recipient_for(sub, settings)
    content, rendered, message = None, None, None
    if existing is None or existing.status != "skipped":  # a skipped slot sends nothing
        content, rendered, message = _render(
            session, digest, sub, selection, recipient, settings, moment
        )
    explained: list[TopicExplained] = []
    if explain:
        case = _Case(
            sub.id,
            windows,
            {s.topic_id: s.frequency for s in sub.subscriptions},
            candidates,
            selection,
            slot,
            sub.timezone,
            built,
        )
        explained = _explain(session, case, settings)
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
        case = _Case(
            None,
            windows,
            {t.id: frequencies[t.slug] for t in ordered},
            candidates,
            selection,
            moment,
            timezone,
            False,
        )
        explained = _explain(session, case, settings)
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


def test_copy(preview: Preview, settings: Settings, to_addr: str, now: datetime) -> bytes:
    """The previewed email as a test copy for ``to_addr``: ``[TEST]`` before the
    subject, no list headers, and preferences and unsubscribe links that lead nowhere
    (the reader's own signed links stay with the reader)."""
    if preview.email is None or preview.content is None:
        raise PreviewError("nothing new at this slot, so there is no email to send")
    topics = [s.topic_name for s in preview.content.sections]
    recipient = replace(
        sample_recipient(settings, to_addr, topics), reason=preview.recipient.reason
    )
    rendered = render_digest(preview.content, recipient, brand=settings.brand)
    return message_of(
        rendered,
        recipient,
        settings,
        content=preview.content,
        message_id=make_message_id(settings.from_domain),
        date=now,
        test_copy=True,
    )


def send_test(
    preview: Preview, settings: Settings, sender: Sender, to_addr: str, now: datetime
) -> Reply:
    """Send a test copy of ``preview`` to ``to_addr``. Nothing is stored: no delivery,
    no attempt, no sent-ledger row."""
    try:
        address = normalise_email(to_addr)
    except SubscriberError as exc:
        raise PreviewError(str(exc)) from None
    data = signed(test_copy(preview, settings, address, now), settings)
    with sender.session() as conn:
        reply = conn.send(settings.from_address, address, data)
    log.info(
        "test copy of the digest for %s at %s sent to %s: %s %s",
        preview.recipient.email,
        preview.slot_at.isoformat(),
        address,
        reply.code,
        reply.text,
    )
    return reply
