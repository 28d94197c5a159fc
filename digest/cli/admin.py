"""``digest admin``: the people and keys that may use /admin and /api."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from digest.cli import support
from digest.services.database import unit_of_work


@click.group()
def admin() -> None:
    """Admin users (operators, editors) and API keys."""


@admin.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["operator", "editor"]), required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def admin_create(email: str, role: str, password_stdin: bool) -> None:
    """Create the admin EMAIL, or set a new password and role for it."""
    support.audited()
    from digest.services.console.admins import MIN_PASSWORD, AdminError, create_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password (at least {MIN_PASSWORD} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            user = create_admin(session, email, password, role, datetime.now(UTC))
            click.echo(f"admin {user.email} is an {user.role}")
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None


@admin.command("list")
def admin_list() -> None:
    """List the admins: address, role, whether disabled, last sign-in."""
    from digest.services.console.admins import list_admins

    with unit_of_work(support.database(support.settings())) as session:
        rows = list_admins(session)
    for row in rows:
        state = "disabled" if row.disabled else "enabled"
        last = row.last_sign_in_at.isoformat(timespec="seconds") if row.last_sign_in_at else "never"
        click.echo(f"{row.email:<40} {row.role:<9} {state:<9} last sign-in {last}")
    if not rows:
        click.echo("no admins: add one with 'digest admin create EMAIL --role operator'")


@admin.command("disable")
@click.argument("email")
def admin_disable(email: str) -> None:
    """Disable the admin EMAIL: their sessions end now and they cannot sign in."""
    _set_disabled(email, True)


@admin.command("enable")
@click.argument("email")
def admin_enable(email: str) -> None:
    """Let the disabled admin EMAIL sign in again."""
    _set_disabled(email, False)


def _set_disabled(email: str, disabled: bool) -> None:
    from digest.services.console.admins import AdminError, set_disabled

    support.audited()
    try:
        with unit_of_work(support.database(support.settings())) as session:
            row = set_disabled(session, email, disabled)
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"admin {row.email} is {'disabled' if row.disabled else 'enabled'}")


class _KeyCommands(click.Group):
    """``api-key list``, ``api-key revoke NAME``, and ``api-key NAME --role R``, which
    creates a key, as it always has."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return "create", self.commands["create"], args
        return super().resolve_command(ctx, args)


@admin.group("api-key", cls=_KeyCommands)
def api_key() -> None:
    """API keys for /api: NAME --role R creates one; list; revoke NAME."""


@api_key.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "editor"]), required=True)
def admin_api_key(name: str, role: str) -> None:
    """Create an API key for /api named NAME; it is shown once, only its hash is kept."""
    support.audited()
    from digest.services.console.admins import AdminError, create_api_key

    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            key = create_api_key(session, name, role, datetime.now(UTC))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(key)


@api_key.command("list")
def api_key_list() -> None:
    """List the API keys: name, the key's first characters, role, last use, revoked."""
    from digest.services.console.admins import list_api_keys

    with unit_of_work(support.database(support.settings())) as session:
        rows = list_api_keys(session)
    for row in rows:
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        state = f"revoked {row.revoked_at.isoformat(timespec='seconds')}" if row.revoked_at else ""
        click.echo(f"{row.name:<30} {row.prefix}…  {row.role:<9} last used {used} {state}".rstrip())
    if not rows:
        click.echo("no API keys")


@api_key.command("revoke")
@click.argument("name")
def api_key_revoke(name: str) -> None:
    """Revoke the API keys named NAME: requests with them are refused from now on."""
    support.audited()
    from digest.services.console.admins import AdminError, revoke_api_keys

    try:
        with unit_of_work(support.database(support.settings())) as session:
            count = revoke_api_keys(session, name, datetime.now(UTC))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {count} key(s) named {name}" if count else f"{name} was revoked already")
