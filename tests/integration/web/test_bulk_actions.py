"""The subscriber list (filters that combine, sort, total, topics, language, last
digest, bounces) and bulk actions on ticked readers or on every match of a filter:
reviewed, confirmed, run in the background and recorded in the audit log."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import AuditEntry, BounceEvent, BulkJob, Subscriber, Suppression
from digest.domain.consent import address_hash
from tests.integration.web.helpers import csrf_of
from tests.integration.web.test_audit_log import signed_in

T0 = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)


def readers(world, db_url: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    world.topics("tech", "world", "sport")
    ids = {
        "ana": world.subscriber("ana@example.org", "tech,world", T0),
        "bob": world.subscriber("bob@example.org", "tech", T0 + timedelta(hours=1)),
        "cara": world.subscriber("cara@example.org", "world", T0 + timedelta(hours=2)),
        "dan": world.subscriber("dan@example.org", "tech", T0 + timedelta(hours=3)),
    }
    with unit_of_work(db_url) as s:
        for name in ("bob", "dan"):
            s.get(Subscriber, ids[name]).language = "fr"  # type: ignore[union-attr]
        s.get(Subscriber, ids["dan"]).status = "unsubscribed"  # type: ignore[union-attr]
        s.get(Subscriber, ids["ana"]).name = "Ana Lima"  # type: ignore[union-attr]
        for n in range(2):
            s.add(
                BounceEvent(
                    fingerprint=f"fp-{n}",
                    received_at=T0,
                    source="smtp",
                    kind="hard",
                    how="dsn",
                    recipient="bob@example.org",
                    matched_by="address",
                    subscriber_id=ids["bob"],
                    outcome="counted",
                )
            )
    return ids


def rows_of(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('<tr id="subscriber-')[1:]]


def wait_done(db_url: str, job_id: int) -> BulkJob:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with unit_of_work(db_url) as s:
            job = s.get(BulkJob, job_id)
            assert job is not None
            if job.status != "running":
                return job
        time.sleep(0.1)
    raise AssertionError("the bulk action did not finish")


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def bulk(client, data: dict[str, object], confirm: bool = True):  # type: ignore[no-untyped-def]
    """Review the action, then (``confirm``) press the review page's button, which
    sends back what was reviewed."""
    token = csrf_of(client.get("/admin/me").text)
    review = client.post(
        "/admin/subscribers/bulk", data={"csrf_token": token, **data}, follow_redirects=False
    )
    if not confirm or review.status_code != 200:
        return review
    form = review.text.split('id="confirm-bulk"')[1].split("</form>")[0]
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(form):
        fields.setdefault(name, []).append(html.unescape(value))
    return client.post("/admin/subscribers/bulk", data=fields, follow_redirects=False)


def test_filters_combine_with_a_total_sort_and_the_columns(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    ids = readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    everyone = ops.get("/admin/subscribers")
    assert everyone.status_code == 200
    assert "<strong>4</strong> subscribers" in everyone.text
    assert rows_of(everyone.text) == [str(ids[n]) for n in ("dan", "cara", "bob", "ana")]
    ana = everyone.text.split(f'id="subscriber-{ids["ana"]}"')[1].split("</tr>")[0]
    assert "Ana Lima" in ana and "tech, world" in ana and "site&#39;s" in ana and "never" in ana

    french_tech = ops.get("/admin/subscribers", params={"topic": "tech", "language": "fr"})
    assert rows_of(french_tech.text) == [str(ids["dan"]), str(ids["bob"])]
    assert "<strong>2</strong> subscribers match" in french_tech.text
    active_french = ops.get(
        "/admin/subscribers", params={"topic": "tech", "language": "fr", "status": "active"}
    )
    assert rows_of(active_french.text) == [str(ids["bob"])]
    assert rows_of(ops.get("/admin/subscribers", params={"q": "lima"}).text) == [str(ids["ana"])]

    by_bounces = ops.get("/admin/subscribers", params={"sort": "bounces"}).text
    assert rows_of(by_bounces)[0] == str(ids["bob"])
    bob = by_bounces.split(f'id="subscriber-{ids["bob"]}"')[1].split("</tr>")[0]
    assert '<td class="n" data-label="Bounces">2</td>' in bob
    by_address = ops.get("/admin/subscribers", params={"sort": "address"}).text
    assert rows_of(by_address) == [str(ids[n]) for n in ("ana", "bob", "cara", "dan")]

    bad = ops.get("/admin/subscribers", params={"language": "xx"})
    assert bad.status_code == 422 and "language: must be one of" in bad.text
    assert ops.get("/admin/subscribers", params={"sort": "sideways"}).status_code == 422
    editor = signed_in(mail_settings, db_url, "ed@example.org", "editor")
    assert editor.get("/admin/subscribers").status_code == 403


def test_review_then_confirm_changes_topics_of_the_ticked_readers(  # type: ignore[no-untyped-def]
    mail_settings, db_url, world
) -> None:
    ids = readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    choice = {
        "action": "topics",
        "scope": "ids",
        "ids": [str(ids["ana"]), str(ids["cara"])],
        "add": ["sport"],
        "remove": ["world"],
    }
    review = bulk(ops, choice, confirm=False)
    assert review.status_code == 200, review.text[-800:]
    assert "change topics of 2 subscribers" in review.text and "adding sport" in review.text
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(BulkJob)) == 0

    started = bulk(ops, choice)
    assert started.status_code == 303
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    job = wait_done(db_url, job_id)
    assert (job.status, job.total, job.done, job.changed) == ("done", 2, 2, 2)
    listing = ops.get("/admin/subscribers", params={"sort": "address"}).text
    ana = listing.split(f'id="subscriber-{ids["ana"]}"')[1].split("</tr>")[0]
    assert "sport, tech" in ana
    cara = listing.split(f'id="subscriber-{ids["cara"]}"')[1].split("</tr>")[0]
    assert '<td data-label="Topics">sport</td>' in cara
    page = ops.get(f"/admin/bulk/{job_id}").text
    assert "Done: 2 changed of 2" in page

    with unit_of_work(db_url) as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulk topics"))
    assert entry.actor == "ops@example.org" and entry.via == "console"
    assert "2 of 2 changed" in entry.summary and "adding sport, removing world" in entry.summary


def test_pause_every_match_of_a_filter_and_refusals(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    ids = readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    until = (datetime.now(UTC) + timedelta(days=10)).date()
    started = bulk(
        ops,
        {"action": "pause", "scope": "all", "language": "fr", "until": until.isoformat()},
    )
    assert started.status_code == 303
    job = wait_done(db_url, int(started.headers["location"].rsplit("/", 1)[1]))
    assert (job.total, job.changed) == (2, 2)
    with unit_of_work(db_url) as s:
        paused = {
            sid: moment for sid, moment in s.execute(select(Subscriber.id, Subscriber.paused_until))
        }
    assert (
        paused[ids["bob"]]
        == paused[ids["dan"]]
        == datetime.combine(until, datetime.min.time(), UTC)
    )
    assert paused[ids["ana"]] is None and paused[ids["cara"]] is None
    shown = ops.get("/admin/subscribers", params={"paused": "yes"}).text
    assert rows_of(shown) == [str(ids["dan"]), str(ids["bob"])]

    # Refused before anything starts, naming the field.
    unknown = bulk(ops, {"action": "topics", "scope": "all", "add": ["cooking"]})
    assert unknown.status_code == 422 and "no topic &#39;cooking&#39;" in unknown.text
    nobody = bulk(ops, {"action": "suppress", "scope": "ids"})
    assert nobody.status_code == 422 and "ids: tick at least one subscriber" in nobody.text
    past = bulk(ops, {"action": "pause", "scope": "all", "until": "2020-01-01"})
    assert past.status_code == 422 and "until: must be after today" in past.text
    editor = signed_in(mail_settings, db_url, "ed@example.org", "editor")
    assert bulk(editor, {"action": "delete", "scope": "all"}).status_code == 403
    no_token = ops.post(
        "/admin/subscribers/bulk", data={"action": "delete", "scope": "all", "confirm": "yes"}
    )
    assert no_token.status_code == 403
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(BulkJob)) == 1
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 4


def test_suppress_delete_and_export(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    ids = readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")

    exported = bulk(ops, {"action": "export", "scope": "all", "topic": "tech"})
    export_job = int(exported.headers["location"].rsplit("/", 1)[1])
    assert wait_done(db_url, export_job).status == "done"
    assert 'id="export-download"' in ops.get(f"/admin/bulk/{export_job}").text
    download = ops.get(f"/admin/bulk/{export_job}/export.csv")
    assert download.status_code == 200 and download.headers["cache-control"] == "private, no-store"
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["email"] for r in rows) == [
        "ana@example.org",
        "bob@example.org",
        "dan@example.org",
    ]

    suppressed = bulk(ops, {"action": "suppress", "scope": "ids", "ids": [str(ids["cara"])]})
    assert wait_done(db_url, int(suppressed.headers["location"].rsplit("/", 1)[1])).changed == 1
    deleted = bulk(ops, {"action": "delete", "scope": "all", "language": "fr"})
    job = wait_done(db_url, int(deleted.headers["location"].rsplit("/", 1)[1]))
    assert (job.status, job.changed) == ("done", 2)
    with unit_of_work(db_url) as s:
        left = set(s.scalars(select(Subscriber.email)))
        blocked = {(e.email_hash, e.email, e.reason) for e in s.scalars(select(Suppression))}
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert left == {"ana@example.org", "cara@example.org"}
    assert (address_hash("cara@example.org"), "cara@example.org", "operator") in blocked
    assert (address_hash("bob@example.org"), None, "erased") in blocked
    assert actions == ["bulk export", "bulk suppress", "bulk delete"]
    assert "cara" not in ops.get("/admin/subscribers", params={"status": "active"}).text


def test_a_job_whose_process_ended_is_marked_stopped(db_url) -> None:  # type: ignore[no-untyped-def]
    from digest.services.console.bulk import fail_stale

    now = datetime.now(UTC)
    with unit_of_work(db_url) as s:
        for beat in (timedelta(hours=2), timedelta(minutes=5)):  # long silent; working
            s.add(
                BulkJob(
                    action="pause",
                    params="{}",
                    selection='{"ids": [1]}',
                    started_by="ops@example.org",
                    status="running",
                    total=1,
                    done=0,
                    changed=0,
                    created_at=now - timedelta(hours=7),
                    heartbeat_at=now - beat,
                )
            )
    with unit_of_work(db_url) as s:
        assert fail_stale(s, now) == 1
    with unit_of_work(db_url) as s:
        states = [(j.status, j.error) for j in s.scalars(select(BulkJob).order_by(BulkJob.id))]
    assert states == [("failed", "the action stopped: its process ended"), ("running", None)]


def test_what_runs_is_what_was_reviewed(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    review = bulk(ops, {"action": "suppress", "scope": "all", "topic": "tech"}, confirm=False)
    assert "suppress 3 subscribers" in review.text
    form = review.text.split('id="confirm-bulk"')[1].split("</form>")[0]
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(form):
        fields.setdefault(name, []).append(html.unescape(value))
    # A reader who joins between the review and the confirmation is not touched...
    late = world.subscriber("late@example.org", "tech", T0 + timedelta(days=1))
    started = ops.post("/admin/subscribers/bulk", data=fields, follow_redirects=False)
    assert started.status_code == 303
    job = wait_done(db_url, int(started.headers["location"].rsplit("/", 1)[1]))
    assert (job.total, job.changed) == (3, 3)
    with unit_of_work(db_url) as s:
        assert s.get(Subscriber, late).status == "active"  # type: ignore[union-attr]
    # ...and when the readers reviewed have changed, nothing runs: the page says so.
    again = bulk(
        ops,
        {
            "action": "pause",
            "scope": "all",
            "status": "active",
            "until": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
        },
        confirm=False,
    )
    form = again.text.split('id="confirm-bulk"')[1].split("</form>")[0]
    fields = {}
    for name, value in HIDDEN.findall(form):
        fields.setdefault(name, []).append(html.unescape(value))
    with unit_of_work(db_url) as s:
        s.get(Subscriber, late).status = "unsubscribed"  # type: ignore[union-attr]
    moved = ops.post("/admin/subscribers/bulk", data=fields, follow_redirects=False)
    assert moved.status_code == 200 and 'id="moved"' in moved.text
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(BulkJob)) == 1


def test_an_export_is_served_only_when_complete(mail_settings, db_url, world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from digest.services.console.bulk import forget_exports

    readers(world, db_url)
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    started = bulk(
        ops,
        {
            "action": "pause",
            "scope": "all",
            "until": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
        },
    )
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    wait_done(db_url, job_id)
    folder = mail_settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"bulk-{job_id}.csv").write_text("email\nplanted@example.org\n")
    assert ops.get(f"/admin/bulk/{job_id}/export.csv").status_code == 404  # not an export
    assert ops.get("/admin/bulk/999999/export.csv").status_code == 404
    assert forget_exports(mail_settings.data_dir, datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert list(folder.iterdir()) == []
