"""``/admin/articles``: the recent articles with what editors decided about them,
and the forms that pin one to the top of its topics until a moment or hold one out
of every digest. Editors may use them as well as operators.

The forms post to the list's own address with its filters, so a refused change
shows the same list again with the reason, and a done one comes back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.services import console, editorial
from digest.services.console import lookup
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.web.auth import Caller, signed_in
from digest.web.forms import form_fields
from digest.web.guard import editor, to_sign_in
from digest.web.pages import database, page

router = APIRouter(include_in_schema=False)

STATES = ("pinned", "held")
EDITS = {
    "unpin": editorial.unpin_article,
    "hold": editorial.hold_article,
    "release": editorial.release_article,
}
MINUTE = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends and shows


@dataclass(frozen=True)
class Filters:
    """What the list shows: a topic, pinned or held only, a fragment of the title,
    and the id the page starts before."""

    topic: str = ""
    state: str = ""
    q: str = ""
    before: int | None = None

    def query(self) -> str:
        values = {"topic": self.topic, "state": self.state, "q": self.q, "before": self.before}
        return urlencode({k: v for k, v in values.items() if v})


def _filters(request: Request) -> Filters:
    params = request.query_params
    state = params.get("state", "")
    raw = params.get("before", "")
    before = int(raw) if raw.isdecimal() and len(raw) < 19 else 0
    return Filters(
        topic=params.get("topic", "")[:64],
        state=state if state in STATES else "",
        q=params.get("q", "")[:200],
        before=before if 0 < before <= console.MAX_ID else None,
    )


def _list(
    request: Request,
    session: Session,
    caller: Caller,
    now: datetime,
    *,
    error: str | None = None,
    status: int = 200,
    failed: tuple[int, str] | None = None,
) -> Response:
    """The list; after a refused pin, ``failed`` is the article and the time given."""
    shown = _filters(request)
    try:
        listing = editorial.list_articles(
            session,
            topic=shown.topic,
            fragment=shown.q,
            pinned_after=now if shown.state == "pinned" else None,
            held=shown.state == "held",
            before=shown.before,
        )
    except console.ManagementError as exc:
        listing, error, status = console.Page([], None), str(exc), 422
    tomorrow = (now + timedelta(days=1, hours=1)).replace(minute=0, second=0, microsecond=0)
    return page(
        request,
        "admin_articles.html",
        status_code=status,
        caller=caller,
        rows=listing.items,
        next_before=listing.next,
        shown=shown,
        query=shown.query(),
        older=Filters(shown.topic, shown.state, shown.q, listing.next).query(),
        topics=lookup.topic_slugs(session),
        states=STATES,
        now=now,
        earliest=now.strftime(MINUTE),
        suggested=tomorrow.strftime(MINUTE),
        error=error,
        failed=failed,
    )


@router.get("/admin/articles")
def articles(request: Request) -> Response:
    """Recent articles, newest first, by topic, pinned or held, or by title."""
    with unit_of_work(database(request)) as session:
        caller = signed_in(request, session)
        if caller is None:
            return to_sign_in()
        return _list(request, session, caller, datetime.now(UTC))


@router.post("/admin/articles/{article_id}")
async def edit_article(request: Request, article_id: int) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_edit, request, article_id, fields)


def _edit(request: Request, article_id: int, fields: Fields) -> Response:
    """Pin (until the time given, UTC), unpin, hold or release one article, by the
    form's ``action``; a refused value shows the list again and changes nothing."""
    now = datetime.now(UTC)
    action, until = first(fields, "action"), first(fields, "pinned_until")
    with unit_of_work(database(request)) as session:
        caller = editor(request, session, fields)
        if isinstance(caller, Response):
            return caller
        try:
            if action == "pin":
                moment = editorial.moment_of("pinned_until", until)
                editorial.pin_article(session, article_id, moment, caller.who, now)
            elif action in EDITS:
                EDITS[action](session, article_id, caller.who, now)
            else:
                raise console.ManagementError("action", "must be pin, unpin, hold or release")
        except console.ManagementError as exc:
            session.rollback()
            return _list(
                request,
                session,
                caller,
                now,
                error=str(exc),
                status=422,
                failed=(article_id, until),
            )
        except console.NotFound as exc:
            session.rollback()
            return _list(request, session, caller, now, error=str(exc), status=404)
    query = _filters(request).query()
    return RedirectResponse(
        f"/admin/articles{'?' + query if query else ''}#article-{article_id}", status_code=303
    )
