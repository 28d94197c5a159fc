"""Rendering the public pages with the same Jinja setup as the emails (autoescaped),
the publisher's branding, a CSRF token for their forms and strict security headers."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from digest.config import Settings, secret_key
from digest.domain.text import counted
from digest.rendering.environment import templates_dir
from digest.services.database import ensure_schema
from digest.web import cookies, csrf


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir() / "web"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["counted"] = counted
    return env


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def database(request: Request) -> str:
    """The database URL, its schema checked (once per process) to be current."""
    url = settings_of(request).database_url
    ensure_schema(url)
    return url


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``name`` with ``context``; every page gets the branding, a CSRF token
    for its forms and a nonce for its (few, small) inline scripts. ``frames`` lets the
    page frame this site's own URLs (the email preview)."""
    frames = bool(context.pop("frames", False))
    settings = settings_of(request)
    token, new_cookie = csrf.issue(request, secret_key(settings))
    nonce = secrets.token_urlsafe(16)
    html = (
        environment()
        .get_template(name)
        .render(brand=settings.brand, csrf_token=token, nonce=nonce, **context)
    )
    response = HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            # Links in these pages carry tokens: never leak the URL to another site.
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            # Scripts, inline or from /static, run only with this page's nonce.
            "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
            f"script-src 'nonce-{nonce}'; img-src https: http:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            + ("; frame-src 'self'" if frames else ""),
        },
    )
    if new_cookie:
        cookies.put(request, response, cookies.CSRF, new_cookie, max_age=None)
    return response
