"""/metrics: totals written by whichever process did the work, read by the web app
at scrape time, against a real database, SMTP server, Redis and feeds."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import DeliveryAttempt, Digest
from digest.mail.capture import free_port
from digest.mail.sender import SMTPSender
from digest.services import metrics
from digest.services.ingesting import add_feed, poll_all_feeds
from digest.services.readers.topics import add_topic
from digest.services.sending import pipeline
from tests.conftest import Cli, process_env
from tests.integration.web.helpers import browser
from tests.unit.ingest.feeds import rss

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(settings: Settings) -> Samples:
    """GET /metrics and parse it as Prometheus does: every sample by name and labels."""
    response = browser(settings).get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def digests(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == "digest_digests_total"
    }


def count(db_url: str, query) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db_url) as s:
        return int(s.scalar(query) or 0)


def attempts(db_url: str, outcome: str | None = None) -> int:
    query = select(func.count()).select_from(DeliveryAttempt)
    if outcome:
        query = query.where(DeliveryAttempt.outcome == outcome)
    return count(db_url, query)


def test_counters_and_latencies_match_what_the_pipeline_did(
    world, mail_settings, smtp_server, db_url, broker
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "quiet")
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    for name in ("ana", "ben", "cy", "gone", "later"):
        world.subscriber(f"{name}@example.org", "tech", T0)
    world.subscriber("idle@example.org", "quiet", T0)  # nothing new: skipped
    smtp_server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 No such user here"
    smtp_server.handler.rcpt_replies["later@example.org"] = "451 4.3.0 Try again later"
    settings = dataclasses.replace(mail_settings, broker_url=broker)
    sender = SMTPSender.from_url(settings.smtp_url)

    report = pipeline.run(db_url, settings, sender, lambda: SLOT1)
    assert (report.planned, report.skipped) == (6, 1)
    assert (report.sent, report.deferred, report.failed) == (3, 1, 1)
    samples = scrape(settings)
    assert (
        digests(samples)
        == {
            "planned": count(db_url, select(func.count()).select_from(Digest)),
            "skipped": count(db_url, select(func.count()).where(Digest.status == "skipped")),
            "sent": attempts(db_url, "sent"),
            "deferred": attempts(db_url, "deferred"),
            "failed": attempts(db_url, "failed"),
        }
        == {"planned": 6, "skipped": 1, "sent": 3, "deferred": 1, "failed": 1}
    )
    assert samples[("digest_smtp_attempt_seconds_count", ())] == attempts(db_url) == 5
    assert samples[("digest_smtp_attempt_seconds_sum", ())] > 0
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == "digest_smtp_attempt_seconds_bucket"
    )
    assert buckets[-1] == (float("inf"), 5)
    assert [b for b, _ in buckets[:-1]] == list(metrics.BUCKETS)
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:], strict=False))
    statuses = {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "digest_deliveries"
    }
    assert statuses == {"queued": 0, "sending": 0, "sent": 3, "deferred": 1, "failed": 1}
    assert samples[("digest_queue_depth", ())] == 0
    assert samples[("digest_broker_up", ())] == 1

    # The deferred one goes through on retry: the totals grow, nothing is counted twice.
    smtp_server.handler.rcpt_replies.pop("later@example.org")
    later = SLOT1 + settings.retry_first_delay
    assert pipeline.retry(db_url, settings, sender, lambda: later).sent == 1
    samples = scrape(settings)
    assert digests(samples) == {
        "planned": 6,
        "skipped": 1,
        "sent": 4,
        "deferred": 1,
        "failed": 1,
    }
    assert samples[("digest_smtp_attempt_seconds_count", ())] == attempts(db_url) == 6
    assert len(smtp_server.received) == 4


def test_broker_queue_length_is_read_from_redis(mail_settings, broker) -> None:  # type: ignore[no-untyped-def]
    producer = Celery(broker=broker)
    try:
        producer.send_task("digest.sweep")
        producer.send_task("digest.sweep")
        producer.send_task("digest.poll_feed", args=[1], queue="feeds")
        samples = scrape(dataclasses.replace(mail_settings, broker_url=broker))
    finally:
        producer.close()
        client = redis.Redis.from_url(broker.replace("redis+socket://", "unix://"))
        client.delete("celery", "feeds")  # no worker of a later test should run them
        client.close()
    assert samples[("digest_broker_up", ())] == 1
    assert samples[("digest_broker_queue_length", (("queue", "celery"),))] == 2
    assert samples[("digest_broker_queue_length", (("queue", "feeds"),))] == 1


def test_metrics_answer_when_the_broker_is_down(mail_settings) -> None:  # type: ignore[no-untyped-def]
    closed = f"redis://127.0.0.1:{free_port()}/0"
    samples = scrape(dataclasses.replace(mail_settings, broker_url=closed))
    assert samples[("digest_broker_up", ())] == 0
    assert not any(name == "digest_broker_queue_length" for name, _ in samples)
    assert digests(samples)["sent"] == 0  # the database figures are still there


def test_failed_feed_polls_are_counted(db_url, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.xml"
    good.write_bytes(rss(("g1", "https://n.org/1", "One")))
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"\x00\x01 not a feed at all")
    refused = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens there
    with unit_of_work(db_url) as s:
        add_topic(s, "news")
        for url in (good.as_uri(), garbage.as_uri(), refused):
            add_feed(s, url, ["news"], allow_private=True)
    allowed = settings.with_overrides(allow_private_feeds=True, feed_timeout=2.0)

    for _ in range(2):
        reports = poll_all_feeds(db_url, allowed, SLOT1)
        assert sorted(r.status for r in reports) == ["error", "error", "ok"]
    samples = scrape(settings)
    assert samples[("digest_feed_fetch_errors_total", ())] == 4
    assert samples[("digest_feeds_in_error", ())] == 2


def test_counts_from_separate_processes_add_up(
    world, mail_settings, smtp_server, db_url, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    world.subscriber("ana@example.org", "tech", T0, hour=7)
    world.subscriber("ben@example.org", "tech", T0, hour=8)
    world.subscriber("cy@example.org", "tech", T0, hour=8)
    cli = Cli(
        process_env(
            DIGEST_DATABASE_URL=db_url,
            DIGEST_SMTP_URL=smtp_server.url,
            DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
            DIGEST_DATA_DIR=str(tmp_path),
        ),
        tmp_path,
    )
    cli("run", "--now", SLOT1.isoformat())
    cli("run", "--now", (SLOT1 + timedelta(hours=1)).isoformat())
    assert len(smtp_server.received) == 3
    samples = scrape(mail_settings)  # this process sent nothing itself
    assert digests(samples)["planned"] == digests(samples)["sent"] == 3
    assert samples[("digest_smtp_attempt_seconds_count", ())] == 3


def test_batches_add_to_the_totals_and_a_rolled_back_one_adds_nothing(db_url, settings) -> None:  # type: ignore[no-untyped-def]
    sent = metrics.digests("sent")

    def batch() -> None:
        for _ in range(10):
            with unit_of_work(db_url) as s:
                metrics.add(s, {sent: 2})
                metrics.observe_latencies(s, [0.005, 0.3, 12.0])

    workers = [threading.Thread(target=batch) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    try:
        with unit_of_work(db_url) as s:
            metrics.add(s, {sent: 1000})
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    with unit_of_work(db_url) as s:
        totals = metrics.totals(s)
    assert totals[sent] == 4 * 10 * 2
    assert totals[metrics.SMTP_COUNT] == 120
    assert totals[metrics.SMTP_SUM] == pytest.approx(40 * 12.305)
    # Stored per bucket: a value on a bound is in that bucket; one past the last bound
    # is only in the count.
    assert {key: value for key, value in totals.items() if key[0].endswith("_in_bucket")} == {
        metrics.in_bucket(0.005): 40,
        metrics.in_bucket(0.5): 40,
    }
    samples = scrape(settings)
    assert digests(samples)["sent"] == 80
    cumulative = {
        dict(labels)["le"]: value
        for (name, labels), value in samples.items()
        if name == "digest_smtp_attempt_seconds_bucket"
    }
    assert cumulative["0.005"] == cumulative["0.25"] == 40
    assert cumulative["0.5"] == cumulative["10.0"] == 80
    assert cumulative["+Inf"] == samples[("digest_smtp_attempt_seconds_count", ())] == 120
