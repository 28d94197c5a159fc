"""The bundled sample data gives every sample reader a digest to look at, whatever
the time of day `digest up --sample-data` runs, even just after a reader's slot."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.services.console.sample import load_sample_data
from digest.services.database import upgrade
from digest.services.editorial.previewing import preview_subscriber

DAILY_READERS = {  # as in digest/sample_data/subscribers.csv
    "ana@example.com": ("Europe/Brussels", 7),
    "chen@example.com": ("Asia/Shanghai", 6),
    "dara@example.com": ("Australia/Sydney", 7),
}


@pytest.mark.parametrize("email", sorted(DAILY_READERS))
def test_a_reader_whose_slot_just_passed_still_has_a_digest_to_preview(
    email: str, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    zone, hour = DAILY_READERS[email]
    local = datetime(2026, 12, 7, hour, 30, tzinfo=ZoneInfo(zone))  # half an hour after
    now = local.astimezone(UTC)
    url = f"sqlite:///{tmp_path}/sample.db"
    upgrade(url)
    current = dataclasses.replace(settings, database_url=url)
    load_sample_data(current, now)
    with unit_of_work(url) as session:
        sub = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        assert (sub.timezone, sub.hour) == (zone, hour)
        shown = preview_subscriber(session, current, sub.id, now, explain=False)
        assert shown.slot_at - now == timedelta(hours=23, minutes=30)
        assert shown.email is not None and shown.content is not None
        assert sum(len(s.articles) for s in shown.content.sections) > 0


def test_the_sample_pictures_are_served_by_the_web_app(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from digest.db.models import Article
    from digest.web.app import create_app

    url = f"sqlite:///{tmp_path}/sample.db"
    upgrade(url)
    current = dataclasses.replace(settings, database_url=url)
    load_sample_data(current, datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    with unit_of_work(url) as session:
        images = [a.image_url for a in session.scalars(select(Article)) if a.image_url]
    assert len(images) == 2
    base = current.base_url.rstrip("/")
    client = TestClient(create_app(current))
    for image in images:
        assert image.startswith(f"{base}/static/sample/") and image.endswith(".png")
        answer = client.get(image[len(base) :])
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content.startswith(b"\x89PNG") and len(answer.content) < 20_000
