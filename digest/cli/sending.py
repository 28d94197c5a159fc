"""``digest plan``, ``run``, ``retry`` and ``deliveries``: driving the pipeline by hand
and seeing what it did."""

from __future__ import annotations

from datetime import datetime

import click

from digest.cli import support


@click.command()
@support.now_option
def plan(now: datetime | None) -> None:
    """One planning tick: create the digests due now and queue them for the workers."""
    from digest.services.sending.planning import plan as plan_tick
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


@click.command()
@support.now_option
def run(now: datetime | None) -> None:
    """Plan, build and send in this process; no broker or worker needed."""
    from digest.embedded import sender_for
    from digest.services.sending.pipeline import run as run_pipeline

    current = support.settings()
    url = support.database(current)
    report = run_pipeline(url, current, sender_for(current), support.clock_of(now))
    click.echo(
        f"planned {report.planned}, skipped {report.skipped} (nothing new or not mailable), "
        f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}"
    )


@click.command()
@support.now_option
def retry(now: datetime | None) -> None:
    """Send, in this process, the deferred deliveries whose time has come."""
    from digest.embedded import sender_for
    from digest.services.sending.pipeline import retry as retry_due

    current = support.settings()
    url = support.database(current)
    report = retry_due(url, current, sender_for(current), support.clock_of(now))
    click.echo(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}")


@click.command()
@click.option(
    "--status",
    type=click.Choice(["queued", "sending", "sent", "deferred", "failed"]),
    help="Only deliveries in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="Every delivery with every attempt, as JSON.")
@click.option("--limit", default=200, show_default=True, help="At most this many, newest first.")
def deliveries(status: str | None, as_json: bool, limit: int) -> None:
    """List deliveries and their SMTP attempts."""
    from digest.services.console.reporting import list_deliveries
    from digest.services.database import unit_of_work

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
