"""``/api/audit``: the audit log through the API, with the console's filters.
Operators only (entries quote readers' data as it was changed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from digest.services.console import MAX_ID, audit
from digest.services.database import unit_of_work
from digest.web.api_replies import Page
from digest.web.api_schemas import DEFAULT_LIMIT, Limit
from digest.web.api_support import ApiRoute, PersonalData, refusals
from digest.web.pages import database

router = APIRouter(prefix="/api", tags=["audit"], route_class=ApiRoute)

Action = Literal["create", "update", "delete", "bulk", "retry"]
Target = Literal[
    "subscriber",
    "topic",
    "feed",
    "article",
    "suppression",
    "admin",
    "api key",
    "sending",
    "delivery",
]


class AuditOut(BaseModel):
    """One change: who made it (an admin's address, ``api key NAME`` or a command
    line user), through what (``console``, ``api``, ``cli``), the row it changed and
    each changed field before and after."""

    id: int
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    target_id: str | None
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]


@router.get("/audit", response_model=Page[AuditOut], responses=refusals(403))
def list_audit(
    request: Request,
    _: PersonalData,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    action: Action | None = None,
    target: Target | None = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[date | None, Query(description="From this day (UTC), included.")] = None,
    until: Annotated[date | None, Query(description="To this day (UTC), included.")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Continue before this id.")
    ] = None,
    limit: Annotated[Limit, Query()] = DEFAULT_LIMIT,
) -> object:
    """Changes newest first; every filter given must match."""
    where = audit.AuditFilter(
        actor=actor or "",
        action=action or "",
        target=target or "",
        target_id=target_id or "",
        since=since,
        until=until,
    )
    with unit_of_work(database(request)) as session:
        return audit.list_entries(session, where, before=before, limit=limit)
