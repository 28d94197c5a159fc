"""The feeds of the JSON API (``/api/feeds``), included by :mod:`digest.web.api`:
list them with their health, add one, pause or resume it, fetch it now, delete it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from digest.services import console as manage
from digest.services.database import unit_of_work
from digest.web.api_replies import FeedOut, FeedReportOut
from digest.web.api_schemas import FeedChangesIn, FeedIn
from digest.web.api_support import ApiRoute, Operator, Reader, changing, refusals
from digest.web.pages import database, settings_of

router = APIRouter(route_class=ApiRoute)

FeedId = Annotated[int, Path(ge=1, le=manage.MAX_ID, examples=[1])]


@router.get("/feeds", response_model=list[FeedOut], responses=refusals())
def list_feeds(request: Request, _: Reader) -> object:
    """Every feed with its health: state, last and next fetch, items per day,
    failures in a row, last error and how many articles it gave."""
    with unit_of_work(database(request)) as session:
        return manage.feed_health(session, datetime.now(UTC))


@router.post("/feeds", status_code=201, response_model=FeedOut, responses=refusals(403, 409))
def create_feed(request: Request, _: Operator, body: FeedIn) -> object:
    """Add an RSS or Atom feed for topics. A URL on a loopback or private address is
    refused unless the server allows private feeds (DIGEST_ALLOW_PRIVATE_FEEDS)."""
    allow = settings_of(request).allow_private_feeds
    with changing(request) as session:
        return manage.create_feed(session, body.url, body.topics, allow_private=allow)


@router.patch("/feeds/{feed_id}", response_model=FeedOut, responses=refusals(403, 404))
def change_feed(request: Request, _: Operator, feed_id: FeedId, body: FeedChangesIn) -> object:
    """Pause the feed (polling passes it by; fetching it on request still works) or
    resume it; answers the feed as it is then."""
    with changing(request) as session:
        return manage.set_feed_paused(session, feed_id, body.paused, datetime.now(UTC))


@router.delete("/feeds/{feed_id}", status_code=204, responses=refusals(403, 404))
def delete_feed(request: Request, _: Operator, feed_id: FeedId) -> Response:
    """Delete a feed; its articles stay."""
    with changing(request) as session:
        manage.delete_feed(session, feed_id)
    return Response(status_code=204)


@router.post("/feeds/{feed_id}/fetch", response_model=FeedReportOut, responses=refusals(403, 404))
def fetch_feed(request: Request, _: Operator, feed_id: FeedId) -> object:
    """Fetch the feed now, even a paused one, and store its new articles; a failed
    fetch is reported (and recorded on the feed), not an error of this request."""
    url, settings = database(request), settings_of(request)
    return asdict(manage.fetch_feed_now(url, feed_id, settings, datetime.now(UTC)))
