"""``/admin/articles``: the recent articles, one compact row each, with what editors
decided about them, narrowed by filters in the address that combine (topic, source,
pinned, held, the days published, the title); and the forms that pin one to the top
of its topics until a moment or hold one out of every digest. Editors may use them
as well as operators. A filter value that is not one is named and left out.

The forms post to the list's own address with its filters, so a refused change
shows the same list again with the reason, and a done one comes back to it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.services import console, editorial
from digest.services.database import unit_of_work
from digest.services.editorial.articles import NO_FEED
from digest.services.editorial.listing import ArticleFilter, browse_articles
from digest.services.readers.choices import Fields, first
from digest.web.auth import Caller, signed_in
from digest.web.forms import form_fields
from digest.web.guard import editor, to_sign_in
from digest.web.pages import database, page

router = APIRouter(include_in_schema=False)

EDITS = {
    "unpin": editorial.unpin_article,
    "hold": editorial.hold_article,
    "release": editorial.release_article,
}
MINUTE = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends and shows
YES = ("1", "on", "yes", "true")


def query_of(shown: ArticleFilter, before: int | None = None) -> str:
    """The list's address for ``shown``, from id ``before`` on."""
    feed = "none" if shown.feed == NO_FEED else shown.feed
    values = {
        "topic": shown.topic,
        "feed": feed,
        "pinned": "1" if shown.pinned else "",
        "held": "1" if shown.held else "",
        "from": shown.published_from,
        "to": shown.published_to,
        "q": shown.q,
        "before": before,
    }
    return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


def _day(params: dict[str, str], name: str, problems: list[str]) -> date | None:
    raw = params.get(name, "").strip()[:32]
    if not raw:
        return None
    try:
        if len(raw) != 10:  # fromisoformat takes 20260608 too: ask for the form's shape
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a day such as 2026-06-08; it is left out")
        return None


def _feed(raw: str, problems: list[str]) -> int | None:
    raw = raw.strip()[:32]
    if raw == "none":
        return NO_FEED
    if raw.isdecimal() and 0 < int(raw) <= console.MAX_ID:
        return int(raw)
    if raw:
        problems.append(f"feed: {raw!r} is not a feed; choose one from the list")
    return None


def filters_of(request: Request) -> tuple[ArticleFilter, list[str]]:
    """The filters in the address, and a message for each value that is not one
    (that filter is left out; the others apply)."""
    params = dict(request.query_params)
    problems: list[str] = []
    state = params.get("state", "")  # the older single choice, pinned or held
    raw = params.get("before", "")
    before = int(raw) if raw.isdecimal() and len(raw) < 19 else 0
    shown = ArticleFilter(
        topic=params.get("topic", "")[:64],
        feed=_feed(params.get("feed", ""), problems),
        pinned=params.get("pinned", "").lower() in YES or state == "pinned",
        held=params.get("held", "").lower() in YES or state == "held",
        published_from=_day(params, "from", problems),
        published_to=_day(params, "to", problems),
        q=params.get("q", "")[:200],
        before=before if 0 < before <= console.MAX_ID else None,
    )
    return shown, problems


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
    shown, problems = filters_of(request)
    found = browse_articles(session, shown, now=now, zone=caller.timezone)
    problems += found.problems
    if problems and error is None:
        error, status = "; ".join(problems), 422
    tomorrow = (now + timedelta(days=1, hours=1)).replace(minute=0, second=0, microsecond=0)
    return page(
        request,
        "admin_articles.html",
        status_code=status,
        caller=caller,
        rows=found.page.items,
        shown=shown,
        query=query_of(shown, shown.before),
        older=query_of(shown, found.page.next) if found.page.next else None,
        newest=query_of(shown),
        topics=found.topics,
        sources=found.sources,
        no_feed=NO_FEED,
        invalid={p.split(":", 1)[0] for p in problems},
        now=now,
        earliest=now.strftime(MINUTE),
        suggested=tomorrow.strftime(MINUTE),
        error=error,
        failed=failed,
    )


@router.get("/admin/articles")
def articles(request: Request) -> Response:
    """Recent articles, newest first, narrowed by topic, source, pinned, held, the
    days they were published and a fragment of their title."""
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
    shown = filters_of(request)[0]
    query = query_of(shown, shown.before)
    return RedirectResponse(
        f"/admin/articles{'?' + query if query else ''}#article-{article_id}", status_code=303
    )
