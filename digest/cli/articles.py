"""``digest articles``: articles taken in from files, listed, and pinned or held by
editors."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

import click

from digest.cli import support
from digest.services.database import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from digest.services.editorial import ArticleRow


@click.group()
def articles() -> None:
    """Articles: push them directly (not from a feed), list them, pin or hold them."""


@articles.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def articles_import(source: TextIO) -> None:
    """Import JSON lines from SOURCE (a file, or - for standard input).

    Fields: url, title, summary, published_at, topics, and optionally image_url, author.
    """
    from digest.services.ingesting import import_articles

    current = support.settings()
    with unit_of_work(support.database(current)) as session:
        report = import_articles(session, source, now=datetime.now(UTC))
    click.echo(f"{report.added} added, {report.updated} updated, {len(report.errors)} error(s)")
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors:
        sys.exit(1)


@articles.command("list")
@click.option("--topic", default="", help="Only the articles of this topic (a slug).")
@click.option("--title", "fragment", default="", help="Only those whose title contains this.")
@click.option("--pinned", is_flag=True, help="Only those whose pin still counts.")
@click.option("--held", is_flag=True, help="Only those held out of digests.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@support.now_option
def articles_list(
    topic: str, fragment: str, pinned: bool, held: bool, limit: int, now: datetime | None
) -> None:
    """The most recently stored articles first: id, publication time (UTC), whether
    pinned or held, title."""
    from digest.services import console, editorial

    moment = support.clock_of(now)()
    try:
        with unit_of_work(support.database(support.settings())) as session:
            rows = editorial.list_articles(
                session,
                topic=topic,
                fragment=fragment,
                pinned_after=moment if pinned else None,
                held=held,
                limit=limit,
            ).items
    except console.ManagementError as exc:
        raise click.ClickException(str(exc)) from None
    for row in rows:
        state = _state(row, moment)
        click.echo(f"{row.id:>7}  {row.published_at:%Y-%m-%d %H:%M}  {state:<32}  {row.title}")
    if not rows:
        click.echo("no article matches")


def _state(row: ArticleRow, now: datetime) -> str:
    pin, held = row.pinned_until, ", held" if row.held else ""
    if pin is None:
        return "held" if row.held else "-"
    return f"{'pinned until' if pin > now else 'pin ended'} {pin:%Y-%m-%d %H:%M}{held}"


SPAN = re.compile(r"([1-9][0-9]{0,4})([hdw])")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@articles.command("pin")
@click.argument("article_id", type=int)
@click.option("--until", help="When the pin ends: ISO 8601, UTC when no offset.")
@click.option("--for", "span", help="Or how long it lasts from now: e.g. 12h, 2d, 1w.")
@support.now_option
def articles_pin(
    article_id: int, until: str | None, span: str | None, now: datetime | None
) -> None:
    """Put article ARTICLE_ID first in its topics in every digest whose window closes
    before the pin ends."""
    from digest.services import editorial

    if (until is None) == (span is None):
        raise click.UsageError("give either --until TIME or --for SPAN")
    moment = support.clock_of(now)()
    found = SPAN.fullmatch((span or "").strip().lower())
    if span is not None and found is None:
        raise click.BadParameter(
            f"{span!r} is not a span such as 12h, 2d or 1w", param_hint="--for"
        )

    def pin(session: Session, by: str) -> ArticleRow:
        if found is None:
            end = editorial.moment_of("pinned_until", until or "")
        else:
            end = moment + int(found.group(1)) * UNITS[found.group(2)]
        return editorial.pin_article(session, article_id, end, by, moment)

    _edit(pin, moment)


@articles.command("unpin")
@click.argument("article_id", type=int)
@support.now_option
def articles_unpin(article_id: int, now: datetime | None) -> None:
    """Put article ARTICLE_ID back among the others, newest first."""
    from digest.services import editorial

    moment = support.clock_of(now)()
    _edit(lambda s, by: editorial.unpin_article(s, article_id, by, moment), moment)


@articles.command("hold")
@click.argument("article_id", type=int)
@support.now_option
def articles_hold(article_id: int, now: datetime | None) -> None:
    """Keep article ARTICLE_ID out of every digest built from now on."""
    from digest.services import editorial

    moment = support.clock_of(now)()
    _edit(lambda s, by: editorial.hold_article(s, article_id, by, moment), moment)


@articles.command("release")
@click.argument("article_id", type=int)
@support.now_option
def articles_release(article_id: int, now: datetime | None) -> None:
    """Let article ARTICLE_ID into the digests built from now on, where it is new."""
    from digest.services import editorial

    moment = support.clock_of(now)()
    _edit(lambda s, by: editorial.release_article(s, article_id, by, moment), moment)


def _edit(change: Callable[[Session, str], ArticleRow], now: datetime) -> None:
    """Make one editorial change as the user running the command and show the
    article's state after it; a refusal names the option at fault."""
    support.audited()
    from digest.services import console

    try:
        by = f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):  # no name for this user id, e.g. in a container
        by = "command line"
    try:
        with unit_of_work(support.database(support.settings())) as session:
            row = change(session, by)
    except console.NotFound as exc:
        raise click.ClickException(str(exc)) from None
    except console.ManagementError as exc:
        name = "--until" if exc.field == "pinned_until" else exc.field
        raise click.ClickException(f"{name}: {exc.problems[0][1]}") from None
    click.echo(f"article {row.id}: {_state(row, now)}: {row.title}")
