"""``/admin/accounts``: an operator disables and enables admins (a disabled admin's
sessions end at once) and creates and revokes API keys (a revoked key stops at once);
editors see none of it."""

from __future__ import annotations

import re

from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, api_key, sign_in


def _post(client, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/accounts").text)
    return client.post(
        "/admin/accounts", data={"csrf_token": token, **data}, follow_redirects=False
    )


def test_an_operator_disables_and_enables_an_admin(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    admin(db_url, "ed@example.org", "editor")
    ops, ed = browser(mail_settings), browser(mail_settings)
    sign_in(ops, "ops@example.org")
    assert sign_in(ed, "ed@example.org").status_code == 303
    assert ed.get("/admin", follow_redirects=False).status_code == 200

    page = ops.get("/admin/accounts")
    assert page.status_code == 200 and "ed@example.org" in page.text
    assert 'aria-label="Disable ed@example.org"' in page.text
    assert 'aria-label="Disable ops@example.org"' not in page.text  # not oneself

    done = _post(ops, action="disable", email="ed@example.org")
    assert done.status_code == 303 and done.headers["location"] == "/admin/accounts?notice=disabled"
    # The editor's open session has ended, and signing in again is refused.
    assert ed.get("/admin", follow_redirects=False).status_code == 303
    assert sign_in(ed, "ed@example.org").status_code == 401
    assert 'aria-label="Enable ed@example.org"' in ops.get("/admin/accounts").text

    assert _post(ops, action="enable", email="ed@example.org").status_code == 303
    assert sign_in(ed, "ed@example.org").status_code == 303

    # Not oneself (which could leave nobody to undo it), and not someone unknown.
    for spelling in ("OPS@example.org", "ops@ｅxample.org"):  # the second: a full-width e
        itself = _post(ops, action="disable", email=spelling)
        assert itself.status_code == 422 and "cannot disable your own account" in itself.text
    unknown = _post(ops, action="disable", email="nobody@example.org")
    assert unknown.status_code == 422 and "no admin with the address" in unknown.text
    assert ops.get("/admin", follow_redirects=False).status_code == 200


def test_an_operator_creates_and_revokes_api_keys(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    sign_in(ops, "ops@example.org")
    old_key = api_key(db_url, "operator")  # named "operator script"
    as_old = {"Authorization": f"Bearer {old_key}"}
    assert ops.get("/api/stats", headers=as_old).status_code == 200

    made = _post(ops, action="create_key", name="newsroom CMS", role="editor")
    assert made.status_code == 200
    new_key = re.search(r'<code id="new-key-value">([^<]+)</code>', made.text).group(1)  # type: ignore[union-attr]
    assert ops.get("/api/topics", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    listing = ops.get("/admin/accounts").text
    assert "newsroom CMS" in listing and new_key not in listing  # shown once only

    revoked = _post(ops, action="revoke", name="operator script")
    assert revoked.status_code == 303
    assert ops.get("/api/stats", headers=as_old).status_code == 401
    assert "revoked" in ops.get("/admin/accounts").text
    missing = _post(ops, action="revoke", name="no such key")
    assert missing.status_code == 422 and "no API key named" in missing.text
    for action in ("create_key", "revoke"):  # never a 500 (PostgreSQL stores no NUL)
        bad = _post(ops, action=action, name="cms\x00key", role="editor")
        assert bad.status_code == 422 and "name must not contain control characters" in bad.text


def test_editors_cannot_see_or_change_accounts(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    admin(db_url, "ed@example.org", "editor")
    ed = browser(mail_settings)
    sign_in(ed, "ed@example.org")
    page = ed.get("/admin/accounts")
    assert page.status_code == 403 and "ops@example.org" not in page.text
    token = csrf_of(ed.get("/admin").text)
    tried = ed.post(
        "/admin/accounts",
        data={"csrf_token": token, "action": "disable", "email": "ops@example.org"},
    )
    assert tried.status_code == 403
    ops = browser(mail_settings)
    assert sign_in(ops, "ops@example.org").status_code == 303
