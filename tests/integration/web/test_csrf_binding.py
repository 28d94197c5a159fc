"""A form token is good only with the session it was issued in, and on an https site
the cookies carry the __Host- prefix, so none can be planted from a neighbouring host."""

from __future__ import annotations

from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, paused, sign_in


def test_a_token_from_a_page_without_a_session_cannot_post_a_console_form(
    mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    assert sign_in(ops, "ops@example.org").status_code == 303

    # A pair anyone can get: the cookie and token of the public subscribe form.
    stranger = browser(mail_settings)
    form = stranger.get("/subscribe")
    [cookie_name] = [name for name in stranger.cookies if name.endswith("digest_csrf")]
    anonymous_cookie, anonymous_token = stranger.cookies[cookie_name], csrf_of(form.text)

    ops.cookies.set(cookie_name, anonymous_cookie)
    forged = ops.post(
        "/admin/sending",
        data={"csrf_token": anonymous_token, "action": "pause"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and not paused(db_url)

    # The same cookie with the token of a page of this session is accepted.
    own = csrf_of(ops.get("/admin").text)
    done = ops.post(
        "/admin/sending", data={"csrf_token": own, "action": "pause"}, follow_redirects=False
    )
    assert done.status_code == 303 and paused(db_url)


def test_a_token_issued_in_one_session_is_refused_in_the_next(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    sign_in(ops, "ops@example.org")
    old_token = csrf_of(ops.get("/admin").text)
    sign_in(ops, "ops@example.org")  # a new session, the same CSRF cookie
    tried = ops.post(
        "/admin/sending", data={"csrf_token": old_token, "action": "pause"}, follow_redirects=False
    )
    assert tried.status_code == 403 and not paused(db_url)


def test_an_https_site_reads_only_host_prefixed_cookies(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    assert mail_settings.base_url.startswith("https://")
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    done = sign_in(ops, "ops@example.org")
    names = [c.split("=", 1)[0] for c in done.headers.get_list("set-cookie")]
    assert names == ["__Host-digest_admin"]
    session = ops.cookies["__Host-digest_admin"]
    assert ops.get("/admin", follow_redirects=False).status_code == 200

    # The same value under the bare name, as a sibling host or a plain-HTTP response
    # could set it, does not sign anyone in.
    planted = browser(mail_settings)
    planted.cookies.set("digest_admin", session)
    answer = planted.get("/admin", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/sign-in"
