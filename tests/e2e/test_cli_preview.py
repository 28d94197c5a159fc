"""``digest preview`` through the command: the HTML it prints is the HTML part the
slot's ``digest run`` sends, and ``--explain`` gives every article's reason."""

from __future__ import annotations

import json
import subprocess
import sys
from email import message_from_bytes, policy

import pytest

from tests.conftest import Cli, SmtpServer, as_previewed

pytestmark = pytest.mark.slow

JOINED = "2026-03-16T09:00:00+00:00"
BEFORE = "2026-03-16T20:00:00+00:00"
SLOT = "2026-03-17T07:00:00+00:00"


def raw(cli: Cli, *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "digest.cli", *args],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def articles(*rows: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_preview_prints_what_the_slot_sends(cli: Cli, smtp_server: SmtpServer) -> None:
    cli("topics", "add", "tech")
    cli("topics", "add", "trade")
    cli(
        "subscribers", "add", "ana@example.org", "--topics", "tech,trade",
        "--timezone", "Europe/Lisbon", "--hour", "7", "--confirmed", "--now", JOINED,
    )  # fmt: skip
    cli(
        "articles",
        "import",
        "-",
        input=articles(
            {
                "url": "https://news.example.org/chips",
                "title": "Chips",
                "summary": "<p>Chips &amp; more</p>",
                "published_at": "2026-03-16T18:00:00Z",
                "topics": ["tech"],
            },
            {
                "url": "https://news.example.org/ports",
                "title": "Ports",
                "summary": "Ports",
                "published_at": "2026-03-16T17:00:00Z",
                "topics": ["trade", "tech"],
            },
            {
                "url": "https://news.example.org/old",
                "title": "Old news",
                "summary": "Old",
                "published_at": "2026-03-15T17:00:00Z",
                "topics": ["tech"],
            },
        ),
    )
    html = raw(cli, "preview", "ana@example.org", "--now", BEFORE, "--format", "html")
    eml = raw(cli, "preview", "ana@example.org", "--now", BEFORE, "--format", "eml")
    text = raw(cli, "preview", "ana@example.org", "--now", BEFORE, "--format", "text").decode()
    explained = cli("preview", "ana@example.org", "--now", BEFORE, "--explain")

    cli("run", "--now", SLOT)
    [sent] = smtp_server.wait_for(1)
    assert as_previewed(sent.message.get_body(("html",)).get_payload(decode=True)) == html
    previewed = message_from_bytes(eml, policy=policy.default)
    assert previewed.get_body(("html",)).get_payload(decode=True) == html
    assert previewed["Subject"] == sent.message["Subject"]
    assert (
        as_previewed(str(sent.message["List-Unsubscribe"]).encode())
        == str(previewed["List-Unsubscribe"]).encode()
    )
    assert "Chips & more" in text and "Old news" not in text

    assert "slot: Tue 17 Mar 2026 07:00 WET" in explained
    assert "Included, #1 in the email." in explained
    assert "Duplicate: this article is shown under Tech." in explained
    assert "Outside the window: published Sun 15 Mar 2026 17:00 WET" in explained
    assert "checks:" in explained and "Outlook (Windows) does not render" in explained


def test_preview_of_an_unknown_address_is_a_clear_error(cli: Cli) -> None:
    out = cli("preview", "nobody@example.org", ok=False)
    assert "no subscriber with email nobody@example.org" in out
