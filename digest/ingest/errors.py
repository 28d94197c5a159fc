"""What can go wrong when taking in articles."""

from __future__ import annotations


class IngestError(Exception):
    """A feed or an article could not be taken in; the message says which and why.

    ``status`` is the HTTP status the feed's server answered with, when it answered.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FeedRefused(IngestError):
    """A feed URL points somewhere feeds may not live (see DIGEST_ALLOW_PRIVATE_FEEDS)."""
