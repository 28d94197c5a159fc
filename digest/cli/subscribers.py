"""``digest subscribers``: the subscriber list, added to one by one or from CSV,
exported, and shown with everything stored about one reader."""

from __future__ import annotations

import io
import os
import sys
from datetime import datetime
from typing import BinaryIO, TextIO

import click

from digest.cli import support
from digest.domain.text import counted
from digest.services.database import unit_of_work


@click.group()
def subscribers() -> None:
    """The subscriber list."""


@subscribers.command("add")
@click.argument("email")
@click.option("--topics", "topic_list", required=True, help="Comma-separated topic slugs.")
@click.option(
    "--frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True
)
@click.option(
    "--timezone", default="UTC", show_default=True, help="IANA zone, e.g. Europe/Brussels."
)
@click.option("--hour", type=int, default=7, show_default=True, help="Local delivery hour, 0-23.")
@click.option("--weekday", default="mon", show_default=True, help="mon..sun, for weekly topics.")
@click.option("--name", help="Name used in the greeting.")
@click.option(
    "--language",
    help="Language of their emails and pages (en, es, fr, de, ar); default: the site's.",
)
@click.option("--confirmed", is_flag=True, help="Active at once (consent was collected elsewhere).")
@support.now_option
def subscribers_add(
    email: str,
    topic_list: str,
    frequency: str,
    timezone: str,
    hour: int,
    weekday: str,
    name: str | None,
    language: str | None,
    confirmed: bool,
    now: datetime | None,
) -> None:
    """Add or update the subscriber EMAIL."""
    support.audited()
    from digest.services.readers.subscribers import (
        SubscriberError,
        SubscriberInput,
        upsert_subscriber,
    )

    current = support.settings()
    data = SubscriberInput(
        email=email,
        topics=topic_list.split(","),
        frequency=frequency,
        timezone=timezone,
        hour=hour,
        weekday=weekday,
        name=name,
        language=language,
    )
    try:
        with unit_of_work(support.database(current)) as session:
            sub, created = upsert_subscriber(
                session, data, confirmed=confirmed, now=support.clock_of(now)()
            )
            click.echo(f"{'added' if created else 'updated'} {sub.email} ({sub.status})")
    except SubscriberError as exc:
        raise click.ClickException(str(exc)) from None


@subscribers.command("import")
@click.argument("source", type=click.File("rb"))
@click.option("--confirmed", is_flag=True, help="Make new subscribers active at once.")
@click.option(
    "--errors",
    "errors_to",
    type=click.File("w", encoding="utf-8"),
    help="Write every refused row (row,column,reason) as CSV to this file.",
)
@support.now_option
def subscribers_import(
    source: BinaryIO, confirmed: bool, errors_to: TextIO | None, now: datetime | None
) -> None:
    """Import subscribers from a CSV file (or - for standard input).

    Columns: email and topics (slugs separated by ;), and optionally name, frequency,
    timezone, hour, weekday. A topic may carry its own frequency (news;sport:weekly);
    the frequency column is the default for the others. Rows are stored in
    batches as they are read; a row that names a stored address updates it, so
    importing a file twice changes nothing the second time. Suppressed addresses
    are refused, and an address that unsubscribed stays unsubscribed. Progress goes
    to standard error: a bar on a terminal, else a line per tenth of the file (per
    10,000 rows from standard input). The command exits with 1 if any row was
    refused.
    """
    from digest.services.console.csvfiles import ImportRefused, Problem, problem_csv
    from digest.services.console.importing import Totals, finish_job, import_subscribers, start_job

    current = support.settings()
    url = support.database(current)
    moment = support.clock_of(now)()
    size = _size_of(source)
    name = getattr(source, "name", "-")
    with unit_of_work(url) as session:
        job_id = start_job(
            session, str(name), size, confirmed=confirmed, by="command line", now=moment
        ).id
    shown = 0
    if errors_to is not None:
        errors_to.writelines(problem_csv([]))

    def problem(p: Problem) -> None:
        nonlocal shown
        if errors_to is not None:
            errors_to.writelines(problem_csv([p], header=False))
        elif shown < MAX_PROBLEMS_SHOWN:
            click.echo(str(p), err=True)
        shown += 1

    with click.progressbar(
        length=size or 1, label="importing", file=sys.stderr, show_percent=True
    ) as bar:
        done = 0
        # Off a terminal (a log, a pipe) the bar is not drawn: a line per tenth instead.
        logged = None if sys.stderr.isatty() else 0

        def progress(totals: Totals) -> None:
            nonlocal done, logged
            bar.update(max(0, totals.read_bytes - done))
            done = max(done, totals.read_bytes)
            if logged is None:
                return
            if size:
                tenth = min(10, done * 10 // size)
                if tenth > logged:
                    logged = tenth
                    read = counted(totals.rows, "row")
                    click.echo(f"importing: {read} read ({tenth * 10}%)", err=True)
            elif totals.rows // 10_000 > logged:  # standard input: its size is unknown
                logged = totals.rows // 10_000
                click.echo(f"importing: {counted(totals.rows, 'row')} read", err=True)

        try:
            totals = import_subscribers(
                url,
                source,
                confirmed=confirmed,
                now=moment,
                job_id=job_id,
                on_progress=progress,
                on_problem=problem,
            )
        except ImportRefused as exc:
            finish_job(url, job_id, moment, str(exc))
            raise click.ClickException(str(exc)) from None
        except BaseException as exc:  # the job's page must not say "running" forever
            finish_job(url, job_id, moment, f"the import stopped: {type(exc).__name__}: {exc}")
            raise
    finish_job(url, job_id, moment)
    if errors_to is None and shown > MAX_PROBLEMS_SHOWN:
        click.echo(
            f"... and {shown - MAX_PROBLEMS_SHOWN} more; --errors FILE writes them all", err=True
        )
    click.echo(
        f"{totals.added} added, {totals.updated} updated, {totals.unchanged} unchanged, "
        f"{totals.rejected} refused"
    )
    if totals.rejected:
        sys.exit(1)


MAX_PROBLEMS_SHOWN = 50


def _size_of(source: BinaryIO) -> int:
    try:
        return os.fstat(source.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation):
        return 0


@subscribers.command("export")
@click.argument("target", type=click.File("w", encoding="utf-8"), default="-")
def subscribers_export(target: TextIO) -> None:
    """Write every subscriber as CSV to TARGET (default: standard output), page by
    page; the import reads the file back."""
    from digest.services.console.importing import export_lines

    for line in export_lines(support.database(support.settings())):
        target.write(line)


@subscribers.command("show")
@click.argument("email")
def subscribers_show(email: str) -> None:
    """Everything stored about one subscriber, as JSON: profile, topics, consent
    records (when, IP, user agent, page, wording), digests and delivery attempts."""
    import json

    from digest.services.console import lookup
    from digest.services.readers.preferences import export
    from digest.services.readers.subscribers import SubscriberError, normalise_email

    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise click.ClickException(str(exc)) from None
    with unit_of_work(support.database(support.settings())) as session:
        sub = lookup.subscriber_by_email(session, address)
        if sub is None:
            raise click.ClickException(f"no subscriber with the address {address}")
        click.echo(json.dumps(export(session, sub), indent=2, ensure_ascii=False))
