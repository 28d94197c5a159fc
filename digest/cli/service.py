"""``digest up``, ``digest web`` and ``digest db``: running the service and its schema."""

from __future__ import annotations

import click

from digest.cli import support


@click.command()
@click.option("--sample-data", is_flag=True, help="Load the bundled sample feed and subscribers.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Web address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Web port.")
def up(sample_data: bool, host: str, port: int) -> None:
    """Run web, worker and beat together (embedded defaults unless configured)."""
    from digest.cli.launcher import run_all

    current = support.settings()
    support.database(current)
    run_all(current, sample_data=sample_data, host=host, port=port)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port.")
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a client has to send a request's headers.",
)
@click.option(
    "--max-connections",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections served at once; more are answered 503.",
)
def web(host: str, port: int, header_timeout: float, max_connections: int) -> None:
    """Run the HTTP app alone."""
    from digest.web.server import serve

    support.database(support.settings())
    serve(host, port, header_timeout=header_timeout, max_connections=max_connections)


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations: create or update the schema."""
    from digest.services.database import upgrade

    current = support.settings()
    upgrade(current.database_url)
    click.echo("database schema is up to date")
