"""Parsing feeds: the sample, every corpus feed, Atom and RSS 1.0, hostile markup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from digest.ingest import parse_feed
from digest.ingest.parse import plain_text, sanitise_html
from tests.unit.ingest.feeds import ATOM, HOSTILE_RSS, RDF

SharedPath = Callable[[str], Path]


def test_the_sample_feed(shared_path: SharedPath) -> None:
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
    assert all(i.published_at and i.published_at.tzinfo == UTC for i in feed.items)


def test_every_corpus_feed_parses_without_an_unhandled_error(shared_path: SharedPath) -> None:
    root = shared_path("corpora/feeds")
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    assert len(files) > 1000
    failures = []
    items = storable = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), "https://example.org/feed.xml")
            items += len(feed.items)
            for item in feed.items:
                assert item.guid and len(item.guid) <= 1000
                assert item.url == "" or item.url.startswith(("http://", "https://"))
                assert len(item.title) <= 500
                assert item.published_at is None or item.published_at.tzinfo is not None
                assert "<script" not in item.summary_html.lower()
                storable += bool(item.url and item.title)
        except Exception as exc:  # collect them all, to report every failing file
            failures.append(f"{path.relative_to(root)}: {exc!r}")
    assert failures == []
    # Most corpus documents test one element each; few items carry both a link and a title.
    assert items > 500 and storable > 10


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
    assert rdf.items[0].title == "RSS 1.0 item"


def test_hostile_markup_is_removed() -> None:
    feed = parse_feed(HOSTILE_RSS, "https://news.example.org/rss")
    (item,) = feed.items
    assert item.title == "Hi"
    summary = item.summary_html
    for bad in ("<script", "alert", "onerror", "javascript:", "<iframe", "<img", "onclick"):
        assert bad not in summary.lower(), bad
    assert "<style" not in summary and "display:none" not in summary
    assert "Kept text" in summary and "<strong>bold</strong>" in summary


def test_links_in_summaries_are_absolute_and_safe() -> None:
    cleaned = sanitise_html(
        '<a href="../b">rel</a> <a href="mailto:desk@n.org">mail</a> '
        '<a href="data:text/html,x">data</a>',
        "https://n.org/news/a",
    )
    assert '<a href="https://n.org/b" rel="noopener noreferrer">rel</a>' in cleaned
    assert 'href="mailto:desk@n.org"' in cleaned
    assert "data:" not in cleaned and ">data</a>" in cleaned


def test_titles_are_plain_text() -> None:
    assert plain_text("  AT&amp;T <b>buys</b>\n  <p>a</p><p>b</p> ") == "AT&T buys a b"
    assert plain_text("x < y &lt;z&gt;") == "x < y <z>"
    assert 495 <= len(plain_text("word " * 500)) <= 500


def test_items_without_link_or_id_get_an_identity_from_their_content() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>No link</title><description>Only text.</description></item>"
        b"<item><description>A description and nothing else.</description></item>"
        b"</channel></rss>"
    )
    first, second = parse_feed(body, "https://n.org/rss").items
    assert first.url == "" and first.guid.startswith("urn:sha1:")
    assert first.guid != second.guid
    assert second.title == "A description and nothing else."
    again = parse_feed(body, "https://n.org/rss").items[0]
    assert again.guid == first.guid


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    local = tmp_path / "secret.xml"
    local.write_bytes(
        b'<rss version="2.0"><channel><item><title>Secret</title>'
        b"<link>https://intranet.example/x</link></item></channel></rss>"
    )
    feed = parse_feed(str(local).encode(), "https://evil.example/rss")
    assert feed.items == [] and feed.problem


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    local = tmp_path / "secret.txt"
    local.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{local}">]>'
        '<rss version="2.0"><channel><item><title>A &x;</title>'
        "<link>https://n.org/a</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, "https://n.org/rss")
    assert all("TOP-SECRET" not in i.title for i in feed.items)


def test_garbage_is_a_problem_not_an_exception() -> None:
    for body in (b"", b"\x00\xff\xfe garbage", b"<html><body>not a feed</body></html>", b"<rss"):
        feed = parse_feed(body, "https://example.org/feed")
        assert feed.items == []
        assert feed.problem
