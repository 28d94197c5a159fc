"""Building: choose each planned digest's articles and queue its delivery.

Works on a batch of digests at once with a fixed number of queries, whatever the
batch size: the subscribers, their subscriptions, the candidate articles of all
their topics and the ledger rows that matter are each read in one query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.bulk import insert_rows, update_rows
from digest.db.models import (
    Article,
    ArticleTopic,
    Delivery,
    Digest,
    DigestArticle,
    SentArticle,
    Subscriber,
    Subscription,
    id_in,
    table_of,
)
from digest.domain.delivery import why_not_send
from digest.domain.selection import (
    LATE_ARRIVAL_GRACE,
    Candidate,
    Limits,
    Selection,
    TopicWindow,
    select_articles,
)
from digest.mail.message import make_message_id
from digest.services import metrics
from digest.services.readers.suppressing import suppressed_among


@dataclass(frozen=True)
class Built:
    """A digest just built, with what sending it needs, already in memory."""

    delivery_id: int
    digest: Digest
    subscriber: Subscriber
    message_id: str
    sections: list[tuple[int, list[int]]]  # (topic id, article ids), display order


@dataclass
class BuildReport:
    skipped: int = 0
    built: list[Built] = field(default_factory=list)

    @property
    def delivery_ids(self) -> list[int]:
        return [b.delivery_id for b in self.built]


def topic_windows(digest: Digest, subscriptions: list[Subscription]) -> list[TopicWindow]:
    """The topics due in ``digest``, in display order (by topic name)."""
    windows = []
    for s in sorted(subscriptions, key=lambda s: (s.topic.name.lower(), s.topic_id)):
        if s.frequency == "daily" and digest.includes_daily and digest.daily_since:
            windows.append(TopicWindow(s.topic_id, digest.daily_since))
        elif s.frequency == "weekly" and digest.includes_weekly and digest.weekly_since:
            windows.append(TopicWindow(s.topic_id, digest.weekly_since))
    return windows


def load_candidates(
    session: Session, pairs: list[tuple[Digest, list[TopicWindow]]]
) -> dict[int, list[Candidate]]:
    """Candidate articles for each digest id, in one query for articles and one for
    the ledger."""
    topic_ids = {w.topic_id for _, ws in pairs for w in ws}
    if not topic_ids:
        return {}
    earliest = min(w.since for _, ws in pairs for w in ws)
    latest = max(d.window_end for d, _ in pairs)
    rows = session.execute(
        select(
            ArticleTopic.topic_id,
            Article.id,
            Article.published_at,
            Article.ingested_at,
            Article.pinned_until,
            Article.held,
        )
        .join(Article, Article.id == ArticleTopic.article_id)
        .where(
            ArticleTopic.topic_id.in_(topic_ids),
            Article.published_at <= latest,
            # The late-arrival grace reaches a little before the earliest window.
            Article.published_at > earliest - LATE_ARRIVAL_GRACE,
        )
    ).all()
    topics_of: dict[int, set[int]] = defaultdict(set)
    info: dict[int, tuple[datetime, datetime, datetime | None, bool]] = {}
    for topic_id, article_id, published, ingested, pinned_until, held in rows:
        topics_of[article_id].add(topic_id)
        info[article_id] = (published, ingested, pinned_until, held)
    subscriber_ids = {d.subscriber_id for d, _ in pairs}
    sent_to: dict[int, set[int]] = defaultdict(set)
    if info:
        rows_sent = session.execute(
            select(SentArticle.subscriber_id, SentArticle.article_id).where(
                id_in(SentArticle.subscriber_id, subscriber_ids),
                id_in(SentArticle.article_id, info),
            )
        )
        for subscriber_id, article_id in rows_sent:
            sent_to[subscriber_id].add(article_id)
    articles_of: dict[int, list[int]] = defaultdict(list)
    for article_id, topic_ids in topics_of.items():
        for topic_id in topic_ids:
            articles_of[topic_id].append(article_id)
    # One candidate per article for the whole batch, carrying all its topics
    # (selection only looks at the topics due in each digest); subscribers with the
    # same topics share one list, except for what the ledger says they already
    # received (rare: a window starts where the last one ended).
    candidate = {
        aid: Candidate(
            article_id=aid,
            topic_ids=frozenset(topics_of[aid]),
            published_at=published,
            ingested_at=ingested,
            pinned_until=pinned_until,
            held=held,
        )
        for aid, (published, ingested, pinned_until, held) in info.items()
    }
    shared: dict[frozenset[int], list[Candidate]] = {}
    result: dict[int, list[Candidate]] = {}
    for digest, windows in pairs:
        wanted = frozenset(w.topic_id for w in windows)
        base = shared.get(wanted)
        if base is None:
            ids = sorted({a for t in wanted for a in articles_of[t]})
            base = shared[wanted] = [candidate[a] for a in ids]
        received = sent_to.get(digest.subscriber_id)
        if received:
            result[digest.id] = [
                replace(c, already_sent=True) if c.article_id in received else c for c in base
            ]
        else:
            result[digest.id] = base
    return result


def limits_of(settings: Settings) -> Limits:
    return Limits(per_topic=settings.max_articles_per_topic, total=settings.max_articles_total)


def selections_for(
    session: Session, digests: list[Digest], subs: dict[int, Subscriber], settings: Settings
) -> dict[int, Selection]:
    """The pure selection for each digest, from its fixed window."""
    pairs = [(d, topic_windows(d, subs[d.subscriber_id].subscriptions)) for d in digests]
    candidates = load_candidates(session, pairs)
    limits = limits_of(settings)
    return {
        d.id: select_articles(candidates.get(d.id, []), windows, d.window_end, limits)
        for d, windows in pairs
    }


def build(
    session: Session,
    digest_ids: list[int],
    settings: Settings,
    now: datetime,
    *,
    claim: bool = False,
) -> BuildReport:
    """Select the articles of the planned digests among ``digest_ids`` and queue a
    delivery for each one that has any; the others are recorded as skipped.

    With ``claim`` the deliveries are created already claimed by the caller (status
    'sending', as :func:`digest.services.sending.delivering.claim` would leave them), for a
    caller that sends them at once.
    """
    report = BuildReport()
    digests = list(
        session.scalars(
            select(Digest)
            .where(id_in(Digest.id, digest_ids), Digest.status == "planned")
            .order_by(Digest.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not digests:
        return report
    subs = {
        s.id: s
        for s in session.scalars(
            select(Subscriber)
            .where(id_in(Subscriber.id, {d.subscriber_id for d in digests}))
            .options(selectinload(Subscriber.subscriptions))
        )
    }
    suppressed = suppressed_among(session, [s.email for s in subs.values()])
    selections = selections_for(session, digests, subs, settings)
    links: list[dict[str, object]] = []
    deliveries: list[dict[str, object]] = []
    skipped: list[dict[str, object]] = []
    pending: dict[int, tuple[Digest, Subscriber, str, list[tuple[int, list[int]]]]] = {}
    for digest in digests:
        sub = subs[digest.subscriber_id]
        selection = selections[digest.id]
        reason = why_not_send(sub.status, sub.paused_until, sub.email in suppressed, now)
        if reason is None and selection.empty:
            reason = "nothing new"
        if reason:
            skipped.append(
                {"id": digest.id, "status": "skipped", "reason": reason, "built_at": now}
            )
            continue
        position = 0
        for topic_id, article_ids in selection.sections:
            for article_id in article_ids:
                links.append(
                    {
                        "digest_id": digest.id,
                        "article_id": article_id,
                        "topic_id": topic_id,
                        "position": position,
                    }
                )
                position += 1
        message_id = make_message_id(settings.from_domain)
        pending[digest.id] = (digest, sub, message_id, selection.sections)
        deliveries.append(
            {
                "digest_id": digest.id,
                "subscriber_id": sub.id,
                "email": sub.email,
                "message_id": message_id,
                "status": "sending" if claim else "queued",
                "attempts": 0,
                "claimed_at": now if claim else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    # A fixed number of statements whatever the batch size.
    update_rows(session, table_of(Digest), skipped)
    report.skipped = len(skipped)
    if pending:
        session.execute(
            update(Digest)
            .where(id_in(Digest.id, pending))
            .values(status="built", built_at=now)
            .execution_options(synchronize_session=False)
        )
    insert_rows(session, table_of(DigestArticle), links)
    created = insert_rows(session, table_of(Delivery), deliveries, returning=["id", "digest_id"])
    for delivery_id, digest_id in sorted(created):
        digest, sub, message_id, sections = pending[digest_id]
        report.built.append(Built(delivery_id, digest, sub, message_id, sections))
    metrics.add(session, {metrics.digests("skipped"): report.skipped})
    return report


def mark_failed(session: Session, digest_id: int, reason: str) -> None:
    session.execute(
        update(Digest).where(Digest.id == digest_id).values(status="failed", reason=reason)
    )
