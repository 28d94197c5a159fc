"""Headers every response carries unless it chose its own, errors included: nothing
is stored by a browser or a shared cache but the static files, and an https site tells
browsers to come back over https only (HSTS)."""

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

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            # An error the app did not answer: the same 500 the server would send,
            # with these headers too; the error goes on up to be logged.
            if not started:
                await tracked(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await tracked({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
