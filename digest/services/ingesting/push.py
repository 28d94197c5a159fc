"""Articles pushed directly, as JSON lines (``digest articles import``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Topic
from digest.ingest.parse import MAX_GUID, MAX_URL, ParsedItem, plain_text, sanitise_html, scrub
from digest.services.ingesting.store import store_items


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: field: what is wrong"


class FieldError(ValueError):
    """One field of one line is unusable; the message starts with the field's name."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldError(name, "missing")
        return None
    if not isinstance(value, str):
        raise FieldError(name, f"must be a string, not {type(value).__name__}")
    return scrub(value)


def _url(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = _text(record, name, required=required)
    if value is None:
        return None
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise FieldError(name, f"must be an http(s) URL: {value[:80]!r}")
    if len(value) > MAX_URL:
        raise FieldError(name, f"longer than {MAX_URL} characters")
    return value


def _time(record: dict[str, Any]) -> datetime | None:
    raw = _text(record, "published_at")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise FieldError("published_at", f"not an ISO 8601 time: {raw[:40]!r}") from None
    # A time without an offset is taken as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _topic_ids(record: dict[str, Any], known: dict[str, int]) -> frozenset[int]:
    raw = record.get("topics") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise FieldError("topics", "must be a list of topic slugs or a comma-separated string")
    slugs = [t.strip().lower() for t in raw if t.strip()]
    unknown = [s for s in slugs if s not in known]
    if unknown:
        names = ", ".join(repr(s) for s in unknown)
        raise FieldError("topics", f"unknown topic{'s' if len(unknown) > 1 else ''} {names}")
    return frozenset(known[s] for s in slugs)


def read_record(record: Any, known_topics: dict[str, int]) -> tuple[ParsedItem, frozenset[int]]:
    """One decoded JSON line as an item and its topic ids; raises FieldError."""
    if not isinstance(record, dict):
        raise FieldError("line", f"must be a JSON object, not {type(record).__name__}")
    url = _url(record, "url", required=True) or ""
    title = plain_text(_text(record, "title", required=True) or "")
    if not title:
        raise FieldError("title", "is empty once markup is removed")
    guid = (_text(record, "guid") or url).strip()
    if len(guid) > MAX_GUID:
        raise FieldError("guid", f"longer than {MAX_GUID} characters")
    item = ParsedItem(
        guid=guid,
        url=url,
        title=title,
        summary_html=sanitise_html(_text(record, "summary") or "", url),
        author=plain_text(_text(record, "author") or "", 300) or None,
        image_url=_url(record, "image_url"),
        published_at=_time(record),
    )
    return item, _topic_ids(record, known_topics)


def import_articles(session: Session, lines: Iterable[str], *, now: datetime) -> ImportReport:
    """Store each good line; each bad one gives an error naming its line and field.

    Fields: url, title (required), summary, published_at (ISO 8601; no offset = UTC),
    topics (slugs, as a list or comma-separated), and optionally guid, image_url, author.
    Blank lines are skipped.
    """
    known = {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}
    report = ImportReport()
    good: list[tuple[ParsedItem, frozenset[int]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            good.append(read_record(json.loads(line), known))
        except json.JSONDecodeError as exc:
            report.errors.append(f"line {number}: not valid JSON: {exc.msg} at column {exc.colno}")
        except FieldError as exc:
            report.errors.append(f"line {number}: {exc}")
    stored = store_items(session, good, now=now)
    report.added, report.updated = stored.added, stored.updated
    return report
