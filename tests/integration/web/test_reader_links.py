"""A reader's links: the unsubscribe link opens nothing more than unsubscribing, a
reader can replace every link they were sent, and an erased reader's links are dead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.integration.web.helpers import (
    browser,
    confirm_link,
    csrf_of,
    links_in,
    path_of,
    subscribe,
)
from tests.integration.web.test_subscriber_pages import (
    confirmed_reader,
    next_slot,
    run_slot,
    subscriber,
)


def _first_digest_links(world, mail_settings, smtp_server, db_url) -> dict[str, str]:  # type: ignore[no-untyped-def]
    world.topics("tech")
    confirmed_reader(world, mail_settings, smtp_server)
    first = next_slot(db_url, "ana@example.org")
    world.article("t1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    found = links_in(smtp_server.received[-1].message)
    return {kind: path_of(mail_settings, url) for kind, url in found.items()}


def test_replacing_links_ends_every_link_sent_before(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    old = _first_digest_links(world, mail_settings, smtp_server, db_url)
    client = browser(mail_settings)
    page = client.get(old["preferences"])
    assert page.status_code == 200 and 'value="replace_links"' in page.text
    moved = client.post(
        old["preferences"],
        data={"csrf_token": csrf_of(page.text), "action": "replace_links"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    new_page = path_of(mail_settings, moved.headers["location"])
    assert new_page.endswith("?notice=links_replaced")
    assert not new_page.startswith(old["preferences"])
    shown = client.get(new_page)
    assert shown.status_code == 200 and "Your links are replaced" in shown.text

    # Every old link is dead: the page, the data download, the unsubscribe page and
    # its one-click POST (which changes nothing).
    stranger = browser(mail_settings)
    for path in (old["preferences"], old["preferences"] + "/data", old["unsubscribe"]):
        assert stranger.get(path).status_code == 404, path
    assert (
        stranger.post(old["unsubscribe"], data={"List-Unsubscribe": "One-Click"}).status_code == 404
    )
    assert subscriber(db_url, "ana@example.org").status == "active"  # type: ignore[union-attr]

    # The next digest carries the new links, and they work.
    first = next_slot(db_url, "ana@example.org")
    world.article("t2", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    new = {
        k: path_of(mail_settings, v) for k, v in links_in(smtp_server.received[-1].message).items()
    }
    assert new["preferences"] != old["preferences"] and new["unsubscribe"] != old["unsubscribe"]
    assert new_page.startswith(new["preferences"])
    assert stranger.get(new["preferences"]).status_code == 200
    assert stranger.get(new["unsubscribe"]).status_code == 200


def test_the_one_click_answer_reveals_nothing_and_undo_stays_as_small(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    links = _first_digest_links(world, mail_settings, smtp_server, db_url)
    mail_client = browser(mail_settings)  # no cookie, no token: a mail client's POST
    done = mail_client.post(links["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert "ana@example.org" not in done.text and "/preferences/" not in done.text
    # The undo button's form, as the page gives it (the site's base URL has a path).
    action = re.search(r'<form method="post" action="([^"]+)"', done.text)
    assert (
        action is not None
        and action.group(1) == mail_settings.base_url + links["unsubscribe"] + "/undo"
    )
    undone = mail_client.post(
        path_of(mail_settings, action.group(1)), data={"csrf_token": csrf_of(done.text)}
    )
    assert undone.status_code == 200 and "subscribed again" in undone.text
    assert "ana@example.org" not in undone.text and "/preferences/" not in undone.text
    assert subscriber(db_url, "ana@example.org").status == "active"  # type: ignore[union-attr]


def test_an_erased_readers_links_are_dead(world, mail_settings, smtp_server, db_url) -> None:  # type: ignore[no-untyped-def]
    links = _first_digest_links(world, mail_settings, smtp_server, db_url)
    client = browser(mail_settings)
    page = client.get(links["preferences"])
    gone = client.post(
        links["preferences"],
        data={"csrf_token": csrf_of(page.text), "action": "delete", "confirm_delete": "yes"},
    )
    assert gone.status_code == 200 and subscriber(db_url, "ana@example.org") is None
    # A reader added afterwards (who may get the same id) is not opened by them either.
    world.subscriber("bob@example.org", "tech", datetime.now(UTC))
    for path in (links["preferences"], links["preferences"] + "/data", links["unsubscribe"]):
        assert client.get(path).status_code == 404, path


def test_a_confirmation_link_opened_again_shows_no_preferences_link(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    assert subscribe(client, "ana@example.org", {"tech": "daily"}).status_code == 200
    confirm = path_of(mail_settings, confirm_link(smtp_server.received[-1].message))
    page = client.get(confirm)
    done = client.post(confirm, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "/preferences/" in done.text  # once, to who confirmed

    for opener in (client, browser(mail_settings)):  # the same browser, or anyone later
        again = opener.get(confirm)
        assert again.status_code == 200 and "already confirmed" in again.text
        assert "/preferences/" not in again.text and "ana@example.org" not in again.text
        posted = opener.post(confirm, data={"csrf_token": csrf_of(opener.get("/subscribe").text)})
        assert "/preferences/" not in posted.text and "ana@example.org" not in posted.text
