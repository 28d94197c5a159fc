"""Edges of the operator console: nothing loaded from another host, progress of an
import on the command line and on its page, the subscriber page's digests and
topics, suppressed addresses on re-import, and when the session cookie is Secure."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.mail.sender import SMTPSender
from digest.services.console.importing import Totals, finish_job, import_subscribers, start_job
from digest.services.console.subscribers import suppress_subscriber
from digest.services.readers.suppressing import suppress
from digest.services.sending import pipeline
from tests.conftest import Cli
from tests.integration.web.helpers import browser, csrf_of, subscribe
from tests.integration.web.test_admin_access import PASSWORD, admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)

HEADER = "email,name,topics,frequency,timezone,hour,weekday\n"


def big_file(rows: int) -> str:
    """A CSV well past the 8 KiB the text reader takes at a time, so the bytes read
    move between batches."""
    return HEADER + "".join(
        f"reader{i:05d}@example.org,Reader {i},tech,daily,Europe/Paris,{i % 24},mon\n"
        for i in range(rows)
    )


# --- 1. nothing from another host ----------------------------------------------------

EXTERNAL = re.compile(r"""^(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)
LOADED = re.compile(
    r"""<(script|img|iframe|frame|embed|source|audio|video|input|link|object)\b[^>]*?"""
    r"""\b(src|href|data|srcset)\s*=\s*["']?([^"'\s>]+)""",
    re.IGNORECASE,
)
CSS_URL = re.compile(r"""(?:@import\s+|url\()\s*["']?([^"')\s;]+)""", re.IGNORECASE)


def loaded_urls(html: str) -> list[str]:
    """What a browser would fetch on its own to show the page (not where links go)."""
    urls = [m.group(3) for m in LOADED.finditer(html)]
    return urls + CSS_URL.findall(html)


def test_no_page_under_admin_or_api_loads_anything_from_another_host(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    sub_id = world.subscriber("ana@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    pipeline.run(db_url, mail_settings, SMTPSender.from_url(mail_settings.smtp_url), lambda: SLOT1)
    with unit_of_work(db_url) as s:
        job_id = start_job(s, "list.csv", 10, confirmed=True, by="ops", now=T0).id
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)

    # FastAPI's Swagger UI and ReDoc pages would pull their scripts from a CDN.
    for docs in ("/api/docs", "/api/redoc", "/docs", "/redoc"):
        page = client.get(docs)
        assert page.status_code == 404 or not [
            u for u in loaded_urls(page.text) if EXTERNAL.match(u)
        ], docs
    assert client.get("/api/docs").status_code == 404
    assert client.get("/api/openapi.json").json()["info"]["title"] == "digest"

    assert sign_in(client, "ops@example.org").status_code == 303
    pages = [
        "/admin",
        "/admin/sign-in",
        "/admin/subscribers",
        f"/admin/subscribers/{sub_id}",
        "/admin/articles",
        "/admin/deliveries",
        "/admin/feeds",
        "/admin/topics",
        "/admin/suppressions",
        "/admin/imports",
        f"/admin/imports/{job_id}",
        f"/admin/preview?subscriber={sub_id}",
        "/subscribe",
    ]
    local: set[str] = set()
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        urls = loaded_urls(page.text)
        assert [u for u in urls if EXTERNAL.match(u)] == [], path
        local.update(u for u in urls if u.startswith("/static/"))
        policy = page.headers.get("content-security-policy", "")
        script_src = re.search(r"script-src ([^;]*)", policy)
        assert script_src and "http" not in script_src.group(1), path
    # The chart library and the console's CSS and script come from the app itself.
    assert {"/static/admin.css", "/static/vendor/chart.umd.min.js", "/static/dashboard.js"} <= local
    for asset in local:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 100, asset
        if asset.endswith(".css"):
            assert [u for u in CSS_URL.findall(served.text) if EXTERNAL.match(u)] == [], asset


# --- 2. progress on the command line --------------------------------------------------


def test_the_import_service_reports_progress_batch_by_batch(world, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    body = big_file(3000).encode()
    seen: list[tuple[int, int]] = []

    def progress(totals: Totals) -> None:  # the same object each time: copy what it says
        seen.append((totals.rows, totals.read_bytes))

    totals = import_subscribers(
        db_url, io.BytesIO(body), confirmed=True, now=T0, on_progress=progress, batch_size=500
    )

    assert totals.added == 3000
    assert [rows for rows, _ in seen] == [500, 1000, 1500, 2000, 2500, 3000]
    read = [b for _, b in seen]
    assert read == sorted(read) and len(set(read)) >= 4  # moving forward, batch by batch
    assert 0 < read[0] < len(body) and read[-1] == len(body)


def run_with_stderr(cli: Cli, *args: str, tty: bool) -> tuple[int, str, str]:
    """Run ``digest ARGS`` with its standard error on a pipe or on a terminal."""
    command = [sys.executable, "-m", "digest.cli", *args]
    if not tty:
        done = subprocess.run(
            command, env=cli.env, cwd=cli.cwd, capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, env=cli.env, cwd=cli.cwd, stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=120), out, b"".join(chunks).decode(errors="replace")


def test_the_import_command_shows_progress_on_standard_error(cli: Cli, tmp_path: Path) -> None:
    cli("topics", "add", "tech")
    path = tmp_path / "list.csv"
    path.write_text(big_file(5000), encoding="utf-8")

    # On a terminal: a bar whose percentage climbs to 100 as the batches commit.
    code, out, err = run_with_stderr(
        cli, "subscribers", "import", str(path), "--confirmed", tty=True
    )
    assert code == 0 and "5000 added, 0 updated, 0 unchanged, 0 refused" in out
    assert "importing" in err
    shown = [int(p) for p in re.findall(r"(\d+)%", err)]
    assert len(set(shown)) >= 3 and shown == sorted(shown) and shown[-1] == 100
    assert any(0 < p < 100 for p in shown)  # seen part-way, not only at the start and end
    assert "%" not in out  # the counts alone on standard output, for scripts

    # Not on a terminal (a log, a pipe): a line per tenth of the file read, rising.
    code, out, err = run_with_stderr(cli, "subscribers", "import", str(path), tty=False)
    assert code == 0 and "0 added, 0 updated, 5000 unchanged, 0 refused" in out
    lines = re.findall(r"importing: (\d+) rows read \((\d+)%\)", err)
    rows, tenths = [int(r) for r, _ in lines], [int(p) for _, p in lines]
    assert len(lines) >= 3 and tenths == sorted(set(tenths)) and tenths[-1] == 100
    assert rows == sorted(rows) and rows[-1] == 5000


# --- 3. progress on the page ----------------------------------------------------------


def test_a_running_import_shows_its_progress_and_a_finished_one_its_counts(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    body = (big_file(3000) + "broken,X,tech,daily,UTC,7,mon\n").encode()
    with unit_of_work(db_url) as s:
        job_id = start_job(s, "list.csv", len(body), confirmed=True, by="ops", now=T0).id
    location = f"/admin/imports/{job_id}"
    pages: list[str] = []

    def look(totals: Totals) -> None:  # each batch is committed before this is called
        if not pages:
            pages.append(client.get(location).text)

    import_subscribers(
        db_url,
        io.BytesIO(body),
        confirmed=True,
        now=T0,
        job_id=job_id,
        on_progress=look,
        batch_size=1000,
    )
    running = pages[0]
    bar = re.search(r'<progress id="progress" max="(\d+)" value="(\d+)">', running)
    assert bar is not None
    assert int(bar.group(1)) == len(body) and 0 < int(bar.group(2)) < len(body)
    assert '<meta http-equiv="refresh" content="1">' in running
    assert "Importing… 1000 rows read so far." in running
    assert re.search(r'id="added">1000<', running)

    finish_job(db_url, job_id, T0)
    done = client.get(location).text
    assert 'http-equiv="refresh"' not in done
    assert f'<progress id="progress" max="{len(body)}" value="{len(body)}">' in done
    assert "Done: 3001 rows read." in done
    assert re.search(r'id="added">3000<', done) and re.search(r'id="refused">1<', done)
    assert re.search(r'id="updated">0<', done) and re.search(r'id="unchanged">0<', done)
    assert re.search(r"<td class=\"n\">3002</td><td>email</td>", done)


# --- 4. the subscriber page -----------------------------------------------------------


def test_the_subscriber_page_lists_each_digest_with_its_articles_and_attempts(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    subscribe(browser(mail_settings), "ana@example.org", {"tech": "daily", "world": "weekly"})
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber)).one()
        sub.status, sub.confirmed_at, sub_id = "active", T0, sub.id
    world.article("first", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("second", SLOT1 - timedelta(hours=2), ["tech"])
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).sent == 1
    slot2 = SLOT1 + timedelta(days=1)
    world.article("third", slot2 - timedelta(hours=1), ["tech"])
    smtp_server.handler.rcpt_replies["ana@example.org"] = "452 4.2.2 mailbox full, try later"
    pipeline.run(db_url, mail_settings, sender, lambda: slot2)

    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    page = client.get(f"/admin/subscribers/{sub_id}").text

    topics = re.search(r"<h2>Topics</h2>\s*<ul>(.*?)</ul>", page, re.S)
    assert topics is not None
    assert re.findall(r"<li>([^<]+)</li>", topics.group(1)) == [
        "Tech (daily)",
        "World (weekly)",
    ]
    digests = re.findall(r'<section class="digest">(.*?)</section>', page, re.S)
    assert len(digests) == 2  # newest first
    titles = [re.findall(r'rel="noreferrer">([^<]+)</a>', d) for d in digests]
    assert titles == [["Story third"], ["Story second", "Story first"]]  # as sent: newest first
    cells = [re.findall(r"<td>([^<]*)</td>", d) for d in digests]
    assert "452" in cells[0] and "mailbox full, try later" in " ".join(cells[0])
    assert "250" in cells[1] and any("queued" in c for c in cells[1])


# --- 5. suppressed addresses on re-import ----------------------------------------------


def test_a_confirmed_reimport_leaves_suppressed_subscribers_out_and_reports_them(
    cli: Cli, db_url, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cli("topics", "add", "tech")
    first = tmp_path / "first.csv"
    first.write_text(
        HEADER
        + "ana@example.org,Ana,tech,daily,UTC,7,mon\n"
        + "bo@example.org,Bo,tech,daily,UTC,7,mon\n",
        encoding="utf-8",
    )
    cli("subscribers", "import", str(first), "--confirmed")
    pending = tmp_path / "pending.csv"
    pending.write_text(HEADER + "cy@example.org,Cy,tech,daily,UTC,7,mon\n", encoding="utf-8")
    cli("subscribers", "import", str(pending))  # not confirmed: pending
    with unit_of_work(db_url) as s:
        ana = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        suppress_subscriber(s, ana.id, "asked by phone", T0)  # an operator's suppression
        suppress(s, "cy@example.org", "complaint", "marked as spam", T0)  # the list only

    again = tmp_path / "again.csv"
    again.write_text(
        HEADER
        + "bo@example.org,Bo,tech,daily,UTC,7,mon\n"
        + "ana@example.org,Ana,tech,daily,UTC,9,mon\n"  # a changed hour, to tempt an update
        + "cy@example.org,Cy,tech,daily,UTC,7,mon\n",
        encoding="utf-8",
    )
    report = tmp_path / "refused.csv"
    out = cli(
        "subscribers",
        "import",
        str(again),
        "--confirmed",
        "--errors",
        str(report),
        ok=False,
    )
    assert "0 added, 0 updated, 1 unchanged, 2 refused" in out

    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["row"], r["column"]) for r in rows] == [("3", "email"), ("4", "email")]
    assert all("suppression list" in r["reason"] for r in rows)
    with unit_of_work(db_url) as s:
        state = {sub.email: (sub.status, sub.hour) for sub in s.scalars(select(Subscriber))}
    assert state == {
        "ana@example.org": ("unsubscribed", 7),
        "bo@example.org": ("active", 7),
        "cy@example.org": ("pending", 7),
    }


def test_the_import_command_exits_1_when_a_suppressed_row_is_refused(
    cli: Cli, db_url, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cli("topics", "add", "tech")
    path = tmp_path / "one.csv"
    path.write_text(HEADER + "ana@example.org,Ana,tech,daily,UTC,7,mon\n", encoding="utf-8")
    cli("subscribers", "import", str(path), "--confirmed")
    with unit_of_work(db_url) as s:
        ana = s.scalars(select(Subscriber)).one()
        suppress_subscriber(s, ana.id, None, T0)
    code, out, err = run_with_stderr(
        cli, "subscribers", "import", str(path), "--confirmed", tty=False
    )
    assert code == 1 and "1 refused" in out
    assert "row 2, column email: ana@example.org is on the suppression list" in err


# --- 6. the session cookie ------------------------------------------------------------


def cookie_named(response, name: str) -> str:  # type: ignore[no-untyped-def]
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def test_the_session_cookie_is_secure_exactly_when_the_site_is_https(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    plain = dataclasses.replace(mail_settings, base_url="http://news.example.org/digest")

    # Served over plain HTTP (a local install): not Secure, or the browser would
    # never send it back and nobody could sign in.
    client = browser(plain)
    assert str(client.base_url).startswith("http://")
    form = client.get("/admin/sign-in")
    assert "secure" not in cookie_named(form, "digest_csrf").lower()
    done = sign_in(client, "ops@example.org")
    assert done.status_code == 303
    cookie = cookie_named(done, "digest_admin")
    assert "secure" not in cookie.lower() and "HttpOnly" in cookie
    assert client.get("/admin", follow_redirects=False).status_code == 200

    # An https base URL: Secure, even when the app itself is reached over plain
    # HTTP (a proxy in front ending TLS).
    from fastapi.testclient import TestClient

    from digest.web.app import create_app

    assert mail_settings.base_url.startswith("https://")
    behind = TestClient(create_app(mail_settings), base_url="http://testserver")
    form = behind.get("/admin/sign-in")
    # ... and named with the __Host- prefix, which a browser accepts only from this
    # very host, Secure and for the whole path.
    csrf_cookie = cookie_named(form, "__Host-digest_csrf")
    assert "; Secure" in csrf_cookie and "Path=/" in csrf_cookie and "Domain" not in csrf_cookie
    # The client keeps a Secure cookie off plain HTTP, as a browser would; hand it
    # over as the TLS-ending proxy would have.
    done = behind.post(
        "/admin/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": "ops@example.org", "password": PASSWORD},
        headers={"Cookie": csrf_cookie.split(";", 1)[0]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "; Secure" in cookie_named(done, "__Host-digest_admin")

    # A request that arrived over HTTPS gets Secure cookies whatever the base URL:
    # the CSRF cookie of its forms and the session cookie alike.
    direct = TestClient(create_app(plain), base_url="https://testserver")
    assert "; Secure" in cookie_named(direct.get("/admin/sign-in"), "digest_csrf")
    done = sign_in(direct, "ops@example.org")
    assert done.status_code == 303 and "; Secure" in cookie_named(done, "digest_admin")
