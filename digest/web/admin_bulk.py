"""Bulk actions on subscribers: review (how many, what exactly), confirm, then the
job runs in the background while its page shows the progress; an export's file is
downloaded from that page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from digest.services import console
from digest.services.console import bulk, roster
from digest.services.database import unit_of_work
from digest.services.readers.choices import Fields, first
from digest.web.forms import form_fields
from digest.web.guard import operator, personal_data
from digest.web.pages import database, page, settings_of

router = APIRouter(include_in_schema=False)


def _ids(fields: Fields) -> list[int]:
    return [int(v) for v in fields.get("ids", []) if v.isdecimal() and len(v) < 12]


@router.post("/admin/subscribers/bulk")
async def review_or_start(request: Request) -> Response:
    fields = await form_fields(request)
    return await run_in_threadpool(_review_or_start, request, fields)


def _review_or_start(request: Request, fields: Fields) -> Response:
    """Without ``confirm``: a page saying what would change and for how many, with
    the button that does it. With it: start the job and show its progress."""
    url = database(request)
    now = datetime.now(UTC)
    action = first(fields, "action")
    params = {
        "add": fields.get("add", []),
        "remove": fields.get("remove", []),
        "until": first(fields, "until"),
    }
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
        try:
            where = roster.RosterFilter.checked(
                fragment=first(fields, "q")[:320],
                status=first(fields, "status"),
                topic=first(fields, "topic"),
                language=first(fields, "language"),
                paused=first(fields, "paused"),
            )
            every = first(fields, "scope") == "all"
            reviewed = first(fields, "upto")
            upto = int(reviewed) if reviewed.isdecimal() and len(reviewed) < 12 else None
            selection = bulk.select_for(session, _ids(fields), where if every else None, upto)
            bulk.check_params(session, action, params, now)
            count = bulk.count_of(session, selection, now)
        except console.ManagementError as exc:
            return page(
                request, "admin_bulk_refused.html", status_code=422, caller=caller, error=str(exc)
            )
        # What was reviewed must be what runs: a count that moved since (readers left,
        # or changed so that the filter no longer matches them) is shown again.
        confirmed = first(fields, "confirm") == "yes" and first(fields, "count") == str(count)
        if not confirmed:
            return page(
                request,
                "admin_bulk_confirm.html",
                caller=caller,
                fields=fields,
                count=count,
                action=action,
                what=bulk.ACTIONS[action],
                whom=selection.describe(),
                params=params,
                upto=selection.upto,
                moved=first(fields, "confirm") == "yes",
            )
        job = bulk.start_bulk(session, action, params, selection, caller.who, now)
        job_id = job.id
    threading.Thread(
        target=bulk.run_bulk,
        args=(url, job_id, now, settings_of(request).data_dir),
        name=f"bulk-{job_id}",
        daemon=True,
    ).start()
    return RedirectResponse(f"/admin/bulk/{job_id}", status_code=303)


@router.get("/admin/bulk/{job_id}")
def job_page(request: Request, job_id: int) -> Response:
    """Where a bulk action stands; the page reloads itself while it runs."""
    with unit_of_work(database(request)) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        try:
            job = bulk.job_of(session, job_id)
        except console.NotFound:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
        exported = bulk.export_path(settings_of(request).data_dir, job.id).exists()
        return page(
            request,
            "admin_bulk.html",
            caller=caller,
            job=job,
            what=bulk.describe(job),
            exported=exported and job.action == "export" and job.status == "done",
        )


@router.get("/admin/bulk/{job_id}/export.csv")
def download(request: Request, job_id: int) -> Response:
    with unit_of_work(database(request)) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        try:
            job = bulk.job_of(session, job_id) if 0 < job_id <= console.MAX_ID else None
        except console.NotFound:
            job = None
        ready = job is not None and job.action == "export" and job.status == "done"
    path = bulk.export_path(settings_of(request).data_dir, job_id)
    if not ready or not path.exists():
        return Response("no such export", status_code=404, media_type="text/plain")
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"subscribers-{job_id}.csv",
        headers={"Cache-Control": "private, no-store"},
    )
