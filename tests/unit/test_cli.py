"""Every command of the contract exists and explains itself with --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from digest.cli import main

CONTRACT = [
    ("up", ["--sample-data"]),
    ("web", ["--host", "--port"]),
    ("db upgrade", []),
    ("topics add", ["--name", "--keywords"]),
    ("feeds add", ["--topic"]),
    ("feeds fetch", []),
    ("articles import", []),
    (
        "subscribers add",
        ["--topics", "--frequency", "--timezone", "--hour", "--weekday", "--confirmed"],
    ),
    ("subscribers import", ["--confirmed"]),
    ("subscribers export", []),
    ("plan", ["--now"]),
    ("run", ["--now"]),
    ("retry", ["--now"]),
    ("deliveries", ["--status", "--json"]),
    ("preview", ["--now", "--format", "--explain"]),
    ("articles list", ["--topic", "--pinned", "--held"]),
    ("articles pin", ["--until", "--for"]),
    ("articles unpin", []),
    ("articles hold", []),
    ("articles release", []),
    ("admin create", ["--role", "--password-stdin"]),
    ("admin api-key", ["--role"]),
    ("subscribers show", []),
]


@pytest.mark.parametrize(("command", "options"), CONTRACT)
def test_help_names_the_contract_options(command: str, options: list[str]) -> None:
    result = CliRunner().invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.output


def test_every_command_has_help_text() -> None:
    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, cmd in group.commands.items():
            found.append((f"{prefix}{name}", cmd))
            if isinstance(cmd, click.Group):
                found += walk(cmd, f"{prefix}{name} ")
        return found

    commands = walk(main, "")
    assert len(commands) >= 20
    assert all(cmd.help for _, cmd in commands), [n for n, c in commands if not c.help]


def test_a_bad_now_is_refused_with_the_option_named() -> None:
    result = CliRunner().invoke(main, ["plan", "--now", "yesterday"])
    assert result.exit_code == 2
    assert "--now" in result.output


def test_a_now_past_the_calendar_is_refused_not_a_crash() -> None:
    result = CliRunner().invoke(main, ["plan", "--now", "9999-12-31T23:00-05:00"])
    assert result.exit_code == 2
    assert "is out of range" in result.output
