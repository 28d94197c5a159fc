"""Subscriber CSV import and export: batches, refused rows by row and column,
re-imports that change nothing, suppressed and departed readers left alone."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.engine import unit_of_work
from digest.db.models import ImportJob, Subscriber
from digest.services.console.csvfiles import ImportRefused, Problem, problem_csv
from digest.services.console.importing import (
    Totals,
    export_lines,
    finish_job,
    import_subscribers,
    problems_of,
    start_job,
)
from digest.services.readers.suppressing import suppress_erased
from digest.services.readers.topics import add_topic
from tests.conftest import Cli

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

FILE = """\
email,name,topics,frequency,timezone,hour,weekday
Ana@Example.com,Ana,news;sport,daily,Europe/Brussels,7,mon
bo@example.com,Bo,sport,weekly,America/New_York,8,fri
not-an-address,Cy,news,daily,UTC,7,mon
dee@example.com,Dee,news;weather,daily,Mars/Olympus,25,someday
ana@example.com,Ana again,news,daily,UTC,9,mon

eve@example.com,"Eve, with a comma",news,daily,UTC,6,tue
fay@example.com,Fay,news
gus@example.com,Gus,,daily,UTC,7,mon
"""


@pytest.fixture
def topics(session: Session) -> None:
    for slug in ("news", "sport"):
        add_topic(session, slug, slug.title(), [])
    session.commit()


def run(
    db_url: str, text: str, *, confirmed: bool = True, now: datetime = NOW, batch_size: int = 2
) -> tuple[Totals, list[Problem]]:
    problems: list[Problem] = []
    totals = import_subscribers(
        db_url,
        io.BytesIO(text.encode("utf-8")),
        confirmed=confirmed,
        now=now,
        on_problem=problems.append,
        batch_size=batch_size,
    )
    return totals, problems


def stored(db_url: str) -> dict[str, tuple[object, ...]]:
    with unit_of_work(db_url) as session:
        return {
            s.email: (
                s.name,
                s.status,
                s.timezone,
                s.hour,
                s.weekday,
                s.next_slot_at,
                s.confirmed_at,
                sorted((x.topic.slug, x.frequency) for x in s.subscriptions),
            )
            for s in session.scalars(select(Subscriber))
        }


def test_good_rows_are_stored_and_bad_ones_reported_by_row_and_column(
    db_url: str, topics: None
) -> None:
    totals, problems = run(db_url, FILE)

    assert [(p.row, p.column) for p in problems] == [
        (4, "email"),
        (5, "topics"),
        (5, "timezone"),
        (5, "hour"),
        (5, "weekday"),
        (6, "email"),
        (9, ""),
        (10, "topics"),
    ]
    assert "unknown topic(s): weather" in problems[1].reason
    assert "also on row 2" in problems[5].reason
    assert "3 values" in problems[6].reason
    assert (totals.added, totals.updated, totals.unchanged, totals.rejected) == (3, 0, 0, 5)
    assert totals.rows == 8  # the blank line is not a row

    rows = stored(db_url)
    assert sorted(rows) == ["ana@example.com", "bo@example.com", "eve@example.com"]
    assert rows["ana@example.com"][:5] == ("Ana", "active", "Europe/Brussels", 7, 0)
    assert rows["ana@example.com"][7] == [("news", "daily"), ("sport", "daily")]
    assert rows["bo@example.com"][7] == [("sport", "weekly")]
    assert rows["bo@example.com"][4] == 4  # friday
    assert rows["eve@example.com"][0] == "Eve, with a comma"


def test_a_second_import_of_the_same_file_changes_nothing(db_url: str, topics: None) -> None:
    run(db_url, FILE)
    before = stored(db_url)

    totals, problems = run(db_url, FILE, now=LATER)

    assert (totals.added, totals.updated, totals.unchanged) == (0, 0, 3)
    assert len({p.row for p in problems}) == totals.rejected == 5
    assert stored(db_url) == before  # not even the confirmation time moved


def test_a_changed_row_updates_that_subscriber_only(db_url: str, topics: None) -> None:
    run(db_url, FILE)
    before = stored(db_url)
    changed = FILE.replace("bo@example.com,Bo,sport,weekly,America/New_York,8,fri", "")
    changed += "bo@example.com,Bo,news,daily,America/New_York,10,fri\n"

    totals, _ = run(db_url, changed, now=LATER)

    assert (totals.added, totals.updated, totals.unchanged) == (0, 1, 2)
    after = stored(db_url)
    assert after["bo@example.com"][3] == 10
    assert after["bo@example.com"][7] == [("news", "daily")]
    # An active subscriber's changed hour applies from the next slot after the import.
    next_slot = after["bo@example.com"][5]
    assert isinstance(next_slot, datetime) and next_slot > LATER
    assert next_slot.astimezone(UTC).hour == 14  # 10:00 in New York in March (EDT)
    assert {k: v for k, v in after.items() if k != "bo@example.com"} == {
        k: v for k, v in before.items() if k != "bo@example.com"
    }


def test_suppressed_addresses_are_never_added_and_departed_readers_stay_departed(
    db_url: str, topics: None, session: Session
) -> None:
    run(db_url, FILE)
    suppress_erased(session, "eve@example.com", NOW)
    sub = session.scalar(select(Subscriber).where(Subscriber.email == "bo@example.com"))
    assert sub is not None
    sub.status = "unsubscribed"
    sub.unsubscribed_at = NOW
    session.commit()
    with unit_of_work(db_url) as s:
        s.execute(Subscriber.__table__.delete().where(Subscriber.email == "eve@example.com"))

    totals, problems = run(db_url, FILE.replace(",8,fri", ",9,fri"), now=LATER)

    assert (6, "email") in [(p.row, p.column) for p in problems]  # the duplicate, still
    suppressed = [p for p in problems if "suppression list" in p.reason]
    assert [(p.row, p.column) for p in suppressed] == [(8, "email")]
    rows = stored(db_url)
    assert "eve@example.com" not in rows
    assert rows["bo@example.com"][1] == "unsubscribed"  # the hour changed, the status did not
    assert rows["bo@example.com"][3] == 9
    assert totals.added == 0


def test_unconfirmed_imports_stay_pending_until_a_confirmed_import(
    db_url: str, topics: None
) -> None:
    run(db_url, FILE, confirmed=False)
    assert {v[1] for v in stored(db_url).values()} == {"pending"}

    totals, _ = run(db_url, FILE, confirmed=True, now=LATER)

    assert totals.updated == 3
    assert {(v[1], v[6]) for v in stored(db_url).values()} == {("active", LATER)}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("email,name\na@example.com,A\n", "lacks the column(s) topics"),
        ("email,topics,colour\na@example.com,news,red\n", "unknown column(s) colour"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    db_url: str, topics: None, text: str, reason: str
) -> None:
    with pytest.raises(ImportRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        run(db_url, text)
    assert stored(db_url) == {}


def test_a_file_that_is_not_utf8_is_refused_naming_the_encoding(db_url: str, topics: None) -> None:
    body = "email,topics\nzoë@example.com,news\n".encode("latin-1")
    with pytest.raises(ImportRefused, match="not UTF-8"):
        import_subscribers(db_url, io.BytesIO(body), confirmed=True, now=NOW)


def test_a_spreadsheet_bom_is_accepted(db_url: str, topics: None) -> None:
    body = "\ufeffemail,topics\nzoe@example.com,news\n".encode()
    totals = import_subscribers(db_url, io.BytesIO(body), confirmed=True, now=NOW)
    assert totals.added == 1


def test_the_export_reads_back_as_an_import_that_changes_nothing(db_url: str, topics: None) -> None:
    run(db_url, FILE)
    exported = "".join(export_lines(db_url, batch_size=2))
    assert exported.splitlines()[0] == (
        "email,name,topics,frequency,timezone,hour,weekday,language,status,created_at,confirmed_at"
    )
    assert len(exported.splitlines()) == 4

    totals, problems = run(db_url, exported, now=LATER)

    assert problems == []
    assert (totals.added, totals.updated, totals.unchanged) == (0, 0, 3)


def test_a_job_records_progress_and_keeps_the_report(db_url: str, topics: None) -> None:
    with unit_of_work(db_url) as session:
        job_id = start_job(session, "list.csv", len(FILE), confirmed=True, by="op", now=NOW).id
    import_subscribers(
        db_url, io.BytesIO(FILE.encode()), confirmed=True, now=NOW, job_id=job_id, batch_size=2
    )
    with unit_of_work(db_url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        assert (job.rows, job.added, job.rejected) == (8, 3, 5)
        assert job.read_bytes == len(FILE.encode())
    report = "".join(problem_csv(problems_of(db_url, job_id)))
    lines = report.splitlines()
    assert lines[0] == "row,column,reason"
    assert lines[1].startswith("4,email,")
    assert len(lines) == 9


def test_the_error_report_cannot_run_as_a_spreadsheet_formula() -> None:
    (header, line, whole_row) = problem_csv(
        [Problem(3, "name", "=HYPERLINK(1)"), Problem(4, "", "the row has 2 values")]
    )
    assert header == "row,column,reason\n"
    assert line == "3,name,'=HYPERLINK(1)\n"
    assert whole_row == "4,,the row has 2 values\n"  # an empty cell stays empty


def test_an_export_of_awkward_readers_imports_back_unchanged(
    db_url: str, topics: None, session: Session
) -> None:
    awkward = (
        "email,name,topics,frequency,timezone,hour,weekday\n"
        "-sales@example.com,,news;sport:weekly,daily,UTC,7,mon\n"
        "=1+2@example.com,=SUM(A1),news:weekly;sport:weekly,daily,Asia/Tokyo,23,sun\n"
        "plain@example.com,Plain,sport,weekly,UTC,0,tue\n"
    )
    totals, problems = run(db_url, awkward)
    assert problems == [] and totals.added == 3
    before = stored(db_url)
    assert before["-sales@example.com"][0] is None
    assert before["-sales@example.com"][7] == [("news", "daily"), ("sport", "weekly")]
    assert before["=1+2@example.com"][0] == "=SUM(A1)"

    exported = "".join(export_lines(db_url))
    assert "\n'-sales@example.com,,news;sport:weekly,daily," in exported
    assert "\n'=1+2@example.com,'=SUM(A1),news;sport,weekly," in exported

    totals, problems = run(db_url, exported, now=LATER)
    assert problems == []
    assert (totals.added, totals.updated, totals.unchanged) == (0, 0, 3)
    assert stored(db_url) == before


def test_control_characters_and_endless_lines_are_refused(db_url: str, topics: None) -> None:
    text = "email,name,topics\nnul@example.com,A\x00B,news\nok@example.com,Ok,news\n"
    totals, problems = run(db_url, text)
    assert [(p.row, p.column) for p in problems] == [(2, "name")]
    assert "control characters" in problems[0].reason
    assert totals.added == 1

    endless = "email,name,topics\n" + "," * 100_000 + "\n"
    with pytest.raises(ImportRefused, match="line 2 is longer than"):
        run(db_url, endless)


@pytest.mark.slow
def test_the_command_writes_the_report_and_exits_1_on_refused_rows(
    cli: Cli, tmp_path: Path
) -> None:
    cli("topics", "add", "news")
    cli("topics", "add", "sport")
    out = cli("subscribers", "import", "-", "--confirmed", input=FILE, ok=False)
    assert "3 added, 0 updated, 0 unchanged, 5 refused" in out
    assert "row 5, column hour: hour must be a whole number from 0 to 23 (got '25')" in out
    report = tmp_path / "refused.csv"
    again = cli(
        "subscribers", "import", "-", "--confirmed", "--errors", str(report), input=FILE, ok=False
    )
    assert "0 added, 0 updated, 3 unchanged, 5 refused" in again
    assert "row 5" not in again  # the rows went to the report instead
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,column,reason" and len(lines) == 9
    assert lines[5].startswith("5,weekday,")
    exported = cli("subscribers", "export")
    assert exported.count("@example.com") == 3


def test_reports_quoting_an_erased_address_go_with_it_and_old_reports_expire(
    db_url: str, topics: None, settings
) -> None:  # type: ignore[no-untyped-def]
    from digest.db.models import ImportProblem
    from digest.services.readers import preferences, signup

    with unit_of_work(db_url) as session:
        job_id = start_job(session, "list.csv", len(FILE), confirmed=True, by="op", now=NOW).id
    import_subscribers(db_url, io.BytesIO(FILE.encode()), confirmed=True, now=NOW, job_id=job_id)
    finish_job(db_url, job_id, NOW)
    with unit_of_work(db_url) as session:
        quoting = session.query(ImportProblem).filter(ImportProblem.reason.contains("ana@"))
        assert quoting.count() == 1  # the duplicate row names the address
        sub = session.scalars(select(Subscriber).where(Subscriber.email == "ana@example.com")).one()
        preferences.erase(session, sub, LATER)
    with unit_of_work(db_url) as session:
        assert (
            session.query(ImportProblem).filter(ImportProblem.reason.contains("ana@")).count() == 0
        )
        assert session.query(ImportProblem).count() == 7  # the other problems stay

    with unit_of_work(db_url) as session:
        stuck = start_job(session, "lost.csv", 10, confirmed=True, by="op", now=NOW).id
    with unit_of_work(db_url) as session:
        kept = signup.purge(session, settings, NOW + timedelta(hours=7))
    assert kept.imports == 0
    with unit_of_work(db_url) as session:
        lost = session.get(ImportJob, stuck)
        assert lost is not None and lost.status == "failed"
        assert lost.error == "the import stopped: its process ended"
        assert session.get(ImportJob, job_id).status == "done"  # type: ignore[union-attr]
    with unit_of_work(db_url) as session:
        gone = signup.purge(session, settings, NOW + timedelta(days=31))
    assert gone.imports == 2
    with unit_of_work(db_url) as session:
        assert session.query(ImportJob).count() == 0 and session.query(ImportProblem).count() == 0
