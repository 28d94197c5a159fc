"""``/subscribe`` and ``/confirm/{token}``: double opt-in from the public form."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from digest.config import secret_key
from digest.domain.consent import CURRENT_WORDING, consent_page, consent_wording
from digest.domain.languages import LanguageError, parse_language, supported
from digest.embedded import sender_for
from digest.rendering.i18n import phrase
from digest.services.database import unit_of_work
from digest.services.readers import signup
from digest.services.readers.choices import Fields, FormErrors, choices_from_form, first
from digest.services.readers.subscribers import SubscriberError, normalise_email
from digest.services.sending.composing import language_of, link_for
from digest.tokens import ExpiredToken, InvalidToken, read_timed_token
from digest.web.forms import (
    client_ip,
    csrf_ok,
    form_context,
    form_fields,
    form_values,
    topic_options,
)
from digest.web.pages import database, page, page_language, settings_of

router = APIRouter()
HONEYPOT = "website"


def _form(
    request: Request, status_code: int = 200, fields: Fields | None = None, **extra: object
) -> HTMLResponse:
    url = database(request)
    with unit_of_work(url) as session:
        topics = topic_options(session)
    language = _shown_in(request, fields) if fields else page_language(request)
    values = form_values(None, fields, language)
    return page(
        request,
        "subscribe.html",
        status_code=status_code,
        language=language,
        topics=topics,
        values=values,
        errors=extra.pop("errors", {}),
        source=extra.pop("source", None) or _source(request, fields),
        # The wording in the language the form is shown in: what the reader reads.
        wording=consent_wording(CURRENT_WORDING, language),
        honeypot=HONEYPOT,
        front=extra.pop("front", False),
        **form_context(language),
        **extra,
    )


def _source(request: Request, fields: Fields | None) -> str:
    """The page the form was on, as the consent record keeps it: from the server's
    own base URL, or a page of the same site that a form's ``source`` field names;
    never the request's Host header."""
    claimed = (fields.get("source") or [""])[0] if fields else None
    return consent_page(settings_of(request).base_url, claimed)


def _shown_in(request: Request, fields: Fields) -> str:
    """The language the form (and its consent wording) was shown in."""
    try:
        return parse_language(first(fields, "shown_language"))
    except LanguageError:
        return page_language(request)


def _too_many(request: Request) -> HTMLResponse:
    settings = settings_of(request)
    response = page(
        request,
        "too_many.html",
        status_code=429,
        minutes=max(1, int(settings.subscribe_window.total_seconds()) // 60),
    )
    response.headers["Retry-After"] = str(int(settings.subscribe_window.total_seconds()))
    return response


@router.get("/subscribe", response_class=HTMLResponse, include_in_schema=False)
def subscribe_form(request: Request) -> HTMLResponse:
    database(request)
    return _form(request)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def front_page(request: Request) -> HTMLResponse:
    """The publisher's front page: what they send, and the form to get it."""
    database(request)
    home = settings_of(request).base_url.rstrip("/") + "/"
    return _form(request, front=True, source=consent_page(settings_of(request).base_url, home))


@router.post("/subscribe", response_class=HTMLResponse, include_in_schema=False)
async def subscribe_submit(request: Request, background: BackgroundTasks) -> HTMLResponse:
    fields = await form_fields(request)
    return await run_in_threadpool(_subscribe, request, fields, background)


def _subscribe(request: Request, fields: Fields, background: BackgroundTasks) -> HTMLResponse:
    settings = settings_of(request)
    url = database(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        allowed = signup.client_allowed(session, client_ip(request), settings, now)
    if not allowed:
        return _too_many(request)
    if first(fields, HONEYPOT):
        # A bot filled the field people never see: answer as if all went well.
        return page(request, "check_inbox.html", email=first(fields, "email")[:320])
    errors: dict[str, object] = {}
    email = ""
    try:
        email = normalise_email(first(fields, "email"))
    except SubscriberError as exc:
        errors["email"] = phrase(
            "enter an address such as name@example.org (%(detail)s)",
            detail=str(exc).removeprefix("email "),
        )
    with unit_of_work(url) as session:
        known = [slug for slug, _ in topic_options(session)]
    try:
        choices = choices_from_form(fields, known)
    except FormErrors as exc:
        errors.update(exc.errors)
    if errors:
        return _form(request, 400, fields, errors=errors)
    if choices.language is None:  # a form without the field: the page's language
        choices = replace(choices, language=page_language(request))
    origin = signup.Origin(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        page=_source(request, fields),
        shown_in=_shown_in(request, fields),
    )
    with unit_of_work(url) as session:
        result = signup.request_subscription(session, email, choices, origin, settings, now)
    if result.outcome is signup.Outcome.LIMITED:
        return _too_many(request)
    if result.send_consent_id is not None:
        background.add_task(
            signup.send_confirmation,
            url,
            result.send_consent_id,
            settings,
            sender_for(settings),
            now,
        )
    return page(request, "check_inbox.html", language=choices.language, email=email)


def _request_id(request: Request, token: str) -> int | HTMLResponse:
    settings = settings_of(request)
    try:
        return read_timed_token(secret_key(settings), "confirm", token, settings.confirm_max_age)
    except ExpiredToken:
        return page(request, "link_expired.html", status_code=400)
    except InvalidToken:
        return page(request, "invalid_link.html", status_code=404)


def _confirm_page(request: Request, state: signup.Confirmed, done: bool) -> HTMLResponse:
    settings = settings_of(request)
    if state.state is signup.ConfirmState.GONE:
        return page(request, "link_expired.html", status_code=400)
    if state.state is signup.ConfirmState.SUPPRESSED:
        return page(request, "cannot_subscribe.html", status_code=409)
    sub = state.subscriber
    assert sub is not None
    language = supported(state.language) or language_of(sub, settings)
    if state.state is signup.ConfirmState.ALREADY:
        # A confirmation link opened again (it works for days, and may have been
        # forwarded) says so and no more: the preferences link was shown once, to
        # whoever confirmed, and every digest carries it.
        return page(request, "confirmed_before.html", language=language)
    if done:
        return page(
            request,
            "confirmed.html",
            language=language,
            email=sub.email,
            topics=[s.topic.name for s in sub.subscriptions],
            preferences_url=link_for(settings, "preferences", sub),
        )
    return page(request, "confirm.html", language=language, email=sub.email)


@router.get("/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """Show a button. Confirming takes a POST: mail scanners that open every link
    in an email must not confirm an address for someone who never asked."""
    url = database(request)
    request_id = _request_id(request, token)
    if isinstance(request_id, HTMLResponse):
        return request_id
    with unit_of_work(url) as session:
        return _confirm_page(request, signup.pending_request(session, request_id), done=False)


@router.post("/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm_submit(request: Request, token: str) -> HTMLResponse:
    fields = await form_fields(request)
    return await run_in_threadpool(_confirm, request, token, fields)


def _confirm(request: Request, token: str, fields: Fields) -> HTMLResponse:
    url = database(request)
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    request_id = _request_id(request, token)
    if isinstance(request_id, HTMLResponse):
        return request_id
    origin = signup.Origin(client_ip(request), request.headers.get("user-agent"), None)
    with unit_of_work(url) as session:
        state = signup.confirm(session, request_id, origin, datetime.now(UTC))
        return _confirm_page(request, state, done=True)
