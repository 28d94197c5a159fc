"""Feed health as the console and the API show it: items per day, failures in a row,
the last error, the next fetch and a state (ok, failing, silent, paused) per feed,
read in a few aggregate queries; pausing and resuming a feed from a form or the API,
for operators only; and the feeds page with no feed at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from digest.db.engine import get_engine, unit_of_work
from digest.db.models import Feed
from digest.services import console
from tests.conftest import World
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, sign_in
from tests.integration.web.test_admin_lists import operator, post
from tests.integration.web.test_api import Api, api_key, field_error

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def feed(db_url: str, name: str, **fields: Any) -> int:
    """A feed (never fetched) for the topic ``news``, with ``fields`` set as stored."""
    with unit_of_work(db_url) as s:
        if not console.list_topics(s):
            console.create_topic(s, "news", "News", [])
        row = console.create_feed(
            s, f"https://feeds.example.org/{name}.xml", ["news"], allow_private=True
        )
        stored = s.get(Feed, row.id)
        assert stored is not None
        for key, value in fields.items():
            setattr(stored, key, value)
        return row.id


def items(world: World, feed_id: int, *published: datetime) -> None:
    for i, at in enumerate(published):
        world.article(f"f{feed_id}-{i}", at, ["news"], feed_id=feed_id)


def every(step: timedelta, first: datetime, last: datetime) -> list[datetime]:
    """Times from ``first`` back to ``last``, ``step`` apart."""
    times, at = [], first
    while at >= last:
        times.append(at)
        at -= step
    return times


def health_at(db_url: str, now: datetime) -> dict[int, console.FeedHealth]:
    with unit_of_work(db_url) as s:
        return {h.id: h for h in console.feed_health(s, now)}


def test_items_per_day_and_states_come_from_the_articles_and_the_fetches(
    world: World, db_url: str
) -> None:
    daily = feed(db_url, "daily", last_fetched_at=NOW - 4 * timedelta(minutes=1))
    # Every 6 h for 30 days; one more dated tomorrow does not count yet.
    items(world, daily, *every(6 * HOUR, NOW - HOUR, NOW - 30 * DAY + HOUR), NOW + DAY)
    stopped = feed(db_url, "stopped")  # every 6 h, then nothing for 5 days
    items(world, stopped, *every(6 * HOUR, NOW - 5 * DAY, NOW - 29 * DAY))
    slow = feed(db_url, "slow")  # every 2 days, the last 3 days ago: not silent yet
    items(world, slow, *every(2 * DAY, NOW - 3 * DAY, NOW - 29 * DAY))
    gone = feed(db_url, "gone")  # one item 40 days ago: a month without anything
    items(world, gone, NOW - 40 * DAY)
    once = feed(db_url, "once")  # one item 10 days ago: no rhythm to break yet
    items(world, once, NOW - 10 * DAY)
    empty = feed(db_url, "empty")
    failing = feed(db_url, "failing", error_count=3, last_error="HTTP 500", last_status=500)
    items(world, failing, NOW - HOUR)
    erring = feed(db_url, "erring", error_count=2, last_error="HTTP 503", last_status=503)
    paused = feed(db_url, "paused", paused=True, error_count=5)

    health = health_at(db_url, NOW)
    states = {i: health[i].state for i in health}
    assert states == {
        daily: "ok",
        stopped: "silent",
        slow: "ok",
        gone: "silent",
        once: "ok",
        empty: "ok",
        failing: "failing",
        erring: "ok",
        paused: "paused",
    }
    # 28 items in the 7 days up to now (every 6 h from an hour ago), the future one left out.
    assert health[daily].items_per_day == 4.0 and health[daily].articles == 121
    assert health[daily].usual_interval == 6 * HOUR
    assert health[daily].last_item_at == NOW - HOUR
    assert health[slow].items_per_day == round(2 / 7, 1)
    # 8 items 5 to 7 days ago: a silent feed may still count items in its week.
    assert health[stopped].items_per_day == round(8 / 7, 1)
    assert health[stopped].last_item_at == NOW - 5 * DAY
    assert (health[empty].items_per_day, health[empty].articles) == (0.0, 0)
    assert (health[failing].failures_in_row, health[failing].last_error) == (3, "HTTP 500")
    assert (health[erring].failures_in_row, health[erring].last_status) == (2, 503)
    # Beat polls every feed each ten minutes: the next fetch is ten minutes after the
    # last one, or after the feed was added when it was never fetched; none while paused.
    assert health[daily].next_fetch_at == NOW + 6 * timedelta(minutes=1)
    assert health[empty].next_fetch_at == health[empty].created_at + timedelta(minutes=10)
    assert health[paused].next_fetch_at is None and health[paused].failures_in_row == 5


@contextmanager
def counting(db_url: str) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_health_costs_the_same_queries_for_two_feeds_or_twelve(world: World, db_url: str) -> None:
    def queries() -> int:
        with counting(db_url) as statements:
            health_at(db_url, NOW)
        return len(statements)

    for i in range(2):
        items(world, feed(db_url, f"a{i}"), NOW - HOUR, NOW - 2 * HOUR)
    two = queries()
    for i in range(10):
        items(world, feed(db_url, f"b{i}"), NOW - HOUR, NOW - 2 * HOUR)
    assert queries() == two


def row_of(html: str, feed_id: int) -> str:
    found = re.search(rf'<tr id="feed-{feed_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row for feed {feed_id}"
    return found.group(1)


def cells(row: str) -> list[str]:
    """The text of each cell of a table row."""
    texts = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t)).strip() for t in texts]


def test_the_feeds_page_shows_each_feeds_health(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    # Half a minute's margin either way: relative times are rounded down.
    good = feed(db_url, "good", last_fetched_at=now - timedelta(seconds=90), last_status=200)
    items(world, good, *every(12 * HOUR, now - HOUR, now - 20 * DAY))
    bad = feed(
        db_url,
        "bad",
        error_count=4,
        last_status=500,
        last_fetched_at=now - timedelta(minutes=25, seconds=30),
        last_error="https://feeds.example.org/bad.xml answered HTTP 500",
    )
    paused = feed(db_url, "paused", paused=True)
    page = operator(mail_settings, db_url).get("/admin/feeds").text

    # Feed, state, last fetch, next fetch, items per day, failures in a row, last error,
    # articles, actions.
    good_row = cells(row_of(page, good))
    assert good_row[1] == "ok" and "HTTP 200" in good_row[2]
    assert good_row[3].startswith("in 8 min") and (good_row[4], good_row[5]) == ("2.0", "0")
    assert good_row[7] == "40"
    assert re.search(rf'<span class="feed-state ok" id="state-{good}">ok</span>', page)
    bad_row = cells(row_of(page, bad))
    assert bad_row[1] == "failing" and bad_row[5] == "4"
    assert bad_row[6] == "https://feeds.example.org/bad.xml answered HTTP 500"
    assert bad_row[3].startswith("overdue: due 15 min ago")  # beat is late
    paused_row = cells(row_of(page, paused))
    assert paused_row[1].startswith("paused") and paused_row[3] == "none while paused"
    assert f'action="/admin/feeds/{paused}/resume"' in page
    assert f'action="/admin/feeds/{good}/pause"' in page
    assert f'action="/admin/feeds/{paused}/fetch"' in page  # fetch now, paused or not
    assert "Items per day: articles published in the last 7 days, divided by 7." in page
    assert "No feeds yet" not in page


def test_with_no_feed_the_page_says_so_and_what_to_do(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    page = operator(mail_settings, db_url).get("/admin/feeds").text
    assert re.search(r'id="feeds-empty"[^>]*>No feeds yet — add one below', page)
    assert 'id="add-feed"' in page and '<table id="feeds"' not in page
    assert "Every feed fetched well" not in page

    admin(db_url, "ed@example.org", "editor")
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    shown = editor.get("/admin/feeds").text
    assert "No feeds yet — an operator adds them on this page." in shown
    assert 'id="add-feed"' not in shown


def is_paused(db_url: str, feed_id: int) -> bool:
    with unit_of_work(db_url) as s:
        return bool(s.scalars(select(Feed.paused).where(Feed.id == feed_id)).one())


def test_operators_pause_and_resume_a_feed_from_the_page(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    feed_id = feed(db_url, "wire")
    ops = operator(mail_settings, db_url)
    paused = post(ops, f"/admin/feeds/{feed_id}/pause")
    assert paused.status_code == 303
    assert paused.headers["location"] == f"/admin/feeds#feed-{feed_id}"
    assert is_paused(db_url, feed_id)
    row = cells(row_of(ops.get("/admin/feeds").text, feed_id))
    assert row[1].startswith("paused") and row[3] == "none while paused"

    assert post(ops, f"/admin/feeds/{feed_id}/resume").status_code == 303
    assert not is_paused(db_url, feed_id)
    assert cells(row_of(ops.get("/admin/feeds").text, feed_id))[1] == "ok"
    assert post(ops, "/admin/feeds/999/pause").status_code == 404

    no_token = ops.post(f"/admin/feeds/{feed_id}/pause", follow_redirects=False)
    assert no_token.status_code == 403
    admin(db_url, "ed@example.org", "editor")
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    assert post(editor, f"/admin/feeds/{feed_id}/pause").status_code == 403
    assert not is_paused(db_url, feed_id)


def test_the_api_pauses_and_resumes_a_feed_for_operators(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    feed_id = feed(db_url, "wire", error_count=1, last_error="HTTP 502")
    ops = Api(mail_settings, api_key(db_url, "operator"))
    editor = Api(mail_settings, api_key(db_url, "editor"))

    answer = ops("PATCH", f"/api/feeds/{feed_id}", {"paused": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["paused"], body["state"], body["next_fetch_at"]) == (True, "paused", None)
    assert (body["failures_in_row"], body["error_count"], body["items_per_day"]) == (1, 1, 0.0)
    assert is_paused(db_url, feed_id)
    (listed,) = editor("GET", "/api/feeds").json()
    assert listed["paused"] is True and listed["state"] == "paused"

    resumed = ops("PATCH", f"/api/feeds/{feed_id}", {"paused": False}).json()
    assert resumed["paused"] is False and resumed["state"] == "ok"
    assert datetime.fromisoformat(resumed["next_fetch_at"]) > datetime.now(UTC)
    assert not is_paused(db_url, feed_id)

    assert editor("PATCH", f"/api/feeds/{feed_id}", {"paused": True}).status_code == 403
    assert ops("PATCH", "/api/feeds/999", {"paused": True}).status_code == 404
    assert field_error(ops("PATCH", f"/api/feeds/{feed_id}", {"paused": "maybe"})) == [
        "body",
        "paused",
    ]
    assert field_error(ops("PATCH", f"/api/feeds/{feed_id}", {})) == ["body", "paused"]
    assert field_error(ops("PATCH", f"/api/feeds/{feed_id}", {"paused": True, "x": 1})) == [
        "body",
        "x",
    ]
    assert not is_paused(db_url, feed_id)
