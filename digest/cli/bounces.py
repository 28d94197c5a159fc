"""``digest bounces``: take in bounces and complaints from files, from the bounce
domain's mail (an SMTP or LMTP server), or from a mailbox; list what came in."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli import support
from digest.domain.text import counted
from digest.services.database import unit_of_work


@click.group()
def bounces() -> None:
    """Bounces and complaints: import, receive, poll, list."""


@bounces.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@support.now_option
def bounces_import(paths: tuple[Path, ...], now: datetime | None) -> None:
    """Take in the messages in PATHS: .eml files, mbox files, maildirs or folders of
    .eml files. Importing the same messages again changes nothing."""
    from digest.bounces.sources import iter_messages
    from digest.services.bounces.handling import IntakeReport
    from digest.services.bounces.intake import import_messages

    current = support.settings()
    url = support.database(current)
    moment = now or datetime.now(UTC)
    total = IntakeReport()
    for path in paths:
        try:
            report = import_messages(url, current, iter_messages(path), moment)
        except OSError as exc:
            raise click.ClickException(f"{path}: {exc.strerror or exc}") from None
        click.echo(f"{path}: {report.summary()}")
        total.merge(report)
    if len(paths) > 1:
        click.echo(f"in all: {total.summary()}")


@bounces.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=int, help="Port to listen on.")
@click.option("--lmtp", is_flag=True, help="Speak LMTP (for a local mail server) instead of SMTP.")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="Accept mail for this domain only (repeatable); default: the domain of "
    "DIGEST_BOUNCE_ADDRESS, or any domain when it is not set.",
)
def bounces_serve(host: str, port: int, lmtp: bool, domains: tuple[str, ...]) -> None:
    """Receive bounces and complaints by SMTP (or LMTP) and act on them at once."""
    from digest.mail.receiver import BounceReceiver
    from digest.services.bounces.intake import receive

    current = support.settings()
    url = support.database(current)
    if not domains and current.bounce_address is not None:
        domains = (current.bounce_address.rpartition("@")[2],)
    source = "lmtp" if lmtp else "smtp"

    def take(data: bytes, recipient: str) -> None:
        taken = receive(
            url, current, data, source=source, now=datetime.now(UTC), envelope_to=recipient
        )
        for item in taken:
            if not item.duplicate:
                click.echo(
                    f"{item.kind} {item.recipient or '(no recipient)'} "
                    f"[{item.matched_by}]: {item.outcome}"
                )

    server = BounceReceiver(take, host=host, port=port, domains=domains, lmtp=lmtp)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    accepted = ", ".join(domains) if domains else "any domain"
    click.echo(f"receiving bounces by {source.upper()} on {host}:{port} for {accepted}")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.stop()
        click.echo(f"stopped after {counted(server.bounce_handler.received, 'message')}")


def _reason(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--reason``: one of the reasons, written with ``_`` or ``-``, in any case."""
    from digest.domain.bounce_policy import REASONS

    if value is None:
        return None
    reason = value.strip().lower().replace("-", "_")
    if reason not in REASONS:
        raise click.BadParameter(f"{value!r} is not a bounce reason; one of: {', '.join(REASONS)}")
    return reason


@bounces.command("list")
@click.option(
    "--email",
    default="",
    help="Only the events about this address (its subscriber's, and reports naming it).",
)
@click.option(
    "--kind", type=click.Choice(["hard", "soft", "complaint", "auto-reply", "not-bounce"])
)
@click.option(
    "--reason",
    callback=_reason,
    metavar="REASON",
    help="Only the events of this reason, e.g. user_unknown, mailbox_full, auth_failure.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def bounces_list(email: str, kind: str | None, reason: str | None, limit: int) -> None:
    """The latest bounce events: when, kind, reason, recipient, status, how matched,
    what was done. A reason of "-" was not recorded (events stored before reasons)."""
    from digest.services.bounces.intake import latest_events

    current = support.settings()
    with unit_of_work(support.database(current)) as session:
        rows = latest_events(session, email=email or None, kind=kind, reason=reason, limit=limit)
        for event in rows:
            click.echo(
                f"{event.received_at:%Y-%m-%d %H:%M} {event.kind:<10} "
                f"{event.reason or '-':<20} "
                f"{event.recipient or '-':<40} {event.status or '-':<7} "
                f"[{event.matched_by}] {event.outcome}"
            )
    if not rows:
        click.echo("no bounce events", err=True)


@bounces.command("poll")
def bounces_poll() -> None:
    """Read the bounce mailbox (DIGEST_BOUNCE_MAILBOX_URL) once, as beat does every
    DIGEST_BOUNCE_POLL_INTERVAL seconds."""
    from digest.mail.mailbox import MailboxError
    from digest.services.bounces.intake import poll_mailbox

    current = support.settings()
    url = support.database(current)
    try:
        polled = poll_mailbox(url, current, lambda: datetime.now(UTC))
    except MailboxError as exc:
        raise click.ClickException(str(exc)) from None
    if polled is None:
        raise click.ClickException("no bounce mailbox: set DIGEST_BOUNCE_MAILBOX_URL")
    left = f", {polled.left} left for the next poll" if polled.left else ""
    click.echo(f"fetched {polled.fetched}{left}: {polled.intake.summary()}")
    for error in polled.errors:
        click.echo(f"kept in the mailbox: {error}", err=True)
    if polled.failed:
        raise SystemExit(1)
