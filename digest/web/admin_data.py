"""``/admin/imports`` and the subscriber export: CSV files in and out of the list.

An uploaded file is saved to the data directory and imported in the background, in
batches; its page shows the progress as the batches commit, then the totals and a
download of every refused row (row, column, reason). The export streams the list
page by page, so neither direction holds the list in memory.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from digest.services.console import importing
from digest.services.console.csvfiles import problem_csv
from digest.services.database import unit_of_work
from digest.web.auth import signed_in
from digest.web.guard import operator, personal_data, to_sign_in
from digest.web.pages import database, page, settings_of

router = APIRouter(include_in_schema=False)
CHUNK = 1024 * 1024


def _upload_folder(request: Request) -> Path:
    folder = settings_of(request).data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@router.get("/admin/imports")
def imports(request: Request) -> Response:
    """The upload form and the latest imports with their totals."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        jobs = importing.latest_jobs(session)
    return page(request, "admin_imports.html", caller=caller, jobs=jobs, error=None)


@router.post("/admin/imports")
async def upload(request: Request) -> Response:
    """Save the uploaded CSV, start its import in the background and show its page."""
    # Who is asking is settled before the body is read: only an operator's upload
    # is ever spooled to disk.
    refusal = await run_in_threadpool(_refusal, request)
    if refusal is not None:
        return refusal
    form = await request.form()
    return await run_in_threadpool(_start, request, form)


def _refusal(request: Request) -> Response | None:
    with unit_of_work(database(request)) as session:
        viewer = signed_in(request, session)
    if viewer is None:
        return to_sign_in()
    if not viewer.may_change:
        return page(request, "forbidden.html", status_code=403, role=viewer.role)
    return None


def _start(request: Request, form: FormData) -> Response:
    url = database(request)
    fields = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    file = form.get("file")
    with unit_of_work(url) as session:
        caller = operator(request, session, fields)
        if isinstance(caller, Response):
            return caller
    if not isinstance(file, UploadFile) or not file.filename:
        return _refused(request, "Choose a CSV file to import.")
    # The body limit has already capped the file's size.
    path = _upload_folder(request) / f"{secrets.token_hex(8)}.csv"
    file.file.seek(0)
    with path.open("wb") as target:
        shutil.copyfileobj(file.file, target, CHUNK)
    now = datetime.now(UTC)
    with unit_of_work(url) as session:
        job_id = importing.start_job(
            session,
            file.filename,
            path.stat().st_size,
            confirmed="confirmed" in fields,
            by=caller.who,
            now=now,
        ).id
    threading.Thread(
        target=_run, args=(url, job_id, path, now), name=f"import-{job_id}", daemon=True
    ).start()
    return RedirectResponse(f"/admin/imports/{job_id}", status_code=303)


def _run(url: str, job_id: int, path: Path, now: datetime) -> None:
    try:
        importing.run_job(url, job_id, str(path), now)
    finally:
        path.unlink(missing_ok=True)


def _refused(request: Request, error: str) -> Response:
    url = database(request)
    with unit_of_work(url) as session:
        caller = signed_in(request, session)
        jobs = importing.latest_jobs(session)
    return page(
        request, "admin_imports.html", status_code=422, caller=caller, jobs=jobs, error=error
    )


@router.get("/admin/imports/{job_id}")
def import_job(request: Request, job_id: int) -> Response:
    """One import: a progress bar while it runs (the page reloads itself every
    second, no script needed), then its totals and the report of refused rows."""
    url = database(request)
    with unit_of_work(url) as session:
        # Refused rows quote readers' addresses: operators only.
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        job = importing.job_of(session, job_id)
        if job is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)
    shown = list(importing.problems_of(url, job_id, limit=20))
    return page(request, "admin_import.html", caller=caller, job=job, problems=shown)


@router.get("/admin/imports/{job_id}/problems.csv")
def import_problems(request: Request, job_id: int) -> Response:
    """Every refused row of an import as CSV: row, column, reason."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
        if importing.job_of(session, job_id) is None:
            return page(request, "admin_not_found.html", status_code=404, caller=caller)

    return StreamingResponse(
        problem_csv(importing.problems_of(url, job_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job_id}-refused.csv"'},
    )


@router.get("/admin/export/subscribers.csv")
def export(request: Request) -> Response:
    """The whole list as CSV (operators only: it is every reader's address)."""
    url = database(request)
    with unit_of_work(url) as session:
        caller = personal_data(request, session)
        if isinstance(caller, Response):
            return caller
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        importing.export_lines(url),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="subscribers-{stamp}.csv"'},
    )
