"""The front page: the publisher's name, their topics and the subscribe form, whose
consent record names the front page as where the reader signed up."""

from __future__ import annotations

import re

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Consent
from tests.integration.web.helpers import browser, csrf_of


def test_subscribing_from_the_front_page_records_it_as_the_source(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    world.topics("tech", "world")
    client = browser(mail_settings)
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>Digest</h1>" in page.text and "Topics: Tech and World." in page.text
    assert 'action="/subscribe"' in page.text
    source = re.search(r'name="source" value="([^"]+)"', page.text)
    assert source and source.group(1) == mail_settings.base_url.rstrip("/") + "/"
    answer = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_of(page.text),
            "source": source.group(1),
            "email": "ana@example.org",
            "topics": ["tech"],
            "frequency-tech": "daily",
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
        },
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    with unit_of_work(db_url) as s:
        consent = s.scalars(select(Consent)).one()
        assert consent.page == mail_settings.base_url.rstrip("/") + "/"
