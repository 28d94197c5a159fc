"""The audit log: every change an operator or editor makes in the console, through
the API or with a management command is recorded with who, when, what, before and
after; readers' own changes and the pipeline's are not; a change that fails leaves
no entry; a deleted reader's address leaves the log with them; old entries go."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import AuditEntry, Subscriber
from digest.services.console.audit import AuditFilter, list_entries, purge_audit
from tests.conftest import process_env
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in
from tests.integration.web.test_api import Api, api_key

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entries(db_url: str) -> list[AuditEntry]:
    with unit_of_work(db_url) as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def signed_in(settings, db_url: str, email: str, role: str):  # type: ignore[no-untyped-def]
    admin(db_url, email, role)
    client = browser(settings)
    assert sign_in(client, email).status_code == 303
    return client


def post(client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/me").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_console_changes_are_recorded_with_who_what_before_and_after(  # type: ignore[no-untyped-def]
    mail_settings, db_url, world
) -> None:
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    assert (
        post(
            ops, "/admin/topics", {"slug": "tech", "name": "Tech", "keywords": "python"}
        ).status_code
        == 303
    )
    assert (
        post(
            ops, "/admin/topics/tech", {"name": "Technology", "keywords": "python, rust"}
        ).status_code
        == 303
    )
    # A refused value changes nothing and records nothing.
    assert post(ops, "/admin/topics", {"slug": "Bad Slug!", "name": "x"}).status_code == 422
    story = world.article("story", T0, ["tech"])
    editor = signed_in(mail_settings, db_url, "ed@example.org", "editor")
    assert post(editor, f"/admin/articles/{story}", {"action": "hold"}).status_code == 303

    made, changed, held = entries(db_url)
    assert (made.actor, made.via, made.action, made.target) == (
        "ops@example.org",
        "console",
        "create",
        "topic",
    )
    assert (
        json.loads(made.after)["keywords"] == ["python"]
        and made.before is None
        or json.loads(made.before) == {}
    )
    assert (changed.action, changed.summary) == ("update", "topic tech")
    assert json.loads(changed.before) == {"keywords": ["python"], "name": "Tech"}
    assert json.loads(changed.after) == {"keywords": ["python", "rust"], "name": "Technology"}
    assert (held.actor, held.action, held.target, held.target_id) == (
        "ed@example.org",
        "update",
        "article",
        str(story),
    )
    assert (json.loads(held.before), json.loads(held.after)) == ({"held": False}, {"held": True})
    assert made.at <= changed.at <= held.at <= datetime.now(UTC)

    # The page shows them, newest first, filterable; editors may not read it.
    page = ops.get("/admin/audit")
    assert page.status_code == 200
    assert page.text.index(f'id="entry-{held.id}"') < page.text.index(f'id="entry-{made.id}"')
    assert "<del>Tech</del> → <ins>Technology</ins>" in page.text
    only_ed = ops.get("/admin/audit", params={"actor": "ed@example.org"}).text
    assert f'id="entry-{held.id}"' in only_ed and f'id="entry-{made.id}"' not in only_ed
    updates = ops.get("/admin/audit", params={"action": "update", "target": "topic"}).text
    assert f'id="entry-{changed.id}"' in updates and f'id="entry-{held.id}"' not in updates
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert "No change matches" in ops.get("/admin/audit", params={"since": tomorrow}).text
    odd = ops.get("/admin/audit", params={"since": "yesterday", "action": "explode"})
    assert odd.status_code == 200 and "since: &#39;yesterday&#39; is not a date" in odd.text
    assert editor.get("/admin/audit").status_code == 403


def test_api_changes_name_the_key_and_the_api_lists_the_log(  # type: ignore[no-untyped-def]
    mail_settings, db_url, world
) -> None:
    world.topics("tech", "world")
    ops = Api(mail_settings, api_key(db_url, "operator"))
    made = ops("POST", "/api/subscribers", {"email": "ana@example.org", "topics": ["tech"]})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert (
        ops("PUT", f"/api/subscribers/{sid}", {"topics": ["world"], "hour": 9}).status_code == 200
    )

    log = ops("GET", "/api/audit", target="subscriber", target_id=str(sid))
    assert log.status_code == 200, log.text
    changed, created = log.json()["items"]
    assert (created["actor"], created["via"], created["action"]) == (
        "api key operator script",
        "api",
        "create",
    )
    assert created["after"]["email"] == "ana@example.org" and created["after"]["topics"] == ["tech"]
    assert changed["before"] == {"hour": 7, "topics": ["tech"]}
    assert changed["after"] == {"hour": 9, "topics": ["world"]}
    assert ops("GET", "/api/audit", action="delete").json()["items"] == []
    assert ops("GET", "/api/audit", action="explode").status_code == 422
    assert Api(mail_settings, api_key(db_url, "editor"))("GET", "/api/audit").status_code == 403

    # Deleting the reader erases their address from every entry about them; the log
    # keeps what was done.
    assert ops("DELETE", f"/api/subscribers/{sid}").status_code == 204
    about = ops("GET", "/api/audit", target="subscriber", target_id=str(sid)).json()["items"]
    assert [e["action"] for e in about] == ["delete", "update", "create"]
    assert about[2]["after"]["email"] == "(erased)" and "ana@example.org" not in json.dumps(about)
    assert about[0]["before"] == {"status": "pending", "topics": ["world"]}


def test_readers_own_changes_and_the_pipeline_are_not_recorded(  # type: ignore[no-untyped-def]
    mail_settings, db_url, world
) -> None:
    world.topics("tech")
    world.subscriber("reader@example.org", "tech", T0)  # as the subscribe form does
    with unit_of_work(db_url) as s:
        s.scalars(select(Subscriber)).one().hour = 10  # no one acts for this session
    assert entries(db_url) == []


def test_management_commands_record_the_system_user(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = process_env(DIGEST_DATABASE_URL=db_url, DIGEST_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "digest.cli", "topics", "add", "tech", "--keywords", "ai"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (entry,) = entries(db_url)
    assert entry.via == "cli" and entry.actor.endswith("(command line)")
    assert (entry.action, entry.target, json.loads(entry.after)["keywords"]) == (
        "create",
        "topic",
        ["ai"],
    )


def test_secrets_never_reach_the_log(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    made = post(
        ops, "/admin/accounts", {"action": "create_key", "name": "deploy", "role": "editor"}
    )
    assert made.status_code in (200, 303), made.text[-2000:]
    text = " ".join(f"{e.before} {e.after}" for e in entries(db_url))
    with unit_of_work(db_url) as s:
        from digest.db.models import ApiKey

        key_hash = s.scalars(select(ApiKey.key_hash)).one()
    assert "api key" in {e.target for e in entries(db_url)}
    assert key_hash not in text and "(secret)" in text


def test_old_entries_are_purged_in_batches_and_newer_ones_stay(db_url) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db_url) as s:
        for day in range(30):
            for n in range(5):
                s.add(
                    AuditEntry(
                        at=T0 - timedelta(days=day, minutes=n),
                        actor="ops@example.org",
                        via="console",
                        action="update",
                        target="topic",
                        target_id="1",
                        summary="topic tech",
                    )
                )
    with unit_of_work(db_url) as s:
        assert purge_audit(s, T0 - timedelta(days=9, hours=12), batch=7) == 20 * 5
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 50
        oldest = s.scalar(select(func.min(AuditEntry.at)))
        assert oldest is not None and oldest >= T0 - timedelta(days=9, hours=12)
        listing = list_entries(s, AuditFilter(since=(T0 - timedelta(days=1)).date()), limit=3)
        assert len(listing.items) == 3 and listing.next is not None
        rest = list_entries(
            s, AuditFilter(since=(T0 - timedelta(days=1)).date()), before=listing.next
        )
        assert len(rest.items) == 7 and rest.next is None


def test_feeds_added_paused_and_deleted_are_recorded(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    settings = replace(mail_settings, allow_private_feeds=True)
    ops = Api(settings, api_key(db_url, "operator"))
    made = ops("POST", "/api/feeds", {"url": "http://127.0.0.1:9/a.xml", "topics": ["tech"]})
    assert made.status_code == 201, made.text
    feed = made.json()["id"]
    assert ops("PATCH", f"/api/feeds/{feed}", {"paused": True}).status_code == 200
    assert ops("DELETE", f"/api/feeds/{feed}").status_code == 204
    log = ops("GET", "/api/audit", target="feed").json()["items"]
    assert [(e["action"], e["target_id"]) for e in log] == [
        ("delete", str(feed)),
        ("update", str(feed)),
        ("create", str(feed)),
    ]
    assert log[0]["before"]["topics"] == ["tech"] and log[0]["after"] == {}
    assert log[1]["before"]["paused"] is False and log[1]["after"]["paused"] is True
    assert log[2]["after"]["topics"] == ["tech"]


def test_beats_hourly_purge_task_applies_the_retention_setting(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with unit_of_work(db_url) as s:
        for days in (40, 20, 1):
            s.add(
                AuditEntry(
                    at=now - timedelta(days=days),
                    actor="ops@example.org",
                    via="console",
                    action="update",
                    target="topic",
                    summary="topic tech",
                )
            )
    env = process_env(
        DIGEST_DATABASE_URL=db_url, DIGEST_DATA_DIR=str(tmp_path), DIGEST_AUDIT_DAYS="30"
    )
    done = subprocess.run(
        [sys.executable, "-c", "from workers.tasks import purge; print(purge()['audit_entries'])"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1"
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_an_import_is_one_entry_with_its_totals(db_url, tmp_path, world) -> None:  # type: ignore[no-untyped-def]
    from digest.services.console.importing import run_job, start_job

    world.topics("tech")
    upload = tmp_path / "readers.csv"
    upload.write_text("email,topics\ncara@example.org,tech\nnot-an-address,tech\n")
    with unit_of_work(db_url) as s:
        job = start_job(s, "readers.csv", 60, confirmed=True, by="ops@example.org", now=T0)
        job_id = job.id
    run_job(db_url, job_id, str(upload), T0)
    (entry,) = entries(db_url)  # the rows themselves are not one entry each
    assert (entry.actor, entry.via, entry.action) == ("ops@example.org", "console", "bulk import")
    assert entry.summary == "import of readers.csv: 1 added, 0 updated, 1 refused"


def test_suppressions_are_logged_by_hash_never_by_address(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    ops = Api(mail_settings, api_key(db_url, "operator"))
    added = ops("POST", "/api/suppressions", {"email": "alice@example.com", "detail": "asked"})
    assert added.status_code in (200, 201), added.text
    (entry,) = ops("GET", "/api/audit", target="suppression").json()["items"]
    assert entry["action"] == "create" and entry["summary"] == f"suppression #{entry['target_id']}"
    assert entry["after"]["reason"] == "manual" and len(entry["after"]["email_hash"]) == 64
    assert "alice" not in json.dumps(entry)


def test_retries_name_who_sent_what_again(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.web.test_dashboard import Seeder

    world.topics("tech")
    seeder = Seeder(db_url, world, T0)
    failed = seeder.delivery("failed", T0, attempts=[(T0, "failed", "554 5.7.1 refused")])
    ops = Api(mail_settings, api_key(db_url, "operator"))
    assert ops("POST", f"/api/deliveries/{failed}/retry").status_code == 200
    (entry,) = ops("GET", "/api/audit", action="retry").json()["items"]
    assert (entry["actor"], entry["via"], entry["target"], entry["target_id"]) == (
        "api key operator script",
        "api",
        "delivery",
        str(failed),
    )
    assert entry["after"] == {"reopened": [failed]}
    # A retry that finds nothing to send again records nothing.
    assert ops("POST", "/api/deliveries/retry", {"ids": [failed]}).status_code == 200
    assert len(ops("GET", "/api/audit", action="retry").json()["items"]) == 1
