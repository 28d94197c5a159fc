"""The audit log's recorder: every row an operator or editor changes is written down
with who, when, through what, and the changed fields before and after.

A session is marked with :func:`act_as` by whoever knows the caller (the console's
guards, the API's changing routes, the management commands). When such a session
flushes, each created, changed or deleted row of an audited table becomes one
``audit_entries`` row, written on the same connection and so in the same
transaction: a change that rolls back leaves no entry, and no entry is lost for a
change that commits. Sessions nobody marked (the pipeline, readers' own pages) are
not recorded. Changes made with bulk SQL statements, which bypass the session's
bookkeeping, are recorded by their caller with :func:`note`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from digest.db.models import (
    AdminUser,
    ApiKey,
    Article,
    AuditEntry,
    Control,
    Feed,
    Subscriber,
    Subscription,
    Suppression,
    Topic,
)

ACTOR = "digest.audit.actor"


@dataclass(frozen=True)
class Actor:
    who: str  # an admin's address, "api key NAME", or "NAME (command line)"
    via: str  # console | api | cli


# What each audited table is called in the log, and fields left out of it: bookkeeping
# the pipeline changes on its own, and secrets (a changed secret shows as changed).
TARGETS: dict[type, str] = {
    Subscriber: "subscriber",
    Topic: "topic",
    Feed: "feed",
    Article: "article",
    Suppression: "suppression",
    AdminUser: "admin",
    ApiKey: "api key",
    Control: "sending",
}
SKIPPED = {
    "subscriber": {"next_slot_at", "link_epoch"},
    "feed": {"etag", "last_modified", "last_fetched_at", "last_status", "last_error"},
    "article": {"updated_at", "ingested_at", "edited_by", "edited_at"},
    "admin": {"last_sign_in_at", "created_at"},
    "api key": {"last_used_at", "created_at"},
    "sending": {"updated_at", "updated_by"},
    # The hash names the address; the address itself would outlive an erasure.
    "suppression": {"email"},
}
SECRET = {"password_hash", "key_hash", "session_epoch"}
PERSONAL = ("email", "name")  # a subscriber's, erased from the log with them
ERASED = "(erased)"
MAX_TEXT = 300  # a long field (an article's summary) is kept shortened


def act_as(session: Session, who: str, via: str) -> None:
    """Record what ``session`` changes from now on as done by ``who`` through ``via``."""
    session.info[ACTOR] = Actor(who[:320], via)


# Who a management command acts for: every session of the command's process.
_PROCESS_ACTOR: ContextVar[Actor | None] = ContextVar("digest_audit_actor", default=None)


def act_for_process(who: str, via: str) -> None:
    """Record what every session of this process (a management command) changes as
    done by ``who`` through ``via``."""
    _PROCESS_ACTOR.set(Actor(who[:320], via))


def actor_of(session: Session) -> Actor | None:
    actor = session.info.get(ACTOR)
    return actor if isinstance(actor, Actor) else _PROCESS_ACTOR.get()


def note(
    session: Session,
    action: str,
    target: str,
    target_id: object = None,
    summary: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record one change made outside the session's bookkeeping (a bulk statement, a
    deletion by query), if the session acts for someone."""
    actor = actor_of(session)
    if actor is None:
        return
    session.execute(
        insert(AuditEntry),
        [_entry(actor, datetime.now(UTC), action, target, target_id, summary, before, after)],
    )


def erase_subscriber(session: Session, subscriber_id: int) -> None:
    """Blank the address and name of a deleted subscriber in every entry about them:
    the log keeps what was done, not who the reader was."""
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.before, AuditEntry.after, AuditEntry.summary).where(
            AuditEntry.target == "subscriber", AuditEntry.target_id == str(subscriber_id)
        )
    ).all()
    for entry_id, before, after, summary in rows:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .values(before=_blank(before), after=_blank(after), summary=_blank_summary(summary))
            .execution_options(synchronize_session=False)
        )


def _blank(raw: str | None) -> str | None:
    if not raw:
        return raw
    values = json.loads(raw)
    for key in PERSONAL:
        if key in values and values[key] is not None:
            values[key] = ERASED
    return _dumps(values)


def _blank_summary(summary: str) -> str:
    return summary.split(":", 1)[0] if ":" in summary else summary


def _plain(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _dumps(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps({k: _plain(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True)


def _entry(
    actor: Actor,
    at: datetime,
    action: str,
    target: str,
    target_id: object,
    summary: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor.who,
        "via": actor.via,
        "action": action[:40],
        "target": target[:40],
        "target_id": None if target_id is None else str(target_id)[:64],
        "summary": summary[:500],
        "before": _dumps(before),
        "after": _dumps(after),
    }


def _columns(obj: Any, target: str) -> list[str]:
    skipped = SKIPPED.get(target, set())
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in skipped]


def _value(key: str, value: Any) -> Any:
    return "(secret)" if key in SECRET and value is not None else value


def _changes(obj: Any, target: str) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj, target):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[key] = _value(key, old)
        after[key] = _value(key, new)
    if target == "feed":
        topics = state.attrs["topics"].history
        if topics.added or topics.deleted:
            now = sorted(t.slug for t in obj.topics)
            gone = sorted(t.slug for t in topics.deleted)
            added = {t.slug for t in topics.added}
            before["topics"] = sorted({*now, *gone} - added)
            after["topics"] = now
    return before, after


def _snapshot(obj: Any, target: str) -> dict[str, Any]:
    state = inspect(obj)
    values = {}
    for key in _columns(obj, target):
        if key == "id" or key in state.unloaded:
            continue
        values[key] = _value(key, getattr(obj, key))
    if target == "feed" and "topics" not in state.unloaded:
        values["topics"] = sorted(t.slug for t in obj.topics)
    return values


def _ident(obj: Any) -> object:
    """The row's primary key (its single column's value)."""
    values = inspect(obj).mapper.primary_key_from_instance(obj)
    return values[0] if len(values) == 1 else ",".join(map(str, values))


def _label(obj: Any, target: str) -> str:
    """How the summary names the row; never an address (a reader's is erased from
    entries with them, and summaries are shown in lists)."""
    for key in ("slug", "url", "name", "key"):
        if target in ("subscriber", "suppression"):
            break
        value = getattr(obj, key, None)
        if isinstance(value, str) and value:
            return f"{target} {value}"
    return f"{target} #{_ident(obj)}"


def _topics_of(session: Session, subscriber_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = sorted(set(subscriber_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.connection().execute(
        select(Subscription.subscriber_id, Topic.slug)
        .join(Topic, Topic.id == Subscription.topic_id)
        .where(Subscription.subscriber_id.in_(ids))
    )
    for sid, slug in rows:
        found[sid].append(slug)
    return {sid: sorted(slugs) for sid, slugs in found.items()}


def _subscription_changes(session: Session) -> dict[int, tuple[set[str], set[str]]]:
    """Per subscriber, the topic slugs this flush added and removed."""
    slugs = {}
    changed: dict[int, tuple[set[str], set[str]]] = {}
    moved = [(o, True) for o in session.new] + [(o, False) for o in session.deleted]
    for sub in session.dirty:
        if isinstance(sub, Subscriber):
            # A replaced list: its orphans are deleted by the flush, never listed.
            history = inspect(sub).attrs["subscriptions"].history
            moved += [(o, True) for o in history.added] + [(o, False) for o in history.deleted]
    for obj, added in moved:
        if not isinstance(obj, Subscription):
            continue
        if obj.topic_id not in slugs:
            slugs[obj.topic_id] = session.connection().scalar(
                select(Topic.slug).where(Topic.id == obj.topic_id)
            )
        plus, minus = changed.setdefault(obj.subscriber_id, (set(), set()))
        (plus if added else minus).add(slugs[obj.topic_id] or str(obj.topic_id))
    # A topic taken away and given back in one change (a new frequency) did not move.
    return {sid: (plus - minus, minus - plus) for sid, (plus, minus) in changed.items()}


@event.listens_for(Session, "after_flush")
def _record(session: Session, _context: Any) -> None:
    actor = actor_of(session)
    if actor is None:
        return
    at = datetime.now(UTC)
    entries: list[dict[str, Any]] = []
    touched: dict[int, dict[str, Any]] = {}  # subscriber id -> its entry, for topics
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            target = TARGETS.get(type(obj))
            if target is None:
                continue
            if action == "create":
                before, after = {}, _snapshot(obj, target)
            elif action == "delete":
                before, after = _snapshot(obj, target), {}
            else:
                before, after = _changes(obj, target)
                if not after and not before:
                    continue
            entry = _entry(
                actor, at, action, target, _ident(obj), _label(obj, target), before, after
            )
            entries.append(entry)
            if target == "subscriber":
                touched[obj.id] = entry
    topic_changes = _subscription_changes(session)
    if topic_changes:
        now = _topics_of(session, topic_changes)
        for sid, (plus, minus) in topic_changes.items():
            before_topics = sorted((set(now[sid]) - plus) | minus)
            entry = touched.get(sid) or {}
            if not entry:
                entry = _entry(actor, at, "update", "subscriber", sid, f"subscriber #{sid}", {}, {})
                entries.append(entry)
            sides = [("after", now[sid])]
            if entry["action"] != "create":
                sides.append(("before", before_topics))
            for side, topics in sides:
                values = json.loads(entry[side]) if entry[side] else {}
                values["topics"] = topics
                entry[side] = _dumps(values)
    if entries:
        session.connection().execute(insert(AuditEntry), entries)
