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


@admin.command("api-key")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "editor"]), required=True)
def admin_api_key(name: str, role: str) -> None:
    """Create an API key for /api named NAME; it is shown once, only its hash is kept."""
    from digest.services.console.admins import AdminError, create_api_key

    current = support.settings()
    try:
        with unit_of_work(support.database(current)) as session:
            key = create_api_key(session, name, role, datetime.now(UTC))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(key)
