"""Times in the console: relative and absolute, in the admin's zone, exact on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.web.times import absolute, known_zone, moment_html, relative

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "said"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(seconds=-59), "just now"),
        (timedelta(minutes=5), "in 5 min"),
        (timedelta(minutes=-90), "1 h ago"),
        (timedelta(hours=2, minutes=59), "in 2 h"),
        (timedelta(days=-3, hours=-5), "3 d ago"),
        (timedelta(days=400), "in 1 y"),
    ],
)
def test_relative_times_are_short_and_rounded_down(delta: timedelta, said: str) -> None:
    assert relative(NOW + delta, NOW) == said


def test_absolute_times_are_in_the_admins_zone_with_its_abbreviation() -> None:
    moment = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    assert absolute(moment, "Europe/Brussels", NOW) == "07:00 CET, Mon 7 Dec"
    assert absolute(moment, "America/New_York", NOW) == "01:00 EST, Mon 7 Dec"
    assert absolute(moment, "Asia/Kolkata", NOW) == "11:30 IST, Mon 7 Dec"
    # Summer time, and another year shown with its year.
    assert absolute(datetime(2027, 7, 1, 6, tzinfo=UTC), "Europe/Brussels", NOW) == (
        "08:00 CEST, Thu 1 Jul 2027"
    )


def test_a_moment_is_a_time_element_with_the_exact_utc_time() -> None:
    html = str(moment_html(NOW + timedelta(hours=2), "Europe/Brussels", NOW))
    assert html == (
        '<time datetime="2026-12-07T08:00:00Z" title="2026-12-07T08:00:00Z">'
        "in 2 h · 09:00 CET, Mon 7 Dec</time>"
    )
    # Stored ISO strings (the subscriber record) and naive UTC values are read alike.
    assert str(moment_html("2026-12-07T04:00:00+00:00", "UTC", NOW)).endswith(
        ">2 h ago · 04:00 UTC, Mon 7 Dec</time>"
    )
    assert str(moment_html(datetime(2026, 12, 7, 4, 0), "UTC", NOW)).endswith(
        ">2 h ago · 04:00 UTC, Mon 7 Dec</time>"
    )
    assert str(moment_html(None, "UTC", NOW)) == "never"
    assert str(moment_html("<b>not a time</b>", "UTC", NOW)) == "&lt;b&gt;not a time&lt;/b&gt;"


def test_only_real_zones_are_kept() -> None:
    assert known_zone("Europe/Brussels") == "Europe/Brussels"
    assert known_zone("Asia/Calcutta") == "Asia/Kolkata"  # the current name
    for bad in (None, "", "Mars/Olympus", "Europe/\x00Brussels", "../../etc/passwd", "x" * 300):
        assert known_zone(bad) is None
