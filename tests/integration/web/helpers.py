"""Driving the public pages as a browser would, over the ASGI app."""

from __future__ import annotations

import re
from email.message import EmailMessage

from fastapi.testclient import TestClient

from digest.config import Settings
from digest.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(settings: Settings) -> TestClient:
    """A client on the same scheme as the base URL, so Secure cookies come back."""
    scheme = settings.base_url.split(":", 1)[0]
    return TestClient(create_app(settings), base_url=f"{scheme}://testserver")


def path_of(settings: Settings, url: str) -> str:
    assert url.startswith(settings.base_url), url
    return url[len(settings.base_url) :]


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def subscribe(
    client: TestClient,
    email: str,
    topics: dict[str, str],
    *,
    hour: int = 7,
    timezone: str = "UTC",
    weekday: str = "mon",
    **extra: str,
):  # type: ignore[no-untyped-def]
    form = client.get("/subscribe")
    assert form.status_code == 200
    data: dict[str, object] = {
        "csrf_token": csrf_of(form.text),
        "email": email,
        "topics": list(topics),
        "hour": str(hour),
        "timezone": timezone,
        "weekday": weekday,
        "source": "https://news.example.org/newsletters?from=footer",
        **{f"frequency-{slug}": freq for slug, freq in topics.items()},
        **extra,
    }
    return client.post("/subscribe", data=data, headers={"User-Agent": "ReaderBrowser/1.0"})


def confirm_link(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"(\S+/confirm/\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


def links_in(message: EmailMessage) -> dict[str, str]:
    """The preferences and unsubscribe links of a digest (from its text part)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    return {
        kind: re.search(rf"(\S+/{kind}/\S+)", text).group(1)  # type: ignore[union-attr]
        for kind in ("preferences", "unsubscribe")
    }
