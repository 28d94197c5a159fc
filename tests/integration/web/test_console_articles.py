"""``/admin/articles`` as a compact list: filters that combine (topic, source, pinned,
held, the days published, the title) and survive paging, bad filter values named
rather than failing, each row's image, source and state, and pin and hold as two
labelled controls that name the article they act on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from digest.db.engine import unit_of_work
from digest.db.models import DigestArticle, Feed
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin
from tests.integration.web.test_admin_articles import post, signed_in_as, state
from tests.integration.web.test_console_times import sign_in_from

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ROW = re.compile(r'<tr id="article-(\d+)"')


def feed(db_url: str, url: str, title: str | None) -> int:
    with unit_of_work(db_url) as s:
        row = Feed(url=url, title=title)
        s.add(row)
        s.flush()
        return row.id


def shown(client, query: str) -> set[int]:  # type: ignore[no-untyped-def]
    page = client.get(f"/admin/articles?{query}")
    assert page.status_code == 200, (query, page.text[-2000:])
    return {int(i) for i in ROW.findall(page.text)}


def row_of(html: str, article_id: int) -> str:
    return html.split(f'id="article-{article_id}"')[1].split("</tr>")[0]


def newsroom(world, db_url: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Five articles from two feeds and from none, pinned, held, scheduled or sent."""
    world.topics("tech", "world")
    wire = feed(db_url, "https://wire.example.org/rss.xml", "Tech Wire")
    bare = feed(db_url, "https://feeds.example.org/world.xml", None)
    later = datetime.now(UTC) + timedelta(days=3)
    ids = {
        "wire": wire,
        "bare": bare,
        "pinned": world.article(
            "pinned",
            T0,
            ["tech"],
            feed_id=wire,
            pinned_until=later,
            image_url="https://img.example.org/pinned.jpg",
        ),
        "old": world.article("old", T0 - timedelta(days=3), ["tech"], feed_id=wire),
        "abroad": world.article("abroad", T0, ["world"], feed_id=bare, pinned_until=later),
        "held": world.article("held", T0 + timedelta(days=1), ["world"], held=True),
        "coming": world.article("coming", later, ["tech"]),
    }
    with unit_of_work(db_url) as s:
        for digest_id in (1, 2):
            s.add(DigestArticle(digest_id=digest_id, article_id=ids["old"], topic_id=1, position=0))
    return ids


def test_filters_combine_and_each_row_says_where_it_came_from_and_its_state(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    ids = newsroom(world, db_url)
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    everything = {ids[k] for k in ("pinned", "old", "abroad", "held", "coming")}
    assert shown(client, "") == everything
    assert shown(client, "topic=tech&pinned=1") == {ids["pinned"]}
    assert shown(client, "pinned=1") == {ids["pinned"], ids["abroad"]}
    assert shown(client, f"feed={ids['wire']}&from=2026-05-31&to=2026-06-01") == {ids["pinned"]}
    assert shown(client, f"feed={ids['wire']}&to=2026-05-31") == {ids["old"]}
    assert shown(client, "feed=none") == {ids["held"], ids["coming"]}
    assert shown(client, "held=1") == {ids["held"]}
    assert shown(client, "held=1&topic=tech") == set()
    assert shown(client, "state=held") == {ids["held"]}  # the older address still works
    assert shown(client, "q=ABRO&pinned=1") == {ids["abroad"]}

    html = client.get("/admin/articles").text
    pinned = row_of(html, ids["pinned"])
    assert (
        '<img class="thumb" src="https://img.example.org/pinned.jpg" alt="" width="64" '
        'height="40" loading="lazy"' in pinned
    )
    assert (
        '<a href="https://news.example.org/pinned" rel="noopener noreferrer" '
        'class="article-title">Story pinned</a>' in pinned
    )
    assert '<span class="source">Tech Wire</span>' in pinned
    assert '<span class="state-badge pinned">Pinned</span> until <time' in pinned
    assert '<span class="thumb thumb-none"></span>' in row_of(html, ids["old"])
    assert '<span class="state-badge sent">In 2 digests</span>' in row_of(html, ids["old"])
    assert '<span class="source">feeds.example.org</span>' in row_of(html, ids["abroad"])
    assert '<span class="source">API/import</span>' in row_of(html, ids["held"])
    assert '<span class="state-badge held">Held</span>' in row_of(html, ids["held"])
    assert '<span class="state-badge scheduled">Scheduled</span>' in row_of(html, ids["coming"])
    assert "In no digest yet" not in row_of(html, ids["coming"])
    # The filters offer every topic and source, and show what was chosen.
    chosen = client.get(f"/admin/articles?feed={ids['bare']}&held=1&from=2026-06-01").text
    assert f'<option value="{ids["bare"]}" selected>feeds.example.org</option>' in chosen
    assert '<option value="none">API/import (no feed)</option>' in chosen
    assert 'name="held" value="1" checked' in chosen and 'value="2026-06-01"' in chosen
    assert "No article matches." in chosen


def test_the_days_are_the_admins_own(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    late = world.article("late", datetime(2026, 6, 1, 23, 30, tzinfo=UTC), ["tech"])
    admin(db_url, "ed@example.org", "editor")
    tokyo = sign_in_from(browser(mail_settings), "ed@example.org", "Asia/Tokyo")
    assert shown(tokyo, "from=2026-06-02&to=2026-06-02") == {late}  # 08:30 on the 2nd there
    assert shown(tokyo, "to=2026-06-01") == set()


def test_paging_keeps_the_filters(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    wire = feed(db_url, "https://wire.example.org/rss.xml", "Tech Wire")
    wanted = [
        world.article(f"t{i}", T0 + timedelta(minutes=i), ["tech"], feed_id=wire) for i in range(53)
    ]
    for i in range(5):  # newer, and outside every filter below
        world.article(f"w{i}", T0 + timedelta(minutes=i), ["world"], feed_id=wire)
        world.article(f"x{i}", T0 + timedelta(days=9), ["tech"], feed_id=wire)
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    first = client.get(f"/admin/articles?topic=tech&feed={wire}&from=2026-06-01&to=2026-06-02")
    found = re.search(r'id="next-page" href="\?([^"]+)"', first.text)
    assert found, "no link to the older articles"
    older = found.group(1).replace("&amp;", "&")
    assert older.startswith(f"topic=tech&feed={wire}&from=2026-06-01&to=2026-06-02&before=")
    second = client.get(f"/admin/articles?{older}").text
    seen = [int(i) for i in ROW.findall(first.text) + ROW.findall(second)]
    assert seen == sorted(wanted, reverse=True)
    assert 'id="next-page"' not in second
    newest = f'id="first-page" href="/admin/articles?topic=tech&amp;feed={wire}&amp;from=2026-06-01'
    assert newest in second
    # A pin from the second page comes back to it, filters and all.
    until = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    pinned = post(
        client, f"/admin/articles/{wanted[0]}?{older}", {"action": "pin", "pinned_until": until}
    )
    assert pinned.status_code == 303
    assert pinned.headers["location"] == f"/admin/articles?{older}#article-{wanted[0]}"


def test_bad_filter_values_are_named_and_left_out_never_a_server_error(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    ids = newsroom(world, db_url)
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    for query, words in (
        ("feed=abc", "feed: &#39;abc&#39; is not a feed"),
        ("feed=99999999999999999999999", "feed: "),
        ("from=2026-13-45", "from: &#39;2026-13-45&#39; is not a day"),
        ("to=yesterday", "to: &#39;yesterday&#39; is not a day"),
        ("from=20260601", "from: "),
        ("from=2026-06-02&to=2026-06-01", "to: 2026-06-01 is before from (2026-06-02)"),
        ("to=9999-12-31", "to: 9999-12-31 is out of range"),
        ("from=0001-01-01&to=0001-01-01", ""),
        ("q=%00", "q: "),
        ("topic=%00&before=-1&pinned=maybe&feed=", ""),
        ("topic=nope", ""),
    ):
        page = client.get(f"/admin/articles?{query}")
        assert page.status_code in (200, 422), query
        if words:
            assert page.status_code == 422, query
            found = re.search(r'id="error">([^<]+)<', page.text)
            assert found and words in found.group(1), (query, found and found.group(1))
            assert 'aria-invalid="true"' in page.text.split("</form>")[0], query
    # The good filters still apply beside a bad one.
    assert shown_with_error(client, "topic=tech&feed=abc") == {
        ids[k] for k in ("pinned", "old", "coming")
    }
    assert shown_with_error(client, "held=1&from=2026-06-02&to=2026-06-01") == {ids["held"]}


def shown_with_error(client, query: str) -> set[int]:  # type: ignore[no-untyped-def]
    page = client.get(f"/admin/articles?{query}")
    assert page.status_code == 422 and 'id="error"' in page.text
    return {int(i) for i in ROW.findall(page.text)}


def test_pin_and_hold_are_labelled_controls_naming_their_article(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    client = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    row = row_of(client.get("/admin/articles").text, story)
    pin = (
        '<button type="submit" name="action" value="pin" class="pin">Pin to top'
        '<span class="visually-hidden"> “Story story”</span></button>'
    )
    hold = (
        '<button type="submit" name="action" value="hold" class="hold" formnovalidate>Hold back'
        '<span class="visually-hidden"> “Story story”</span></button>'
    )
    assert pin in row and hold in row and "Unpin" not in row and "Release" not in row
    assert f'<label class="visually-hidden" for="until-{story}">Pinned until (UTC), for' in row
    assert row.count('name="csrf_token"') == row.count("<form") == 1
    assert 'class="muted">In no digest yet</span>' in row

    until = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    query = "topic=tech&pinned=1&from=2026-05-31"
    done = post(
        client,
        f"/admin/articles/{story}?{query}",
        {"action": "pin", "pinned_until": until.strftime("%Y-%m-%dT%H:%M")},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/articles?{query}#article-{story}"
    assert state(db_url, story) == (until, False, "ed@example.org")
    row = row_of(client.get(f"/admin/articles?{query}").text, story)
    assert ">Change pin<" in row and '>Unpin<span class="visually-hidden"> “Story story”<' in row
    assert '<span class="state-badge pinned">Pinned</span>' in row

    assert post(client, f"/admin/articles/{story}", {"action": "hold"}).status_code == 303
    assert state(db_url, story) == (until, True, "ed@example.org")
    row = row_of(client.get("/admin/articles?held=1").text, story)
    assert '>Release<span class="visually-hidden"> “Story story”<' in row and "Hold back" not in row
    assert '<span class="state-badge held">Held</span>' in row
    assert post(client, f"/admin/articles/{story}", {"action": "release"}).status_code == 303
    assert post(client, f"/admin/articles/{story}", {"action": "unpin"}).status_code == 303
    assert state(db_url, story) == (None, False, "ed@example.org")
