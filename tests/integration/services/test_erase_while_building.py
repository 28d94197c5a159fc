"""Erasing a reader while a worker builds their digest leaves nothing of them: the
article lists the build had not yet committed go too."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest, DigestArticle, Subscriber
from digest.services.readers.preferences import erase
from digest.services.sending import building, planning

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def count(db_url: str, model: type, **where: object) -> int:
    with unit_of_work(db_url) as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return s.scalar(query) or 0


def test_erasing_a_reader_whose_digest_is_being_built_leaves_no_article_list(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    for i in range(5):
        world.article(f"a{i}", T0 - timedelta(hours=i), ["tech"])
    reader = world.subscriber("gone@example.org", "tech", T0)
    planned = planning.plan(db_url, mail_settings, SLOT)
    [digest_id] = planned.digest_ids

    erased = threading.Event()

    def erase_reader() -> None:
        with unit_of_work(db_url) as s:
            sub = s.get(Subscriber, reader)
            assert sub is not None
            erase(s, sub, SLOT)
        erased.set()

    # The worker's transaction: digests locked, article lists written, not committed.
    with unit_of_work(db_url) as s:
        report = building.build(s, [digest_id], mail_settings, SLOT, claim=True)
        assert len(report.built) == 1
        eraser = threading.Thread(target=erase_reader)
        eraser.start()
        time.sleep(0.5)  # the erasure starts and waits for the build's locks
        assert not erased.is_set()
    eraser.join(timeout=30)
    assert erased.is_set()

    assert count(db_url, Subscriber, id=reader) == 0
    assert count(db_url, Digest, subscriber_id=reader) == 0
    assert count(db_url, Delivery, subscriber_id=reader) == 0
    assert count(db_url, DigestArticle, digest_id=digest_id) == 0
