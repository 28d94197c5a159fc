"""The time-zone list: current names only, grouped by region, labelled for people,
and an old name (what some browsers report) stored as today's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from tests.integration.web.helpers import browser, csrf_of, path_of, subscribe


def options(html: str) -> list[tuple[str, str]]:
    select_html = re.search(r'<select name="timezone".*?</select>', html, re.S)
    assert select_html
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select_html.group(0))


def test_the_zone_list_holds_current_names_once_each_by_region(world, mail_settings) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    page = browser(mail_settings).get("/subscribe").text
    zones = options(page)
    names = [name for name, _ in zones]
    assert len(names) == len(set(names))  # no duplicates
    assert 350 <= len(names) <= 450  # not every alias of the database (about 600)
    for old in ("Asia/Calcutta", "Asia/Saigon", "America/Buenos_Aires", "Europe/Kiev"):
        assert old not in names
    labels = dict(zones)
    assert labels["Asia/Kolkata"] == "Kolkata"
    assert labels["America/Argentina/Buenos_Aires"] == "Buenos Aires, Argentina"
    assert labels["America/New_York"] == "New York"
    assert names[0] == "UTC"
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups == sorted(groups) and {"Africa", "America", "Asia", "Europe"} <= set(groups)


def test_an_old_zone_name_is_stored_as_the_current_one(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    answer = subscribe(client, "ana@example.org", {"tech": "daily"}, timezone="Asia/Calcutta")
    assert answer.status_code == 200, answer.text
    with unit_of_work(db_url) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == "ana@example.org"))
        assert sub is not None and sub.timezone == "Asia/Kolkata"


def test_a_reader_stored_with_an_old_zone_name_keeps_their_zone_on_the_preferences_page(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    from digest.services.sending.composing import link_for

    world.topics("tech")
    world.subscriber("ana@example.org", "tech", datetime(2026, 6, 1, tzinfo=UTC))
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        sub.timezone = "Asia/Calcutta"  # as stored before the list had current names only
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        link = link_for(mail_settings, "preferences", sub)
    client = browser(mail_settings)
    page = client.get(path_of(mail_settings, link)).text
    selected = re.findall(r'<option value="([^"]+)" selected>', page.split('name="timezone"')[1])
    assert selected[0] == "Asia/Kolkata"
    saved = client.post(
        path_of(mail_settings, link),
        data={
            "csrf_token": csrf_of(page),
            "action": "save",
            "topics": ["tech"],
            "frequency-tech": "daily",
            "hour": "7",
            "timezone": selected[0],
            "weekday": "mon",
        },
    )
    assert saved.status_code == 200
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        assert sub.timezone == "Asia/Kolkata"


def test_a_zone_the_list_does_not_hold_is_still_shown_selected(world, mail_settings) -> None:  # type: ignore[no-untyped-def]
    from digest.web.forms import form_context, form_values
    from digest.web.pages import environment

    values = form_values(None, {"timezone": ["Etc/GMT+3"]})
    html = (
        environment()
        .from_string(
            '{% from "_choices.html" import choice_fields with context %}'
            "{{ choice_fields([], values, {}, zones, weekdays, hours) }}"
        )
        .render(values=values, errors={}, **form_context())
    )
    assert '<option value="Etc/GMT+3" selected>' in html
