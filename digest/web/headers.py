"""Headers every response carries unless it chose its own: nothing is stored by a
browser or a shared cache but the static files, and an https site tells browsers to
come back over https only (HSTS)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE = ("/static/",)
HSTS = "max-age=31536000"


class DefaultHeaders:
    """``Cache-Control: no-store`` on every answer outside /static that does not set
    its own (API JSON, CSV exports, errors), and Strict-Transport-Security when the
    site's base URL is https."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope["path"]).startswith(CACHEABLE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not cacheable and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.https and "strict-transport-security" not in headers:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)
