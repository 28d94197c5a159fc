"""The render cache key of an article changes with anything that is shown."""

from __future__ import annotations

from datetime import UTC, datetime

from digest.db.models import Article
from digest.services.sending.composing import article_view

WHEN = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


def article(**fields: object) -> Article:
    values: dict[str, object] = dict(
        id=1,
        guid="g",
        url="https://n.org/a",
        title="A",
        summary="<p>s</p>",
        author=None,
        image_url=None,
        published_at=WHEN,
        updated_at=WHEN,
    )
    values.update(fields)
    return Article(**values)


def test_same_id_and_time_but_other_content_is_another_version() -> None:
    base = article_view(article()).version
    assert article_view(article()).version == base
    for change in (
        {"title": "B"},
        {"url": "https://n.org/b"},
        {"summary": "<p>t</p>"},
        {"author": "Ann"},
        {"image_url": "https://n.org/i.jpg"},
        {"id": 2},
        {"published_at": datetime(2026, 6, 1, 14, 0, tzinfo=UTC)},
    ):
        assert article_view(article(**change)).version != base, change
