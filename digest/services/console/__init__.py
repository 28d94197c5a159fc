"""Operators' work: the lists they manage (subscribers, topics, feeds, the suppression
list, deliveries and their retries), subscriber CSV import and export, the dashboard's
reports, admin accounts and API keys, and the sample data of ``digest up``. The JSON
API, the admin pages and the CLI call these, so every check lives here and a bad
value is refused the same way wherever it comes from:
:class:`ManagementError` (a ValueError naming the field), :class:`Conflict` (valid,
but it clashes with what is stored) or :class:`NotFound`.

Functions that read or write take the caller's Session and leave the commit to it.
Those that fetch a feed or send mail take the database URL instead: like the
pipeline, they commit before they talk to the network.

Writes: ``subscribers``, ``subscriptions``, ``consents`` and ``suppressions`` (through
:mod:`digest.services.readers`), ``topics``, ``feeds`` (paused or not), ``feed_topics``,
``deliveries`` (reopened for a retry) and what the retry's send records,
``import_jobs``, ``import_problems``, ``admin_users``, ``api_keys``, ``rate_events``
(sign-in limits).
"""

from digest.services.console.base import (
    MAX_ID,
    MAX_PAGE,
    PAGE_SIZE,
    Conflict,
    ManagementError,
    NotFound,
    Page,
)
from digest.services.console.deliveries import (
    AttemptRow,
    DeliveryRow,
    RetryOutcome,
    RetryReport,
    list_deliveries,
    retry_deliveries,
    retry_delivery,
    retry_failed,
)
from digest.services.console.feeds import (
    HEALTH_STATES,
    POLL_INTERVAL,
    FeedHealth,
    create_feed,
    delete_feed,
    feed_health,
    feed_state,
    fetch_feed_now,
    set_feed_paused,
)
from digest.services.console.subscribers import (
    SubscriberChanges,
    create_subscriber,
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    subscriber_record,
    suppress_subscriber,
    update_subscriber,
)
from digest.services.console.suppressions import (
    SUPPRESSION_REASONS,
    SuppressionRow,
    add_suppression,
    list_suppressions,
    remove_suppression,
)
from digest.services.console.topics import TopicRow, create_topic, list_topics, update_topic

__all__ = [
    "HEALTH_STATES",
    "MAX_ID",
    "MAX_PAGE",
    "PAGE_SIZE",
    "POLL_INTERVAL",
    "SUPPRESSION_REASONS",
    "AttemptRow",
    "Conflict",
    "DeliveryRow",
    "FeedHealth",
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
    "feed_health",
    "feed_state",
    "fetch_feed_now",
    "get_subscriber",
    "list_deliveries",
    "list_subscribers",
    "list_suppressions",
    "list_topics",
    "remove_suppression",
    "retry_deliveries",
    "retry_delivery",
    "retry_failed",
    "set_feed_paused",
    "subscriber_record",
    "suppress_subscriber",
    "update_subscriber",
    "update_topic",
]
