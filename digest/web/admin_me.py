"""``/admin/me``: the signed-in admin's own settings (the zone the console's times are
shown in), for operators and editors alike."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from digest.services.console import admins
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.web.auth import signed_in
from digest.web.forms import form_context, form_fields
from digest.web.guard import editor, to_sign_in
from digest.web.pages import database, page
from digest.web.times import known_zone

router = APIRouter(include_in_schema=False)
BROWSER = "browser"  # the choice "my browser's zone"


@router.get("/admin/me")
def settings_page(request: Request, notice: str = "") -> Response:
    with unit_of_work(database(request)) as session:
        caller = signed_in(request, session)
        if caller is None:
            return to_sign_in()
        own = admins.admin_timezone(session, caller.who)
        return page(
            request,
            "admin_me.html",
            caller=caller,
            own_zone=own or BROWSER,
            notice="Saved: times are shown in your new zone." if notice == "saved" else "",
            error=None,
            **form_context(),
        )


@router.post("/admin/me")
async def change(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_change, request, fields)


def _change(request: Request, fields: Fields) -> Response:
    with unit_of_work(database(request)) as session:
        caller = editor(request, session, fields)  # any signed-in admin, with a CSRF token
        if isinstance(caller, Response):
            return caller
        chosen = first(fields, "timezone")
        zone = None if chosen == BROWSER else known_zone(chosen)
        if chosen != BROWSER and zone is None:
            return page(
                request,
                "admin_me.html",
                status_code=422,
                caller=caller,
                own_zone=chosen[:64],
                notice="",
                error=f"timezone: unknown time zone {chosen[:64]!r}: pick one from the list",
                **form_context(),
            )
        admins.set_timezone(session, caller.who, zone)
    return RedirectResponse("/admin/me?notice=saved", status_code=303)
