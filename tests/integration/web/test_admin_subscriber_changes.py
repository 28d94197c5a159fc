"""An operator edits a subscriber's choices, suppresses them, or deletes them with
their data, from the subscriber's page; editors cannot."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Consent, Subscriber, Suppression
from digest.domain.consent import address_hash
from tests.integration.web.helpers import browser, csrf_of, subscribe
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def setup(world, mail_settings, db_url):  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    subscribe(browser(mail_settings), "ana@example.org", {"tech": "daily"})
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber)).one()
        sub.status, sub.confirmed_at = "active", T0
        sub_id = sub.id
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    return client, sub_id


def change(client, sub_id: int, **data: object):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/sign-in").text)
    return client.post(
        f"/admin/subscribers/{sub_id}", data={"csrf_token": token, **data}, follow_redirects=False
    )


def test_an_operator_changes_topics_hour_and_zone(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client, sub_id = setup(world, mail_settings, db_url)
    saved = change(
        client,
        sub_id,
        action="save",
        topics=["tech", "world"],
        **{"frequency-world": "weekly"},
        hour="18",
        timezone="Asia/Tokyo",
        weekday="fri",
    )
    assert saved.status_code == 303
    assert "Saved" in client.get(saved.headers["location"]).text
    with unit_of_work(db_url) as s:
        sub = s.get(Subscriber, sub_id)
        assert sub is not None
        assert (sub.hour, sub.timezone, sub.weekday) == (18, "Asia/Tokyo", 4)
        assert sorted((x.topic.slug, x.frequency) for x in sub.subscriptions) == [
            ("tech", "daily"),
            ("world", "weekly"),
        ]

    refused = change(client, sub_id, action="save", topics=[], hour="25", timezone="Nowhere/City")
    assert refused.status_code == 422
    assert 'id="error"' in refused.text and "hour" in refused.text
    with unit_of_work(db_url) as s:
        assert s.get(Subscriber, sub_id).hour == 18  # type: ignore[union-attr]


def test_suppressing_unsubscribes_and_lists_the_address(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client, sub_id = setup(world, mail_settings, db_url)
    done = change(client, sub_id, action="suppress", detail="asked by phone")
    assert done.status_code == 303
    with unit_of_work(db_url) as s:
        assert s.get(Subscriber, sub_id).status == "unsubscribed"  # type: ignore[union-attr]
        entry = s.scalars(select(Suppression)).one()
        assert (entry.email, entry.reason, entry.detail) == (
            "ana@example.org",
            "operator",
            "asked by phone",
        )
    assert "ana@example.org" in client.get("/admin/suppressions").text


def test_deleting_needs_the_box_ticked_then_leaves_only_a_hash(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    client, sub_id = setup(world, mail_settings, db_url)
    unticked = change(client, sub_id, action="delete")
    assert unticked.status_code == 422
    with unit_of_work(db_url) as s:
        assert s.get(Subscriber, sub_id) is not None

    deleted = change(client, sub_id, action="delete", confirm_delete="yes")
    assert deleted.status_code == 200 and "ana@example.org" in deleted.text
    with unit_of_work(db_url) as s:
        assert s.get(Subscriber, sub_id) is None
        assert s.query(Consent).count() == 0
        entry = s.scalars(select(Suppression)).one()
        assert entry.email is None and entry.email_hash == address_hash("ana@example.org")
    assert client.get(f"/admin/subscribers/{sub_id}").status_code == 404


def test_editors_and_forms_without_a_token_change_nothing(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client, sub_id = setup(world, mail_settings, db_url)
    admin(db_url, "ed@example.org", "editor")
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    page = editor.get(f"/admin/subscribers/{sub_id}")
    assert page.status_code == 403 and 'id="delete-form"' not in page.text
    token = csrf_of(editor.get("/admin/sign-in").text)
    for action in ("save", "suppress", "delete"):
        refused = editor.post(
            f"/admin/subscribers/{sub_id}",
            data={
                "csrf_token": token,
                "action": action,
                "confirm_delete": "yes",
                "topics": "world",
            },
            follow_redirects=False,
        )
        assert refused.status_code == 403, action
    no_token = client.post(
        f"/admin/subscribers/{sub_id}",
        data={"action": "delete", "confirm_delete": "yes"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    with unit_of_work(db_url) as s:
        sub = s.get(Subscriber, sub_id)
        assert sub is not None and sub.status == "active"
        assert [x.topic.slug for x in sub.subscriptions] == ["tech"]
        assert s.query(Suppression).count() == 0


def test_ids_no_row_can_have_are_not_found_rather_than_errors(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    client, _ = setup(world, mail_settings, db_url)
    huge = str(2**40)  # beyond a 32-bit id column: PostgreSQL would refuse the lookup
    assert client.get(f"/admin/subscribers/{huge}").status_code == 404
    assert client.get(f"/admin/subscribers?after={huge}").status_code == 200
    assert client.get(f"/admin/deliveries?before={huge}").status_code == 200
    assert client.get(f"/admin/suppressions?after={huge}").status_code == 200
    assert change(client, int(huge), action="suppress").status_code == 404
    # A NUL byte is refused by name rather than sent to the database (PostgreSQL
    # rejects it in any text parameter).
    refused = client.get("/admin/subscribers?q=a%00b")
    assert refused.status_code == 422 and "fragment" in refused.text
    assert client.get("/admin/subscribers?topic=%00").status_code == 200  # no such topic
