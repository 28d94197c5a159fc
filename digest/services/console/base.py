"""What every operator action shares: its errors, pages of a list, and the checks
that keep a value the database would refuse from ever reaching a query."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from digest.db.models import Topic
from digest.domain.text import text_problem
from digest.services.readers import topics as topic_rules
from digest.services.readers.subscribers import SubscriberError, normalise_email

T = TypeVar("T")
Loc = tuple[str | int, ...]

MAX_PAGE = 200
PAGE_SIZE = 50
# Ids are INTEGER columns: PostgreSQL refuses a larger value even in a comparison,
# so a larger id cannot name a row and is refused before any query.
MAX_ID = 2**31 - 1
MAX_NAME = 200
MAX_DETAIL = 2000
# Indexed text: PostgreSQL refuses a btree entry above about 2.7 KB, whatever the
# column's length in characters.
MAX_KEY_BYTES = 2000
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1


class ManagementError(ValueError):
    """Input that cannot be used: each problem is a field's path (its name, or e.g.
    ``("articles", 2, "url")`` inside a list) and what is wrong with it."""

    def __init__(self, field: str | Loc, message: str, more: Sequence[tuple[Loc, str]] = ()):
        self.problems: list[tuple[Loc, str]] = [
            ((field,) if isinstance(field, str) else field, message),
            *more,
        ]
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in self.problems))

    @property
    def field(self) -> str:
        return str(self.problems[0][0][0])


class Conflict(ManagementError):
    """Valid input that clashes with what is stored, e.g. a suppressed address."""


class NotFound(LookupError):
    """The subscriber, topic, feed, suppression or delivery asked for does not exist."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list in keyset order; ``next`` continues it (None: last page)."""

    items: list[T]
    next: int | None


def page_of(rows: list[T], limit: int, key: Any) -> Page[T]:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, key(rows[-1]) if more else None)


def limit_of(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ManagementError("limit", f"must be from 1 to {MAX_PAGE} (got {limit})")
    return limit


def cursor_of(name: str, value: int) -> int:
    if not 0 <= value <= MAX_ID:
        raise ManagementError(name, f"must be an id from 0 to {MAX_ID}")
    return value


def get_row(session: Session, model: type[T], id_: int, what: str) -> T:
    row = session.get(model, id_) if 1 <= id_ <= MAX_ID else None
    if row is None:
        raise NotFound(f"there is no {what} {id_}")
    return row


def one_line(name: str, value: str | None, limit: int) -> str | None:
    """``value`` on one line (runs of white space become one space); None when empty."""
    if value is None:
        return None
    text = " ".join(value.split())
    problem = text_problem(text)  # the one rule every input follows
    if problem:
        raise ManagementError(name, problem)
    if len(text) > limit:
        raise ManagementError(name, f"is longer than {limit} characters")
    return text or None


def email_of(value: str) -> str:
    try:
        return normalise_email(value)
    except SubscriberError as exc:
        raise ManagementError("email", str(exc)) from None


def slug_of(value: str) -> str | None:
    slug = value.strip().lower()
    return slug if topic_rules.SLUG.match(slug) else None


def topics_of(session: Session, slugs: Sequence[str], name: str = "topics") -> list[Topic]:
    # Checked before any query: a NUL byte in a parameter is an error on PostgreSQL.
    bad = [s for s in slugs if slug_of(s) is None]
    if bad:
        raise ManagementError(name, f"{bad[0][:70]!r} is not a topic slug")
    if not slugs:
        raise ManagementError(name, "is empty: name at least one topic slug")
    try:
        return topic_rules.topics_by_slug(session, list(slugs))
    except topic_rules.TopicError as exc:
        raise ManagementError(name, str(exc)) from None
