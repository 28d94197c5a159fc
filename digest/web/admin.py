"""``/admin``: sign-in and sign-out, and the pages operators and editors use.

Every page needs a signed-in admin; every form carries a CSRF token; only operators
may change anything (editors get 403)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from digest.services.console import admins, bounce_health, overview, reporting
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.services.sending.controls import set_sending_paused
from digest.web.auth import Caller, end_session, signed_in, start_session
from digest.web.forms import client_ip, csrf_ok, form_fields
from digest.web.guard import operator, to_sign_in
from digest.web.pages import database, page, settings_of

router = APIRouter()


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
        attempt = admins.sign_in(session, email, password, client_ip(request), now)
    if attempt.refused:
        refused = page(request, "too_many.html", status_code=429, minutes=15)
        refused.headers["Retry-After"] = str(int(admins.SIGN_IN_WINDOW.total_seconds()))
        return refused
    if attempt.user is None:
        return page(
            request,
            "admin_sign_in.html",
            status_code=401,
            error="Wrong address or password.",
            email=email,
        )
    response = RedirectResponse("/admin", status_code=303)
    start_session(request, response, attempt.user, first(fields, "browser_zone"))
    return response


@router.post("/admin/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    fields = await form_fields(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    response = to_sign_in()
    with unit_of_work(database(request)) as session:
        end_session(request, response, session)
    return response


def _dashboard(request: Request, caller: Caller, status_code: int = 200) -> HTMLResponse:
    """Is everything fine? Alerts (or a new installation's next steps), readers and
    their growth, today against the last 7 days, bounce and complaint rates against
    the providers' limits, outcomes per day, bounces per reason, the queue, the next
    slots, feed health, the latest errors and the pause switch."""
    url = database(request)
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        figures = reporting.counts(session, settings_of(request))
        outcomes = reporting.daily_outcomes(session, now)
        reasons = bounce_health.bounce_reasons(session, now)
        # The latest report's diagnostic and recipient may name a reader: operators only.
        health = bounce_health.sender_health(session, now, personal=caller.may_change)
        queue = reporting.queued_now(session)
        slots = reporting.next_slots(session, now)
        errors = reporting.latest_errors(session)
        view = overview.overview(
            session, now, outcomes, sending_paused=bool(figures.get("sending_paused"))
        )
    return page(
        request,
        "admin_home.html",
        status_code=status_code,
        caller=caller,
        outcomes=outcomes,
        outcome_kinds=reporting.OUTCOMES,
        bounce_reasons=reasons,
        sender_health=health,
        queue=queue,
        slots=slots,
        errors=errors,
        view=view,
        limits={
            "complaint_target": overview.COMPLAINT_TARGET,
            "complaint_limit": overview.COMPLAINT_LIMIT,
            "bounce_limit": overview.BOUNCE_LIMIT,
        },
        **figures,
    )


@router.get("/admin", include_in_schema=False)
def dashboard(request: Request) -> Response:
    url = database(request)
    with unit_of_work(url) as session:
        caller = signed_in(request, session)
    if caller is None:
        return to_sign_in()
    return _dashboard(request, caller)


@router.post("/admin/sending", include_in_schema=False)
async def pause_sending(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_pause_sending, request, fields)


def _pause_sending(request: Request, fields: Fields) -> Response:
    """Pause or resume all sending (operators only)."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        paused = first(fields, "action") == "pause"
        set_sending_paused(session, paused, caller.who, datetime.now(UTC))
    return RedirectResponse("/admin", status_code=303)
