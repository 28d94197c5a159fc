"""The Jinja environment: where templates live, escaping by extension, local times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError

from digest.rendering import get_environment, templates_dir
from digest.rendering.environment import local_time


def test_templates_are_found() -> None:
    for name in ("subject.txt", "body.txt", "body.html"):
        assert (templates_dir() / "email" / "digest" / name).is_file()
        assert (templates_dir() / "email" / "_base" / name).is_file()


def test_html_is_escaped_and_text_is_not() -> None:
    env = get_environment()
    html = env.get_template("digest/_section.html").render(name="<b>Tech & Co</b>")
    assert "&lt;b&gt;Tech &amp; Co&lt;/b&gt;" in html
    subject = env.get_template("digest/subject.txt").render(
        site_name="A & B", first_title="<b>x</b>", more=0
    )
    assert subject == "A & B: <b>x</b>"


def test_a_missing_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UndefinedError):
        get_environment().get_template("digest/_section.html").render()


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (datetime(2026, 11, 24, 6, 5, tzinfo=UTC), "Europe/Brussels", "Tue 24 Nov, 07:05"),
        (datetime(2026, 3, 4, 6, 5, tzinfo=UTC), "UTC", "Wed 4 Mar, 06:05"),
        # The day after Brussels moved to summer time: two hours ahead, not one.
        (datetime(2026, 3, 30, 22, 30, tzinfo=UTC), "Europe/Brussels", "Tue 31 Mar, 00:30"),
        (datetime(2026, 3, 30, 22, 30, tzinfo=UTC), "America/New_York", "Mon 30 Mar, 18:30"),
    ],
)
def test_local_time(moment: datetime, zone: str, shown: str) -> None:
    assert local_time(moment, zone) == shown
    assert get_environment().filters["local_time"](moment, zone) == shown
