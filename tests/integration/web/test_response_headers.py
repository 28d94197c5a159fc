"""What responses tell browsers and caches: nothing private is stored, an https site
asks for https only, and the health check names no server detail."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from digest.web.app import create_app
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, api_key, sign_in


def test_api_answers_and_exports_are_not_stored(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    key = {"Authorization": f"Bearer {api_key(db_url, 'operator')}"}
    for path in ("/api/subscribers", "/api/stats", "/api/deliveries", "/api/openapi.json"):
        answer = client.get(path, headers=key)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
    refused = client.get("/api/subscribers")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"

    sign_in(client, "ops@example.org")
    export = client.get("/admin/export/subscribers.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["cache-control"] == "no-store"
    # The site's own CSS may be cached.
    static = client.get("/static/admin.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_https_sites_send_hsts_and_plain_ones_do_not(mail_settings) -> None:  # type: ignore[no-untyped-def]
    assert mail_settings.base_url.startswith("https://")
    secure = browser(mail_settings).get("/subscribe")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" in browser(mail_settings).get("/api/stats").headers

    plain = dataclasses.replace(mail_settings, base_url="http://127.0.0.1:8000")
    assert "strict-transport-security" not in browser(plain).get("/subscribe").headers


def test_health_check_with_the_database_down_names_no_host_port_or_database(
    mail_settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    unreachable = {
        "postgresql+psycopg://digest:hunter2@127.0.0.1:1/private_news_db": (
            "127.0.0.1",
            ":1",
            "private_news_db",
            "hunter2",
            "psycopg",
        ),
        f"sqlite:///{blocker}/news.db": (str(tmp_path), "news.db", "sqlite"),
    }
    for url, secrets in unreachable.items():
        app = create_app(dataclasses.replace(mail_settings, database_url=url))
        answer = TestClient(app).get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "error", "database": "unreachable"}
        for detail in secrets:
            assert detail not in answer.text, (url, detail)


def test_an_unexpected_error_is_answered_with_the_same_headers(mail_settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(mail_settings)

    def broken() -> None:
        raise RuntimeError("something the app did not expect")

    app.add_api_route("/broken", broken)
    answer = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert answer.status_code == 500 and answer.text == "Internal Server Error"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    assert "something the app did not expect" not in answer.text
