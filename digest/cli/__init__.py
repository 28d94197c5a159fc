"""The ``digest`` command: running the service and driving the pipeline."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from digest import cli_support as support
from digest.cli_admin import admin
from digest.cli_articles import articles
from digest.cli_bounces import bounces
from digest.cli_data import feeds, subscribers, topics


@click.group()
@click.version_option(package_name="digest")
def main() -> None:
    """digest: topic newsletter digests, each subscriber at their own local hour.

    Configuration comes from DIGEST_* environment variables (see the README).
    """


for group in (topics, feeds, articles, subscribers, admin, bounces):
    main.add_command(group)


@main.command()
@click.option("--sample-data", is_flag=True, help="Load the bundled sample feed and subscribers.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Web address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Web port.")
def up(sample_data: bool, host: str, port: int) -> None:
    """Run web, worker and beat together (embedded defaults unless configured)."""
    from digest.launcher import run_all

    current = support.settings()
    support.database(current)
    run_all(current, sample_data=sample_data, host=host, port=port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port.")
def web(host: str, port: int) -> None:
    """Run the HTTP app alone."""
    import uvicorn

    support.database(support.settings())
    uvicorn.run("digest.web.app:create_app", factory=True, host=host, port=port)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations: create or update the schema."""
    from digest.db.migrate import upgrade

    current = support.settings()
    upgrade(current.database_url)
    click.echo("database schema is up to date")


@main.command()
@support.now_option
def plan(now: datetime | None) -> None:
    """One planning tick: create the digests due now and queue them for the workers."""
    from digest.services.planning import plan as plan_tick
    from workers.tasks import queue_digests

    current = support.settings()
    url = support.database(current)
    clock = support.clock_of(now)
    report = plan_tick(url, current, clock())
    batches = queue_digests(report.digest_ids, now.isoformat() if now else None)
    click.echo(
        f"planned {len(report.digest_ids)} digest(s) in {batches} batch(es)"
        + (f"; {report.missed} slot(s) too old to catch up" if report.missed else "")
    )


@main.command()
@support.now_option
def run(now: datetime | None) -> None:
    """Plan, build and send in this process; no broker or worker needed."""
    from digest.embedded import sender_for
    from digest.services.pipeline import run as run_pipeline

    current = support.settings()
    url = support.database(current)
    report = run_pipeline(url, current, sender_for(current), support.clock_of(now))
    click.echo(
        f"planned {report.planned}, skipped {report.skipped} (nothing new or not mailable), "
        f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}"
    )


@main.command()
@support.now_option
def retry(now: datetime | None) -> None:
    """Send, in this process, the deferred deliveries whose time has come."""
    from digest.embedded import sender_for
    from digest.services.pipeline import retry as retry_due

    current = support.settings()
    url = support.database(current)
    report = retry_due(url, current, sender_for(current), support.clock_of(now))
    click.echo(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}")


@main.command()
@click.option(
    "--status",
    type=click.Choice(["queued", "sending", "sent", "deferred", "failed"]),
    help="Only deliveries in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="Every delivery with every attempt, as JSON.")
@click.option("--limit", default=200, show_default=True, help="At most this many, newest first.")
def deliveries(status: str | None, as_json: bool, limit: int) -> None:
    """List deliveries and their SMTP attempts."""
    from digest.db.engine import unit_of_work
    from digest.services.reporting import list_deliveries

    current = support.settings()
    with unit_of_work(support.database(current)) as session:
        rows = list_deliveries(session, status=status, limit=limit)
    if as_json:
        click.echo(support.dump_json(rows))
        return
    for row in rows:
        code = row["last_code"] if row["last_code"] is not None else "-"
        click.echo(
            f"{row['id']:>6}  {row['status']:<9} {row['email']:<32} attempts={row['attempts']} "
            f"last={code} {row['last_text'] or ''}".rstrip()
        )


@main.command()
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
    from digest.services.previewing import PreviewError, preview_next

    current = support.settings()
    try:
        result = preview_next(support.database(current), current, email, support.clock_of(now)())
    except PreviewError as exc:
        raise click.ClickException(str(exc)) from None
    if explain:
        support.explain_preview(result)
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


if __name__ == "__main__":  # pragma: no cover
    main()
