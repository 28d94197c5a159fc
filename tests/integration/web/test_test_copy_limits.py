"""Test copies are not a way to mail anyone at will: never to a suppressed address,
and a limited number per editor per hour."""

from __future__ import annotations

from datetime import UTC, datetime

from digest.db.engine import unit_of_work
from digest.services import limits
from digest.services.editorial import copies
from digest.services.readers.suppressing import suppress
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in
from tests.integration.web.test_admin_preview import AT, T0, editor_client, reader


def test_no_test_copy_goes_to_a_suppressed_address(
    world, mail_settings, db_url, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    sub = reader(world)
    with unit_of_work(db_url) as s:
        suppress(s, "gone@example.org", "complaint", "marked as spam", T0)
    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    form = {"csrf_token": csrf_of(page.text), "subscriber": str(sub), "at": "2026-06-02T07:00"}
    for spelling in ("gone@example.org", "Gone@EXAMPLE.org"):
        refused = client.post("/admin/preview/test", data={**form, "to": spelling})
        assert refused.status_code == 422, spelling
        assert "gone@example.org is on the suppression list" in refused.text
    # Refusals count against the editor's hourly limit too, so the page cannot be used
    # to test a list of addresses against the suppression list.
    with unit_of_work(db_url) as s:
        key = limits.limit_key("test-copy", "ed@example.org")
        assert limits.recent(s, key, datetime.now(UTC), copies.TEST_COPY_WINDOW) == 2
    sent = client.post("/admin/preview/test", data={**form, "to": "desk@example.org"})
    assert sent.status_code == 200
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["desk@example.org"]]


def test_each_editor_may_send_a_limited_number_of_test_copies(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server, monkeypatch
) -> None:
    monkeypatch.setattr(copies, "TEST_COPIES", 3)
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    form = {"csrf_token": csrf_of(page.text), "subscriber": str(sub), "at": "2026-06-02T07:00"}
    for i in range(3):
        assert (
            client.post(
                "/admin/preview/test", data={**form, "to": f"x{i}@elsewhere.example"}
            ).status_code
            == 200
        )
    over = client.post("/admin/preview/test", data={**form, "to": "x9@elsewhere.example"})
    assert over.status_code == 422 and "3 test copies in the last hour" in over.text
    assert len(smtp_server.wait_for(3)) == 3
    assert all(m.rcpt_tos != ["x9@elsewhere.example"] for m in smtp_server.received)

    # Another editor has their own count.
    admin(db_url, "second@example.org", "editor")
    other = browser(mail_settings)
    sign_in(other, "second@example.org")
    token = csrf_of(other.get("/admin/preview", params={"subscriber": sub, "at": AT}).text)
    again = other.post("/admin/preview/test", data={**form, "csrf_token": token})
    assert again.status_code == 200 and "Test copy sent to second@example.org." in again.text
    assert smtp_server.wait_for(4)[3].rcpt_tos == ["second@example.org"]
