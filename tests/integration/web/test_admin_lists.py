"""The console's lists: topics with keyword rules, feeds with "fetch now", the
suppression list, and deliveries with "retry selected" and "retry all failed"
against a real SMTP server."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Article, Delivery, Feed, Subscriber, Suppression, Topic
from digest.domain.consent import address_hash
from digest.mail.sender import SMTPSender
from digest.services import console
from digest.services.sending import pipeline
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<link>https://wire.example.org/</link><description>d</description>
<item><title>Rates rise again</title><link>https://wire.example.org/rates</link>
<guid>https://wire.example.org/rates</guid><pubDate>Mon, 01 Jun 2026 10:00:00 GMT</pubDate>
<description>The central bank moved.</description></item>
</channel></rss>"""


def operator(mail_settings, db_url):  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    return client


def post(client, path: str, data: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/sign-in").text)
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def test_topics_are_added_and_their_keyword_rules_changed(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client = operator(mail_settings, db_url)
    added = post(
        client,
        "/admin/topics",
        {"slug": "economy", "name": "Economy", "keywords": "rates, inflation"},
    )
    assert added.status_code == 303
    page = client.get("/admin/topics").text
    assert 'id="topic-economy"' in page and 'value="rates, inflation"' in page

    changed = post(
        client, "/admin/topics/economy", {"name": "The economy", "keywords": "rates, jobs"}
    )
    assert changed.status_code == 303
    with unit_of_work(db_url) as s:
        topic = s.scalars(select(Topic).where(Topic.slug == "economy")).one()
        assert (topic.name, topic.keywords) == ("The economy", ["rates", "jobs"])

    refused = post(client, "/admin/topics", {"slug": "Not a slug!", "name": "X"})
    assert refused.status_code == 422
    assert "slug" in re.search(r'id="error">([^<]+)<', refused.text).group(1)
    with unit_of_work(db_url) as s:
        assert s.query(Topic).count() == 1


def test_a_feed_is_added_fetched_now_and_shows_its_articles_and_errors(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    state = {"fail": False}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the server's name for it
            if state["fail"]:
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(FEED)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    feed_url = f"http://127.0.0.1:{server.server_address[1]}/rss"
    settings = dataclasses.replace(mail_settings, allow_private_feeds=True)
    world.topics("economy")
    try:
        client = operator(settings, db_url)
        assert (
            post(client, "/admin/feeds", {"url": feed_url, "topics": "economy"}).status_code == 303
        )
        with unit_of_work(db_url) as s:
            feed_id = s.scalars(select(Feed.id)).one()

        fetched = post(client, f"/admin/feeds/{feed_id}/fetch")
        assert fetched.status_code == 200
        assert "1 new" in re.search(r'id="notice">([^<]+)<', fetched.text).group(1)
        row = re.search(rf'<tr id="feed-{feed_id}"[^>]*>(.*?)</tr>', fetched.text, re.S).group(1)
        assert "Wire" in row and "HTTP 200" in row and '<td class="n">1</td>' in row
        with unit_of_work(db_url) as s:
            assert s.scalars(select(Article.title)).all() == ["Rates rise again"]

        state["fail"] = True
        failed = post(client, f"/admin/feeds/{feed_id}/fetch")
        assert "500" in re.search(r'id="error">([^<]+)<', failed.text).group(1)
        assert (
            "500"
            in client.get("/admin/feeds").text.split(f'id="feed-{feed_id}"')[1].split("</tr>")[0]
        )

        refused = post(client, "/admin/feeds", {"url": "ftp://x", "topics": "economy"})
        assert refused.status_code == 422 and 'id="error"' in refused.text
    finally:
        server.shutdown()


def test_the_suppression_list_is_added_to_and_removed_from(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client = operator(mail_settings, db_url)
    added = post(
        client,
        "/admin/suppressions",
        {"email": "Spam.Trap@Example.org", "reason": "complaint", "detail": "reported by the ISP"},
    )
    assert added.status_code == 303
    page = client.get("/admin/suppressions").text
    assert "spam.trap@example.org" in page and "reported by the ISP" in page
    with unit_of_work(db_url) as s:
        entry = s.scalars(select(Suppression)).one()
        assert entry.email_hash == address_hash("spam.trap@example.org")
        entry_id = entry.id

    bad = post(client, "/admin/suppressions", {"email": "nobody", "reason": "manual"})
    assert bad.status_code == 422 and "email" in bad.text

    assert post(client, f"/admin/suppressions/{entry_id}/remove").status_code == 303
    with unit_of_work(db_url) as s:
        assert s.query(Suppression).count() == 0
    assert post(client, f"/admin/suppressions/{entry_id}/remove").status_code == 404


def failed_deliveries(world, mail_settings, smtp_server, db_url, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    world.topics("tech")
    for i in range(n):
        world.subscriber(f"r{i}@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    for i in range(n):
        smtp_server.handler.rcpt_replies[f"r{i}@example.org"] = (
            "554 5.7.1 message refused by policy"
        )
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == n
    smtp_server.handler.rcpt_replies.clear()
    with unit_of_work(db_url) as s:
        return list(s.scalars(select(Delivery.id).order_by(Delivery.id)))


def test_operators_retry_selected_deliveries_then_all_failed_ones(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    ids = failed_deliveries(world, mail_settings, smtp_server, db_url, 3)
    client = operator(mail_settings, db_url)
    page = client.get("/admin/deliveries?status=failed").text
    assert len(re.findall(r'name="ids" value="\d+"', page)) == 3
    assert "554 5.7.1 message refused by policy" in page

    retried = post(client, "/admin/deliveries/retry", {"ids": [str(ids[0])]})
    assert retried.status_code == 200
    assert "Retried 1: 1 sent" in retried.text
    assert [r.rcpt_tos for r in smtp_server.received] == [["r0@example.org"]]

    again = post(client, "/admin/deliveries/retry", {"ids": [str(ids[0])]})
    assert "1 skipped" in again.text  # already sent: not sent twice
    assert len(smtp_server.received) == 1

    everything = post(client, "/admin/deliveries/retry-failed")
    assert "Retried 2: 2 sent" in everything.text
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "r0@example.org",
        "r1@example.org",
        "r2@example.org",
    ]
    with unit_of_work(db_url) as s:
        assert set(s.scalars(select(Delivery.status))) == {"sent"}
    assert "No delivery is failed" in client.get("/admin/deliveries?status=failed").text


def test_editors_see_topics_and_feeds_but_every_change_is_refused(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    ids = failed_deliveries(world, mail_settings, smtp_server, db_url, 1)
    admin(db_url, "ed@example.org", "editor")
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    for path in ("/admin/topics", "/admin/feeds"):
        page = editor.get(path)
        assert page.status_code == 200, path
        assert 'method="post"' not in page.text.split("</nav>", 1)[1], path
    # Suppressions and deliveries name readers: they are the operators' alone.
    for path in ("/admin/suppressions", "/admin/deliveries"):
        assert editor.get(path).status_code == 403, path
    for path, data in (
        ("/admin/topics", {"slug": "x"}),
        ("/admin/topics/tech", {"name": "X"}),
        ("/admin/suppressions", {"email": "a@example.org"}),
        ("/admin/deliveries/retry", {"ids": [str(ids[0])]}),
        ("/admin/deliveries/retry-failed", {}),
    ):
        assert post(editor, path, data).status_code == 403, path
    assert smtp_server.received == []
    with unit_of_work(db_url) as s:
        assert s.query(Topic).count() == 1 and s.query(Suppression).count() == 0

    anonymous = browser(mail_settings)
    for path in ("/admin/topics", "/admin/feeds", "/admin/suppressions", "/admin/deliveries"):
        assert anonymous.get(path, follow_redirects=False).status_code == 303
    operator_client = operator(mail_settings, db_url)
    no_token = operator_client.post("/admin/topics", data={"slug": "x"}, follow_redirects=False)
    assert no_token.status_code == 403
    with unit_of_work(db_url) as s:
        assert s.scalars(select(Subscriber.status)).all() == ["active"]


def test_retry_all_failed_sends_a_first_batch_and_leaves_the_rest_to_the_workers(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    failed_deliveries(world, mail_settings, smtp_server, db_url, 3)
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    now = SLOT1 + timedelta(hours=2)

    report = console.retry_failed(db_url, mail_settings, sender, now, send_now=1)

    assert (report.retried, report.sent, report.queued) == (1, 1, 2)
    assert len(smtp_server.received) == 1
    with unit_of_work(db_url) as s:
        left = s.scalars(select(Delivery).where(Delivery.status == "deferred")).all()
        assert len(left) == 2 and {d.next_attempt_at for d in left} == {now}
    # The workers' retry sweep sends them, once each.
    assert pipeline.retry(db_url, mail_settings, sender, lambda: now).sent == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "r0@example.org",
        "r1@example.org",
        "r2@example.org",
    ]
