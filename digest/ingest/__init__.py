"""Reading articles from the outside world: feeds fetched behind an address guard,
parsed and sanitised, and pushed records checked field by field. Nothing here touches
the database; :mod:`digest.services.ingesting` stores what this package reads."""

from digest.ingest.errors import FeedRefused, IngestError
from digest.ingest.fetch import FetchResult, fetch_feed
from digest.ingest.guard import check_url
from digest.ingest.parse import ParsedFeed, ParsedItem, parse_feed, sanitise_html

__all__ = [
    "FeedRefused",
    "FetchResult",
    "IngestError",
    "ParsedFeed",
    "ParsedItem",
    "check_url",
    "fetch_feed",
    "parse_feed",
    "sanitise_html",
]
