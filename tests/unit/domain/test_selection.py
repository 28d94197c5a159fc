"""Selection: which articles go into one digest, and the reason for the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from digest.domain.selection import (
    AFTER_WINDOW,
    ALREADY_SENT,
    BEFORE_WINDOW,
    HELD,
    LATE_ARRIVAL_GRACE,
    NOT_DUE,
    OVER_TOPIC_CAP,
    OVER_TOTAL_CAP,
    Candidate,
    Limits,
    TopicWindow,
    select_articles,
)

END = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
SINCE = END - timedelta(days=1)
TECH, TRADE, SPORT = 1, 2, 3


def art(i: int, hours_ago: float, *topics: int, **kw: Any) -> Candidate:
    published = END - timedelta(hours=hours_ago)
    return Candidate(i, frozenset(topics), published, published, **kw)


def windows(*topic_ids: int, since: datetime = SINCE) -> list[TopicWindow]:
    return [TopicWindow(t, since) for t in topic_ids]


def test_newest_first_within_a_topic_and_topics_in_display_order() -> None:
    sel = select_articles(
        [art(1, 5, TECH), art(2, 1, TECH), art(3, 3, TRADE)], windows(TRADE, TECH), END
    )
    assert sel.sections == [(TRADE, [3]), (TECH, [2, 1])]
    assert sel.excluded == {}


def test_an_article_in_two_topics_appears_once_under_the_first() -> None:
    sel = select_articles([art(1, 2, TECH, TRADE)], windows(TECH, TRADE), END)
    assert sel.sections == [(TECH, [1])]
    assert sel.placed_in == {1: TECH}


def test_duplicate_goes_to_the_topic_where_it_is_new() -> None:
    # For TECH the window started later (a recent digest), so the article is new only
    # for TRADE, and is shown there.
    topics = [TopicWindow(TECH, END - timedelta(hours=1)), TopicWindow(TRADE, SINCE)]
    sel = select_articles([art(1, 3, TECH, TRADE)], topics, END)
    assert sel.sections == [(TRADE, [1])]


def test_reasons_for_every_left_out_candidate() -> None:
    candidates = [
        art(1, 2, TECH, held=True),
        art(2, 2, TECH, already_sent=True),
        art(3, -1, TECH),  # published after the window closed
        art(4, 30, TECH),  # before the window
        art(5, 2, SPORT),  # topic not due
        art(6, 2, TECH),
    ]
    sel = select_articles(candidates, windows(TECH), END)
    assert sel.article_ids == [6]
    assert sel.excluded == {
        1: HELD,
        2: ALREADY_SENT,
        3: AFTER_WINDOW,
        4: BEFORE_WINDOW,
        5: NOT_DUE,
    }


def test_pinned_comes_first_even_when_older() -> None:
    pin = END + timedelta(days=1)
    sel = select_articles(
        [art(1, 1, TECH), art(2, 20, TECH, pinned_until=pin), art(3, 2, TECH)],
        windows(TECH),
        END,
    )
    assert sel.sections == [(TECH, [2, 1, 3])]


def test_a_pin_that_ends_by_the_window_end_no_longer_counts() -> None:
    candidates = [art(1, 1, TECH), art(2, 20, TECH, pinned_until=END), art(3, 2, TECH)]
    assert select_articles(candidates, windows(TECH), END).sections == [(TECH, [1, 3, 2])]


def test_a_pinned_article_beats_the_caps_and_a_held_one_never_appears() -> None:
    pin = END + timedelta(hours=1)
    candidates = [art(i, i, TECH) for i in range(1, 5)] + [
        art(9, 30 - 0.5, TECH, pinned_until=pin),
        art(8, 0.5, TECH, held=True, pinned_until=pin),
    ]
    sel = select_articles(
        candidates,
        windows(TECH, since=END - timedelta(hours=30)),
        END,
        Limits(per_topic=2, total=2),
    )
    assert sel.sections == [(TECH, [9, 1])]
    assert sel.excluded == {2: OVER_TOPIC_CAP, 3: OVER_TOPIC_CAP, 4: OVER_TOPIC_CAP, 8: HELD}


def test_caps_per_topic_and_in_total() -> None:
    tech = [art(i, i, TECH) for i in range(1, 6)]
    trade = [art(10 + i, i + 0.5, TRADE) for i in range(1, 6)]
    sel = select_articles(tech + trade, windows(TECH, TRADE), END, Limits(per_topic=3, total=4))
    assert sel.sections == [(TECH, [1, 2]), (TRADE, [11, 12])]
    assert sel.excluded[4] == OVER_TOPIC_CAP
    assert sel.excluded[3] == OVER_TOTAL_CAP
    assert len(sel.article_ids) == 4


def test_late_arrival_within_grace_is_taken() -> None:
    # Published just before the window opened but ingested after it: the previous
    # digest could not have had it.
    published = SINCE - LATE_ARRIVAL_GRACE / 2
    late = Candidate(1, frozenset({TECH}), published, SINCE + timedelta(minutes=5))
    too_old = Candidate(2, frozenset({TECH}), SINCE - 2 * LATE_ARRIVAL_GRACE, END)
    sel = select_articles([late, too_old], windows(TECH), END)
    assert sel.article_ids == [1]
    assert sel.excluded[2] == BEFORE_WINDOW


def test_nothing_new_gives_an_empty_selection() -> None:
    sel = select_articles([art(1, 2, TECH, already_sent=True)], windows(TECH), END)
    assert sel.empty
    assert sel.sections == []


candidate_lists = st.lists(
    st.builds(
        lambda i, hours, topics, pin, held, sent: art(
            i,
            hours,
            *topics,
            pinned_until=None if pin is None else END + timedelta(hours=pin),
            held=held,
            already_sent=sent,
        ),
        st.integers(1, 10_000),
        st.floats(-5, 60),
        st.sets(st.sampled_from([TECH, TRADE, SPORT]), min_size=1),
        st.none() | st.integers(-48, 48),
        st.booleans(),
        st.booleans(),
    ),
    max_size=60,
    unique_by=lambda c: c.article_id,
)


@given(candidate_lists, st.integers(1, 8), st.integers(1, 20))
def test_properties(candidates: list[Candidate], per_topic: int, total: int) -> None:
    sel = select_articles(candidates, windows(TECH, TRADE), END, Limits(per_topic, total))
    chosen = sel.article_ids
    by_id = {c.article_id: c for c in candidates}
    # Each article at most once, never held or already sent, within caps.
    assert len(chosen) == len(set(chosen))
    assert len(chosen) <= total
    assert all(len(ids) <= per_topic for _, ids in sel.sections)
    assert not any(by_id[a].held or by_id[a].already_sent for a in chosen)
    assert all(by_id[a].published_at <= END for a in chosen)
    # Every candidate is either chosen or has a reason, never both.
    assert set(chosen) | set(sel.excluded) == set(by_id)
    assert not set(chosen) & set(sel.excluded)
    # Within a topic, articles pinned at the window end come before the others.
    for _, ids in sel.sections:
        flags = [by_id[a].pinned_at(END) for a in ids]
        assert flags == sorted(flags, reverse=True)
