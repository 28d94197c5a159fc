"""The block cache: bounded, least recently used first out, counted."""

from __future__ import annotations

from digest.rendering import BlockCache, cache_stats


def test_blocks_are_made_once_and_the_oldest_unused_is_dropped() -> None:
    cache = BlockCache(size=2)
    made: list[str] = []

    def make(value: str) -> str:
        made.append(value)
        return value

    assert cache.get("a", lambda: make("A")) == "A"
    assert cache.get("b", lambda: make("B")) == "B"
    assert cache.get("a", lambda: make("A2")) == "A"  # a is now the most recent
    cache.get("c", lambda: make("C"))  # drops b, not a
    assert len(cache) == 2
    assert cache.get("a", lambda: make("A3")) == "A"
    assert cache.get("b", lambda: make("B2")) == "B2"
    assert made == ["A", "B", "C", "B2"]
    assert (cache.hits, cache.misses) == (2, 4)
    cache.clear()
    assert len(cache) == 0 and cache.hits == cache.misses == 0


def test_stats_name_every_counter() -> None:
    assert set(cache_stats()) == {"inline_calls", "hits", "misses", "size"}
