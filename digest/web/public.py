"""Public pages that emails link to. No account, no cookie: the signed token in the
URL names the subscriber."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from digest.config import Settings, secret_key
from digest.db.engine import unit_of_work
from digest.db.schema import ensure_schema
from digest.services.unsubscribing import unsubscribe
from digest.tokens import InvalidToken, read_token
from digest.web.pages import page

router = APIRouter()


def _subscriber_id(settings: Settings, token: str) -> int | None:
    try:
        return read_token(secret_key(settings), "unsubscribe", token)
    except InvalidToken:
        return None


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """Show a confirm button. Never unsubscribes: link scanners and prefetchers GET."""
    settings: Settings = request.app.state.settings
    subscriber_id = _subscriber_id(settings, token)
    if subscriber_id is None:
        return page("invalid_link.html", status_code=404)
    ensure_schema(settings.database_url)
    with unit_of_work(settings.database_url) as session:
        from digest.db.models import Subscriber

        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            return page("invalid_link.html", status_code=404)
        return page("unsubscribe.html", email=sub.email, already=sub.status == "unsubscribed")


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_post(request: Request, token: str) -> HTMLResponse:
    """Unsubscribe (RFC 8058 one-click): no cookie or CSRF token, 200 and no redirect."""
    settings: Settings = request.app.state.settings
    subscriber_id = _subscriber_id(settings, token)
    if subscriber_id is None:
        return page("invalid_link.html", status_code=404)
    ensure_schema(settings.database_url)
    with unit_of_work(settings.database_url) as session:
        sub = unsubscribe(session, subscriber_id, datetime.now(UTC))
        if sub is None:
            return page("invalid_link.html", status_code=404)
        email = sub.email
    return page("unsubscribed.html", email=email)
