"""``/admin/topics``, ``/admin/feeds``, ``/admin/suppressions`` and
``/admin/deliveries``: the lists operators keep, with the forms that change them.

Each page reads through ``digest.services.console``, the same functions the JSON
API calls, so a value refused here is refused there with the same words. A refused
form shows the page again with the reason, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.domain import delivery as rules
from digest.domain.text import text_problem
from digest.embedded import sender_for
from digest.services import console
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.web.auth import Caller, signed_in
from digest.web.forms import form_fields
from digest.web.guard import operator, personal_data, to_sign_in
from digest.web.pages import database, page, settings_of

router = APIRouter(include_in_schema=False)

# A page built for a caller: (request, session, caller, error, status) -> response.
Render = Callable[[Request, Session, Caller, str | None, int], Response]
DELIVERY_STATUSES = (rules.FAILED, rules.DEFERRED, rules.QUEUED, rules.SENT)


def _show(request: Request, render: Render, *, personal: bool = False) -> Response:
    """The page ``render`` builds for a signed-in admin; for an operator only when it
    shows readers' ``personal`` data."""
    with unit_of_work(database(request)) as session:
        caller = personal_data(request, session) if personal else signed_in(request, session)
        if caller is None:
            return to_sign_in()
        if isinstance(caller, Response):
            return caller
        return render(request, session, caller, None, 200)


def _act(
    request: Request,
    fields: Fields,
    render: Render,
    do: Callable[[Session, Caller], str],
) -> Response:
    """Run ``do`` for a signed-in operator whose form carries its CSRF token, then
    go to the address it returns; a refused value shows the page with the reason."""
    with unit_of_work(database(request)) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        try:
            location = do(session, caller)
        except console.ManagementError as exc:
            session.rollback()
            return render(request, session, caller, str(exc), 422)
        except console.NotFound as exc:
            session.rollback()
            return render(request, session, caller, str(exc), 404)
    return RedirectResponse(location, status_code=303)


def _int(raw: str, default: int = 0) -> int:
    """A positive id from a form or query string, else ``default`` (an id no row can
    have is as good as none)."""
    value = int(raw) if raw.isdecimal() and len(raw) < 19 else default
    return value if value <= console.MAX_ID else default


def _text(fields: Fields, field: str, *, name: bool = False) -> str:
    """A text field of the form, refused (naming it) when it holds what no text may
    (:func:`digest.domain.text.text_problem`), judged on the value as sent."""
    problem = text_problem((fields.get(field) or [""])[0], name=name)
    if problem:
        raise console.ManagementError(field, problem)
    return first(fields, field)


# -- topics --------------------------------------------------------------------------


def _topics(
    request: Request, session: Session, caller: Caller, error: str | None, status: int
) -> Response:
    return page(
        request,
        "admin_topics.html",
        status_code=status,
        caller=caller,
        topics=console.list_topics(session),
        error=error,
    )


@router.get("/admin/topics")
def topics(request: Request) -> Response:
    """Topics with their keyword rules and how many readers and articles each has."""
    return _show(request, _topics)


@router.post("/admin/topics")
async def add_topic(request: Request) -> Response:
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        row = console.create_topic(
            session,
            first(fields, "slug"),
            _text(fields, "name", name=True) or None,
            _text(fields, "keywords"),
        )
        return f"/admin/topics#topic-{row.slug}"

    return await run_in_threadpool(_act, request, fields, _topics, do)


@router.post("/admin/topics/{slug}")
async def change_topic(request: Request, slug: str) -> Response:
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        row = console.update_topic(
            session,
            slug,
            name=_text(fields, "name", name=True),
            keywords=_text(fields, "keywords"),
        )
        return f"/admin/topics#topic-{row.slug}"

    return await run_in_threadpool(_act, request, fields, _topics, do)


# -- feeds ---------------------------------------------------------------------------


def _feeds(
    request: Request,
    session: Session,
    caller: Caller,
    error: str | None,
    status: int,
    notice: str | None = None,
) -> Response:
    now = datetime.now(UTC)
    return page(
        request,
        "admin_feeds.html",
        status_code=status,
        caller=caller,
        feeds=console.feed_health(session, now),
        now=now,
        poll_minutes=round(console.POLL_INTERVAL.total_seconds() / 60),
        topic_slugs=[t.slug for t in console.list_topics(session)],
        error=error,
        notice=notice,
    )


@router.get("/admin/feeds")
def feeds(request: Request) -> Response:
    """Feeds with their health: state, last and next fetch, items per day, failures
    in a row and the last error."""
    return _show(request, _feeds)


@router.post("/admin/feeds")
async def add_feed(request: Request) -> Response:
    fields = await form_fields(request)
    allow_private = settings_of(request).allow_private_feeds

    def do(session: Session, caller: Caller) -> str:
        row = console.create_feed(
            session, _text(fields, "url"), fields.get("topics", []), allow_private=allow_private
        )
        return f"/admin/feeds#feed-{row.id}"

    return await run_in_threadpool(_act, request, fields, _feeds, do)


@router.post("/admin/feeds/{feed_id}/delete")
async def delete_feed(request: Request, feed_id: int) -> Response:
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        console.delete_feed(session, feed_id)
        return "/admin/feeds"

    return await run_in_threadpool(_act, request, fields, _feeds, do)


@router.post("/admin/feeds/{feed_id}/pause")
async def pause_feed(request: Request, feed_id: int) -> Response:
    return await _pause(request, feed_id, paused=True)


@router.post("/admin/feeds/{feed_id}/resume")
async def resume_feed(request: Request, feed_id: int) -> Response:
    return await _pause(request, feed_id, paused=False)


async def _pause(request: Request, feed_id: int, *, paused: bool) -> Response:
    """Pause a feed (polling passes it by) or resume it, then show it on the list."""
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        console.set_feed_paused(session, feed_id, paused, datetime.now(UTC))
        return f"/admin/feeds#feed-{feed_id}"

    return await run_in_threadpool(_act, request, fields, _feeds, do)


@router.post("/admin/feeds/{feed_id}/fetch")
async def fetch_feed(request: Request, feed_id: int) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_fetch, request, feed_id, fields)


def _fetch(request: Request, feed_id: int, fields: Fields) -> Response:
    """Poll one feed now, from this process, and show what came of it."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
    # The fetch commits its own work; no transaction of this request stays open
    # while the feed's server answers.
    try:
        report = console.fetch_feed_now(url, feed_id, settings_of(request), datetime.now(UTC))
    except console.NotFound as exc:
        with unit_of_work(url) as session:
            return _feeds(request, session, caller, str(exc), 404)
    notice = f"{report.url}: {report.status}, {report.added} new, {report.updated} updated"
    with unit_of_work(url) as session:
        if report.error:
            return _feeds(request, session, caller, f"{notice}: {report.error}", 200)
        return _feeds(request, session, caller, None, 200, notice=notice)


# -- suppressions --------------------------------------------------------------------


def _suppressions(
    request: Request, session: Session, caller: Caller, error: str | None, status: int
) -> Response:
    listing = console.list_suppressions(session, after=_int(request.query_params.get("after", "")))
    return page(
        request,
        "admin_suppressions.html",
        status_code=status,
        caller=caller,
        entries=listing.items,
        next_after=listing.next,
        reasons=console.SUPPRESSION_REASONS,
        error=error,
    )


@router.get("/admin/suppressions")
def suppressions(request: Request) -> Response:
    """Addresses never to be mailed, why, and since when."""
    return _show(request, _suppressions, personal=True)


@router.post("/admin/suppressions")
async def add_suppression(request: Request) -> Response:
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        console.add_suppression(
            session,
            first(fields, "email"),
            datetime.now(UTC),
            reason=first(fields, "reason", "manual"),
            detail=_text(fields, "detail") or None,
        )
        return "/admin/suppressions"

    return await run_in_threadpool(_act, request, fields, _suppressions, do)


@router.post("/admin/suppressions/{suppression_id}/remove")
async def remove_suppression(request: Request, suppression_id: int) -> Response:
    fields = await form_fields(request)

    def do(session: Session, caller: Caller) -> str:
        console.remove_suppression(session, suppression_id)
        return "/admin/suppressions"

    return await run_in_threadpool(_act, request, fields, _suppressions, do)


# -- deliveries ----------------------------------------------------------------------


def _deliveries(
    request: Request,
    session: Session,
    caller: Caller,
    error: str | None,
    status: int,
    report: console.RetryReport | None = None,
) -> Response:
    wanted = request.query_params.get("status", "")
    wanted = wanted if wanted in DELIVERY_STATUSES else ""
    before = _int(request.query_params.get("before", ""), default=-1)
    listing = console.list_deliveries(session, status=wanted, before=before if before > 0 else None)
    return page(
        request,
        "admin_deliveries.html",
        status_code=status,
        caller=caller,
        rows=listing.items,
        next_before=listing.next,
        status=wanted,
        statuses=DELIVERY_STATUSES,
        error=error,
        report=report,
    )


@router.get("/admin/deliveries")
def deliveries(request: Request) -> Response:
    """Deliveries, newest first, filtered by status, with their last SMTP answer."""
    return _show(request, _deliveries, personal=True)


@router.post("/admin/deliveries/retry")
async def retry_selected(request: Request) -> Response:
    fields = await form_fields(request)
    ids = [_int(raw, -1) for raw in fields.get("ids", [])][:1000]
    return await run_in_threadpool(_retry, request, fields, [i for i in ids if i > 0])


@router.post("/admin/deliveries/retry-failed")
async def retry_all_failed(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_retry, request, fields, None)


def _retry(request: Request, fields: Fields, ids: list[int] | None) -> Response:
    """Send the chosen failed deliveries (or every failed one) again, now, from this
    process; deliveries that are not failed are left alone and counted as skipped."""
    url = database(request)
    settings = settings_of(request)
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        if ids is not None and not ids:
            return _deliveries(request, session, caller, "Tick the deliveries to retry.", 422)
    sender = sender_for(settings)
    now = datetime.now(UTC)
    if ids is None:
        report = console.retry_failed(url, settings, sender, now, by=(caller.who, "console"))
    else:
        report = console.retry_deliveries(
            url, ids, settings, sender, now, by=(caller.who, "console")
        )
    with unit_of_work(url) as session:
        return _deliveries(request, session, caller, None, 200, report=report)
