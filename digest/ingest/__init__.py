"""Taking in articles: feeds (fetched behind an address guard, parsed, sanitised,
deduplicated) and articles pushed as JSON lines."""

from digest.ingest.errors import FeedRefused, IngestError
from digest.ingest.fetch import FetchResult, fetch_feed
from digest.ingest.guard import check_url
from digest.ingest.parse import ParsedFeed, ParsedItem, parse_feed, sanitise_html
from digest.ingest.polling import FeedReport, add_feed, poll_all_feeds, poll_feed
from digest.ingest.push import ImportReport, import_articles
from digest.ingest.store import UpsertReport, upsert_articles

__all__ = [
    "FeedRefused",
    "FeedReport",
    "FetchResult",
    "ImportReport",
    "IngestError",
    "ParsedFeed",
    "ParsedItem",
    "UpsertReport",
    "add_feed",
    "check_url",
    "fetch_feed",
    "import_articles",
    "parse_feed",
    "poll_all_feeds",
    "poll_feed",
    "sanitise_html",
    "upsert_articles",
]
