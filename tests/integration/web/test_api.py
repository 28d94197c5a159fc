"""The JSON API over HTTP: each route's answer, its refusals (401 anonymous, 403 for
editors on every change but pinning and holding articles, 404, 409, 422 naming the
field), keyset pages, and a retry that reaches a real SMTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Article, Delivery, Subscriber, Suppression, Topic
from digest.mail.sender import SMTPSender
from digest.services import console, editorial
from digest.services.console.admins import create_api_key
from digest.services.sending import pipeline
from digest.web.app import create_app
from tests.conftest import SmtpServer, World
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
MAX_ID = 2**31 - 1


def api_key(db_url: str, role: str) -> str:
    with unit_of_work(db_url) as s:
        return create_api_key(s, f"{role} script", role, T0)


def some_data(db_url: str) -> None:
    """Two topics, a subscriber, a feed, an article and a suppressed address."""
    with unit_of_work(db_url) as s:
        console.create_topic(s, "tech", "Technology", ["python"])
        console.create_topic(s, "world", "World")
        console.create_subscriber(
            s,
            console.SubscriberChanges(email="ana@example.org", topics=["world"], confirmed=True),
            T0,
        )
        console.create_feed(s, "https://feeds.example.org/rss", ["tech"], allow_private=True)
        console.add_suppression(s, "blocked@example.org", T0, detail="asked by phone")
        editorial.push_articles(
            s, [{"url": "https://news.example.org/a", "title": "A", "topics": ["tech"]}], T0
        )


def failed_delivery(
    world: World, mail_settings: Settings, smtp_server: SmtpServer, db_url: str
) -> int:
    """A delivery the SMTP server refused for good (554); the server accepts from now."""
    world.topics("tech")
    world.subscriber("bob@example.org", "tech", T0)
    world.article("b1", SLOT1 - timedelta(hours=1), ["tech"])
    smtp_server.handler.rcpt_replies["bob@example.org"] = "554 5.7.1 message refused by policy"
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 1
    smtp_server.handler.rcpt_replies.clear()
    with unit_of_work(db_url) as s:
        return s.scalars(select(Delivery.id).where(Delivery.status == "failed")).one()


class Api:
    """A client holding an API key, and another holding none."""

    def __init__(self, settings: Settings, key: str | None) -> None:
        self.client = TestClient(create_app(settings), base_url="https://testserver")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def __call__(self, method: str, url: str, body: Any = None, **params: Any) -> Any:
        return self.client.request(
            method, url, json=body, params=params or None, headers=self.headers
        )


@pytest.fixture
def ops(mail_settings: Settings, db_url: str) -> Api:
    return Api(mail_settings, api_key(db_url, "operator"))


@pytest.fixture
def editor(mail_settings: Settings, db_url: str) -> Api:
    return Api(mail_settings, api_key(db_url, "editor"))


def field_error(response: Any) -> list[Any]:
    """The location of the first problem in a 422 answer."""
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


CHANGES: list[tuple[str, str, Any]] = [
    ("POST", "/api/subscribers", {"email": "x@example.org", "topics": ["tech"]}),
    ("PUT", "/api/subscribers/1", {"name": "X"}),
    ("DELETE", "/api/subscribers/1", None),
    ("POST", "/api/subscribers/1/suppress", {}),
    ("POST", "/api/topics", {"slug": "science"}),
    ("PUT", "/api/topics/tech", {"name": "Tech"}),
    ("POST", "/api/feeds", {"url": "https://feeds.example.org/2", "topics": ["tech"]}),
    ("DELETE", "/api/feeds/1", None),
    ("POST", "/api/feeds/1/fetch", None),
    ("POST", "/api/articles", {"articles": [{"url": "https://e.org/x", "title": "X"}]}),
    ("POST", "/api/suppressions", {"email": "y@example.org"}),
    ("DELETE", "/api/suppressions/1", None),
    ("POST", "/api/deliveries/retry", {"ids": [1]}),
    ("POST", "/api/deliveries/retry-failed", None),
    ("POST", "/api/deliveries/1/retry", None),
    ("PUT", "/api/sending", {"paused": True}),
]
PERSONAL = ("/api/subscribers", "/api/suppressions", "/api/deliveries")
READS = [
    "/api/subscribers",
    "/api/subscribers/1",
    "/api/topics",
    "/api/feeds",
    "/api/articles",
    "/api/suppressions",
    "/api/deliveries",
    "/api/stats",
]


def test_anonymous_callers_get_401_and_editors_may_read_but_change_nothing(
    mail_settings: Settings, db_url: str, editor: Api
) -> None:
    some_data(db_url)
    anonymous = Api(mail_settings, None)
    for path in READS:
        assert anonymous("GET", path).status_code == 401, path
        # Readers' personal data is the operators' alone.
        expected = 403 if path.startswith(PERSONAL) else 200
        assert editor("GET", path).status_code == expected, path
    for method, path, body in CHANGES:
        refused = anonymous(method, path, body)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == "Bearer"
        refused = editor(method, path, body)
        assert refused.status_code == 403, path
        assert refused.json() == {"detail": "the editor role cannot change or delete data"}
    # Refused before the body is even read: no hint of what a valid one looks like.
    assert editor("POST", "/api/subscribers", {"nonsense": 1}).status_code == 403
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 1
        assert s.get(Subscriber, 1) is not None


def test_subscribers_are_created_read_changed_suppressed_and_erased(ops: Api, db_url: str) -> None:
    some_data(db_url)
    made = ops(
        "POST",
        "/api/subscribers",
        {
            "email": "Cleo@Example.ORG",
            "name": "Cleo",
            "topics": ["tech", "world"],
            "frequency": "weekly",
            "timezone": "Europe/Brussels",
            "hour": 6,
            "weekday": "fri",
            "confirmed": True,
        },
    )
    assert made.status_code == 201, made.text
    cleo = made.json()
    assert cleo["subscriber"]["email"] == "cleo@example.org"
    assert cleo["subscriber"]["status"] == "active"
    assert cleo["subscriber"]["weekday"] == "fri" and cleo["subscriber"]["hour"] == 6
    assert {(s["topic"], s["frequency"]) for s in cleo["subscriptions"]} == {
        ("tech", "weekly"),
        ("world", "weekly"),
    }
    url = f"/api/subscribers/{cleo['id']}"
    assert ops("GET", url).json() == cleo

    changed = ops("PUT", url, {"hour": 9, "name": ""})
    assert changed.status_code == 200, changed.text
    assert changed.json()["subscriber"]["hour"] == 9
    assert changed.json()["subscriber"]["name"] is None
    assert changed.json()["subscriptions"] == cleo["subscriptions"]  # untouched
    moved = ops("PUT", url, {"email": "cleo@example.net", "topics": ["tech"]}).json()
    assert moved["subscriber"]["email"] == "cleo@example.net"
    assert moved["subscriptions"] == [
        {"topic": "tech", "name": "Technology", "frequency": "weekly"}
    ]

    suppressed = ops("POST", f"{url}/suppress", {"detail": "asked by email"})
    assert suppressed.status_code == 200, suppressed.text
    assert suppressed.json()["reason"] == "operator"
    assert suppressed.json()["email"] == "cleo@example.net"
    after = ops("GET", url).json()
    assert after["subscriber"]["status"] == "unsubscribed"
    assert after["suppression"] == {"id": suppressed.json()["id"], "reason": "operator"}
    # Confirming a suppressed address again is refused.
    assert ops("PUT", url, {"confirmed": True}).status_code == 409

    assert ops("DELETE", url).status_code == 204
    assert ops("GET", url).status_code == 404
    assert ops("DELETE", url).status_code == 404
    with unit_of_work(db_url) as s:
        entry = s.get(Suppression, suppressed.json()["id"])
        assert entry is not None and entry.email is None  # only the hash stays


def test_subscriber_input_is_refused_field_by_field(ops: Api, db_url: str) -> None:
    some_data(db_url)
    good = {"email": "dan@example.org", "topics": ["tech"]}
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({**good, "email": "not an address"}, ["body", "email"]),
        ({**good, "topics": []}, ["body", "topics"]),
        ({**good, "topics": ["nope"]}, ["body", "topics"]),
        ({**good, "hour": 24}, ["body", "hour"]),
        ({**good, "frequency": "hourly"}, ["body", "frequency"]),
        ({**good, "weekday": "someday"}, ["body", "weekday"]),
        ({**good, "timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({**good, "name": "a\x00b"}, ["body", "name"]),
        ({**good, "name": "x" * 201}, ["body", "name"]),
        ({**good, "colour": "red"}, ["body", "colour"]),
    ]
    for body, loc in cases:
        answer = ops("POST", "/api/subscribers", body)
        assert field_error(answer) == loc, body
    unknown = ops("POST", "/api/subscribers", {**good, "topics": ["sport"]}).json()["detail"]
    assert unknown == [
        {
            "loc": ["body", "topics"],
            "msg": "unknown topic sport: create it with 'digest topics add SLUG'",
            "type": "value_error",
        }
    ]
    taken = ops("POST", "/api/subscribers", {**good, "email": "ANA@example.org"})
    assert taken.status_code == 409 and "already has the address" in taken.json()["detail"]
    blocked = ops("POST", "/api/subscribers", {**good, "email": "blocked@example.org"})
    assert blocked.status_code == 409 and "suppression list" in blocked.json()["detail"]
    clash = ops("PUT", "/api/subscribers/1", {"email": "blocked@example.org"})
    assert clash.status_code == 409
    assert ops("PUT", "/api/subscribers/999", {"name": "X"}).status_code == 404
    assert field_error(ops("GET", f"/api/subscribers/{MAX_ID + 1}")) == [
        "path",
        "subscriber_id",
    ]
    assert ops("GET", f"/api/subscribers/{MAX_ID}").status_code == 404
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_subscriber_lists_page_by_keyset_and_filter(ops: Api, world: World, db_url: str) -> None:
    world.topics("tech", "world")
    for i in range(7):
        world.subscriber(f"reader{i}@{'north' if i % 2 else 'south'}.example", "tech", T0)
    world.subscriber("lone@world.example", "world", T0)
    seen: list[str] = []
    after: int | None = 0
    while after is not None:
        page = ops("GET", "/api/subscribers", limit=3, after=after).json()
        assert len(page["items"]) <= 3
        seen += [row["email"] for row in page["items"]]
        after = page["next"]
    assert len(seen) == len(set(seen)) == 8
    north = ops("GET", "/api/subscribers", fragment="NORTH").json()["items"]
    assert [r["email"] for r in north] == [f"reader{i}@north.example" for i in (1, 3, 5)]
    only = ops("GET", "/api/subscribers", topic="world").json()["items"]
    assert [r["email"] for r in only] == ["lone@world.example"]
    assert ops("GET", "/api/subscribers", status="bounced").json() == {"items": [], "next": None}
    assert field_error(ops("GET", "/api/subscribers", limit=201)) == ["query", "limit"]
    assert field_error(ops("GET", "/api/subscribers", status="gone")) == ["query", "status"]
    assert field_error(ops("GET", "/api/subscribers", fragment="a\x00")) == ["query", "fragment"]


def test_topics_are_listed_with_counts_created_and_changed(ops: Api, db_url: str) -> None:
    some_data(db_url)
    made = ops("POST", "/api/topics", {"slug": "science", "keywords": ["Space", "space", "DNA"]})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "Science" and made.json()["keywords"] == ["space", "dna"]
    assert ops("POST", "/api/topics", {"slug": "science"}).status_code == 409
    assert field_error(ops("POST", "/api/topics", {"slug": "Not a slug"})) == ["body", "slug"]
    changed = ops("PUT", "/api/topics/science", {"name": "Science & space"})
    assert changed.json()["name"] == "Science & space"
    assert changed.json()["keywords"] == ["space", "dna"]  # left out, so kept
    assert ops("PUT", "/api/topics/sport", {"name": "Sport"}).status_code == 404
    listed = {t["slug"]: t for t in ops("GET", "/api/topics").json()}
    assert list(listed) == ["science", "tech", "world"]
    assert (listed["tech"]["articles"], listed["world"]["subscribers"]) == (1, 1)


class FeedHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def feed_url(shared_path: Callable[[str], Path]) -> Iterator[str]:
    FeedHandler.body = shared_path("samples/example-news.rss.xml").read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/news.rss"
    finally:
        server.shutdown()
        server.server_close()


def test_feeds_are_added_fetched_listed_and_deleted(
    mail_settings: Settings, db_url: str, world: World, feed_url: str
) -> None:
    world.topics("tech")
    key = api_key(db_url, "operator")
    strict = Api(mail_settings, key)
    refused = strict("POST", "/api/feeds", {"url": feed_url, "topics": ["tech"]})
    assert field_error(refused) == ["body", "url"]
    assert "loopback" in refused.json()["detail"][0]["msg"]

    ops = Api(mail_settings.with_overrides(allow_private_feeds=True), key)
    made = ops("POST", "/api/feeds", {"url": feed_url, "topics": ["tech"]})
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["topics"] == ["tech"] and feed["articles"] == 0
    again = ops("POST", "/api/feeds", {"url": feed_url, "topics": ["tech"]})
    assert again.status_code == 409
    assert field_error(ops("POST", "/api/feeds", {"url": feed_url, "topics": ["sport"]})) == [
        "body",
        "topics",
    ]
    assert field_error(ops("POST", "/api/feeds", {"url": "ftp://x.org/f", "topics": ["tech"]})) == [
        "body",
        "url",
    ]

    report = ops("POST", f"/api/feeds/{feed['id']}/fetch")
    assert report.status_code == 200, report.text
    assert report.json()["status"] == "ok" and report.json()["added"] > 0
    [listed] = ops("GET", "/api/feeds").json()
    assert listed["last_status"] == 200 and listed["error_count"] == 0
    assert listed["articles"] == report.json()["added"]
    assert ops("POST", "/api/feeds/99/fetch").status_code == 404

    assert ops("DELETE", f"/api/feeds/{feed['id']}").status_code == 204
    assert ops("GET", "/api/feeds").json() == []
    assert ops("DELETE", f"/api/feeds/{feed['id']}").status_code == 404
    with unit_of_work(db_url) as s:  # the articles stay
        assert s.scalar(select(func.count()).select_from(Article)) == report.json()["added"]


def test_articles_pushed_are_listed_newest_first_and_bad_ones_store_nothing(
    ops: Api, world: World, db_url: str
) -> None:
    world.topics("tech", "world")
    articles = [
        {
            "url": f"https://news.example.org/{i}",
            "title": f"<b>Story</b> {i}",
            "summary": "<p>Text<script>alert(1)</script></p>",
            "published_at": "2026-06-01T08:00:00+02:00",
            "topics": ["tech"] if i % 2 else ["world"],
        }
        for i in range(5)
    ]
    pushed = ops("POST", "/api/articles", {"articles": articles})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["added"] == 5 and len(pushed.json()["article_ids"]) == 5
    again = ops("POST", "/api/articles", {"articles": articles[:1]}).json()
    assert (again["added"], again["unchanged"]) == (0, 1)

    titles: list[str] = []
    before: int | None = None
    while True:
        page = ops("GET", "/api/articles", limit=2, **({"before": before} if before else {}))
        titles += [a["title"] for a in page.json()["items"]]
        before = page.json()["next"]
        if before is None:
            break
    assert titles == [f"Story {i}" for i in reversed(range(5))]
    first = ops("GET", "/api/articles", limit=1).json()["items"][0]
    assert first["published_at"] == "2026-06-01T06:00:00Z"
    tech = ops("GET", "/api/articles", topic="tech").json()["items"]
    assert [a["title"] for a in tech] == ["Story 3", "Story 1"]

    bad = ops(
        "POST",
        "/api/articles",
        {
            "articles": [
                {"url": "https://news.example.org/new", "title": "New"},
                {"url": "https://news.example.org/x", "title": "X", "topics": ["sport"]},
                {"url": "https://news.example.org/y", "title": "<br>"},
            ]
        },
    )
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [
        ["body", "articles", 1, "topics"],
        ["body", "articles", 2, "title"],
    ]
    assert field_error(
        ops("POST", "/api/articles", {"articles": [{"url": "javascript:x", "title": "X"}]})
    ) == ["body", "articles", 0, "url"]
    assert field_error(ops("POST", "/api/articles", {"articles": []})) == ["body", "articles"]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 5


def test_suppressions_are_listed_by_keyset_added_and_removed(ops: Api, db_url: str) -> None:
    some_data(db_url)
    for i in range(4):
        assert ops("POST", "/api/suppressions", {"email": f"s{i}@example.org"}).status_code == 201
    again = ops("POST", "/api/suppressions", {"email": "S0@example.org"})
    assert again.status_code == 409
    assert (
        field_error(ops("POST", "/api/suppressions", {"email": "x@example.org", "reason": "?"}))[-1]
        == "reason"
    )
    emails: list[str] = []
    after: int | None = 0
    while after is not None:
        page = ops("GET", "/api/suppressions", limit=2, after=after).json()
        emails += [row["email"] for row in page["items"]]
        after = page["next"]
    assert emails == ["blocked@example.org", *(f"s{i}@example.org" for i in range(4))]

    # Suppressing the address of a subscriber unsubscribes them.
    ana = ops("POST", "/api/suppressions", {"email": "ana@example.org", "reason": "complaint"})
    assert ana.status_code == 201
    assert ops("GET", "/api/subscribers/1").json()["subscriber"]["status"] == "unsubscribed"
    assert ops("DELETE", f"/api/suppressions/{ana.json()['id']}").status_code == 204
    assert ops("DELETE", f"/api/suppressions/{ana.json()['id']}").status_code == 404
    # Off the list again, she is still unsubscribed: only she can come back.
    again = ops("PUT", "/api/subscribers/1", {"confirmed": True})
    assert again.status_code == 409 and "only the reader" in again.json()["detail"]
    made = ops("POST", "/api/subscribers", {"email": "s9@example.org", "topics": ["tech"]})
    assert made.status_code == 201


def test_a_failed_delivery_is_listed_and_a_retry_sends_it_to_the_smtp_server(
    ops: Api, world: World, mail_settings: Settings, smtp_server: SmtpServer, db_url: str
) -> None:
    delivery_id = failed_delivery(world, mail_settings, smtp_server, db_url)
    failed = ops("GET", "/api/deliveries", status="failed").json()["items"]
    assert [d["id"] for d in failed] == [delivery_id]
    assert failed[0]["attempt_log"][0]["code"] == 554
    assert "refused by policy" in failed[0]["last_text"]
    received = len(smtp_server.received)

    done = ops("POST", f"/api/deliveries/{delivery_id}/retry")
    assert done.status_code == 200, done.text
    assert done.json() == {"id": delivery_id, "outcome": "sent", "reason": None}
    assert len(smtp_server.received) == received + 1
    assert smtp_server.received[-1].rcpt_tos == ["bob@example.org"]
    again = ops("POST", f"/api/deliveries/{delivery_id}/retry")
    assert again.status_code == 409 and "only failed deliveries" in again.json()["detail"]
    assert ops("POST", "/api/deliveries/999/retry").status_code == 404

    report = ops("POST", "/api/deliveries/retry", {"ids": [delivery_id, 999]}).json()
    assert report["retried"] == 0 and report["skipped"] == 2
    assert [d["outcome"] for d in report["deliveries"]] == ["skipped", "skipped"]
    assert len(smtp_server.received) == received + 1
    assert field_error(ops("POST", "/api/deliveries/retry", {"ids": [MAX_ID + 1]}))[:2] == [
        "body",
        "ids",
    ]


def test_retrying_all_failed_deliveries_sends_each_once(
    ops: Api, world: World, mail_settings: Settings, smtp_server: SmtpServer, db_url: str
) -> None:
    world.topics("tech")
    for name in ("c", "d", "e"):
        world.subscriber(f"{name}@example.org", "tech", T0)
        smtp_server.handler.rcpt_replies[f"{name}@example.org"] = "550 5.7.1 not now"
    world.article("t1", SLOT1 - timedelta(hours=1), ["tech"])
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 3
    del smtp_server.handler.rcpt_replies["c@example.org"]  # e and d still refused
    received = len(smtp_server.received)

    report = ops("POST", "/api/deliveries/retry-failed").json()
    assert (report["retried"], report["sent"], report["failed"]) == (3, 1, 2)
    assert [r.rcpt_tos for r in smtp_server.received[received:]] == [["c@example.org"]]
    statuses = {d["email"]: d["status"] for d in ops("GET", "/api/deliveries").json()["items"]}
    assert statuses == {
        "c@example.org": "sent",
        "d@example.org": "failed",
        "e@example.org": "failed",
    }


def test_stats_and_the_sending_switch(ops: Api, db_url: str) -> None:
    some_data(db_url)
    assert ops("GET", "/api/stats").json() == {
        "subscribers": {"active": 1},
        "deliveries": {},
        "sending_paused": False,
        "replies_unrecorded": 0,
        "bounce_reasons": [],
        "sender_health": None,
    }
    assert ops("PUT", "/api/sending", {"paused": True}).json() == {"paused": True}
    assert ops("GET", "/api/stats").json()["sending_paused"] is True
    assert field_error(ops("PUT", "/api/sending", {"paused": True, "x": 1})) == ["body", "x"]


def test_awkward_input_is_a_422_never_a_server_error(ops: Api, db_url: str) -> None:
    some_data(db_url)

    def post(path: str, raw: bytes) -> Any:
        headers = {**ops.headers, "Content-Type": "application/json"}
        return ops.client.post(path, content=raw, headers=headers)

    article = b'{"articles": [{"url": "https://e.org/1", "title": "T", %s}]}'
    for raw, loc in [
        (article % b'"published_at": "0001-01-01T00:00:00+01:00"', "published_at"),
        (article % b'"published_at": "9999-12-31T23:59:59-01:00"', "published_at"),
        (article % b'"published_at": 1e300', "published_at"),
        (article % b'"author": "lone \\ud800 surrogate"', "author"),
        (article % b'"summary": "a NUL \\u0000 byte"', "summary"),
    ]:
        answer = post("/api/articles", raw)
        assert field_error(answer) == ["body", "articles", 0, loc], raw
        assert answer.content.isascii()  # the refused input is never echoed back raw
    assert field_error(post("/api/topics", b'{"slug": "x", "name": 1e99999}')) == ["body", "name"]
    assert field_error(post("/api/topics", b"\xff\xfe{")) == ["body"]
    assert field_error(ops("PUT", "/api/topics/a%00b", {})) == ["path", "slug"]
    assert field_error(ops("GET", "/api/articles", before=2**31)) == ["query", "before"]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 1


def test_the_session_cookie_reads_the_api_but_never_changes_anything(
    mail_settings: Settings, db_url: str
) -> None:
    some_data(db_url)
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    listed = client.get("/api/topics")
    assert listed.status_code == 200 and listed.json()
    # Another page could post this form with the cookie attached: refused.
    for method, path in (
        ("POST", "/api/topics"),
        ("POST", "/api/deliveries/retry-failed"),
        ("PUT", "/api/sending"),
    ):
        refused = client.request(method, path, json={"slug": "science", "paused": True})
        assert refused.status_code == 401, path
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Topic).where(Topic.slug == "science")) == 0
