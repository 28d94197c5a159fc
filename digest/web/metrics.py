"""``GET /metrics``: the Prometheus exposition, unauthenticated like most exporters
(keep it behind the proxy or a firewall where it should not be public)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from digest.services.metrics import DigestCollector
from digest.web.pages import database, settings_of

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Every figure read at this scrape. A private registry: the process's default
    one holds only this process's own counters, which say nothing of the workers."""
    registry = CollectorRegistry()
    registry.register(DigestCollector(database(request), settings_of(request).broker_url))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
