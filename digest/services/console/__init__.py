"""What operators do to the data: subscribers, topics, feeds, the suppression list,
articles and deliveries; and what editors do to articles: pin or hold them. The JSON
API, the admin pages and the CLI call these, so every check lives here and a bad
value is refused the same way wherever it comes from:
:class:`ManagementError` (a ValueError naming the field), :class:`Conflict` (valid,
but it clashes with what is stored) or :class:`NotFound`.

Functions that read or write take the caller's Session and leave the commit to it.
Those that fetch a feed or send mail take the database URL instead: like the
pipeline, they commit before they talk to the network.
"""

from digest.services.management.articles import (
    KEEP,
    ArticleRow,
    hold_article,
    list_articles,
    moment_of,
    pin_article,
    push_articles,
    release_article,
    set_editorial,
    unpin_article,
)
from digest.services.management.base import (
    MAX_ID,
    MAX_PAGE,
    PAGE_SIZE,
    Conflict,
    ManagementError,
    NotFound,
    Page,
)
from digest.services.management.deliveries import (
    AttemptRow,
    DeliveryRow,
    RetryOutcome,
    RetryReport,
    list_deliveries,
    retry_deliveries,
    retry_delivery,
    retry_failed,
)
from digest.services.management.feeds import (
    FeedRow,
    create_feed,
    delete_feed,
    fetch_feed_now,
    list_feeds,
)
from digest.services.management.subscribers import (
    SubscriberChanges,
    create_subscriber,
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    suppress_subscriber,
    update_subscriber,
)
from digest.services.management.suppressions import (
    SUPPRESSION_REASONS,
    SuppressionRow,
    add_suppression,
    list_suppressions,
    remove_suppression,
)
from digest.services.management.topics import TopicRow, create_topic, list_topics, update_topic

__all__ = [
    "KEEP",
    "MAX_ID",
    "MAX_PAGE",
    "PAGE_SIZE",
    "SUPPRESSION_REASONS",
    "ArticleRow",
    "AttemptRow",
    "Conflict",
    "DeliveryRow",
    "FeedRow",
    "ManagementError",
    "NotFound",
    "Page",
    "RetryOutcome",
    "RetryReport",
    "SubscriberChanges",
    "SuppressionRow",
    "TopicRow",
    "add_suppression",
    "create_feed",
    "create_subscriber",
    "create_topic",
    "delete_feed",
    "delete_subscriber",
    "fetch_feed_now",
    "get_subscriber",
    "hold_article",
    "list_articles",
    "list_deliveries",
    "list_feeds",
    "list_subscribers",
    "list_suppressions",
    "list_topics",
    "moment_of",
    "pin_article",
    "push_articles",
    "release_article",
    "remove_suppression",
    "retry_deliveries",
    "retry_delivery",
    "retry_failed",
    "set_editorial",
    "suppress_subscriber",
    "unpin_article",
    "update_subscriber",
    "update_topic",
]
