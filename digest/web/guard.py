"""Who may see and change the console's pages: every page needs a signed-in admin,
every form a CSRF token, and every change the operator role, except pinning and
holding articles, which is the editors' job as much as the operators'. Readers'
personal data (the subscriber list, consent records, suppressions, deliveries) is
the operators' alone: editors preview and send test copies without it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from digest.services.console.admins import ROLES
from digest.services.console.audit import act_as
from digest.services.readers.choices import Fields
from digest.web.auth import Caller, signed_in
from digest.web.forms import csrf_ok
from digest.web.pages import page


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/admin/sign-in", status_code=303)


PERSONAL_DATA = "cannot see readers' personal data (subscribers, consent, suppressions, deliveries)"


ACCOUNTS = "cannot see or change admin accounts and API keys"


def personal_data(
    request: Request, session: Session, refused: str = PERSONAL_DATA
) -> Caller | Response:
    """The signed-in operator reading a page of readers' personal data (or another
    page for operators only), or the page refusing it: sign-in for nobody, 403 for an
    editor, saying what the role ``refused``."""
    caller = signed_in(request, session)
    if caller is None:
        return to_sign_in()
    if not caller.may_change:
        return page(request, "forbidden.html", status_code=403, role=caller.role, refused=refused)
    return caller


def operator(request: Request, session: Session, fields: Fields) -> Caller | Response:
    """The signed-in operator behind a state-changing form, or the page refusing it:
    sign-in for nobody, 403 without a CSRF token or for an editor."""
    caller = signed_in(request, session)
    if caller is None:
        return to_sign_in()
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    if not caller.may_change:
        return page(request, "forbidden.html", status_code=403, role=caller.role)
    act_as(session, caller.who, "console")
    return caller


def editor(request: Request, session: Session, fields: Fields) -> Caller | Response:
    """The signed-in admin, editor or operator, behind an editorial form (pin, hold),
    or the page refusing it: sign-in for nobody, 403 without a CSRF token."""
    caller = signed_in(request, session)
    if caller is None:
        return to_sign_in()
    if not csrf_ok(request, fields):
        return page(request, "form_expired.html", status_code=403)
    if caller.role not in ROLES:
        return page(request, "forbidden.html", status_code=403, role=caller.role)
    act_as(session, caller.who, "console")
    return caller
