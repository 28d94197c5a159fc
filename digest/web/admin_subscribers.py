"""``/admin/subscribers``: find a reader among many, see everything about them, and
(operators) edit, suppress or delete them, or send a failed digest again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.domain.bounce_policy import SENDER_SIDE
from digest.domain.languages import LANGUAGES
from digest.domain.text import text_problem
from digest.embedded import sender_for
from digest.services import console
from digest.services.console import bounce_health, bulk, lookup, roster
from digest.services.database import unit_of_work
from digest.services.readers import preferences
from digest.services.readers.choices import Fields, FormErrors, choices_from_form, choices_of, first
from digest.web.auth import Caller
from digest.web.forms import form_context, form_fields, form_values, kept_default, topic_options
from digest.web.guard import operator, personal_data
from digest.web.pages import database, page, settings_of

if TYPE_CHECKING:
    from digest.db.models import Subscriber

router = APIRouter(include_in_schema=False)


@router.get("/admin/subscribers")
def subscribers(request: Request) -> Response:
    """Subscribers matching filters that combine, in the order asked, with the total,
    each with topics, language, last digest and bounces; and the bulk actions."""
    params = request.query_params
    url = database(request)
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        error, status_code = None, 200
        where = roster.RosterFilter()
        sort = params.get("sort", "newest")
        raw_page = params.get("page", "1")
        number = int(raw_page) if raw_page.isdecimal() and len(raw_page) < 9 else 1
        try:
            where = roster.RosterFilter.checked(
                fragment=params.get("q", "")[:320],
                status=params.get("status", ""),
                topic=params.get("topic", ""),
                language=params.get("language", ""),
                paused=params.get("paused", ""),
            )
            found = roster.list_roster(session, where, now, sort=sort, page=number)
        except console.ManagementError as exc:
            found, error, status_code = roster.Roster([], 0, 1, 1), str(exc), 422
        topics = lookup.topic_slugs(session)
        jobs = bulk.latest_jobs(session, limit=5)
    kept = {k: v for k, v in where.as_dict().items()}
    if "fragment" in kept:
        kept["q"] = kept.pop("fragment")
    if sort != "newest" and sort in roster.SORTS:
        kept["sort"] = sort
    return page(
        request,
        "admin_subscribers.html",
        status_code=status_code,
        caller=caller,
        roster=found,
        where=where,
        sort=sort,
        sorts=roster.SORTS,
        kept=kept,
        statuses=lookup.STATUSES,
        topics=topics,
        languages=LANGUAGES,
        jobs=jobs,
        describe=bulk.describe,
        actions=bulk.ACTIONS,
        now=now,
        error=error,
    )


def _subscriber(
    request: Request,
    session: Session,
    caller: Caller,
    sub: Subscriber,
    *,
    notice: str = "",
    status_code: int = 200,
    fields: Fields | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "admin_subscriber.html",
        status_code=status_code,
        caller=caller,
        subscriber_id=sub.id,
        data=console.subscriber_record(session, sub),
        reason_words=bounce_health.reason_words,
        sender_side=SENDER_SIDE,
        retryable=lookup.delivery_ids_of(session, sub.id),
        notice=notice[:40],
        topics=topic_options(session),
        values=form_values(choices_of(sub), fields, settings_of(request).language),
        errors=errors or {},
        **form_context(),
    )


@router.get("/admin/subscribers/{subscriber_id}")
def subscriber_page(request: Request, subscriber_id: int, notice: str = "") -> Response:
    """One subscriber: profile, consent records, topics, every digest with its
    articles and every SMTP attempt."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        sub = lookup.subscriber_by_id(session, subscriber_id)
        if sub is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        return _subscriber(request, session, caller, sub, notice=notice)


@router.post("/admin/subscribers/{subscriber_id}")
async def change_subscriber(request: Request, subscriber_id: int) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_change, request, subscriber_id, fields)


def _change(request: Request, subscriber_id: int, fields: Fields) -> Response:
    """Save their choices, put them on the suppression list, or delete them with
    all their data (a hash of the address stays suppressed)."""
    url = database(request)
    now = datetime.now(UTC)
    action = first(fields, "action")
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        sub = lookup.subscriber_by_id(session, subscriber_id)
        if sub is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        if action == "save":
            known = [slug for slug, _ in topic_options(session)]
            try:
                choices = choices_from_form(fields, known)
            except FormErrors as exc:
                # The page lists the problems together: each says which field it is about.
                errors = {field: f"{field}: {reason}" for field, reason in exc.errors.items()}
                return _subscriber(
                    request, session, caller, sub, status_code=422, fields=fields, errors=errors
                )
            preferences.save(session, sub, kept_default(choices, sub, settings_of(request)), now)
            notice = "saved"
        elif action == "suppress":
            try:
                problem = text_problem((fields.get("detail") or [""])[0])
                if problem:
                    raise console.ManagementError("detail", problem)
                console.suppress_subscriber(session, sub.id, first(fields, "detail") or None, now)
            except console.ManagementError as exc:
                session.rollback()
                errors = {exc.field: str(exc)}
                return _subscriber(request, session, caller, sub, status_code=422, errors=errors)
            notice = "suppressed"
        elif action == "delete":
            if first(fields, "confirm_delete") != "yes":
                errors = {"confirm_delete": "tick the box to confirm that everything goes"}
                return _subscriber(request, session, caller, sub, status_code=422, errors=errors)
            email = sub.email
            console.delete_subscriber(session, sub.id, now)
            return page(request, "admin_deleted.html", caller=caller, email=email)
        else:
            return _subscriber(
                request, session, caller, sub, status_code=422, errors={"action": "unknown action"}
            )
    return RedirectResponse(f"/admin/subscribers/{subscriber_id}?notice={notice}", status_code=303)


@router.post("/admin/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, delivery_id: int) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_retry, request, delivery_id, fields)


def _retry(request: Request, delivery_id: int, fields: Fields) -> Response:
    """Send a failed delivery again, now, from this process (operators only): the
    same retry as the deliveries page and the API."""
    settings = settings_of(request)
    url = database(request)
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        found = lookup.subscriber_of_delivery(session, delivery_id)
        if found is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        subscriber_id = found
    try:
        done = console.retry_delivery(
            url,
            delivery_id,
            settings,
            sender_for(settings),
            datetime.now(UTC),
            by=(caller.who, "console"),
        )
        outcome = "paused" if done.outcome == "waiting" else done.outcome
    except console.Conflict:
        outcome = "not-failed"
    except console.NotFound:
        outcome = "gone"
    return RedirectResponse(
        f"/admin/subscribers/{subscriber_id}?notice=retry-{outcome}", status_code=303
    )
