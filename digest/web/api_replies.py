"""What the JSON API answers, as pydantic models: FastAPI checks every answer
against them, and they make the responses of the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, computed_field

from digest.domain.bounce_policy import REASONS, SENDER_SIDE

T = TypeVar("T")

# The reasons that blame our sending, in the order of REASONS, for the descriptions.
SENDER_WORDS = ", ".join(r for r in REASONS if r in SENDER_SIDE)


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next`` back (as ``after`` or ``before``) for the
    following page. ``next`` is null on the last page."""

    items: list[T]
    next: int | None


# -- subscribers --------------------------------------------------------------------


class SubscriberRow(BaseModel):
    id: int
    email: str
    name: str | None
    status: str
    created_at: datetime


class Profile(BaseModel):
    email: str
    name: str | None
    status: str
    timezone: str
    hour: int
    weekday: str
    language: str | None = Field(
        None, description="BCP 47 code of the reader's language; null: the site's"
    )
    created_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    paused_until: datetime | None
    next_slot_at: datetime | None


class Following(BaseModel):
    topic: str
    name: str
    frequency: str


class ConsentRecord(BaseModel):
    requested_at: datetime | None
    ip: str | None
    user_agent: str | None
    page: str | None
    wording_version: str
    wording: str | None
    choices: dict[str, Any]
    confirmation_sent_at: datetime | None
    confirmed_at: datetime | None
    confirmed_ip: str | None
    confirmed_user_agent: str | None


class Attempt(BaseModel):
    at: datetime | None
    outcome: str
    code: int | None
    text: str | None


class DigestDelivery(BaseModel):
    id: int | None
    message_id: str
    status: str
    sent_at: datetime | None
    bounce_kind: str | None = Field(
        description="hard, soft or complaint: the relay's refusal while sending, or what "
        "came back after it accepted the message"
    )
    bounce_reason: str | None = Field(
        description="why it bounced, one of the bounce reasons (user_unknown, mailbox_full, "
        "auth_failure, …); null when it did not bounce or bounced before reasons were recorded"
    )
    bounced_at: datetime | None
    attempts: list[Attempt]


class Link(BaseModel):
    title: str
    url: str


class DigestRecord(BaseModel):
    slot_at: datetime | None
    status: str
    articles: list[Link]
    delivery: DigestDelivery | None


class Received(BaseModel):
    url: str
    sent_at: datetime | None


class BounceRecord(BaseModel):
    received_at: datetime | None
    kind: str = Field(description="hard, soft, complaint, auto-reply or not-bounce")
    reason: str | None = Field(
        description=f"why: one of {', '.join(REASONS)}. {SENDER_WORDS} blame our sending "
        "and never count against the reader. Null for events stored before reasons were "
        "recorded."
    )
    status: str | None
    recipient: str | None
    diagnostic: str | None
    reporter: str | None
    source: str = Field(
        description="how it arrived: smtp, lmtp, mailbox, import, or relay (the relay's "
        "refusal while sending)"
    )
    matched_by: str = Field(description="verp, header, message-id or recipient")
    outcome: str = Field(description="what the bounce policy did")


class SuppressedAs(BaseModel):
    id: int
    reason: str


class SubscriberDetail(BaseModel):
    """Everything stored about one subscriber: the same data a reader can download
    from their preferences page, with ids for operators."""

    id: int
    subscriber: Profile
    subscriptions: list[Following]
    consents: list[ConsentRecord]
    digests: list[DigestRecord]
    articles_received: list[Received]
    bounces: list[BounceRecord]
    suppression: SuppressedAs | None


# -- topics -------------------------------------------------------------------------


class TopicOut(BaseModel):
    id: int
    slug: str
    name: str
    keywords: list[str]
    subscribers: int = Field(description="Active subscribers who follow it.")
    articles: int
    created_at: datetime


# -- feeds --------------------------------------------------------------------------


class FeedOut(BaseModel):
    """A feed and its health."""

    id: int
    url: str
    title: str | None
    topics: list[str]
    paused: bool = Field(description="Paused by an operator: polling passes it by.")
    paused_changed_at: datetime | None = Field(description="When it was last paused or resumed.")
    state: Literal["ok", "failing", "silent", "paused"] = Field(
        description="failing: 3 or more failed fetches in a row; silent: no new item for "
        "more than 3 times its usual interval between items over the last 30 days (at "
        "least 2 days; 30 days when it has no usual interval yet)."
    )
    last_fetched_at: datetime | None
    last_status: int | None = Field(description="The HTTP status of the last fetch.")
    last_error: str | None
    failures_in_row: int = Field(description="Failed fetches since the last good one.")
    items_per_day: float = Field(
        description="Its articles published in the last 7 days, divided by 7."
    )
    last_item_at: datetime | None = Field(description="When its newest article was published.")
    next_fetch_at: datetime | None = Field(
        description="When beat's poll of every feed reaches it at the latest: its last "
        "fetch (or its creation) plus the poll interval. Null while paused; in the past "
        "when beat is late."
    )
    articles: int
    created_at: datetime

    # Marked deprecated in the document only: pydantic's own flag warns at every answer.
    @computed_field(  # type: ignore[prop-decorator]
        description="The same as failures_in_row, for older clients.",
        json_schema_extra={"deprecated": True},
    )
    @property
    def error_count(self) -> int:
        return self.failures_in_row


class FeedReportOut(BaseModel):
    url: str
    status: Literal["ok", "not modified", "error"]
    added: int
    updated: int
    error: str | None


# -- suppressions ---------------------------------------------------------------------


class SuppressionOut(BaseModel):
    id: int
    email: str | None = Field(description="null when the reader asked to be erased.")
    reason: str
    detail: str | None
    created_at: datetime


# -- articles -----------------------------------------------------------------------


class PushReportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    skipped: int
    article_ids: list[int]


class ArticleOut(BaseModel):
    id: int
    url: str
    title: str
    author: str | None
    image_url: str | None
    published_at: datetime
    ingested_at: datetime
    feed_id: int | None
    topics: list[str]
    pinned_until: datetime | None = Field(
        description="First in its topics in every digest whose window closes before "
        "this moment; a pin in the past no longer counts."
    )
    held: bool = Field(description="Held out of every digest.")
    edited_by: str | None = Field(description="Who last pinned, unpinned, held or released it.")
    edited_at: datetime | None


# -- deliveries -----------------------------------------------------------------------


class AttemptOut(BaseModel):
    attempted_at: datetime
    outcome: str
    code: int | None
    enhanced_code: str | None
    text: str


class DeliveryOut(BaseModel):
    id: int
    digest_id: int
    subscriber_id: int
    email: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_code: int | None
    last_enhanced_code: str | None
    last_text: str | None
    attempt_log: list[AttemptOut]


class RetryOutcomeOut(BaseModel):
    id: int
    outcome: str = Field(
        description="sent, deferred or failed: what this attempt did; waiting: sending "
        "is paused and it goes when sending resumes; skipped: see reason."
    )
    reason: str | None = None


class RetryReportOut(BaseModel):
    retried: int
    skipped: int
    sent: int
    deferred: int
    failed: int
    deliveries: list[RetryOutcomeOut]
    queued: int = Field(
        0, description="made due again for the workers' retry sweep instead of sent at once"
    )


# -- switches -------------------------------------------------------------------------


class ReasonCount(BaseModel):
    reason: str | None = Field(
        description="a bounce reason (see BounceRecord.reason); null for the events stored "
        "before reasons were recorded"
    )
    description: str = Field(description="the reason in words")
    count: int
    sender_side: bool = Field(
        description="the reason blames our sending (IP, DNS, authentication or content), "
        "not the reader's address: never counted against readers"
    )


class SenderReport(BaseModel):
    received_at: datetime
    reason: str
    description: str
    kind: str
    source: str
    reporter: str | None = Field(description="who reported it: the receiving server or domain")
    diagnostic: str | None = Field(
        description="what the receiver said; null for editors, since it may name a reader"
    )
    recipient: str | None = Field(description="the address it was about; null for editors")


class SenderHealth(BaseModel):
    """Reports of the last days that blame our sending rather than a reader's address:
    check the SPF, DKIM and DMARC records, the block lists and the reverse DNS."""

    days: int
    since: datetime
    total: int
    reasons: list[ReasonCount] = Field(description="count per reason, most first")
    latest: SenderReport


class Stats(BaseModel):
    subscribers: dict[str, int]
    deliveries: dict[str, int]
    sending_paused: bool
    sending_paused_reason: str | None = Field(
        None,
        description="why sending paused by itself (the circuit breaker); left out otherwise",
        exclude_if=lambda reason: reason is None,
    )
    replies_unrecorded: int | None = Field(
        None,
        description=(
            "deliveries the relay answered whose reply is still only in the reply journal "
            "(recorded by a worker within seconds, or by the sweep); null when unreadable"
        ),
    )
    breaker_next_probe_at: datetime | None = Field(
        None,
        description=(
            "when the circuit breaker, which paused sending, next sends a few held-back "
            "messages and resumes by itself if most are accepted; left out otherwise"
        ),
        exclude_if=lambda moment: moment is None,
    )
    bounce_reasons: list[ReasonCount] = Field(
        description="bounce events received in the last 30 days, counted per reason, most first"
    )
    sender_health: SenderHealth | None = Field(
        description=(
            f"the reports of the last 7 days that blame our sending ({SENDER_WORDS}); "
            "null when there was none"
        )
    )
