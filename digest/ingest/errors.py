"""What can go wrong when taking in articles."""


class IngestError(Exception):
    """A feed or an article could not be taken in; the message says which and why."""


class FeedRefused(IngestError):
    """A feed URL points somewhere feeds may not live (see DIGEST_ALLOW_PRIVATE_FEEDS)."""
