"""The benchmarks' data: a throw-away database, seeded with confirmed subscribers over
12 topics (varied topic sets, several time zones, all due in the same slot) and recent
articles; and a DKIM key for signed runs."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

FIXED_SLOT = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Brussels",
    "Europe/Athens",
    "Asia/Dubai",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Africa/Lagos",
]
TOPICS = [
    "politics",
    "economy",
    "technology",
    "science",
    "climate",
    "health",
    "sport",
    "culture",
    "world",
    "europe",
    "security",
    "trade",
]


def fresh_database(url: str | None, folder: Path) -> tuple[str, str | None]:
    """A new empty database: a SQLite file, or a new database on the given server."""
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{folder / 'bench.db'}", None
    name = f"digest_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def drop_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(db_url: str, subscribers: int, articles: int, slot: datetime) -> None:
    from digest.db.models import Article, ArticleTopic, Subscriber, Subscription, Topic

    rng = random.Random(7)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            insert(Topic), [{"slug": s, "name": s.title(), "keywords": []} for s in TOPICS]
        )
        topic_ids = list(conn.scalars(select(Topic.id).order_by(Topic.id)))
        rows = []
        for i in range(articles):
            published = slot - timedelta(minutes=rng.randint(10, 20 * 60))
            rows.append(
                {
                    "guid": f"urn:bench:{i}",
                    "url": f"https://news.example.org/a/{i}",
                    "title": f"Article {i}: a headline of a typical length for a news story",
                    "summary": "<p>" + "A summary sentence of an ordinary length. " * 6 + "</p>",
                    "image_url": f"https://news.example.org/img/{i}.jpg" if i % 3 else None,
                    "published_at": published,
                    "ingested_at": published,
                    "updated_at": published,
                    "pinned_until": None,
                    "held": False,
                }
            )
        conn.execute(insert(Article), rows)
        article_ids = list(conn.scalars(select(Article.id).order_by(Article.id)))
        conn.execute(
            insert(ArticleTopic),
            [
                {"article_id": a, "topic_id": t}
                for a in article_ids
                for t in rng.sample(topic_ids, rng.choice([1, 1, 2]))
            ],
        )
        for start in range(0, subscribers, 5000):
            subs = []
            for i in range(start, min(start + 5000, subscribers)):
                zone = ZONES[i % len(ZONES)]
                local = slot.astimezone(ZoneInfo(zone))
                subs.append(
                    {
                        "email": f"reader{i}@example.net",
                        "name": f"Reader {i}",
                        "status": "active",
                        "timezone": zone,
                        "hour": local.hour,
                        "weekday": (local.weekday() + 1) % 7,
                        "next_slot_at": slot,
                        "created_at": slot - timedelta(days=2),
                        "confirmed_at": slot - timedelta(days=2),
                    }
                )
            conn.execute(insert(Subscriber), subs)
        sub_ids = list(conn.scalars(select(Subscriber.id).order_by(Subscriber.id)))
        subscriptions = [
            {"subscriber_id": s, "topic_id": t, "frequency": "daily"}
            for s in sub_ids
            for t in rng.sample(topic_ids, rng.randint(1, 4))
        ]
        for start in range(0, len(subscriptions), 20000):
            conn.execute(insert(Subscription), subscriptions[start : start + 20000])
    engine.dispose()


def write_dkim_key(path: Path) -> Path:
    """A new RSA-2048 private key (PEM) for signing the run's digests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path
