"""Pages that digests link to: preferences and one-click unsubscribe. No account:
the signed token in the URL names the subscriber."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.domain.text import masked_address
from digest.rendering.i18n import local_day, local_time, phrase
from digest.services.database import unit_of_work
from digest.services.readers import preferences
from digest.services.readers.choices import Fields, FormErrors, choices_from_form, choices_of, first
from digest.services.readers.unsubscribing import resubscribe, unsubscribe
from digest.services.sending import viewing
from digest.services.sending.composing import language_of, link_for
from digest.web.forms import (
    csrf_ok,
    form_context,
    form_fields,
    form_values,
    kept_default,
    topic_options,
)
from digest.web.pages import database, page, settings_of

if TYPE_CHECKING:
    from digest.db.models import Subscriber

router = APIRouter()

# Notices a preferences page shows when a form's answer redirected to it.
AFTER_REDIRECT = frozenset({"links_replaced"})


def _invalid(request: Request) -> HTMLResponse:
    return page(request, "invalid_link.html", status_code=404)


def _subscriber(session: Session, request: Request, purpose: str, token: str) -> Subscriber | None:
    return preferences.subscriber_for(session, settings_of(request), purpose, token)


# -- unsubscribe ------------------------------------------------------------------


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """Show a confirm button. Never unsubscribes: link scanners and prefetchers GET."""
    url = database(request)
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "unsubscribe", token)
        if sub is None:
            return _invalid(request)
        return page(
            request,
            "unsubscribe.html",
            language=language_of(sub, settings_of(request)),
            email=masked_address(sub.email),
            already=sub.status == "unsubscribed",
        )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_post(request: Request, token: str) -> HTMLResponse:
    """Unsubscribe (RFC 8058 one-click): no cookie or CSRF token, 200 and no redirect.
    Repeating it changes nothing. The answer names nothing about the reader: the
    unsubscribe link also travels in the List-Unsubscribe header, and must not open
    the preferences page (the reader's data, its download and its erasure)."""
    url = database(request)
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "unsubscribe", token)
        if sub is None:
            return _invalid(request)
        unsubscribe(session, sub.id, datetime.now(UTC))
        undo = f"{settings_of(request).base_url}/unsubscribe/{token}/undo"
        return page(
            request,
            "unsubscribed.html",
            language=language_of(sub, settings_of(request)),
            undo_url=undo,
        )


@router.post("/unsubscribe/{token}/undo", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_undo(request: Request, token: str) -> HTMLResponse:
    fields = await form_fields(request)
    return await run_in_threadpool(_undo, request, token, fields)


def _undo(request: Request, token: str, fields: Fields) -> HTMLResponse:
    url = database(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "unsubscribe", token)
        if sub is None:
            return _invalid(request)
        back = resubscribe(session, sub, datetime.now(UTC))
        # As little as the unsubscribe answer: the preferences link stays in the emails.
        language = language_of(sub, settings_of(request))
        return page(request, "resubscribed.html", language=language, back=back)


# -- the digest in the browser -----------------------------------------------------


@router.get("/view/{token}", response_class=HTMLResponse, include_in_schema=False)
def view_page(request: Request, token: str) -> HTMLResponse:
    """A digest as its reader got it, for the "view in your browser" link. Never
    indexed, never cached by a shared cache, and its links leak no address."""
    url = database(request)
    with unit_of_work(url) as session:
        html = viewing.digest_page(session, settings_of(request), token)
    if html is None:
        return _invalid(request)
    html = html.replace("<head>", '<head>\n<meta name="robots" content="noindex, nofollow">', 1)
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex, nofollow",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            # The email's own inline styles and images; no script, no form, no frame.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src https: http: data:; form-action 'none'; frame-ancestors 'none'; "
            "base-uri 'none'",
        },
    )


# -- preferences ------------------------------------------------------------------


def _preferences(
    request: Request,
    session: Session,
    sub: Subscriber,
    status_code: int = 200,
    notice: str | None = None,
    fields: Fields | None = None,
    errors: Mapping[str, object] | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    language = language_of(sub, settings)
    next_slot = local_time(sub.next_slot_at, sub.timezone, language) if sub.next_slot_at else None
    paused_until = (
        sub.paused_until if sub.paused_until and sub.paused_until > datetime.now(UTC) else None
    )
    return page(
        request,
        "preferences.html",
        status_code=status_code,
        language=language,
        email=sub.email,
        status=sub.status,
        notice=notice,
        errors=errors or {},
        topics=topic_options(session),
        values=form_values(choices_of(sub), fields, language),
        next_slot=next_slot,
        paused_until=local_day(paused_until, sub.timezone, language) if paused_until else None,
        pause_weeks=preferences.PAUSE_WEEKS,
        unsubscribe_url=link_for(settings, "unsubscribe", sub),
        preferences_url=link_for(settings, "preferences", sub),
        **form_context(language),
    )


@router.get("/preferences/{token}", response_class=HTMLResponse, include_in_schema=False)
def preferences_page(request: Request, token: str, notice: str = "") -> HTMLResponse:
    url = database(request)
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "preferences", token)
        if sub is None:
            return _invalid(request)
        shown = notice if notice in AFTER_REDIRECT else None
        return _preferences(request, session, sub, notice=shown)


@router.get("/preferences/{token}/data", include_in_schema=False)
def preferences_data(request: Request, token: str) -> Response:
    """Download my data: everything stored about the reader, as JSON."""
    url = database(request)
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "preferences", token)
        if sub is None:
            return _invalid(request)
        data = preferences.export(session, sub)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-digest-data.json"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.post("/preferences/{token}", include_in_schema=False)
async def preferences_submit(request: Request, token: str) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_change, request, token, fields)


def _change(request: Request, token: str, fields: Fields) -> Response:
    url = database(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    now = datetime.now(UTC)
    action = first(fields, "action", "save")
    with unit_of_work(url) as session:
        sub = _subscriber(session, request, "preferences", token)
        if sub is None:
            return _invalid(request)
        if action == "save":
            known = [slug for slug, _ in topic_options(session)]
            try:
                choices = choices_from_form(fields, known)
            except FormErrors as exc:
                return _preferences(request, session, sub, 400, fields=fields, errors=exc.errors)
            preferences.save(session, sub, kept_default(choices, sub, settings_of(request)), now)
            return _preferences(request, session, sub, notice="saved")
        if action == "pause":
            raw = first(fields, "weeks", "1")
            weeks = int(raw) if raw.isdecimal() and len(raw) < 3 else -1
            if weeks not in preferences.PAUSE_WEEKS:
                errors = {"weeks": phrase("choose 1, 2, 3 or 4 weeks")}
                return _preferences(request, session, sub, 400, errors=errors)
            preferences.pause(sub, weeks, now)
            return _preferences(request, session, sub, notice="paused")
        if action == "resume":
            preferences.pause(sub, 0, now)
            return _preferences(request, session, sub, notice="resumed")
        if action == "resubscribe":
            back = resubscribe(session, sub, now)
            return _preferences(
                request, session, sub, notice="resubscribed" if back else "not_resubscribed"
            )
        if action == "replace_links":
            preferences.replace_links(sub)
            session.flush()
            new_page = link_for(settings_of(request), "preferences", sub)
            return RedirectResponse(f"{new_page}?notice=links_replaced", status_code=303)
        if action == "delete":
            if first(fields, "confirm_delete") != "yes":
                errors = {"confirm_delete": phrase("tick the box to confirm that everything goes")}
                return _preferences(request, session, sub, 400, errors=errors)
            language = language_of(sub, settings_of(request))
            preferences.erase(session, sub, now)
            return page(request, "deleted.html", language=language)
    return page(request, "form_expired.html", status_code=400)
