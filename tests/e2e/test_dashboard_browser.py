"""The dashboard in headless Chromium: the chart library served by the app draws the
seeded outcomes under the page's Content-Security-Policy, with nothing refused and
no script error; reports that blame our sending raise an alert in view at the top,
on a wide and a phone-sized screen. Screenshots of the dashboard are saved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Feed, Subscriber
from digest.services.console import reporting
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin
from tests.integration.web.test_bounce_reasons import DKIM_FAIL, sender_side_week
from tests.integration.web.test_dashboard import seed

pytestmark = pytest.mark.slow

# Collects what the page's policy refused, before any of the page's own code runs.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# What the chart holds, and how many canvas pixels carry each dataset's colour.
READ_CHART = """
() => {
  const canvas = document.getElementById("outcomes-chart");
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const painted = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [pr, pg, pb, pa] = pixels.slice(i, i + 4);
      if (pr === r && pg === g && pb === b && pa === 255) n++;
    }
    return n;
  };
  return {
    type: chart.config.type,
    stacked: chart.options.scales.y.stacked,
    title: chart.options.plugins.title.text,
    labels: chart.data.labels,
    datasets: chart.data.datasets.map((d) => ({
      label: d.label,
      data: d.data,
      colour: d.backgroundColor,
      painted: painted(d.backgroundColor),
    })),
  };
}
"""


def console_problem(message) -> list[str]:  # type: ignore[no-untyped-def]
    """A console error or warning, except the browser's own request for a favicon
    (the app has none; Chromium asks for it outside the page's requests)."""
    if message.type not in ("error", "warning"):
        return []
    if message.location.get("url", "").endswith("/favicon.ico"):
        return []
    return [f"console {message.type}: {message.text} ({message.location})"]


def expected_tiles(db_url: str, today: dict[str, int]) -> dict[str, str]:
    """What the tiles must show, counted straight from the tables."""
    with unit_of_work(db_url) as s:
        active = s.scalar(select(func.count()).where(Subscriber.status == "active"))
        feeds = s.scalar(select(func.count()).select_from(Feed))
    shown = {k: str(today[k]) for k in ("sent", "deferred", "failed", "bounced")}
    return {"active": str(active), "feeds": str(feeds), **shown}


def test_the_dashboard_chart_draws_the_seeded_outcomes_under_the_csp(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    seeded = seed(db_url, world, datetime.now(UTC))
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # Without animation the finished chart is there as soon as it is drawn.
            context = browser.new_context(
                reduced_motion="reduce", viewport={"width": 1280, "height": 900}
            )
            context.add_init_script(WATCH_CSP)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.extend(console_problem(m)))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on(
                "response",
                lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
            )

            page.goto(f"{base}/admin/sign-in")
            page.get_by_label("Email address").fill("ops@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")
            page.wait_for_function(
                "() => window.Chart && Chart.getChart(document.getElementById('outcomes-chart'))",
                timeout=15_000,
            )
            chart = page.evaluate(READ_CHART)
            shot(page, "dashboard")

            assert chart["type"] == "bar" and chart["stacked"] is True
            assert chart["title"] == "Delivery outcomes per day (UTC), last 30 days"
            assert chart["labels"] == [d["day"] for d in seeded.days]
            datasets = chart["datasets"]
            assert [d["label"].split()[0].lower() for d in datasets] == list(reporting.OUTCOMES)
            for dataset, kind in zip(datasets, reporting.OUTCOMES, strict=True):
                assert dataset["data"] == [d[kind] for d in seeded.days], kind
                assert dataset["painted"] > 50, dataset  # its bars are on the canvas
            assert len({d["colour"] for d in datasets}) == 5
            seeded_total = sum(d[kind] for d in seeded.days for kind in reporting.OUTCOMES)
            assert sum(sum(d["data"]) for d in datasets) == seeded_total == 15

            # The tiles say what the database holds.
            tiles = {
                name: page.locator(f"#tile-{name} .tile-n").inner_text()
                for name in ("active", "sent", "deferred", "failed", "bounced", "feeds")
            }
            assert tiles == expected_tiles(db_url, seeded.days[-1])

            # The rates chart draws Gmail's complaint limit as a line across every day.
            limit = page.evaluate(
                """() => Chart.getChart(document.getElementById('rates-chart')).data.datasets
                    .filter(d => d.label.startsWith("Gmail's complaint limit"))
                    .map(d => [d.label, d.data])"""
            )
            assert limit == [["Gmail's complaint limit (0.3 %)", [0.3] * 30]]
            growth = "document.getElementById('growth-chart')"
            assert page.evaluate(f"() => Chart.getChart({growth}).data.labels.length") == 30

            # The numbers are also a table, for readers without scripts.
            page.locator("#outcomes-table > summary").click()
            assert page.locator("#outcomes-table tbody tr").count() == 30
            assert page.evaluate("window.__violations") == []
            assert problems == []
            browser.close()
    finally:
        stop(web)


def test_reports_blaming_our_sending_raise_an_alert_in_view_at_the_top(  # type: ignore[no-untyped-def]
    db_url, smtp_server, tmp_path
) -> None:
    sender_side_week(db_url)
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            problems: list[str] = []
            for width, height in ((1440, 900), (375, 812)):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.on("console", lambda m: problems.extend(console_problem(m)))
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.goto(f"{base}/admin/sign-in")
                page.get_by_label("Email address").fill("ops@example.org")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_selector("#sending-state")

                alert = page.get_by_role("alert")
                assert alert.count() == 1 and alert.is_visible()
                heading = alert.get_by_role("heading", level=2)
                assert heading.inner_text() == (
                    "Receivers refused our sending: 3 reports in the last 7 days"
                )
                assert "SPF, DKIM and DMARC records" in alert.inner_text()
                assert DKIM_FAIL in alert.inner_text()
                # Seen without scrolling, and nothing wider than the screen.
                box = alert.bounding_box()
                assert box is not None and box["y"] + 40 < height, (width, box)
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                table = page.locator("#bounce-reasons")
                assert table.is_visible()
                assert table.locator("tbody tr.sender-side").count() == 2
                shot(page, f"dashboard-sender-health-{width}")
                assert problems == []
                context.close()
            browser.close()
    finally:
        stop(web)
