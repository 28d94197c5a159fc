"""Editorial control through the ``digest`` command: list articles, pin one until a
time or for a span, hold one, and the next ``digest run`` honours both; refusals
name the option at fault."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Cli, SmtpServer

pytestmark = pytest.mark.slow

JOINED = "2026-03-16T09:00:00+00:00"
EDITED = "2026-03-16T18:00:00Z"
SLOT = "2026-03-17T07:00:00+00:00"
NEXT_SLOT = "2026-03-18T07:00:00+00:00"


def articles(*hours: int) -> str:
    return "\n".join(
        json.dumps(
            {
                "url": f"https://news.example.org/at-{hour}",
                "title": f"Story at {hour}",
                "summary": "s",
                "published_at": f"2026-03-16T{hour:02}:00:00Z",
                "topics": ["news"],
            }
        )
        for hour in hours
    )


def order(smtp_server: SmtpServer, index: int) -> list[str]:
    html = smtp_server.received[index].message.get_body(("html",)).get_content()
    found = re.findall(r'href="https://news\.example\.org/(at-\d+)"', html)
    return list(dict.fromkeys(found))


def ids_listed(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines() if line.strip()[:1].isdigit()]


def test_pin_and_hold_from_the_command_line_shape_the_next_digest(
    cli: Cli, smtp_server: SmtpServer
) -> None:
    cli("topics", "add", "news")
    assert "4 added" in cli("articles", "import", "-", input=articles(10, 11, 12, 13))
    cli(
        "subscribers",
        "add",
        "reader@example.org",
        "--topics",
        "news",
        "--confirmed",
        "--now",
        JOINED,
    )
    listed = cli("articles", "list", "--now", EDITED)
    assert ids_listed(listed) == [4, 3, 2, 1]
    assert "2026-03-16 10:00  -" in listed and "Story at 10" in listed

    pinned = cli("articles", "pin", "1", "--until", "2026-03-17T12:00", "--now", EDITED)
    assert pinned.strip() == "article 1: pinned until 2026-03-17 12:00: Story at 10"
    held = cli("articles", "hold", "3", "--now", EDITED)
    assert held.strip() == "article 3: held: Story at 12"
    assert ids_listed(cli("articles", "list", "--pinned", "--now", EDITED)) == [1]
    assert ids_listed(cli("articles", "list", "--held", "--now", EDITED)) == [3]
    assert ids_listed(cli("articles", "list", "--title", "AT 1", "--limit", "2")) == [4, 3]

    assert "sent 1" in cli("run", "--now", SLOT)
    assert order(smtp_server, 0) == ["at-10", "at-13", "at-11"]

    # Unpinned and released, with a pin for two days on another: the next digest
    # (its window opens at the last slot) shows a new article under the pinned one.
    cli("articles", "unpin", "1", "--now", SLOT)
    assert "article 3: -: Story at 12" in cli("articles", "release", "3", "--now", SLOT)
    cli("articles", "import", "-", input=articles(20, 21).replace("2026-03-16", "2026-03-17"))
    assert cli("articles", "pin", "5", "--for", "2d", "--now", SLOT).strip() == (
        "article 5: pinned until 2026-03-19 07:00: Story at 20"
    )
    assert "sent 1" in cli("run", "--now", NEXT_SLOT)
    assert order(smtp_server, 1) == ["at-20", "at-21"]


def test_refusals_name_the_option_and_change_nothing(cli: Cli) -> None:
    cli("topics", "add", "news")
    cli("articles", "import", "-", input=articles(10))
    past = cli("articles", "pin", "1", "--until", "2026-03-16", "--now", EDITED, ok=False)
    assert "Error: --until: must be later than now (2026-03-16 18:00 UTC)" in past
    garbage = cli("articles", "pin", "1", "--until", "tomorrow", ok=False)
    assert "Error: --until: 'tomorrow' is not a date and time such as" in garbage
    span = cli("articles", "pin", "1", "--for", "0d", ok=False)
    assert "Invalid value for --for: '0d' is not a span such as 12h, 2d or 1w" in span
    both = cli("articles", "pin", "1", "--for", "2d", "--until", "2099-01-01", ok=False)
    assert "give either --until TIME or --for SPAN" in both
    assert "Error: there is no article 7" in cli("articles", "hold", "7", ok=False)
    assert "no article matches" in cli("articles", "list", "--topic", "Not a slug")
    assert "no article matches" in cli("articles", "list", "--held")
    listed = cli("articles", "list")
    assert "  -  " in listed and "pinned" not in listed and "held" not in listed
