"""Parsing feeds: the sample, every corpus feed, Atom and RSS 1.0, hostile markup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from digest.ingest import parse_feed
from tests.unit.ingest.feeds import ATOM, HOSTILE_RSS, RDF


def test_the_sample_feed(shared_path) -> None:  # type: ignore[no-untyped-def]
    feed = parse_feed(
        shared_path("samples/example-news.rss.xml").read_bytes(), "https://news.example.org/rss"
    )
    assert feed.problem is None and feed.title == "Example News"
    assert len(feed.items) == 10
    first = feed.items[0]
    assert first.guid == "example-news-1001"
    assert first.url.startswith("https://news.example.org/")
    assert first.categories == ("Technology", "Trade", "Security")
    assert first.image_url == "https://news.example.org/img/huawei-mirror.jpg"
    assert first.published_at == datetime(2020, 2, 6, 9, 30, tzinfo=UTC)
    assert first.summary_html.startswith("<p>")


def test_every_corpus_feed_parses_without_an_unhandled_error(shared_path) -> None:  # type: ignore[no-untyped-def]
    root: Path = shared_path("corpora/feeds")
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    assert len(files) > 1000
    failures = []
    items = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), "https://example.org/feed.xml")
            items += len(feed.items)
            for item in feed.items:
                assert item.url.startswith(("http://", "https://")) and item.title
                assert item.published_at is None or item.published_at.tzinfo is not None
        except Exception as exc:  # collect them all, to report every failing file
            failures.append(f"{path.relative_to(root)}: {exc!r}")
    assert failures == []
    assert items > 100


def test_atom_and_rss_1_0() -> None:
    atom = parse_feed(ATOM, "https://blog.example.org/atom.xml")
    assert [i.title for i in atom.items] == ["Atom entry"]
    entry = atom.items[0]
    assert entry.guid == "tag:blog.example.org,2026:1"
    assert entry.url == "https://blog.example.org/posts/1"
    assert entry.published_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert entry.author == "Jane Writer"
    assert entry.categories == ("science",)
    assert 'href="https://blog.example.org/relative/link"' in entry.summary_html
    rdf = parse_feed(RDF, "https://old.example.org/rss")
    assert [i.url for i in rdf.items] == ["https://old.example.org/item-1"]


def test_hostile_markup_is_removed() -> None:
    feed = parse_feed(HOSTILE_RSS, "https://news.example.org/rss")
    (item,) = feed.items
    assert item.title == "Hi"
    summary = item.summary_html
    for bad in ("<script", "onerror", "javascript:", "<iframe", "<img", "onclick", "<style"):
        assert bad not in summary.lower(), bad
    assert "Kept text" in summary and "<strong>bold</strong>" in summary


def test_garbage_is_a_problem_not_an_exception() -> None:
    for body in (b"", b"\x00\xff\xfe garbage", b"<html><body>not a feed</body></html>", b"<rss"):
        feed = parse_feed(body, "https://example.org/feed")
        assert feed.items == []
        assert feed.problem
