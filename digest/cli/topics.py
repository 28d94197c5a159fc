"""``digest topics``: the topics readers follow."""

from __future__ import annotations

import click

from digest.cli import support
from digest.services.database import unit_of_work


@click.group()
def topics() -> None:
    """Topics subscribers follow."""


@topics.command("add")
@click.argument("slug")
@click.option("--name", help="Display name (default: from the slug).")
@click.option("--keywords", help="Comma-separated words; articles mentioning one join the topic.")
def topics_add(slug: str, name: str | None, keywords: str | None) -> None:
    """Create topic SLUG, or update its name and keywords."""
    support.audited()
    from digest.services.readers.topics import TopicError, add_topic, parse_keywords

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
    from digest.services.readers.topics import list_topics

    with unit_of_work(support.database(support.settings())) as session:
        for t in list_topics(session):
            click.echo(f"{t.slug:<20} {t.name:<30} {', '.join(t.keywords or [])}")
