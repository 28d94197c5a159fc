"""``/admin/audit``: the audit log, newest first, filtered by who, what, which row and
when. Operators only: entries quote readers' data as it was changed."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from digest.services.console import audit
from digest.services.database import unit_of_work
from digest.web.guard import personal_data
from digest.web.pages import database, page, settings_of

router = APIRouter(include_in_schema=False)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def audit_filter(params: dict[str, str]) -> tuple[audit.AuditFilter, list[str]]:
    """The filter a query string asks for, and a sentence per value left out because
    it is not one (the page says so; the list is not refused)."""
    problems = []
    action = params.get("action", "")
    if action and action not in audit.ACTIONS:
        problems.append(f"action: {action[:40]!r} is not one of {', '.join(audit.ACTIONS)}")
        action = ""
    target = params.get("target", "")
    if target and target not in audit.TARGETS:
        problems.append(f"target: {target[:40]!r} is not one of {', '.join(audit.TARGETS)}")
        target = ""
    days = {}
    for name in ("since", "until"):
        raw = params.get(name, "")
        days[name] = _day(raw)
        if raw and days[name] is None:
            problems.append(f"{name}: {raw[:40]!r} is not a date (YYYY-MM-DD)")
    where = audit.AuditFilter(
        actor=params.get("actor", "")[:320],
        action=action,
        target=target,
        target_id=params.get("target_id", "")[:64],
        since=days["since"],
        until=days["until"],
    )
    return where, problems


@router.get("/admin/audit")
def audit_log(request: Request) -> Response:
    """Who changed what, when, with each field before and after."""
    params = dict(request.query_params)
    where, problems = audit_filter(params)
    raw_before = params.get("before", "")
    before = int(raw_before) if raw_before.isdecimal() and len(raw_before) < 12 else None
    with unit_of_work(database(request)) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        listing = audit.list_entries(session, where, before=before)
        actors = audit.actors(session)
    kept = {k: v for k, v in params.items() if k != "before" and v}
    return page(
        request,
        "admin_audit.html",
        caller=caller,
        entries=listing.items,
        next_before=listing.next,
        where=where,
        kept=kept,
        actors=actors,
        actions=audit.ACTIONS,
        targets=audit.TARGETS,
        problems=problems,
        retention_days=settings_of(request).audit_retention.days,
    )
