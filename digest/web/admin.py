"""``/admin``: sign-in and sign-out, and the pages operators and editors use.

Every page needs a signed-in admin; every form carries a CSRF token; only operators
may change anything (editors get 403)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Subscriber
from digest.embedded import sender_for
from digest.services import admins, console, limits, pipeline, preferences, reporting
from digest.services.choices import Fields, first
from digest.services.controls import set_sending_paused
from digest.web.auth import Caller, end_session, signed_in, start_session
from digest.web.forms import client_ip, csrf_ok, form_fields
from digest.web.pages import database, page, settings_of

router = APIRouter()
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_PER_IP = 20
SIGN_IN_PER_ADDRESS = 5


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/admin/sign-in", status_code=303)


@router.get("/admin/sign-in", response_class=HTMLResponse, include_in_schema=False)
def sign_in_form(request: Request) -> HTMLResponse:
    return page(request, "admin_sign_in.html", error=None, email="")


@router.post("/admin/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_sign_in, request, fields)


def _sign_in(request: Request, fields: Fields) -> Response:
    url = database(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    email, password = first(fields, "email")[:320], (fields.get("password") or [""])[0]
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        allowed = limits.allow(
            session,
            limits.limit_key("signin-ip", client_ip(request)),
            SIGN_IN_PER_IP,
            now,
            SIGN_IN_WINDOW,
        ) and limits.allow(
            session,
            limits.limit_key("signin-address", email.lower()),
            SIGN_IN_PER_ADDRESS,
            now,
            SIGN_IN_WINDOW,
        )
    if not allowed:
        refused = page(request, "too_many.html", status_code=429, minutes=15)
        refused.headers["Retry-After"] = str(int(SIGN_IN_WINDOW.total_seconds()))
        return refused
    with unit_of_work(url) as session:
        user = admins.authenticate(session, email, password, now)
        if user is None:
            return page(
                request,
                "admin_sign_in.html",
                status_code=401,
                error="Wrong address or password.",
                email=email,
            )
        response = RedirectResponse("/admin", status_code=303)
        start_session(request, response, user)
    return response


@router.post("/admin/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    fields = await form_fields(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    response = _to_sign_in()
    end_session(request, response)
    return response


def _operator(request: Request, session: Session, fields: Fields) -> Caller | Response:
    """The signed-in operator behind a state-changing form, or the page refusing it:
    sign-in for nobody, 403 without a CSRF token or for an editor."""
    caller = signed_in(request, session)
    if caller is None:
        return _to_sign_in()
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    if not caller.may_change:
        return page(request, "forbidden.html", status_code=403, role=caller.role)
    return caller


def _dashboard(request: Request, caller: Caller, status_code: int = 200) -> HTMLResponse:
    url = database(request)
    with unit_of_work(url) as session:
        figures = reporting.counts(session)
    return page(request, "admin_home.html", status_code=status_code, caller=caller, **figures)


@router.get("/admin", include_in_schema=False)
def dashboard(request: Request) -> Response:
    url = database(request)
    with unit_of_work(url) as session:
        caller = signed_in(request, session)
    if caller is None:
        return _to_sign_in()
    return _dashboard(request, caller)


@router.post("/admin/sending", include_in_schema=False)
async def pause_sending(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_pause_sending, request, fields)


def _pause_sending(request: Request, fields: Fields) -> Response:
    """Pause or resume all sending (operators only)."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = _operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        paused = first(fields, "action") == "pause"
        set_sending_paused(session, paused, caller.who, datetime.now(UTC))
    return RedirectResponse("/admin", status_code=303)


# -- subscribers ------------------------------------------------------------------


@router.get("/admin/subscribers", include_in_schema=False)
def subscribers(
    request: Request, q: str = "", status: str = "", topic: str = "", after: int = 0
) -> Response:
    """Find subscribers by a fragment of their address, by status and by topic."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = signed_in(request, session)
        if caller is None:
            return _to_sign_in()
        rows, next_after = console.find_subscribers(
            session,
            fragment=q[:320],
            status=status if status in console.STATUSES else "",
            topic=topic[:64],
            after_id=max(0, after),
        )
        topics = console.topic_slugs(session)
    return page(
        request,
        "admin_subscribers.html",
        caller=caller,
        rows=rows,
        next_after=next_after,
        q=q,
        status=status,
        topic=topic,
        statuses=console.STATUSES,
        topics=topics,
    )


@router.get("/admin/subscribers/{subscriber_id}", include_in_schema=False)
def subscriber_page(request: Request, subscriber_id: int, notice: str = "") -> Response:
    """One subscriber: profile, consent records, topics, every digest with its
    articles and every SMTP attempt."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = signed_in(request, session)
        if caller is None:
            return _to_sign_in()
        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        data = preferences.export(session, sub)
        retryable = console.delivery_ids_of(session, sub.id)
    return page(
        request,
        "admin_subscriber.html",
        caller=caller,
        subscriber_id=subscriber_id,
        data=data,
        retryable=retryable,
        notice=notice[:40],
    )


@router.post("/admin/deliveries/{delivery_id}/retry", include_in_schema=False)
async def retry_delivery(request: Request, delivery_id: int) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_retry, request, delivery_id, fields)


def _retry(request: Request, delivery_id: int, fields: Fields) -> Response:
    """Send a failed delivery again, now, from this process (operators only)."""
    settings = settings_of(request)
    url = database(request)
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        caller = _operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        subscriber_id = delivery.subscriber_id
        reopened = console.reopen_failed(session, delivery_id, now)
    outcome = "not-failed"
    if reopened:
        report = pipeline.send_deliveries(
            url, [delivery_id], settings, sender_for(settings), lambda: now
        )
        outcome = next(iter(report.outcomes.values()), "paused")
    return RedirectResponse(
        f"/admin/subscribers/{subscriber_id}?notice=retry-{outcome}", status_code=303
    )
