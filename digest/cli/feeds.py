"""``digest feeds``: the feeds articles come from."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from digest.cli import support
from digest.services.database import unit_of_work


@click.group()
def feeds() -> None:
    """Feeds articles come from."""


@feeds.command("add")
@click.argument("url")
@click.option("--topic", "topic_slugs", multiple=True, required=True, help="Topic slug (repeat).")
def feeds_add(url: str, topic_slugs: tuple[str, ...]) -> None:
    """Add the RSS or Atom feed at URL, mapped to topics."""
    support.audited()
    from digest.ingest import FeedRefused, IngestError
    from digest.services.ingesting import add_feed

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
    from digest.services.ingesting import poll_all_feeds

    current = support.settings()
    reports = poll_all_feeds(support.database(current), current, datetime.now(UTC))
    for r in reports:
        line = f"{r.url}: {r.status}, {r.added} new, {r.updated} updated"
        click.echo(line + (f" — {r.error}" if r.error else ""))
    if not reports:
        click.echo("no feeds: add one with 'digest feeds add URL --topic SLUG'")
