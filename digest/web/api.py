"""The JSON API under ``/api``, described at ``/api/openapi.json``.

Every route needs a bearer API key or a signed-in admin; editors may read and pin or
hold articles, only operators change anything else. Views check the caller and call
one service function.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from digest.embedded import sender_for
from digest.services import console as manage
from digest.services import editorial
from digest.services.console import bounce_health, reporting
from digest.services.database import unit_of_work
from digest.services.sending.controls import set_sending_paused
from digest.web import api_feeds
from digest.web.api_replies import (
    ArticleOut,
    DeliveryOut,
    Page,
    PushReportOut,
    RetryOutcomeOut,
    RetryReportOut,
    Stats,
    SubscriberDetail,
    SubscriberRow,
    SuppressionOut,
    TopicOut,
)
from digest.web.api_schemas import (
    DEFAULT_LIMIT,
    NO_NUL,
    SLUG,
    ArticlesIn,
    DeliveryStatus,
    EditorialIn,
    Limit,
    RetryIn,
    Sending,
    SubscriberChangesIn,
    SubscriberIn,
    SubscriberStatus,
    SuppressIn,
    SuppressionIn,
    TopicChangesIn,
    TopicIn,
    subscriber_changes,
)
from digest.web.api_support import (
    ApiRoute,
    Editor,
    Operator,
    PersonalData,
    Reader,
    changing,
    refusals,
)
from digest.web.pages import database, settings_of

router = APIRouter(prefix="/api", tags=["api"], route_class=ApiRoute)

PathId = Annotated[int, Path(ge=1, le=manage.MAX_ID, examples=[1])]
After = Annotated[int, Query(ge=0, le=manage.MAX_ID, description="Continue after this id.")]
Before = Annotated[
    int | None, Query(ge=1, le=manage.MAX_ID, description="Continue before this id.")
]
PageSize = Annotated[Limit, Query()]
TopicFilter = Annotated[str | None, Query(pattern=SLUG, description="A topic slug.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _details(session: Session, subscriber_id: int) -> SubscriberDetail:
    return SubscriberDetail.model_validate(manage.get_subscriber(session, subscriber_id))


# -- subscribers --------------------------------------------------------------------


@router.get("/subscribers", response_model=Page[SubscriberRow], responses=refusals(403))
def list_subscribers(
    request: Request,
    _: PersonalData,
    fragment: Annotated[str, Query(max_length=320, pattern=NO_NUL)] = "",
    status: SubscriberStatus | None = None,
    topic: TopicFilter = None,
    after: After = 0,
    limit: PageSize = DEFAULT_LIMIT,
) -> object:
    """Subscribers whose address contains ``fragment``, filtered by status and topic,
    in id order."""
    with unit_of_work(database(request)) as session:
        return manage.list_subscribers(
            session,
            fragment=fragment,
            status=status or "",
            topic=topic or "",
            after=after,
            limit=limit,
        )


@router.post(
    "/subscribers",
    status_code=201,
    response_model=SubscriberDetail,
    responses=refusals(403, 409),
)
def create_subscriber(request: Request, _: Operator, body: SubscriberIn) -> SubscriberDetail:
    """Add a subscriber. A taken or suppressed address is a conflict (409)."""
    with changing(request) as session:
        sub = manage.create_subscriber(session, subscriber_changes(body), _now())
        return _details(session, sub.id)


@router.get(
    "/subscribers/{subscriber_id}", response_model=SubscriberDetail, responses=refusals(403, 404)
)
def get_subscriber(request: Request, _: PersonalData, subscriber_id: PathId) -> SubscriberDetail:
    """One subscriber: profile, topics, consent records and every digest with its
    delivery attempts."""
    with unit_of_work(database(request)) as session:
        return _details(session, subscriber_id)


@router.put(
    "/subscribers/{subscriber_id}",
    response_model=SubscriberDetail,
    responses=refusals(403, 404, 409),
)
def update_subscriber(
    request: Request, _: Operator, subscriber_id: PathId, body: SubscriberChangesIn
) -> SubscriberDetail:
    """Change the fields given; the rest stay. Changes apply from the next slot."""
    with changing(request) as session:
        manage.update_subscriber(session, subscriber_id, subscriber_changes(body), _now())
        return _details(session, subscriber_id)


@router.delete("/subscribers/{subscriber_id}", status_code=204, responses=refusals(403, 404))
def delete_subscriber(request: Request, _: Operator, subscriber_id: PathId) -> Response:
    """Delete the subscriber and all their data; a hash of the address stays on the
    suppression list so that no import adds them back unnoticed."""
    with changing(request) as session:
        manage.delete_subscriber(session, subscriber_id, _now())
    return Response(status_code=204)


@router.post(
    "/subscribers/{subscriber_id}/suppress",
    response_model=SuppressionOut,
    responses=refusals(403, 404),
)
def suppress_subscriber(
    request: Request, _: Operator, subscriber_id: PathId, body: SuppressIn
) -> SuppressionOut:
    """Suppress the address (reason ``operator``) and unsubscribe them: nothing more
    is sent, including digests already queued."""
    with changing(request) as session:
        entry = manage.suppress_subscriber(session, subscriber_id, body.detail, _now())
        return SuppressionOut.model_validate(entry, from_attributes=True)


# -- topics -------------------------------------------------------------------------


@router.get("/topics", response_model=list[TopicOut], responses=refusals())
def list_topics(request: Request, _: Reader) -> object:
    """Every topic, with how many active subscribers follow it and its articles."""
    with unit_of_work(database(request)) as session:
        return manage.list_topics(session)


@router.post("/topics", status_code=201, response_model=TopicOut, responses=refusals(403, 409))
def create_topic(request: Request, _: Operator, body: TopicIn) -> object:
    """Add a topic; its keyword rules apply to articles taken in from now on."""
    with changing(request) as session:
        return manage.create_topic(session, body.slug, body.name, body.keywords)


@router.put("/topics/{slug}", response_model=TopicOut, responses=refusals(403, 404))
def update_topic(
    request: Request,
    _: Operator,
    slug: Annotated[str, Path(pattern=SLUG, examples=["tech"])],
    body: TopicChangesIn,
) -> object:
    """Rename a topic or replace its keyword rules (fields left out stay)."""
    with changing(request) as session:
        return manage.update_topic(session, slug, name=body.name, keywords=body.keywords)


# -- feeds: in digest/web/api_feeds.py ------------------------------------------------

router.include_router(api_feeds.router)


# -- articles -----------------------------------------------------------------------


@router.get("/articles", response_model=Page[ArticleOut], responses=refusals())
def list_articles(
    request: Request,
    _: Reader,
    topic: TopicFilter = None,
    fragment: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
    pinned: Annotated[bool, Query(description="Only articles whose pin still counts.")] = False,
    held: Annotated[bool, Query(description="Only articles held out of digests.")] = False,
    before: Before = None,
    limit: PageSize = DEFAULT_LIMIT,
) -> object:
    """The most recently stored articles first, optionally only those whose title
    contains ``fragment`` (any case)."""
    with unit_of_work(database(request)) as session:
        return editorial.list_articles(
            session,
            topic=topic or "",
            fragment=fragment,
            pinned_after=_now() if pinned else None,
            held=held,
            before=before,
            limit=limit,
        )


@router.patch(
    "/articles/{article_id}",
    response_model=ArticleOut,
    responses=refusals(403, 404, forbidden="The caller's role may not pin or hold articles."),
)
def edit_article(request: Request, caller: Editor, article_id: PathId, body: EditorialIn) -> object:
    """Pin an article to the top of its topics until a moment, or unpin it; hold it
    out of every digest, or release it. Fields left out stay; asking for the state
    it already has changes nothing. Editors may do this as well as operators."""
    pin = body.pinned_until if "pinned_until" in body.model_fields_set else editorial.KEEP
    with changing(request) as session:
        return editorial.set_editorial(
            session, article_id, pinned_until=pin, held=body.held, by=caller.who, now=_now()
        )


@router.post("/articles", response_model=PushReportOut, responses=refusals(403))
def push_articles(request: Request, _: Operator, body: ArticlesIn) -> object:
    """Store articles (new ones added, known ones updated), checked as ``digest
    articles import`` checks them. One bad article stores none."""
    records = [a.model_dump(exclude_none=True) for a in body.articles]
    for record in records:
        if "published_at" in record:
            record["published_at"] = record["published_at"].isoformat()
    with changing(request) as session:
        report = editorial.push_articles(session, records, _now())
    return asdict(report)


# -- suppressions ---------------------------------------------------------------------


@router.get("/suppressions", response_model=Page[SuppressionOut], responses=refusals(403))
def list_suppressions(
    request: Request, _: PersonalData, after: After = 0, limit: PageSize = DEFAULT_LIMIT
) -> object:
    """Addresses never to be mailed, in id order."""
    with unit_of_work(database(request)) as session:
        return manage.list_suppressions(session, after=after, limit=limit)


@router.post(
    "/suppressions",
    status_code=201,
    response_model=SuppressionOut,
    responses=refusals(403, 409),
)
def add_suppression(request: Request, _: Operator, body: SuppressionIn) -> object:
    """Never mail this address; a subscriber with it is unsubscribed."""
    with changing(request) as session:
        return manage.add_suppression(
            session, str(body.email), _now(), reason=body.reason, detail=body.detail
        )


@router.delete("/suppressions/{suppression_id}", status_code=204, responses=refusals(403, 404))
def remove_suppression(request: Request, _: Operator, suppression_id: PathId) -> Response:
    """Take an address off the list: it may be added and mailed again."""
    with changing(request) as session:
        manage.remove_suppression(session, suppression_id)
    return Response(status_code=204)


# -- deliveries -----------------------------------------------------------------------


@router.get("/deliveries", response_model=Page[DeliveryOut], responses=refusals(403))
def list_deliveries(
    request: Request,
    _: PersonalData,
    status: DeliveryStatus | None = None,
    before: Before = None,
    limit: PageSize = DEFAULT_LIMIT,
) -> object:
    """Deliveries newest first, each with every SMTP attempt."""
    with unit_of_work(database(request)) as session:
        return manage.list_deliveries(session, status=status or "", before=before, limit=limit)


@router.post("/deliveries/retry", response_model=RetryReportOut, responses=refusals(403))
def retry_deliveries(request: Request, caller: Operator, body: RetryIn) -> object:
    """Send the failed deliveries among ``ids`` again, now; the others are skipped,
    each with the reason."""
    settings = settings_of(request)
    return asdict(
        manage.retry_deliveries(
            database(request),
            body.ids,
            settings,
            sender_for(settings),
            _now(),
            by=(caller.who, "api"),
        )
    )


@router.post("/deliveries/retry-failed", response_model=RetryReportOut, responses=refusals(403))
def retry_failed(request: Request, caller: Operator) -> object:
    """Send every failed delivery again, now, a batch at a time."""
    settings = settings_of(request)
    return asdict(
        manage.retry_failed(
            database(request), settings, sender_for(settings), _now(), by=(caller.who, "api")
        )
    )


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=RetryOutcomeOut,
    responses=refusals(403, 404, 409),
)
def retry_delivery(request: Request, caller: Operator, delivery_id: PathId) -> object:
    """Send one failed delivery again, now. One that is not failed is a conflict."""
    settings = settings_of(request)
    return asdict(
        manage.retry_delivery(
            database(request),
            delivery_id,
            settings,
            sender_for(settings),
            _now(),
            by=(caller.who, "api"),
        )
    )


# -- switches -------------------------------------------------------------------------


@router.get("/stats", response_model=Stats, responses=refusals())
def stats(request: Request, caller: Reader) -> Stats:
    """Subscribers and deliveries by status, whether sending is paused, bounce events
    per reason over 30 days, and the reports of the last 7 days that blame our sending
    (their latest one's diagnostic and recipient for operators only)."""
    now = _now()
    with unit_of_work(database(request)) as session:
        return Stats.model_validate(
            {
                **reporting.counts(session, settings_of(request)),
                "bounce_reasons": bounce_health.bounce_reasons(session, now),
                "sender_health": bounce_health.sender_health(
                    session, now, personal=caller.may_change
                ),
            }
        )


@router.put("/sending", response_model=Sending, responses=refusals(403))
def sending(request: Request, caller: Operator, body: Sending) -> Sending:
    """Pause or resume all sending."""
    with changing(request) as session:
        set_sending_paused(session, body.paused, caller.who, _now())
    return body
