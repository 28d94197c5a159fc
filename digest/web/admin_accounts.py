"""``/admin/accounts``: the console's admins and API keys, for operators. Disabling an
admin ends their sessions at once; a revoked key stops working at once. A new key is
shown once, on the page that made it, and never stored."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.services.console import admins
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.services.readers.subscribers import SubscriberError, normalise_email
from digest.web.auth import Caller
from digest.web.forms import form_fields
from digest.web.guard import ACCOUNTS, operator, personal_data
from digest.web.pages import database, page

router = APIRouter(include_in_schema=False)

NOTICES = {
    "disabled": "Disabled: their sessions have ended and they cannot sign in.",
    "enabled": "Enabled: they can sign in again.",
    "revoked": "Revoked: the key no longer works.",
}


def _same_address(typed: str, own: str) -> bool:
    """Whether ``typed`` is ``own`` however it is spelled (case, width forms)."""
    try:
        return normalise_email(typed) == own
    except SubscriberError:
        return False


def _accounts(
    request: Request,
    session: Session,
    caller: Caller,
    *,
    notice: str = "",
    error: str | None = None,
    new_key: str | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "admin_accounts.html",
        status_code=status_code,
        caller=caller,
        admins=admins.list_admins(session),
        keys=admins.list_api_keys(session),
        roles=admins.ROLES,
        notice=NOTICES.get(notice, ""),
        error=error,
        new_key=new_key,
    )


@router.get("/admin/accounts")
def accounts(request: Request, notice: str = "") -> Response:
    """Every admin with their role and state, and every API key."""
    with unit_of_work(database(request)) as session:
        caller = personal_data(request, session, ACCOUNTS)
        if isinstance(caller, Response):
            return caller
        return _accounts(request, session, caller, notice=notice)


@router.post("/admin/accounts")
async def change(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_change, request, fields)


def _change(request: Request, fields: Fields) -> Response:
    action = first(fields, "action")
    with unit_of_work(database(request)) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        try:
            if action in ("disable", "enable"):
                email = first(fields, "email")[:320]
                if action == "disable" and _same_address(email, caller.who):
                    raise admins.AdminError(
                        "email: you cannot disable your own account; another operator can"
                    )
                admins.set_disabled(session, email, action == "disable")
                notice = "disabled" if action == "disable" else "enabled"
            elif action == "revoke":
                admins.revoke_api_keys(session, first(fields, "name")[:200], datetime.now(UTC))
                notice = "revoked"
            elif action == "create_key":
                key = admins.create_api_key(
                    session, first(fields, "name")[:200], first(fields, "role"), datetime.now(UTC)
                )
                # Shown once, here; only its hash is kept.
                return _accounts(request, session, caller, new_key=key)
            else:
                raise admins.AdminError(f"action: {action!r} is not something this page does")
        except admins.AdminError as exc:
            session.rollback()
            return _accounts(request, session, caller, error=str(exc), status_code=422)
    return RedirectResponse(f"/admin/accounts?notice={notice}", status_code=303)
