"""Articles pushed directly, as JSON lines (``digest articles import``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from digest.ingest.parse import ParsedItem, plain_text, sanitise_html
from digest.ingest.store import upsert_articles
from digest.services.topics import TopicError, topics_by_slug


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class FieldError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")


def _text(record: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, "missing")
        return None
    if not isinstance(value, str):
        raise FieldError(name, f"must be a string, not {type(value).__name__}")
    return value


def _url(record: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = _text(record, name, required=required)
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise FieldError(name, f"must be an http(s) URL: {value[:80]!r}")
    return value


def _time(record: dict[str, Any]) -> datetime | None:
    raw = _text(record, "published_at", required=False)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError("published_at", f"not an ISO 8601 time: {raw[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _topics(record: dict[str, Any]) -> list[str]:
    raw = record.get("topics", [])
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise FieldError("topics", "must be a list of topic slugs or a comma-separated string")
    return [t.strip() for t in raw if t.strip()]


def read_record(session: Session, record: Any) -> tuple[ParsedItem, list[int]]:
    """One JSON object as an item and its topic ids; raises FieldError."""
    if not isinstance(record, dict):
        raise FieldError("line", "must be a JSON object")
    url = _url(record, "url", required=True)
    assert url is not None
    title = plain_text(_text(record, "title", required=True) or "")
    if not title:
        raise FieldError("title", "is empty once markup is removed")
    try:
        topic_ids = [t.id for t in topics_by_slug(session, _topics(record))]
    except TopicError as exc:
        raise FieldError("topics", str(exc)) from None
    item = ParsedItem(
        guid=(_text(record, "guid", required=False) or url)[:1000],
        url=url,
        title=title,
        summary_html=sanitise_html(_text(record, "summary", required=False) or "", url),
        author=plain_text(_text(record, "author", required=False) or "", 300) or None,
        image_url=_url(record, "image_url", required=False),
        published_at=_time(record),
    )
    return item, topic_ids


def import_articles(session: Session, lines: Iterable[str], *, now: datetime) -> ImportReport:
    """Store each good line; each bad one gives an error naming the line and field."""
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item, topic_ids = read_record(session, json.loads(line))
        except json.JSONDecodeError as exc:
            report.errors.append(f"line {number}: not valid JSON: {exc.msg}")
            continue
        except FieldError as exc:
            report.errors.append(f"line {number}: {exc}")
            continue
        stored = upsert_articles(session, [item], extra_topic_ids=topic_ids, now=now)
        report.added += stored.added
        report.updated += stored.updated
    return report
