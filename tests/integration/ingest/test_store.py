"""Storing articles: deduplication, updates, topic matching, and pushed JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from digest.db.engine import get_engine
from digest.db.models import Article, Feed
from digest.ingest import ParsedItem, parse_feed
from digest.services.ingesting import import_articles, upsert_articles
from digest.services.readers.topics import add_topic

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def item(guid: str, url: str, title: str = "A title", **fields: Any) -> ParsedItem:
    return ParsedItem(guid=guid, url=url, title=title, summary_html="<p>Text.</p>", **fields)


def articles(session: Session) -> list[Article]:
    return list(session.scalars(select(Article).order_by(Article.id)))


@pytest.fixture
def selects(db_url: str) -> Iterator[list[str]]:
    """The SELECT statements sent to the database while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_dedupe_by_guid_then_by_link_and_update_only_on_change(session: Session) -> None:
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
        now=LATER,
    )
    session.commit()
    stored = articles(session)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert again.article_ids == [stored[0].id, stored[1].id]
    assert [a.guid for a in stored] == ["g1", "g2"]
    assert all(a.updated_at == NOW for a in stored)
    edited = upsert_articles(
        session, [item("g1", "https://n.org/1-moved", title="Edited")], now=LATER
    )
    session.commit()
    assert (edited.added, edited.updated) == (0, 1)
    first_article = articles(session)[0]
    assert (first_article.title, first_article.updated_at) == ("Edited", LATER)
    assert first_article.ingested_at == NOW


def test_new_articles_and_what_is_skipped(session: Session) -> None:
    report = upsert_articles(
        session,
        [
            item("a", "https://n.org/a", published_at=datetime(2026, 3, 1, tzinfo=UTC)),
            item("b", "https://n.org/b", author="Ann", image_url="https://n.org/b.jpg"),
            item("b", "https://n.org/b"),  # twice in one document: stored once
            item("no-link", "", title="Somewhere"),
            item("no-title", "https://n.org/c", title=""),
        ],
        now=NOW,
    )
    session.commit()
    assert (report.added, report.updated, report.skipped) == (2, 0, 2)
    a, b = articles(session)
    assert (a.published_at, a.ingested_at, a.updated_at) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        NOW,
        NOW,
    )
    assert b.published_at == NOW  # no time given: when it was taken in
    assert (b.author, b.image_url) == (None, None)  # the later copy in the batch wins


def test_topics_from_the_feed_categories_names_and_keywords(session: Session) -> None:
    tech = add_topic(session, "technology", "Technology")
    climate = add_topic(session, "climate", "Climate & Energy", ["glacier", "heat wave"])
    add_topic(session, "sport", "Sport", ["cup"])
    local = add_topic(session, "local", "Local")
    feed = Feed(url="https://n.org/rss", topics=[local])
    session.add(feed)
    session.flush()
    upsert_articles(
        session,
        [
            item("a", "https://n.org/a", title="Chips", categories=("TECHNOLOGY",)),
            item("b", "https://n.org/b", title="Record Heat\n Wave in Spain"),
            item(
                "c",
                "https://n.org/c",
                title="Cupboards are not sport",
                categories=("climate & energy",),
            ),
        ],
        feed=feed,
        now=NOW,
    )
    session.commit()
    by_url = {a.url: {t.slug for t in a.topics} for a in articles(session)}
    assert by_url == {
        "https://n.org/a": {tech.slug, local.slug},
        "https://n.org/b": {climate.slug, local.slug},
        "https://n.org/c": {climate.slug, local.slug},  # 'cup' matches whole words only
    }
    assert {a.feed_id for a in articles(session)} == {feed.id}
    # A keyword added later reaches a stored article when it comes again.
    gained = upsert_articles(
        session, [item("a", "https://n.org/a", title="Chips", categories=("Sport",))], now=LATER
    )
    session.commit()
    assert gained.updated == 1
    assert {t.slug for t in articles(session)[0].topics} == {"technology", "local", "sport"}


def test_a_batch_costs_a_fixed_number_of_queries(session: Session, selects: list[str]) -> None:
    add_topic(session, "technology", keywords=["chips"])
    upsert_articles(session, [item(f"g{i}", f"https://n.org/{i}") for i in range(10)], now=NOW)
    session.commit()
    selects.clear()
    report = upsert_articles(
        session,
        [item(f"g{i}", f"https://n.org/{i}", title="Chips") for i in range(200)],
        now=LATER,
    )
    session.commit()
    assert (report.added, report.updated) == (190, 10)
    # topics, the existing articles, their topics: not one query per item
    assert len(selects) <= 3, selects


def test_import_json_lines_reports_bad_lines_and_keeps_good_ones(session: Session) -> None:
    add_topic(session, "technology")
    add_topic(session, "science")
    good = {
        "url": "https://n.org/pushed",
        "title": "Pushed <b>story</b>",
        "summary": '<p>Fine</p><script>alert(1)</script><a href="/more">more</a>',
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
        json.dumps(
            {
                "url": "https://n.org/naive",
                "title": "Naive time",
                "published_at": "2026-03-16T09:00:00",
                "topics": "technology, science",
                "guid": "urn:n:naive",
                "image_url": "https://n.org/i.jpg",
            }
        ),
        json.dumps([1, 2]),
    ]
    report = import_articles(session, lines, now=NOW)
    session.commit()
    assert (report.added, report.updated) == (2, 0)
    assert report.errors == [
        "line 3: not valid JSON: Expecting property name enclosed in double quotes at column 2",
        "line 4: published_at: not an ISO 8601 time: 'yesterday'",
        "line 5: topics: unknown topic 'sprots'",
        "line 6: url: must be an http(s) URL: 'ftp://n.org/z'",
        "line 7: title: missing",
        "line 9: line: must be a JSON object, not list",
    ]
    pushed, naive = articles(session)
    assert (pushed.title, pushed.author, pushed.guid) == ("Pushed story", "Ann", good["url"])
    assert "<script" not in pushed.summary and "alert" not in pushed.summary
    assert 'href="https://n.org/more"' in pushed.summary
    assert pushed.published_at == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert [t.slug for t in pushed.topics] == ["technology"]
    assert naive.published_at == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    assert (naive.guid, naive.image_url) == ("urn:n:naive", "https://n.org/i.jpg")
    assert sorted(t.slug for t in naive.topics) == ["science", "technology"]
    again = import_articles(session, [json.dumps({**good, "title": "Retitled"})], now=LATER)
    assert (again.added, again.updated, again.errors) == (0, 1, [])


def test_every_corpus_item_can_be_stored(session: Session, shared_path: Any) -> None:
    # Odd encodings, control characters and huge values must not trip the database.
    root = shared_path("corpora/feeds")
    stored = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        feed = parse_feed(path.read_bytes(), f"https://example.org/{path.name}")
        with session.begin_nested():
            stored += upsert_articles(session, feed.items, now=NOW).added
    session.commit()
    assert stored == len(articles(session)) > 10
