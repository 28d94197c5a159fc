"""Storing articles: deduplication, updates, topic matching, and pushed JSON lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from digest.db.models import Article
from digest.ingest import ParsedItem, import_articles, upsert_articles
from digest.services.topics import add_topic

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def item(guid: str, url: str, title: str = "A title", **fields: object) -> ParsedItem:
    return ParsedItem(guid=guid, url=url, title=title, summary_html="<p>Text.</p>", **fields)  # type: ignore[arg-type]


def articles(session) -> list[Article]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Article).order_by(Article.id)))


def test_dedupe_by_guid_then_by_link_and_update_only_on_change(session) -> None:  # type: ignore[no-untyped-def]
    first = upsert_articles(
        session, [item("g1", "https://n.org/1"), item("g2", "https://n.org/2")], now=NOW
    )
    assert (first.added, first.updated) == (2, 0)
    again = upsert_articles(
        session,
        [
            item("g1", "https://n.org/1"),  # same GUID, unchanged
            item("other-guid", "https://n.org/2"),  # same link, new GUID
        ],
        now=NOW,
    )
    session.commit()
    stored = articles(session)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert again.article_ids == [stored[0].id, stored[1].id]
    assert [a.guid for a in stored] == ["g1", "g2"]
    edited = upsert_articles(session, [item("g1", "https://n.org/1", title="Edited")], now=NOW)
    session.commit()
    assert edited.updated == 1 and articles(session)[0].title == "Edited"
    assert articles(session)[0].updated_at == NOW


def test_topics_from_categories_names_and_keywords(session) -> None:  # type: ignore[no-untyped-def]
    tech = add_topic(session, "technology", "Technology")
    climate = add_topic(session, "climate", "Climate & Energy", ["glacier", "heatwave"])
    add_topic(session, "sport", "Sport", ["cup"])
    upsert_articles(
        session,
        [
            item("a", "https://n.org/a", title="Chips", categories=("TECHNOLOGY",)),
            item("b", "https://n.org/b", title="Record heatwave in Spain"),
            item(
                "c",
                "https://n.org/c",
                title="Cupboards are not sport",
                categories=("climate & energy",),
            ),
        ],
        now=NOW,
    )
    session.commit()
    by_url = {a.url: {t.slug for t in a.topics} for a in articles(session)}
    assert by_url == {
        "https://n.org/a": {tech.slug},
        "https://n.org/b": {climate.slug},
        "https://n.org/c": {climate.slug},  # 'cup' matches whole words only
    }


def test_import_json_lines_reports_bad_lines_and_keeps_good_ones(session) -> None:  # type: ignore[no-untyped-def]
    add_topic(session, "technology")
    good = {
        "url": "https://n.org/pushed",
        "title": "Pushed <b>story</b>",
        "summary": "<p>Fine</p><script>alert(1)</script>",
        "published_at": "2026-03-16T09:00:00+01:00",
        "topics": ["technology"],
        "author": "Ann",
    }
    lines = [
        json.dumps(good),
        "",
        "{not json",
        json.dumps({**good, "url": "https://n.org/x", "published_at": "yesterday"}),
        json.dumps({**good, "url": "https://n.org/y", "topics": ["sprots"]}),
        json.dumps({**good, "url": "ftp://n.org/z"}),
        json.dumps({"url": "https://n.org/w"}),
    ]
    report = import_articles(session, lines, now=NOW)
    session.commit()
    assert (report.added, report.updated) == (1, 0)
    assert report.errors[0].startswith("line 3: not valid JSON")
    assert report.errors[1] == "line 4: published_at: not an ISO 8601 time: 'yesterday'"
    assert report.errors[2].startswith("line 5: topics: unknown topic sprots")
    assert report.errors[3].startswith("line 6: url: must be an http(s) URL")
    assert report.errors[4] == "line 7: title: missing"
    (stored,) = articles(session)
    assert stored.title == "Pushed story"
    assert "<script" not in stored.summary and "Fine" in stored.summary
    assert stored.published_at == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert [t.slug for t in stored.topics] == ["technology"]
