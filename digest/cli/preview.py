"""``digest preview``: a reader's next digest exactly as it would be sent, or why each
nearby article is in or out of it."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from digest.cli import support

if TYPE_CHECKING:
    from digest.services.editorial.previewing import Preview


@click.command()
@click.argument("email")
@support.now_option
@click.option(
    "--format", "fmt", type=click.Choice(["html", "text", "eml"]), default="html", show_default=True
)
@click.option(
    "--explain",
    is_flag=True,
    help="Instead of the email, say why each nearby article is in or out, and the checks.",
)
def preview(email: str, now: datetime | None, fmt: str, explain: bool) -> None:
    """Show the next digest of EMAIL exactly as it would be sent."""
    from digest.services.editorial.previewing import PreviewError, preview_next

    current = support.settings()
    try:
        result = preview_next(support.database(current), current, email, support.clock_of(now)())
    except PreviewError as exc:
        raise click.ClickException(str(exc)) from None
    if explain:
        explain_preview(result)
        return
    if result.message is None or result.email is None:
        click.echo(f"nothing new for {email} at the slot of {result.slot_at.isoformat()}", err=True)
        sys.exit(1)
    if fmt == "eml":
        sys.stdout.buffer.write(result.message)
    elif fmt == "html":
        # The HTML part's own bytes, as a mail client receives them.
        sys.stdout.buffer.write(result.html_part)
    else:
        click.echo(result.email.text)


def explain_preview(result: Preview) -> None:
    """``digest preview --explain``: the slot, each topic's articles with the reason
    each is in or out, then the checks of the message."""
    from digest.services.editorial.reasons import when

    tz = result.timezone
    click.echo(f"slot: {when(result.slot_at, tz)} ({result.slot_at.isoformat()})")
    if result.blocked:
        click.echo(f"not sent: {result.blocked}")
    if result.email is None:
        click.echo("nothing new: no email at this slot")
    else:
        click.echo(f"subject: {result.email.subject}")
    for topic in result.topics:
        window = f"new since {when(topic.since, tz)}" if topic.since else "not due in this slot"
        click.echo(f"\n{topic.name} ({topic.frequency}, {window})")
        for a in topic.articles:
            rank = f"#{a.rank}" if a.rank else "-"
            click.echo(f"  {rank:>4}  {a.article_id:>7}  {a.title}\n{'':15}{a.reason}")
        if topic.more:
            click.echo(f"  and {topic.more} more left out, not listed")
    if result.checks:
        click.echo("\nchecks:")
    for check in result.checks:
        click.echo(f"  {check.level:<8} {check.summary}")
        for item in check.items:
            click.echo(f"{'':11}{item}")
        for finding in check.findings:
            clients = "; ".join(f"{c.client}: {c.support}" for c in finding.clients)
            click.echo(f"{'':11}{finding.matched} ({clients})")
