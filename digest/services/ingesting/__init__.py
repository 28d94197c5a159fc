"""Articles in: feeds polled (conditional GET, fetch state kept per feed) and records
pushed as JSON lines, stored once each (deduplicated by GUID, then canonical link) with
the topics they belong to. Fetching and parsing are :mod:`digest.ingest`'s; this
package is the database side.

Writes: ``articles``, ``article_topics``, ``feeds`` and ``feed_topics`` (new feeds,
fetch state), ``metric_values`` (fetch errors).
"""

from digest.services.ingesting.polling import (
    FeedReport,
    add_feed,
    feed_ids,
    poll_all_feeds,
    poll_feed,
    record_poll_failure,
)
from digest.services.ingesting.push import ImportReport, import_articles
from digest.services.ingesting.store import UpsertReport, upsert_articles

__all__ = [
    "FeedReport",
    "ImportReport",
    "UpsertReport",
    "add_feed",
    "feed_ids",
    "import_articles",
    "poll_all_feeds",
    "poll_feed",
    "record_poll_failure",
    "upsert_articles",
]
