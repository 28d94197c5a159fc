"""The ``digest`` command, one module per command group:

service.py      up, web, db
sending.py      plan, run, retry, deliveries
preview.py      preview
topics.py, feeds.py, articles.py, subscribers.py, admin.py, bounces.py
support.py      what every command shares: settings, the database, --now, JSON
launcher.py     the processes ``digest up`` starts and stops
"""

from __future__ import annotations

import click

from digest.cli.admin import admin
from digest.cli.articles import articles
from digest.cli.bounces import bounces
from digest.cli.feeds import feeds
from digest.cli.preview import preview
from digest.cli.sending import deliveries, plan, retry, run
from digest.cli.service import db, up, web
from digest.cli.subscribers import subscribers
from digest.cli.topics import topics


@click.group()
@click.version_option(package_name="digest")
def main() -> None:
    """digest: topic newsletter digests, each subscriber at their own local hour.

    Configuration comes from DIGEST_* environment variables (see the README).
    """


for command in (up, web, db, plan, run, retry, deliveries, preview):
    main.add_command(command)
for group in (topics, feeds, articles, subscribers, admin, bounces):
    main.add_command(group)
