"""Bounce reasons wherever bounces are shown: the subscriber's page and their JSON, the
dashboard's table of reasons over 30 days, its alert when receivers blamed our
sending in the last 7 days (what the reports said for operators only), and
``/api/stats``. Events are stored with chosen reasons, dated by the real clock that
the dashboard reads."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from digest.config import Settings
from tests.conftest import World
from tests.integration.services.bounce_events import (
    SENDER_OUTCOME,
    add_bounced_delivery,
    add_event,
    now_minus,
)
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, api_key, sign_in

DMARC = "dmarc-reports.example.com"
DKIM_FAIL = "dkim=fail (body hash did not verify) header.d=news.example.org"
RELAY_REFUSAL = "554 5.7.1 Service unavailable; client host blocked using zen.example.net"
ALERT = re.compile(
    r'<section class="warning sender-health" role="alert" id="sender-health".*?</section>', re.S
)
TABLE_ROW = re.compile(
    r'<tr(?: class="([^"]*)")?><th scope="row">(.*?)<span class="reason-words">(.*?)</span></th>'
    r'<td class="n">(\d+)</td></tr>'
)


def text_of(fragment: str) -> str:
    """What a reader of the page sees of ``fragment``: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def reason_table(page: str) -> list[tuple[str, str, int, bool]]:
    """The rows of *Bounces by reason*: reason, meaning, count, marked as blaming us."""
    found = re.search(r'<table id="bounce-reasons".*?</table>', page, re.S)
    assert found is not None, "no table of bounce reasons"
    return [
        (text_of(reason), text_of(words), int(n), css == "sender-side")
        for css, reason, words, n in TABLE_ROW.findall(found.group(0))
    ]


def signed_in(settings: Settings, db_url: str, role: str):  # type: ignore[no-untyped-def]
    email = f"{role}@example.org"
    admin(db_url, email, role)
    client = browser(settings)
    assert sign_in(client, email).status_code == 303
    return client


def sender_side_week(db_url: str) -> datetime:
    """Reports of the last 30 days: two authentication failures and a relay's block
    in the last 7 days, reader-side bounces, one from before reasons, an old block.
    Returns when the latest report blaming our sending arrived."""
    latest = now_minus(hours=5)
    add_event(db_url, now_minus(days=3), "blocked", kind="soft", source="relay",
              recipient="ben@example.net", status="5.7.1", diagnostic=RELAY_REFUSAL,
              reporter="mx.example.net", matched_by="verp")  # fmt: skip
    add_event(db_url, now_minus(days=2), "auth_failure", kind="not-bounce", source="mailbox",
              reporter=DMARC, diagnostic="spf=fail smtp.mailfrom=news.example.org")  # fmt: skip
    add_event(db_url, latest, "auth_failure", kind="not-bounce", source="mailbox",
              recipient="ana@example.org", reporter=DMARC, diagnostic=DKIM_FAIL)  # fmt: skip
    for hours in (1, 30, 60):
        add_event(db_url, now_minus(hours=hours), "mailbox_full", recipient="cy@example.org")
    add_event(db_url, now_minus(days=4), "user_unknown", kind="hard", recipient="dee@example.org")
    add_event(db_url, now_minus(days=20), None, kind="hard", recipient="eve@example.org")
    add_event(db_url, now_minus(days=12), "blocked", kind="soft", source="relay")
    add_event(db_url, now_minus(days=40), "spam_detected", kind="soft")  # outside both
    return latest


def test_the_dashboard_counts_reasons_and_alerts_operators_to_reports_blaming_our_sending(
    mail_settings: Settings, db_url: str
) -> None:
    latest_at = sender_side_week(db_url)
    page = signed_in(mail_settings, db_url, "operator").get("/admin")
    assert page.status_code == 200
    assert reason_table(page.text) == [
        ("mailbox_full", "the mailbox is full", 3, False),
        ("blocked", "our sending IP or its reputation was refused blames our sending", 2, True),
        ("auth_failure", "SPF, DKIM or DMARC failed for our mail blames our sending", 2, True),
        ("user_unknown", "no such mailbox at that domain", 1, False),
        ("not recorded", "stored before bounce reasons were recorded", 1, False),
    ]
    assert "Bounces by reason, last 30 days" in page.text

    alert = ALERT.search(page.text)
    assert alert is not None
    # Above the chart: the first thing under the sending state.
    assert page.text.index('id="sender-health"') < page.text.index("Deliveries per day")
    said = text_of(alert.group(0))
    assert said.startswith("Receivers refused our sending: 3 reports in the last 7 days")
    assert "These reports blame our sending, not the readers' addresses" in said
    assert "IP address, DNS, authentication or content" in said
    assert "They are not counted against readers" in said
    assert "SPF, DKIM and DMARC records" in said and "block list" in said
    assert "reverse DNS" in said
    assert "2 auth_failure: SPF, DKIM or DMARC failed for our mail" in said
    assert "1 blocked: our sending IP or its reputation was refused" in said
    latest = re.search(r'<p id="sender-health-latest">.*?</p>', alert.group(0), re.S)
    assert latest is not None
    said_latest = text_of(latest.group(0))
    assert said_latest.startswith("Latest: ") and said_latest.endswith(
        f", auth_failure (not-bounce, by mailbox) reported by {DMARC} about ana@example.org: "
        f"{DKIM_FAIL}."
    )
    assert f'<time datetime="{latest_at:%Y-%m-%dT%H:%M:%SZ}"' in latest.group(0)


def test_editors_see_the_alert_without_what_the_reports_said_about_readers(
    mail_settings: Settings, db_url: str
) -> None:
    sender_side_week(db_url)
    page = signed_in(mail_settings, db_url, "editor").get("/admin").text
    alert = ALERT.search(page)
    assert alert is not None
    said = text_of(alert.group(0))
    assert said.startswith("Receivers refused our sending: 3 reports in the last 7 days")
    assert f"reported by {DMARC}. What it said may name a reader, so only operators see it" in said
    for personal in ("ana@example.org", DKIM_FAIL, "ben@example.net", RELAY_REFUSAL):
        assert personal not in page, personal
    # The table holds no address: editors see it whole.
    assert [row[0] for row in reason_table(page)][:3] == ["mailbox_full", "blocked", "auth_failure"]


def test_no_alert_for_reader_side_reports_or_sender_reports_older_than_7_days(
    mail_settings: Settings, db_url: str
) -> None:
    add_event(db_url, now_minus(hours=1), "mailbox_full", recipient="cy@example.org")
    add_event(db_url, now_minus(days=1), "user_unknown", kind="hard")
    add_event(db_url, now_minus(days=2), "vacation", kind="auto-reply")
    client = signed_in(mail_settings, db_url, "operator")
    page = client.get("/admin").text
    assert 'id="sender-health"' not in page and 'role="alert"' not in page

    # A week and a minute ago: in the table, marked, but no longer an alert.
    add_event(db_url, now_minus(days=7, minutes=1), "auth_failure", kind="not-bounce")
    page = client.get("/admin").text
    assert 'id="sender-health"' not in page
    assert (
        "auth_failure",
        "SPF, DKIM or DMARC failed for our mail blames our sending",
        1,
        True,
    ) in (reason_table(page))
    # A fresh one brings it back.
    add_event(db_url, now_minus(minutes=1), "spam_detected", kind="soft", source="relay")
    assert ALERT.search(client.get("/admin").text) is not None


def test_an_empty_month_says_so(mail_settings: Settings, db_url: str) -> None:
    page = signed_in(mail_settings, db_url, "editor").get("/admin").text
    assert reason_table(page) == []
    assert "No bounce, complaint or report in the last 30 days." in page
    assert 'id="sender-health"' not in page


def test_api_stats_carries_the_reasons_and_the_sender_health_report(
    mail_settings: Settings, db_url: str
) -> None:
    sender_side_week(db_url)
    client = browser(mail_settings)
    as_operator = {"Authorization": f"Bearer {api_key(db_url, 'operator')}"}
    as_editor = {"Authorization": f"Bearer {api_key(db_url, 'editor')}"}
    stats = client.get("/api/stats", headers=as_operator).json()
    assert [(r["reason"], r["count"], r["sender_side"]) for r in stats["bounce_reasons"]] == [
        ("mailbox_full", 3, False),
        ("blocked", 2, True),
        ("auth_failure", 2, True),
        ("user_unknown", 1, False),
        (None, 1, False),
    ]
    health = stats["sender_health"]
    assert (health["days"], health["total"]) == (7, 3)
    assert [(r["reason"], r["count"]) for r in health["reasons"]] == [
        ("auth_failure", 2),
        ("blocked", 1),
    ]
    latest = health["latest"]
    assert (latest["reason"], latest["kind"], latest["reporter"]) == (
        "auth_failure",
        "not-bounce",
        DMARC,
    )
    assert (latest["diagnostic"], latest["recipient"]) == (DKIM_FAIL, "ana@example.org")
    hidden = client.get("/api/stats", headers=as_editor).json()["sender_health"]
    assert (hidden["latest"]["diagnostic"], hidden["latest"]["recipient"]) == (None, None)
    assert hidden["total"] == 3 and hidden["latest"]["reporter"] == DMARC


def test_api_stats_has_no_sender_health_without_such_reports(
    mail_settings: Settings, db_url: str
) -> None:
    add_event(db_url, now_minus(days=8), "blocked", kind="soft", source="relay")
    add_event(db_url, now_minus(hours=1), "mailbox_full")
    as_editor = {"Authorization": f"Bearer {api_key(db_url, 'editor')}"}
    stats = browser(mail_settings).get("/api/stats", headers=as_editor).json()
    assert stats["sender_health"] is None
    assert [r["reason"] for r in stats["bounce_reasons"]] == ["mailbox_full", "blocked"]


def test_the_subscriber_page_and_json_give_each_bounce_its_reason(
    world: World, mail_settings: Settings, db_url: str
) -> None:
    world.topics("tech")
    t0 = now_minus(days=10)
    ana = world.subscriber("ana@example.org", "tech", t0)
    full = add_bounced_delivery(
        db_url, ana, "ana@example.org", t0 + timedelta(days=1), kind="soft", reason="mailbox_full"
    )
    add_bounced_delivery(
        db_url, ana, "ana@example.org", t0 + timedelta(days=2), kind="soft", reason=None
    )
    add_event(db_url, t0 - timedelta(days=1), None, kind="soft", recipient="Ana@Example.org",
              diagnostic="452 4.2.2 over quota")  # fmt: skip
    add_event(db_url, t0 + timedelta(days=1, hours=1), "mailbox_full", kind="soft",
              subscriber_id=ana, delivery_id=full, recipient="ana@example.org", status="5.2.2",
              diagnostic="552 5.2.2 Mailbox full", matched_by="verp",
              outcome="counted: soft 5.2.2, 1 of 3 within 14 days")  # fmt: skip
    add_event(db_url, t0 + timedelta(days=3), "auth_failure", kind="not-bounce",
              source="mailbox", subscriber_id=ana, recipient="ana@example.org",
              reporter=DMARC, diagnostic=DKIM_FAIL, matched_by="recipient")  # fmt: skip

    page = signed_in(mail_settings, db_url, "operator").get(f"/admin/subscribers/{ana}").text
    table = re.search(r'<table id="bounce-events">.*?</table>', page, re.S)
    assert table is not None
    head = re.findall(r'<th scope="col">([^<]+)</th>', table.group(0))
    assert head[:4] == ["Received", "Kind", "Reason", "Status"]
    cells = [
        [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr class=\"bounce-[^\"]+\">(.*?)</tr>", table.group(0), re.S)
    ]
    # Newest first.
    assert [row[1:3] for row in cells] == [
        ["not-bounce", "SPF, DKIM or DMARC failed for our mail auth_failure blames our sending"],
        ["soft", "the mailbox is full mailbox_full"],
        ["soft", "not recorded"],
    ]
    assert cells[0][-1] == SENDER_OUTCOME
    # Each digest says why its delivery bounced, where it says that it bounced.
    headings = [text_of(h) for h in re.findall(r"<h3>(.*?)</h3>", page, re.S)]
    bounced = [h for h in headings if "soft bounce" in h]
    assert len(bounced) == 2
    assert not bounced[0].endswith(")")  # bounced before reasons were recorded: no reason
    assert bounced[1].endswith("(the mailbox is full mailbox_full)")

    as_operator = {"Authorization": f"Bearer {api_key(db_url, 'operator')}"}
    detail = browser(mail_settings).get(f"/api/subscribers/{ana}", headers=as_operator).json()
    assert [(b["kind"], b["reason"]) for b in detail["bounces"]] == [
        ("soft", None),
        ("soft", "mailbox_full"),
        ("not-bounce", "auth_failure"),
    ]
    assert detail["bounces"][0]["recipient"] == "Ana@Example.org"
    deliveries = [d["delivery"] for d in detail["digests"]]
    assert [(d["bounce_kind"], d["bounce_reason"]) for d in deliveries] == [
        ("soft", "mailbox_full"),
        ("soft", None),
    ]


def test_the_api_document_describes_the_reasons(mail_settings: Settings) -> None:
    schemas = browser(mail_settings).get("/api/openapi.json").json()["components"]["schemas"]
    reason = schemas["BounceRecord"]["properties"]["reason"]
    assert {"type": "null"} in reason["anyOf"] and "reason" in schemas["BounceRecord"]["required"]
    assert "user_unknown" in reason["description"] and "auth_failure" in reason["description"]
    assert "bounce_reason" in schemas["DigestDelivery"]["required"]
    stats = schemas["Stats"]
    assert {"bounce_reasons", "sender_health"} <= set(stats["required"])
    assert schemas["SenderReport"]["properties"]["diagnostic"]["description"].startswith(
        "what the receiver said; null for editors"
    )
