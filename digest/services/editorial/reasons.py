"""Why each article near a digest is in it or out: included (and where), a duplicate
shown under another topic, already sent to this reader (when), outside the window
(by how much), held (by whom), over a cap; each as the sentence an editor reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.models import Article, SentArticle, Topic, id_in
from digest.domain import selection as codes
from digest.domain.schedule import zone
from digest.domain.selection import Candidate, Selection, TopicWindow
from digest.domain.text import counted
from digest.services.sending.building import limits_of

# Articles this far outside a digest's window are listed too, so an editor sees why
# a story from just before (or just after) the window is not in it.
NEARBY = timedelta(days=1)
# At most this many such articles per topic, and this many others left out (over
# the caps, held, already sent): a busy topic does not make the page endless.
NEARBY_SHOWN = 10
OUT_SHOWN = 40
INCLUDED = "included"
DUPLICATE = "duplicate"
# A candidate a digest already built does not carry although it would now: it came
# in (or changed, or was released) after the digest was built.
AFTER_BUILD = "after-build"


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


def when(moment: datetime, tz: str) -> str:
    return moment.astimezone(zone(tz)).strftime("%a %d %b %Y %H:%M %Z")


def _distance(published: datetime, since: datetime, end: datetime) -> timedelta:
    return since - published if published <= since else published - end


@dataclass(frozen=True)
class Case:
    """What the reasons of one preview are worked out from."""

    subscriber_id: int | None
    windows: list[TopicWindow]
    frequencies: dict[int, str]  # topic id -> daily|weekly
    candidates: list[Candidate]
    selection: Selection
    window_end: datetime
    timezone: str
    built: bool  # the articles are those of a digest already built


def reasons_for(session: Session, case: Case, settings: Settings) -> list[TopicExplained]:
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
            shown = counted(limits.per_topic, "article")
            return (
                code,
                f"Over the cap: {shown} per topic {_are(limits.per_topic)} shown.",
            )
        if code == codes.OVER_TOTAL_CAP:
            shown = counted(limits.total, "article")
            return (
                code,
                f"Over the cap: {shown} per email {_are(limits.total)} shown.",
            )
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


def _are(n: int) -> str:
    return "is" if n == 1 else "are"
