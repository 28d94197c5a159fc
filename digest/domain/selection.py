"""Which articles go into one digest, and why the others do not.

Pure: takes plain candidates and the digest's window, returns the sections and a
reason for every candidate left out, so an editor's preview can show both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# An article that reached us late (its feed was polled after the previous digest was
# planned) but claims a publication time up to this long before that digest's window
# closed is still taken, instead of falling between two windows.
LATE_ARRIVAL_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Candidate:
    """An article in at least one of the subscriber's topics."""

    article_id: int
    topic_ids: frozenset[int]
    published_at: datetime
    ingested_at: datetime
    pinned_until: datetime | None = None  # first in its topics while ahead of the window end
    held: bool = False
    already_sent: bool = False

    def pinned_at(self, moment: datetime) -> bool:
        return self.pinned_until is not None and self.pinned_until > moment


# Why a candidate is left out: stable codes, which the preview turns into sentences.
NOT_DUE = "not-due"  # none of its topics is due in this digest
HELD = "held"  # held back by an editor
ALREADY_SENT = "already-sent"  # in the subscriber's sent-ledger
AFTER_WINDOW = "after-window"  # published after the window closes
BEFORE_WINDOW = "before-window"  # published before the window opens
OVER_TOPIC_CAP = "over-topic-cap"  # past the per-topic limit
OVER_TOTAL_CAP = "over-total-cap"  # past the limit per digest


@dataclass(frozen=True)
class TopicWindow:
    """One subscribed topic in this digest, in display order."""

    topic_id: int
    since: datetime  # articles published after this are new for the subscriber


@dataclass(frozen=True)
class Limits:
    per_topic: int = 10
    total: int = 30


@dataclass
class Selection:
    """Chosen articles per topic (display order) and why the others were left out."""

    sections: list[tuple[int, list[int]]] = field(default_factory=list)
    excluded: dict[int, str] = field(default_factory=dict)  # article -> reason code
    placed_in: dict[int, int] = field(default_factory=dict)  # article -> topic shown under

    @property
    def article_ids(self) -> list[int]:
        return [a for _, ids in self.sections for a in ids]

    @property
    def empty(self) -> bool:
        return not any(ids for _, ids in self.sections)


def ranking(window_end: datetime) -> Callable[[Candidate], tuple[bool, float, int]]:
    """The sort key of a digest closing at ``window_end``: articles pinned at that
    moment first, then newest; the id breaks ties so the order is stable."""

    def rank(c: Candidate) -> tuple[bool, float, int]:
        return (not c.pinned_at(window_end), -c.published_at.timestamp(), -c.article_id)

    return rank


def _is_new(c: Candidate, since: datetime) -> bool:
    if c.published_at > since:
        return True
    return c.ingested_at > since and c.published_at > since - LATE_ARRIVAL_GRACE


def select_articles(
    candidates: Iterable[Candidate],
    topics: Sequence[TopicWindow],
    window_end: datetime,
    limits: Limits = Limits(),
) -> Selection:
    """Pick the digest's articles: new in a due topic, not held, not sent before,
    each once (under the first of its topics in display order), pinned first (a pin
    counts while it lasts past ``window_end``) then newest, at most
    ``limits.per_topic`` per topic and ``limits.total`` in all."""
    result = Selection()
    rank = ranking(window_end)
    order = {t.topic_id: i for i, t in enumerate(topics)}
    since = {t.topic_id: t.since for t in topics}
    per_topic: dict[int, list[Candidate]] = {t.topic_id: [] for t in topics}
    for c in candidates:
        due_topics = sorted((t for t in c.topic_ids if t in order), key=order.__getitem__)
        if not due_topics:
            result.excluded[c.article_id] = NOT_DUE
        elif c.held:
            result.excluded[c.article_id] = HELD
        elif c.already_sent:
            result.excluded[c.article_id] = ALREADY_SENT
        elif c.published_at > window_end:
            result.excluded[c.article_id] = AFTER_WINDOW
        else:
            fresh = [t for t in due_topics if _is_new(c, since[t])]
            if not fresh:
                result.excluded[c.article_id] = BEFORE_WINDOW
            else:
                per_topic[fresh[0]].append(c)
    kept: list[tuple[Candidate, int]] = []
    for topic_id, items in per_topic.items():
        items.sort(key=rank)
        for c in items[limits.per_topic :]:
            result.excluded[c.article_id] = OVER_TOPIC_CAP
        kept.extend((c, topic_id) for c in items[: limits.per_topic])
    kept.sort(key=lambda pair: rank(pair[0]))
    for c, _ in kept[limits.total :]:
        result.excluded[c.article_id] = OVER_TOTAL_CAP
    chosen = kept[: limits.total]
    by_topic: dict[int, list[Candidate]] = {}
    for c, topic_id in chosen:
        by_topic.setdefault(topic_id, []).append(c)
        result.placed_in[c.article_id] = topic_id
    for t in topics:
        if by_topic.get(t.topic_id):
            ids = [c.article_id for c in sorted(by_topic[t.topic_id], key=rank)]
            result.sections.append((t.topic_id, ids))
    return result
