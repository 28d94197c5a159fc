"""A bounded, per-process cache of rendered and inlined email blocks.

Each Celery prefork child has its own copy; nothing is shared between processes, so
a lock around the dictionary is all the safety needed (threads in one process).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from digest.rendering.inline import inline_calls

# About 10,000 articles in a few time zones; a block is a few kilobytes.
DEFAULT_SIZE = 20_000


class BlockCache:
    """A least-recently-used cache of rendered blocks, with hit and miss counts."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, str] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._lock = Lock()

    def get(self, key: Hashable, make: Callable[[], str]) -> str:
        """The block stored under ``key``, made (outside the lock) if missing."""
        with self._lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
                self.hits += 1
                return value
            self.misses += 1
        # Two threads may both make a missing block; both results are identical.
        value = make()
        with self._lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self.items)

    def clear(self) -> None:
        """Forget every block and reset the counts (tests, template reloads)."""
        with self._lock:
            self.items.clear()
            self.hits = self.misses = 0


blocks = BlockCache()


def cache_stats() -> dict[str, int]:
    """Counters for tests and benchmarks: premailer runs, cache hits, misses, size."""
    return {
        "inline_calls": inline_calls.calls,
        "hits": blocks.hits,
        "misses": blocks.misses,
        "size": len(blocks),
    }
