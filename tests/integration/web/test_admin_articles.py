"""``/admin/articles``: editors and operators pin an article until a moment, unpin,
hold and release it from the page, without JavaScript; anonymous callers, forms
without their CSRF token and bad times are refused with nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from digest.db.engine import unit_of_work
from digest.db.models import Article
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = "%Y-%m-%dT%H:%M"


def signed_in_as(mail_settings, db_url, email: str, role: str):  # type: ignore[no-untyped-def]
    admin(db_url, email, role)
    client = browser(mail_settings)
    assert sign_in(client, email).status_code == 303
    return client


def post(client, path: str, data: dict[str, str], token: bool = True):  # type: ignore[no-untyped-def]
    form = {"csrf_token": csrf_of(client.get("/admin/sign-in").text)} if token else {}
    return client.post(path, data={**form, **data}, follow_redirects=False)


def state(db_url: str, article_id: int) -> tuple[datetime | None, bool, str | None]:
    with unit_of_work(db_url) as s:
        a = s.get(Article, article_id)
        assert a is not None
        return a.pinned_until, a.held, a.edited_by


def error_of(html: str) -> str:
    found = re.search(r'id="error">([^<]+)<', html)
    assert found, "the page shows no error"
    return found.group(1)


def test_an_editor_pins_unpins_holds_and_releases_from_the_page(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    story = world.article("story", T0, ["tech"])
    other = world.article("other", T0 + timedelta(hours=1), ["world"])
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    listing = client.get("/admin/articles")
    assert listing.status_code == 200
    assert '<a href="/admin/articles" aria-current="page">Articles</a>' in listing.text
    assert f'id="article-{story}"' in listing.text and f'id="article-{other}"' in listing.text
    assert 'type="datetime-local" name="pinned_until"' in listing.text
    assert "Pinned until (UTC)" in listing.text

    until = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    pinned = post(
        client,
        f"/admin/articles/{story}",
        {"action": "pin", "pinned_until": until.strftime(MINUTE)},
    )
    assert pinned.status_code == 303
    assert pinned.headers["location"] == f"/admin/articles#article-{story}"
    assert state(db_url, story) == (until, False, "ed@example.org")
    row = client.get("/admin/articles").text.split(f'id="article-{story}"')[1].split("</tr>")[0]
    pinned_badge = '<span class="state-badge pinned">Pinned</span> until '
    assert f'{pinned_badge}<time datetime="{until:%Y-%m-%dT%H:%M:%S}Z"' in row
    assert "by ed@example.org" in row and "Change pin" in row and "Unpin" in row

    # The forms keep the list's filters, and come back to them.
    held = post(client, f"/admin/articles/{other}?topic=world&q=story", {"action": "hold"})
    assert held.headers["location"] == f"/admin/articles?topic=world&q=story#article-{other}"
    assert state(db_url, other) == (None, True, "ed@example.org")
    only_held = client.get("/admin/articles?state=held").text
    assert f'id="article-{other}"' in only_held and f'id="article-{story}"' not in only_held
    only_pinned = client.get("/admin/articles?state=pinned").text
    assert f'id="article-{story}"' in only_pinned and f'id="article-{other}"' not in only_pinned
    assert '<span class="state-badge held">Held</span>' in only_held and "Release" in only_held

    assert post(client, f"/admin/articles/{other}", {"action": "release"}).status_code == 303
    assert post(client, f"/admin/articles/{story}", {"action": "unpin"}).status_code == 303
    assert state(db_url, story)[:2] == (None, False) and state(db_url, other)[:2] == (None, False)
    assert "No article matches." in client.get("/admin/articles?state=held").text

    # Operators may do the same.
    ops = signed_in_as(mail_settings, db_url, "ops@example.org", "operator")
    assert post(ops, f"/admin/articles/{story}", {"action": "hold"}).status_code == 303
    assert state(db_url, story) == (None, True, "ops@example.org")


def test_bad_times_and_actions_show_the_page_again_and_change_nothing(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime(MINUTE)
    for value, words in (
        (past, "later than now"),
        ("next tuesday", "not a date and time"),
        ("", "is empty"),
    ):
        refused = post(client, f"/admin/articles/{story}", {"action": "pin", "pinned_until": value})
        assert refused.status_code == 422, value
        assert error_of(refused.text).startswith("pinned_until: ") and words in refused.text
        row = refused.text.split(f'id="article-{story}"')[1].split("</tr>")[0]
        assert 'aria-invalid="true"' in row and f'value="{value}"' in row
    unknown = post(client, f"/admin/articles/{story}", {"action": "delete"})
    assert unknown.status_code == 422 and error_of(unknown.text).startswith("action: ")
    missing = post(client, f"/admin/articles/{story + 1}", {"action": "hold"})
    assert missing.status_code == 404 and f"there is no article {story + 1}" in missing.text
    huge = post(client, "/admin/articles/99999999999999999999", {"action": "hold"})
    assert huge.status_code == 404
    assert state(db_url, story) == (None, False, None)


def test_anonymous_callers_and_forms_without_their_token_are_refused(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    anonymous = browser(mail_settings)
    page = anonymous.get("/admin/articles", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/sign-in"
    tried = post(anonymous, f"/admin/articles/{story}", {"action": "hold"})
    assert tried.status_code == 303 and tried.headers["location"] == "/admin/sign-in"

    editor = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    forged = post(editor, f"/admin/articles/{story}", {"action": "hold"}, token=False)
    assert forged.status_code == 403 and "This form has expired" in forged.text
    wrong = post(
        editor, f"/admin/articles/{story}", {"action": "hold", "csrf_token": "x" * 43}, token=False
    )
    assert wrong.status_code == 403
    assert state(db_url, story) == (None, False, None)


def test_the_list_pages_through_every_article_by_keyset(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    ids = [world.article(f"a{i}", T0 + timedelta(minutes=i), ["tech"]) for i in range(53)]
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    seen: list[int] = []
    url: str | None = "/admin/articles?topic=tech"
    while url:
        html = client.get(url).text
        seen += [int(i) for i in re.findall(r'<tr id="article-(\d+)"', html)]
        more = re.search(r'id="next-page" href="\?([^"]+)"', html)
        url = "/admin/articles?" + more.group(1).replace("&amp;", "&") if more else None
    assert seen == sorted(ids, reverse=True)
