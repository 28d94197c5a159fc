"""``digest topics|feeds|subscribers``: the data an operator manages."""

from __future__ import annotations

import io
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, TextIO

import click

from digest import cli_support as support
from digest.db.engine import unit_of_work

if TYPE_CHECKING:
    pass


@click.group()
def topics() -> None:
    """Topics subscribers follow."""


@topics.command("add")
@click.argument("slug")
@click.option("--name", help="Display name (default: from the slug).")
@click.option("--keywords", help="Comma-separated words; articles mentioning one join the topic.")
def topics_add(slug: str, name: str | None, keywords: str | None) -> None:
    """Create topic SLUG, or update its name and keywords."""
    from digest.services.topics import TopicError, add_topic, parse_keywords

    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            topic = add_topic(session, slug, name, parse_keywords(keywords) if keywords else None)
            click.echo(f"topic {topic.slug} ({topic.name})")
    except TopicError as exc:
        raise click.ClickException(str(exc)) from None


@topics.command("list")
def topics_list() -> None:
    """List topics."""
    from digest.services.topics import list_topics

    with unit_of_work(support.database(support.settings())) as session:
        for t in list_topics(session):
            click.echo(f"{t.slug:<20} {t.name:<30} {', '.join(t.keywords or [])}")


@click.group()
def feeds() -> None:
    """Feeds articles come from."""


@feeds.command("add")
@click.argument("url")
@click.option("--topic", "topic_slugs", multiple=True, required=True, help="Topic slug (repeat).")
def feeds_add(url: str, topic_slugs: tuple[str, ...]) -> None:
    """Add the RSS or Atom feed at URL, mapped to topics."""
    from digest.ingest import FeedRefused, IngestError, add_feed

    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            feed = add_feed(
                session, url, list(topic_slugs), allow_private=current.allow_private_feeds
            )
            click.echo(f"feed {feed.id}: {feed.url} → {', '.join(t.slug for t in feed.topics)}")
    except (FeedRefused, IngestError) as exc:
        raise click.ClickException(str(exc)) from None


@feeds.command("fetch")
def feeds_fetch() -> None:
    """Poll every feed once, now."""
    from digest.ingest import poll_all_feeds

    current = support.settings()
    reports = poll_all_feeds(support.database(current), current, datetime.now(UTC))
    for r in reports:
        line = f"{r.url}: {r.status}, {r.added} new, {r.updated} updated"
        click.echo(line + (f" — {r.error}" if r.error else ""))
    if not reports:
        click.echo("no feeds: add one with 'digest feeds add URL --topic SLUG'")


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
    confirmed: bool,
    now: datetime | None,
) -> None:
    """Add or update the subscriber EMAIL."""
    from digest.services.subscribers import SubscriberError, SubscriberInput, upsert_subscriber

    current = support.settings()
    data = SubscriberInput(
        email=email,
        topics=topic_list.split(","),
        frequency=frequency,
        timezone=timezone,
        hour=hour,
        weekday=weekday,
        name=name,
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
    from digest.services.csvfiles import ImportRefused, Problem, problem_csv
    from digest.services.importing import Totals, finish_job, import_subscribers, start_job

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
                    click.echo(f"importing: {totals.rows} rows read ({tenth * 10}%)", err=True)
            elif totals.rows // 10_000 > logged:  # standard input: its size is unknown
                logged = totals.rows // 10_000
                click.echo(f"importing: {totals.rows} rows read", err=True)

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
    from digest.services.importing import export_lines

    for line in export_lines(support.database(support.settings())):
        target.write(line)


@subscribers.command("show")
@click.argument("email")
def subscribers_show(email: str) -> None:
    """Everything stored about one subscriber, as JSON: profile, topics, consent
    records (when, IP, user agent, page, wording), digests and delivery attempts."""
    import json

    from sqlalchemy import select

    from digest.db.models import Subscriber
    from digest.services.preferences import export
    from digest.services.subscribers import SubscriberError, normalise_email

    try:
        address = normalise_email(email)
    except SubscriberError as exc:
        raise click.ClickException(str(exc)) from None
    with unit_of_work(support.database(support.settings())) as session:
        sub = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if sub is None:
            raise click.ClickException(f"no subscriber with the address {address}")
        click.echo(json.dumps(export(session, sub), indent=2, ensure_ascii=False))
