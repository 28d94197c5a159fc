"""The bundled sample data: a small news feed and five subscribers."""

from __future__ import annotations

import dataclasses
import io
import secrets
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import AdminUser, Subscriber
from digest.domain.schedule import next_slot_after
from digest.domain.text import counted
from digest.ingest import parse_feed
from digest.services.console.admins import create_admin
from digest.services.console.importing import import_subscribers
from digest.services.ingesting import upsert_articles
from digest.services.readers.choices import cadence_of
from digest.services.readers.topics import add_topic

# The postal address sample emails carry (bulk mail must name one: CAN-SPAM and most
# national laws); a publisher sets their own with DIGEST_POSTAL_ADDRESS.
SAMPLE_POSTAL_ADDRESS = "Example News, 1 Sample Street, 1000 Brussels, Belgium"
# The console accounts the sample data makes, one of each role.
SAMPLE_ADMINS = (("operator@example.com", "operator"), ("editor@example.com", "editor"))

# The sample feed's pictures, drawn for these samples, in digest/web/static/sample/.
SAMPLE_IMAGES = frozenset({"huawei-mirror", "eu-ai-act"})

SAMPLE_TOPICS = {
    "technology": ("Technology", ["artificial intelligence", "ai act"]),
    "trade": ("Trade", ["tariff", "tariffs"]),
    "politics": ("Politics", []),
    "security": ("Security", ["sanctions"]),
    "eu": ("EU", []),
    "climate": ("Climate", ["warmest year"]),
    "business": ("Business", []),
}


def sample_image(settings: Settings, url: str | None) -> str | None:
    """The sample feed's picture ``…/img/NAME.jpg`` as the copy the web app serves
    (``/static/sample/NAME.png``): the feed's own address does not exist."""
    if not url:
        return url
    name = url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if name not in SAMPLE_IMAGES:
        return None
    return f"{settings.base_url.rstrip('/')}/static/sample/{name}.png"


def _read(name: str) -> bytes:
    return resources.files("digest.sample_data").joinpath(name).read_bytes()


def load_sample_data(settings: Settings, now: datetime) -> str:
    """Create the sample topics, articles (their pictures served by the web app) and
    (confirmed) subscribers.

    The feed's items are dated 2020-2025; they are re-dated to the last minutes,
    keeping their order, so that every subscriber's next digest has something to show.
    (Dated hours back, they would miss the window of a reader whose slot has just
    passed: a daily digest shows what came since the slot before.)
    """
    feed = parse_feed(_read("example-news.rss.xml"), "https://news.example.org/rss")
    items = [
        dataclasses.replace(
            item,
            published_at=now - timedelta(minutes=2 * (i + 1)),
            image_url=sample_image(settings, item.image_url),
        )
        for i, item in enumerate(feed.items)
    ]
    with unit_of_work(settings.database_url) as session:
        for slug, (name, keywords) in SAMPLE_TOPICS.items():
            add_topic(session, slug, name, keywords)
        stored = upsert_articles(session, items, now=now)
    subs = import_subscribers(
        settings.database_url, io.BytesIO(_read("subscribers.csv")), confirmed=True, now=now
    )
    return (
        f"{counted(len(SAMPLE_TOPICS), 'topic')}, {counted(stored.added, 'new article')}, "
        f"{counted(subs.added + subs.updated, 'subscriber')}"
    )


def sample_admins(settings: Settings, now: datetime) -> list[tuple[str, str, str | None]]:
    """The sample operator and editor: (email, role, a new password), the password
    None for an account that already exists (it keeps its own)."""
    made: list[tuple[str, str, str | None]] = []
    with unit_of_work(settings.database_url) as session:
        for email, role in SAMPLE_ADMINS:
            if session.scalar(select(AdminUser.id).where(AdminUser.email == email)):
                made.append((email, role, None))
                continue
            password = secrets.token_urlsafe(12)
            create_admin(session, email, password, role, now)
            made.append((email, role, password))
    return made


def first_slot(settings: Settings, now: datetime) -> datetime | None:
    """The earliest slot after ``now`` at which an active subscriber gets a digest."""
    with unit_of_work(settings.database_url) as session:
        subscribers = session.scalars(
            select(Subscriber)
            .where(Subscriber.status == "active")
            .options(selectinload(Subscriber.subscriptions))
        ).all()
        slots = [next_slot_after(cadence_of(sub), now) for sub in subscribers]
    return min((slot for slot in slots if slot is not None), default=None)
