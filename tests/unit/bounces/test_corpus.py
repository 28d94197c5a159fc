"""The whole bounce corpus: every message parses, non-bounces stay non-bounces, the
hand-checked labels are met, and docs/bounces.md shows what the code does now."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.bounces import Bounce
from digest.bounces.report import classify, load_labels, render, score
from digest.domain.bounce_policy import ADDRESS_GONE, SENDER_SIDE

SharedPath = Callable[[str], Path]
REPO = Path(__file__).resolve().parents[3]
LABELS = REPO / "tests" / "data" / "bounce_labels.csv"
DOC = REPO / "docs" / "bounces.md"
KIND_FLOOR = 0.90  # on the held-out labels, and on all of them
RECIPIENT_FLOOR = 0.95
HARD_PRECISION_FLOOR = 0.95
REASON_FLOOR = 0.80  # on the blind labels, which name a reason

# Filed under not/ but a mailbox-full bounce from a postmaster (an empty Return-Path,
# "reject reason: Mailbox full", the address named): held to what it says.
BOUNCES_FILED_AS_NOT = {"not/rb-issue-368-bug.eml": "soft"}


@pytest.fixture(scope="module")
def results(shared_path: SharedPath) -> dict[str, list[Bounce]]:
    return classify(shared_path("corpora/bounces/maildir"))


def test_every_bounce_parses(results: dict[str, list[Bounce]]) -> None:
    bounces = {name: found for name, found in results.items() if name.startswith("bsd/")}
    assert len(bounces) == 629
    unread = [name for name, found in bounces.items() if not found or found[0].how == "error"]
    assert unread == []
    assert all(b.recipient is None or "@" in b.recipient for f in bounces.values() for b in f)


def test_messages_that_are_not_bounces_are_not_bounces(results: dict[str, list[Bounce]]) -> None:
    others = {name: found for name, found in results.items() if name.startswith("not/")}
    assert len(others) == 3
    for name, found in others.items():
        assert [b.kind for b in found] == [BOUNCES_FILED_AS_NOT.get(name, "not-bounce")], name


def test_the_hand_checked_labels(results: dict[str, list[Bounce]]) -> None:
    labels = load_labels(LABELS)
    held_out = [label for label in labels if label.held_out and not label.blind]
    blind = [label for label in labels if label.blind]
    assert len(labels) >= 60 and len(held_out) >= 30 and len(blind) >= 40
    sources = {re.sub(r"-\d+\.eml$", "", label.file) for label in labels}
    assert len(sources) >= 50  # spread over the mail systems, not just the easy ones
    everything = score(labels, results)
    assert everything.kind_accuracy >= max(KIND_FLOOR, _documented("all"))
    assert score(held_out, results).kind_accuracy >= max(
        KIND_FLOOR, _documented("written after the rules were fixed (held out)")
    )
    unseen = score(blind, results)
    assert unseen.kind_accuracy >= max(
        KIND_FLOOR, _documented("labelled blind after the reasons were written (held out)")
    )
    assert unseen.reason_accuracy >= REASON_FLOOR
    # Calling an address gone when it is not suppresses a good reader.
    assert everything.hard_precision >= HARD_PRECISION_FLOOR
    assert unseen.hard_precision >= HARD_PRECISION_FLOOR
    assert everything.recipient_accuracy >= RECIPIENT_FLOOR


def test_the_page_is_current(results: dict[str, list[Bounce]]) -> None:
    expected = render(results, load_labels(LABELS))
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/bounces.md is out of date: python -m digest.bounces.report "
        "../shared/corpora/bounces/maildir > docs/bounces.md"
    )


def _documented(group: str) -> float:
    """The kind accuracy docs/bounces.md states for a group of labels."""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and line.split("|")[1].strip() == group:
            match = re.search(r"\((\d+\.\d)%\)", line)
            assert match, line
            return float(match.group(1)) / 100 - 0.0005  # the page rounds to 0.1 %
    raise AssertionError(f"no accuracy for {group!r} in {DOC}")


# The classes of error the reasons were written to end, each with messages of the
# corpus: (reason, kind) of the first result.
CLASSES = {
    # Sender-side refusals: they reject us, not the address.
    "bsd/lhost-qmail-04.eml": ("rejected", "soft"),  # "my name was rejected", 501 5.0.0
    "bsd/lhost-outlook-09.eml": ("blocked", "soft"),  # "domain mismatches client ip"
    "bsd/rhost-google-06.eml": ("blocked", "soft"),  # no PTR record for our IP
    "bsd/rhost-microsoft-04.eml": ("auth_failure", "soft"),  # DMARC policy of reject
    "bsd/lhost-exim-50.eml": ("rejected", "soft"),  # 5.1.7: our sender's domain
    # A 5xx nobody explains is not hard.
    "bsd/lhost-exim-44.eml": ("undetermined", "soft"),  # empty diagnostic, 5.0.0
    "bsd/lhost-surfcontrol-02.eml": ("system_error", "soft"),  # 554 Service currently unavailable
    "bsd/rfc3464-29.eml": ("undetermined", "soft"),  # 503 Improper sequence of commands
    "bsd/lhost-postfix-78.eml": ("policy_violation", "soft"),  # 554 Transaction failed: …
    # Clearer text outranks a status code or a hard word.
    "bsd/lhost-mailfoundry-02.eml": ("mailbox_full", "soft"),  # over quota (#5.1.1)
    "bsd/lhost-postfix-34.eml": ("network_error", "soft"),  # Host not found, try again
    "bsd/lhost-postfix-02.eml": ("filtered", "soft"),  # 5.2.1: the mailbox exists
    # Hard bounces the old rules missed.
    "bsd/lhost-imailserver-03.eml": ("user_unknown", "hard"),  # Invalid final delivery userid
    "bsd/lhost-postfix-05.eml": ("user_unknown", "hard"),  # 450 4.1.1 … User unknown
    "bsd/lhost-trendmicro-02.eml": ("user_unknown", "hard"),  # check if address is correct
    # Delay reports are delays, whatever else they say.
    "bsd/lhost-sendmail-29.eml": (None, "soft"),
    "bsd/lhost-gmail-06.eml": ("mailbox_full", "soft"),
    # Authentication-failure reports: about our DNS, not a reader.
    "bsd/arf-19.eml": ("auth_failure", "not-bounce"),
    "bsd/arf-20.eml": ("auth_failure", "not-bounce"),
    # Filed under not/, a mailbox-full notice.
    "not/rb-issue-368-bug.eml": ("mailbox_full", "soft"),
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_each_class_of_error(results: dict[str, list[Bounce]], name: str) -> None:
    reason, kind = CLASSES[name]
    first = results[name][0]
    assert first.kind == kind, (first.reason, first.status, first.diagnostic)
    if reason is not None:
        assert first.reason == reason, (first.status, first.diagnostic)
    if name in ("bsd/lhost-sendmail-29.eml", "bsd/lhost-gmail-06.eml"):
        assert first.action == "delayed"


def test_sender_side_reasons_never_make_a_hard_bounce(results: dict[str, list[Bounce]]) -> None:
    blamed = [b for found in results.values() for b in found if b.reason in SENDER_SIDE]
    assert len(blamed) >= 80
    assert all(b.kind != "hard" for b in blamed)
    gone = [b for found in results.values() for b in found if b.kind == "hard"]
    assert {b.reason for b in gone} <= ADDRESS_GONE
