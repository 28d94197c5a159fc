"""``digest topics|feeds|articles|subscribers``: the data an operator manages."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

import click

from digest import cli_support as support
from digest.db.engine import unit_of_work


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
def articles() -> None:
    """Articles pushed directly (not from a feed)."""


@articles.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def articles_import(source: TextIO) -> None:
    """Import JSON lines from SOURCE (a file, or - for standard input).

    Fields: url, title, summary, published_at, topics, and optionally image_url, author.
    """
    from digest.ingest import import_articles

    current = support.settings()
    with unit_of_work(support.database(current)) as session:
        report = import_articles(session, source, now=datetime.now(UTC))
    click.echo(f"{report.added} added, {report.updated} updated, {len(report.errors)} error(s)")
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors:
        sys.exit(1)


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
@click.argument("source", type=click.File("r", encoding="utf-8-sig"))
@click.option("--confirmed", is_flag=True, help="Make imported subscribers active at once.")
@support.now_option
def subscribers_import(source: TextIO, confirmed: bool, now: datetime | None) -> None:
    """Import subscribers from a CSV file (columns: email,name,topics,frequency,timezone,hour)."""
    from digest.services.subscribers import SubscriberError, import_csv

    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            report = import_csv(session, source, confirmed=confirmed, now=support.clock_of(now)())
    except SubscriberError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.added} added, {report.updated} updated, {len(report.errors)} error(s)")
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors:
        sys.exit(1)


@subscribers.command("export")
@click.argument("target", type=click.File("w", encoding="utf-8"), default="-")
def subscribers_export(target: TextIO) -> None:
    """Write every subscriber as CSV to TARGET (default: standard output)."""
    from digest.services.subscribers import export_csv

    with unit_of_work(support.database(support.settings())) as session:
        target.write(export_csv(session))


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
