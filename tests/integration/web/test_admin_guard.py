"""Every state-changing console route, found by walking the app's routes: refused
to anonymous callers, to editors (except the editorial ones: pinning and holding
articles, and a preview's test copy), and to operators whose form lacks its CSRF
token, with nothing stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.routing import APIRoute
from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Base
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from digest.web.app import create_app
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
OPEN = {"/admin/sign-in", "/admin/sign-out"}  # reachable before signing in, by design
# Editors' own work; the form below names no article action and no preview, so even
# an editor's valid request changes nothing and sends nothing.
# Editorial forms, and an admin's own settings: open to editors too.
EDITORIAL = {"/admin/articles/1", "/admin/preview/test", "/admin/me"}


def routes_of(routes):  # type: ignore[no-untyped-def]
    """Every route, looking inside included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from routes_of(inner.routes)
        else:
            yield route


def changing_routes(settings) -> list[str]:  # type: ignore[no-untyped-def]
    paths = []
    for route in routes_of(create_app(settings).routes):
        if not isinstance(route, APIRoute) or not route.path.startswith("/admin"):
            continue
        if route.methods - {"GET", "HEAD"} and route.path not in OPEN:
            paths.append(re.sub(r"\{slug\}", "tech", re.sub(r"\{\w+_id\}", "1", route.path)))
    return paths


def counts(db_url: str) -> dict[str, int]:
    with unit_of_work(db_url) as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name not in ("rate_events",)
        }


def test_every_changing_console_route_needs_an_operator_and_a_token(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    smtp_server.handler.rcpt_replies["ana@example.org"] = "554 5.7.1 refused by policy"
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 1
    smtp_server.handler.rcpt_replies.clear()
    admin(db_url, "ed@example.org", "editor")
    admin(db_url, "ops@example.org", "operator")
    paths = changing_routes(mail_settings)
    assert len(paths) >= 13, paths  # the walk found the console's forms
    before = counts(db_url)

    anonymous = browser(mail_settings)
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    operator = browser(mail_settings)
    sign_in(operator, "ops@example.org")
    form = {
        "action": "delete",
        "confirm_delete": "yes",
        "slug": "new",
        "name": "X",
        "email": "x@example.org",
        "url": "https://feeds.example.org/rss",
        "topics": "tech",
        "ids": "1",
    }
    for path in paths:
        answer = anonymous.post(path, data=form, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/admin/sign-in", path
        token = csrf_of(editor.get("/admin/sign-in").text)
        by_editor = editor.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
        if path in EDITORIAL:
            assert by_editor.status_code == 422, path
            assert editor.post(path, data=form, follow_redirects=False).status_code == 403, path
        else:
            assert by_editor.status_code == 403, path
        assert operator.post(path, data=form, follow_redirects=False).status_code == 403, path

    assert counts(db_url) == before
    assert smtp_server.received == []
