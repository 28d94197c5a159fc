"""The subscriber list as operators work with it: filters that combine (address,
status, topic, language, paused), a sort, a total, and per reader their topics,
language, last digest and bounces. The same filter chooses whom a bulk action
(:mod:`digest.services.console.bulk`) changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from digest.db.models import (
    BounceEvent,
    Delivery,
    Subscriber,
    Subscription,
    Topic,
    UTCDateTime,
    id_in,
)
from digest.domain.languages import LANGUAGES
from digest.services.console.base import ManagementError, limit_of, one_line, slug_of
from digest.services.console.lookup import STATUSES

SORTS = {
    "newest": "newest first",
    "oldest": "oldest first",
    "address": "address A–Z",
    "last-digest": "last digest, latest first",
    "bounces": "most bounces first",
}
PAUSED = ("yes", "no")


@dataclass(frozen=True)
class RosterFilter:
    """Whom a list or an action is about; every field given must match."""

    fragment: str = ""  # part of the address or the name
    status: str = ""
    topic: str = ""
    language: str = ""  # a code, or "site" for readers who follow the site's
    paused: str = ""  # yes | no

    @classmethod
    def checked(cls, **values: Any) -> RosterFilter:
        """The filter, each value checked; a bad one is refused naming its field."""
        where = cls(**{k: str(v or "").strip() for k, v in values.items()})
        one_line("fragment", where.fragment, 320)
        if where.status and where.status not in STATUSES:
            raise ManagementError("status", f"must be one of {', '.join(STATUSES)}")
        if where.language and where.language != "site" and where.language not in LANGUAGES:
            raise ManagementError("language", f"must be one of {', '.join(LANGUAGES)} or site")
        if where.paused and where.paused not in PAUSED:
            raise ManagementError("paused", "must be yes or no")
        if len(where.topic) > 64:
            raise ManagementError("topic", "no topic has so long a name")
        return where

    @property
    def active(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    def describe(self, *, search: bool = True) -> str:
        """The filter in words, for a confirmation; without the ``search`` text (it
        may be an address) for the audit log."""
        words = {
            "fragment": "address or name contains",
            "status": "status",
            "topic": "topic",
            "language": "language",
            "paused": "paused",
        }
        parts = [
            f"{words[k]} {v!r}" if search or k != "fragment" else f"{words[k]} (a search)"
            for k, v in self.as_dict().items()
        ]
        return ", ".join(parts) if parts else "every subscriber"


def conditions(where: RosterFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions on ``subscribers``."""
    found: list[ColumnElement[bool]] = []
    fragment = where.fragment.lower()
    if fragment:
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        found.append(
            Subscriber.email.like(pattern, escape="\\")
            | func.lower(Subscriber.name).like(pattern, escape="\\")
        )
    if where.status:
        found.append(Subscriber.status == where.status)
    if where.topic and slug_of(where.topic) is None:
        found.append(false())  # no topic has that name, so no one follows it
    elif where.topic:
        following = (
            select(Subscription.subscriber_id)
            .join(Topic, Topic.id == Subscription.topic_id)
            .where(Topic.slug == where.topic.lower())
        )
        found.append(Subscriber.id.in_(following))
    if where.language == "site":
        found.append(Subscriber.language.is_(None))
    elif where.language:
        found.append(Subscriber.language == where.language)
    if where.paused == "yes":
        found.append(Subscriber.paused_until > now)
    elif where.paused == "no":
        found.append(Subscriber.paused_until.is_(None) | (Subscriber.paused_until <= now))
    return found


def matching_ids(where: RosterFilter, now: datetime) -> Select[Any]:
    return select(Subscriber.id).where(*conditions(where, now))


@dataclass
class RosterRow:
    id: int
    email: str
    name: str | None
    status: str
    language: str | None
    created_at: datetime
    paused_until: datetime | None
    topics: list[str] = field(default_factory=list)
    last_digest_at: datetime | None = None
    bounces: int = 0


@dataclass
class Roster:
    rows: list[RosterRow]
    total: int
    page: int
    pages: int


def _last_digests() -> Any:
    return (
        select(Delivery.subscriber_id, func.max(Delivery.sent_at).label("last"))
        .where(Delivery.sent_at.is_not(None))
        .group_by(Delivery.subscriber_id)
        .subquery()
    )


def _bounce_counts() -> Any:
    return (
        select(BounceEvent.subscriber_id, func.count().label("n"))
        .where(BounceEvent.subscriber_id.is_not(None))
        .group_by(BounceEvent.subscriber_id)
        .subquery()
    )


def list_roster(
    session: Session,
    where: RosterFilter,
    now: datetime,
    *,
    sort: str = "newest",
    page: int = 1,
    limit: int = 50,
) -> Roster:
    """One page of the subscribers ``where`` matches, in ``sort`` order, with the
    total; the page is clamped to the last one."""
    if sort not in SORTS:
        raise ManagementError("sort", f"must be one of {', '.join(SORTS)}")
    limit = limit_of(limit)
    filters = conditions(where, now)
    total = session.scalar(select(func.count()).select_from(Subscriber).where(*filters)) or 0
    pages = max(1, -(-total // limit))
    page = min(max(1, page), pages)
    last, bounced = _last_digests(), _bounce_counts()
    query = (
        select(
            Subscriber.id,
            Subscriber.email,
            Subscriber.name,
            Subscriber.status,
            Subscriber.language,
            Subscriber.created_at,
            Subscriber.paused_until,
        )
        .where(*filters)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    if sort == "last-digest":
        query = query.outerjoin(last, last.c.subscriber_id == Subscriber.id).order_by(
            last.c.last.is_(None), last.c.last.desc(), Subscriber.id.desc()
        )
    elif sort == "bounces":
        query = query.outerjoin(bounced, bounced.c.subscriber_id == Subscriber.id).order_by(
            func.coalesce(bounced.c.n, 0).desc(), Subscriber.id.desc()
        )
    else:
        order = {
            "newest": (Subscriber.id.desc(),),
            "oldest": (Subscriber.id,),
            "address": (Subscriber.email, Subscriber.id),
        }[sort]
        query = query.order_by(*order)
    rows = [RosterRow(*row) for row in session.execute(query)]
    ids = [r.id for r in rows]
    if ids:
        by_id = {r.id: r for r in rows}
        for sid, slug in session.execute(
            select(Subscription.subscriber_id, Topic.slug)
            .join(Topic, Topic.id == Subscription.topic_id)
            .where(id_in(Subscription.subscriber_id, ids))
            .order_by(Topic.slug)
        ):
            by_id[sid].topics.append(slug)
        for sid, moment in session.execute(
            select(Delivery.subscriber_id, func.max(Delivery.sent_at, type_=UTCDateTime))
            .where(id_in(Delivery.subscriber_id, ids))
            .group_by(Delivery.subscriber_id)
        ):
            by_id[sid].last_digest_at = moment
        for bounced_id, count in session.execute(
            select(BounceEvent.subscriber_id, func.count())
            .where(id_in(BounceEvent.subscriber_id, ids))
            .group_by(BounceEvent.subscriber_id)
        ):
            by_id[int(bounced_id or 0)].bounces = int(count or 0)
    return Roster(rows, total, page, pages)
