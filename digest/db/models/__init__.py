"""The tables, split by the area that writes them. Every timestamp is stored as UTC and
comes back time-zone aware. Import models from here: importing this package registers
every table with ``Base.metadata`` (the migrations and relationships rely on that)."""

from digest.db.models.base import Base, UTCDateTime, id_in, table_of, utcnow
from digest.db.models.bounces import BounceEvent
from digest.db.models.console import (
    AdminUser,
    ApiKey,
    AuditEntry,
    BulkJob,
    ImportJob,
    ImportProblem,
    MetricValue,
    RateEvent,
)
from digest.db.models.content import Article, ArticleTopic, Feed, FeedTopic, Topic
from digest.db.models.readers import Consent, Subscriber, Subscription, Suppression
from digest.db.models.sending import (
    Control,
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    SentArticle,
)

__all__ = [
    "AdminUser",
    "ApiKey",
    "Article",
    "ArticleTopic",
    "AuditEntry",
    "Base",
    "BounceEvent",
    "BulkJob",
    "Consent",
    "Control",
    "Delivery",
    "DeliveryAttempt",
    "Digest",
    "DigestArticle",
    "Feed",
    "FeedTopic",
    "ImportJob",
    "ImportProblem",
    "MetricValue",
    "RateEvent",
    "SentArticle",
    "Subscriber",
    "Subscription",
    "Suppression",
    "Topic",
    "UTCDateTime",
    "id_in",
    "table_of",
    "utcnow",
]
