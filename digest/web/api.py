"""The JSON API under ``/api``: a bearer API key (or a signed-in admin) is required;
only the operator role may change anything."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from digest.db.engine import unit_of_work
from digest.services import reporting
from digest.services.controls import set_sending_paused
from digest.web.auth import api_caller, require_change
from digest.web.pages import database

router = APIRouter(prefix="/api", tags=["api"])


class Stats(BaseModel):
    subscribers: dict[str, int]
    deliveries: dict[str, int]
    sending_paused: bool


class Sending(BaseModel):
    paused: bool


@router.get("/stats", response_model=Stats)
def stats(request: Request) -> Stats:
    """Subscribers and deliveries by status, and whether sending is paused."""
    url = database(request)
    with unit_of_work(url) as session:
        api_caller(request, session)
        return Stats(**reporting.counts(session))


@router.put("/sending", response_model=Sending)
def sending(request: Request, body: Sending) -> Sending:
    """Pause or resume all sending (operator role)."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = api_caller(request, session)
        require_change(caller)
        set_sending_paused(session, body.paused, caller.who, datetime.now(UTC))
    return body
