"""The one HTTP app. Views parse the request, call a service and render a page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from digest import __version__
from digest.config import Settings, get_settings
from digest.services.database import ping
from digest.web.admin import router as admin_router
from digest.web.admin_accounts import router as admin_accounts_router
from digest.web.admin_articles import router as admin_articles_router
from digest.web.admin_audit import router as admin_audit_router
from digest.web.admin_bulk import router as admin_bulk_router
from digest.web.admin_data import router as admin_data_router
from digest.web.admin_lists import router as admin_lists_router
from digest.web.admin_me import router as admin_me_router
from digest.web.admin_preview import router as admin_preview_router
from digest.web.admin_subscribers import router as admin_subscribers_router
from digest.web.api import router as api_router
from digest.web.api_audit import router as api_audit_router
from digest.web.headers import DefaultHeaders
from digest.web.limits import BodyLimit
from digest.web.metrics import router as metrics_router
from digest.web.public import router as public_router
from digest.web.subscribe import router as subscribe_router

log = logging.getLogger(__name__)

# Beside this module, so an installed copy serves the files it was built with.
STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    app = FastAPI(
        title="digest",
        version=__version__,
        openapi_url="/api/openapi.json",
        # FastAPI's Swagger UI and ReDoc pages load their scripts from a CDN; the app
        # serves nothing from another host, so only the OpenAPI document is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings or get_settings()
    app.add_middleware(BodyLimit)
    https = app.state.settings.base_url.startswith("https://")
    app.add_middleware(DefaultHeaders, https=https)
    app.include_router(public_router)
    app.include_router(subscribe_router)
    app.include_router(admin_router)
    app.include_router(admin_accounts_router)
    app.include_router(admin_me_router)
    app.include_router(admin_data_router)
    app.include_router(admin_lists_router)
    # Before /admin/subscribers/{subscriber_id}, which would take "bulk" for an id.
    app.include_router(admin_bulk_router)
    app.include_router(admin_subscribers_router)
    app.include_router(admin_articles_router)
    app.include_router(admin_audit_router)
    app.include_router(admin_preview_router)
    app.include_router(api_router)
    app.include_router(api_audit_router)
    # The pages' own CSS and scripts and the chart library: no third-party host.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(metrics_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        current: Settings = request.app.state.settings
        try:
            ping(current.database_url)
        except Exception:  # any database failure makes the service unhealthy
            # The driver's message names hosts, ports and databases: it goes to the
            # log, not to whoever asks.
            log.exception("health check: the database cannot be reached")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": "ok", "time": datetime.now(UTC).isoformat()}
        )

    return app
