"""Rendering the public pages with the same Jinja setup as the emails (autoescaped,
one environment per language), the publisher's branding, a CSRF token for their
forms and strict security headers."""

from __future__ import annotations

import secrets
from functools import cache, partial
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from digest.config import Settings, secret_key
from digest.domain.languages import LANGUAGES, parse_language, preferred
from digest.rendering.environment import language_environment
from digest.services.database import ensure_schema
from digest.web import cookies, csrf
from digest.web.times import moment_html

CONSOLE_PAGES = frozenset({"forbidden.html"})
# Where each console section sits in the navigation: (group, section name).
SECTIONS = {
    "/admin/subscribers": ("Audience", "Subscribers"),
    "/admin/imports": ("Audience", "Import/export"),
    "/admin/suppressions": ("Audience", "Suppressions"),
    "/admin/topics": ("Content", "Topics"),
    "/admin/feeds": ("Content", "Feeds"),
    "/admin/articles": ("Content", "Articles"),
    "/admin/preview": ("Content", "Preview"),
    "/admin/deliveries": ("Sending", "Deliveries"),
    "/admin/accounts": ("Sending", "Accounts"),
    "/admin/audit": ("Sending", "Audit log"),
    "/admin/me": ("You", "Your settings"),
}


def breadcrumbs(path: str) -> list[tuple[str, str | None]]:
    """The trail above a console page's title: the console, the section's group and,
    below a section's own page, the section (a link back to it)."""
    if path == "/admin":
        return []
    trail: list[tuple[str, str | None]] = [("Console", "/admin")]
    for section, (group, name) in SECTIONS.items():
        if path == section:
            return [*trail, (group, None)]
        if path.startswith(section + "/"):
            return [*trail, (group, None), (name, section)]
    return trail


@cache
def environment(language: str = "en") -> Environment:
    """The pages' environment in ``language`` (the console is in English)."""
    return language_environment("web", language)


def page_language(request: Request) -> str:
    """The language a page is shown in when no reader is known: a supported
    ``?language=`` in the address, else the browser's preference
    (``Accept-Language``), else the site's default."""
    asked = request.query_params.get("language", "")
    if asked:
        try:
            return parse_language(asked)
        except ValueError:
            pass
    default = settings_of(request).language
    return preferred(request.headers.get("accept-language"), default)


def language_options() -> list[tuple[str, str]]:
    """(code, name in that language) for the language lists."""
    return list(LANGUAGES.items())


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def database(request: Request) -> str:
    """The database URL, its schema checked (once per process) to be current."""
    url = settings_of(request).database_url
    ensure_schema(url)
    return url


def page(
    request: Request,
    name: str,
    status_code: int = 200,
    *,
    language: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``name`` with ``context``; every page gets the branding, a CSRF token
    for its forms and a nonce for its (few, small) inline scripts. ``language``: the
    reader's, when the page is about one; else :func:`page_language`. ``frames``
    lets the page frame this site's own URLs (the email preview)."""
    frames = bool(context.pop("frames", False))
    settings = settings_of(request)
    token, new_cookie = csrf.issue(request, secret_key(settings))
    nonce = secrets.token_urlsafe(16)
    if name.startswith("admin_") or name in CONSOLE_PAGES:
        language = "en"  # the console speaks English; readers' pages their language
        # Times for the signed-in admin: in their zone, relative and absolute.
        zone = getattr(context.get("caller"), "timezone", "UTC")
        context.setdefault("moment", partial(moment_html, zone=zone))
        context.setdefault("console_zone", zone)
        context.setdefault("request_path", request.url.path)
        context.setdefault("crumbs", breadcrumbs(request.url.path))
    html = (
        environment(language or page_language(request))
        .get_template(name)
        .render(brand=settings.brand, csrf_token=token, nonce=nonce, **context)
    )
    response = HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Vary": "Accept-Language",
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
