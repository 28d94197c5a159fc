"""Sign-in, roles, CSRF and API keys in front of /admin and /api, and the pause
switch they guard (honoured by the planner and the sender)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import AdminUser, ApiKey
from digest.mail.sender import SMTPSender
from digest.services.console.admins import create_admin, create_api_key
from digest.services.sending import pipeline
from digest.services.sending.controls import sending_paused
from tests.conftest import Cli, process_env
from tests.integration.web.helpers import browser, csrf_of

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def admin(db_url: str, email: str, role: str) -> None:
    with unit_of_work(db_url) as s:
        create_admin(s, email, PASSWORD, role, T0)


def api_key(db_url: str, role: str) -> str:
    with unit_of_work(db_url) as s:
        return create_api_key(s, f"{role} script", role, T0)


def sign_in(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    form = client.get("/admin/sign-in")
    return client.post(
        "/admin/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": email, "password": password},
        follow_redirects=False,
    )


def paused(db_url: str) -> bool:
    with unit_of_work(db_url) as s:
        return sending_paused(s)


def test_anonymous_requests_are_refused(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client = browser(mail_settings)
    page = client.get("/admin", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/sign-in"
    assert client.get("/api/stats").status_code == 401
    assert client.put("/api/sending", json={"paused": True}).status_code == 401
    bad_key = client.get("/api/stats", headers={"Authorization": "Bearer dgk_nope"})
    assert bad_key.status_code == 401
    form = client.get("/admin/sign-in")
    posted = client.post(
        "/admin/sending",
        data={"csrf_token": csrf_of(form.text), "action": "pause"},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and not paused(db_url)


def test_sign_in_sets_a_guarded_cookie_and_wrong_passwords_are_refused(
    mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    wrong = sign_in(client, "ops@example.org", "not the password")
    assert wrong.status_code == 401 and "Wrong address or password" in wrong.text
    unknown = sign_in(client, "nobody@example.org")
    # An unknown address and a wrong password look the same.
    assert unknown.status_code == 401

    # The same page but for the address typed (and the per-answer script nonce).
    def same(text: str) -> str:
        return re.sub(r'nonce="[^"]+"', "nonce", text)

    assert same(unknown.text.replace("nobody@", "X@")) == same(wrong.text.replace("ops@", "X@"))
    done = sign_in(client, "OPS@example.org")
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    dashboard = client.get("/admin")
    assert (
        dashboard.status_code == 200 and "Signed in as ops@example.org (operator)" in dashboard.text
    )
    with unit_of_work(db_url) as s:
        stored = s.scalars(select(AdminUser)).one()
        assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("$argon2")

    # A new password ends the sessions made with the old one.
    with unit_of_work(db_url) as s:
        create_admin(s, "ops@example.org", "an entirely new secret", "operator", T0)
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_sign_in_is_rate_limited(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    for _ in range(5):
        assert sign_in(client, "ops@example.org", "guess guess guess").status_code == 401
    refused = sign_in(client, "ops@example.org")  # even the right password, for now
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_editors_read_but_cannot_change_and_forms_need_the_csrf_token(
    mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "editor@example.org", "editor")
    admin(db_url, "ops@example.org", "operator")
    editor = browser(mail_settings)
    sign_in(editor, "editor@example.org")
    page = editor.get("/admin")
    assert page.status_code == 200 and 'id="toggle-sending"' not in page.text
    tried = editor.post(
        "/admin/sending", data={"csrf_token": csrf_of(page.text), "action": "pause"}
    )
    assert tried.status_code == 403 and not paused(db_url)

    editor_key, operator_key = api_key(db_url, "editor"), api_key(db_url, "operator")
    as_editor = {"Authorization": f"Bearer {editor_key}"}
    assert editor.get("/api/stats", headers=as_editor).status_code == 200
    assert editor.put("/api/sending", json={"paused": True}, headers=as_editor).status_code == 403
    assert not paused(db_url)
    with unit_of_work(db_url) as s:
        hashes = [k.key_hash for k in s.scalars(select(ApiKey))]
    assert editor_key not in hashes and operator_key not in hashes and len(hashes) == 2

    operator = browser(mail_settings)
    sign_in(operator, "ops@example.org")
    no_token = operator.post("/admin/sending", data={"action": "pause"})
    assert no_token.status_code == 403 and not paused(db_url)
    as_operator = {"Authorization": f"Bearer {operator_key}"}
    assert operator.put("/api/sending", json={"paused": True}, headers=as_operator).json() == {
        "paused": True
    }
    assert paused(db_url)


def test_pausing_all_sending_stops_planner_and_sender_until_resumed(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    world.topics("tech")
    world.subscriber("reader@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    page = client.get("/admin")
    client.post("/admin/sending", data={"csrf_token": csrf_of(page.text), "action": "pause"})
    assert "Sending is paused" in client.get("/admin").text

    sender = SMTPSender.from_url(mail_settings.smtp_url)
    report = pipeline.run(db_url, mail_settings, sender, lambda: SLOT1)
    assert (report.planned, report.sent) == (0, 0) and smtp_server.received == []

    page = client.get("/admin")
    client.post("/admin/sending", data={"csrf_token": csrf_of(page.text), "action": "resume"})
    later = SLOT1 + timedelta(minutes=30)  # the missed slot is caught up once
    assert pipeline.run(db_url, mail_settings, sender, lambda: later).sent == 1


def test_admins_and_keys_from_the_command_line(db_url, tmp_path, mail_settings) -> None:  # type: ignore[no-untyped-def]
    cli = Cli(
        process_env(
            DIGEST_DATABASE_URL=db_url,
            DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        ),
        tmp_path,
    )
    out = cli(
        "admin",
        "create",
        "ed@example.org",
        "--role",
        "editor",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert "ed@example.org is an editor" in out
    short = cli(
        "admin",
        "create",
        "x@example.org",
        "--role",
        "editor",
        "--password-stdin",
        input="short\n",
        ok=False,
    )
    assert "at least 12 characters" in short
    key = cli("admin", "api-key", "reporting", "--role", "editor").strip()
    assert key.startswith("dgk_")
    client = browser(mail_settings)
    assert client.get("/api/stats", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert sign_in(client, "ed@example.org").status_code == 303


def test_another_spelling_of_a_locked_address_gets_no_fresh_guesses(  # type: ignore[no-untyped-def]
    mail_settings, db_url
) -> None:
    admin(db_url, "ed@example.org", "editor")
    client = browser(mail_settings)
    for _ in range(5):
        assert sign_in(client, "ed@example.org", "guess guess guess").status_code == 401
    # Full-width letters, capitals and spaces name the same admin to sign-in, so they
    # share its count.
    for spelling in ("ed@ｅｘａｍｐｌｅ.org", " ED@Example.ORG ", "Ed@EXAMPLE.org"):
        assert sign_in(client, spelling, "guess guess guess").status_code == 429, spelling


def test_signing_in_often_never_locks_an_admin_out(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    for _ in range(8):
        assert sign_in(client, "ops@example.org").status_code == 303
        client.cookies.clear()
    # Four failures after all that still leave the admin one more try.
    for _ in range(4):
        assert sign_in(client, "ops@example.org", "guess guess guess").status_code == 401
    assert sign_in(client, "ops@example.org").status_code == 303


def test_signing_out_ends_the_session_on_the_server(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    assert sign_in(client, "ops@example.org").status_code == 303
    kept = dict(client.cookies)  # a copy of the session cookie, taken before signing out
    page = client.get("/admin")
    assert page.status_code == 200
    client.post("/admin/sign-out", data={"csrf_token": csrf_of(page.text)})

    stolen = browser(mail_settings)
    stolen.cookies.update(kept)
    answer = stolen.get("/admin", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/sign-in"


def test_admins_disabled_and_keys_revoked_from_the_command_line(  # type: ignore[no-untyped-def]
    db_url, tmp_path, mail_settings
) -> None:
    admin(db_url, "ed@example.org", "editor")
    cli = Cli(
        process_env(
            DIGEST_DATABASE_URL=db_url,
            DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        ),
        tmp_path,
    )
    key = cli("admin", "api-key", "reporting", "--role", "editor").strip()
    client = browser(mail_settings)
    assert sign_in(client, "ed@example.org").status_code == 303
    assert client.get("/admin").status_code == 200
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/stats", headers=bearer).status_code == 200

    assert "ed@example.org is disabled" in cli("admin", "disable", "ED@example.org")
    # The session in progress ends at once, and signing in again is refused.
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert sign_in(client, "ed@example.org").status_code == 401
    listed = cli("admin", "list")
    assert "ed@example.org" in listed and "editor" in listed and "disabled" in listed
    assert "ed@example.org is enabled" in cli("admin", "enable", "ed@example.org")
    assert sign_in(client, "ed@example.org").status_code == 303

    assert "revoked 1 key(s) named reporting" in cli("admin", "api-key", "revoke", "reporting")
    assert client.get("/api/stats", headers=bearer).status_code == 401
    keys = cli("admin", "api-key", "list")
    assert "reporting" in keys and key[:12] in keys and "revoked" in keys
    assert "no API key named 'nothing'" in cli("admin", "api-key", "revoke", "nothing", ok=False)
    assert "no admin with the address" in cli("admin", "disable", "no@example.org", ok=False)
