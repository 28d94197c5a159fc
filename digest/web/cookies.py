"""The site's cookies: their names and flags follow the base URL.

When the base URL is https, every cookie is named with the ``__Host-`` prefix. A
browser accepts such a cookie only if it is Secure, set by this very host and scoped to
the whole path, so a neighbouring subdomain (or a network attacker on plain HTTP) cannot
plant one of its own for this site.
"""

from __future__ import annotations

from fastapi import Request, Response

ADMIN = "digest_admin"
CSRF = "digest_csrf"
HOST_PREFIX = "__Host-"


def _https_site(request: Request) -> bool:
    return str(request.app.state.settings.base_url).startswith("https://")


def secure(request: Request) -> bool:
    """Cookies only over HTTPS when the site is reached over HTTPS: its base URL says
    so, or this request came over it (directly, or through a trusted proxy)."""
    return request.url.scheme == "https" or _https_site(request)


def name(request: Request, base: str) -> str:
    return HOST_PREFIX + base if _https_site(request) else base


def read(request: Request, base: str) -> str | None:
    return request.cookies.get(name(request, base))


def put(request: Request, response: Response, base: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name(request, base),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def drop(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        name(request, base), path="/", httponly=True, samesite="lax", secure=secure(request)
    )
