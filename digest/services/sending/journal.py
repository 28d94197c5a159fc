"""The reply journal: every reply a relay gave is kept outside the worker's memory
until the database holds it.

A worker records replies in groups (one transaction for many attempts). Between a
relay's reply and that group's commit the reply lives only in the worker; were it
lost (the worker killed, the database away), the delivery would stay claimed, be
released when its lease ran out, and be sent again: a duplicate. So each reply is
written to the journal, on the broker's Redis, before the next message goes to the
relay, and removed once its group is committed. The sweep records what the journal
still holds before it releases any claim (:func:`digest.services.sending.pipeline.sweep`).

Where no Redis is at hand (``digest run`` without a broker, tests), the journal is
kept in memory: it then covers a database that is briefly away, which the send loop
waits out, but not a process that dies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from digest.config import Settings
from digest.domain.delivery import Reply
from digest.embedded import running_embedded_broker
from digest.mail.ratelimit import redis_py_url

KEY = "digest:replies"  # a hash: delivery id -> the reply, as JSON
TIMEOUT = 2.0  # seconds a journal write may take before it counts as failed


class JournalError(Exception):
    """The journal could not be written or read."""


@dataclass(frozen=True)
class Entry:
    """A reply a relay gave about a claimed delivery, and when."""

    delivery_id: int
    reply: Reply
    at: datetime
    seconds: float | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "code": self.reply.code,
                "enhanced": self.reply.enhanced_code,
                "text": self.reply.text,
                "at": self.at.isoformat(),
                "seconds": self.seconds,
            }
        )

    @classmethod
    def loads(cls, delivery_id: int, raw: str | bytes) -> Entry:
        data = json.loads(raw)
        return cls(
            delivery_id,
            Reply(data["code"], data["enhanced"], data["text"]),
            datetime.fromisoformat(data["at"]).astimezone(UTC),
            data.get("seconds"),
        )


class Journal(Protocol):
    def write(self, entry: Entry) -> None:
        """Keep ``entry``; raise JournalError when it could not be kept."""
        ...

    def forget(self, delivery_ids: Iterable[int]) -> None:
        """Drop the entries of deliveries whose replies the database now holds."""
        ...

    def entries(self) -> list[Entry]:
        """Every entry still kept; raise JournalError when they cannot be read."""
        ...


class MemoryJournal:
    """Entries in this process only."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}

    def write(self, entry: Entry) -> None:
        self._entries[entry.delivery_id] = entry

    def forget(self, delivery_ids: Iterable[int]) -> None:
        for delivery_id in delivery_ids:
            self._entries.pop(delivery_id, None)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())


class RedisJournal:
    """Entries in a hash on Redis, shared by every worker and the sweep."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def write(self, entry: Entry) -> None:
        try:
            self.client.hset(KEY, str(entry.delivery_id), entry.dumps())
        except (redis.RedisError, OSError) as exc:
            raise JournalError(f"the reply journal cannot be written: {exc}") from exc

    def forget(self, delivery_ids: Iterable[int]) -> None:
        fields = [str(i) for i in delivery_ids]
        if not fields:
            return
        # Left behind, they are dropped by the sweep: their deliveries are no longer
        # being sent, so nothing is recorded for them twice.
        with contextlib.suppress(redis.RedisError, OSError):
            self.client.hdel(KEY, *fields)

    def entries(self) -> list[Entry]:
        try:
            raw = self.client.hgetall(KEY)
        except (redis.RedisError, OSError) as exc:
            raise JournalError(f"the reply journal cannot be read: {exc}") from exc
        found = []
        for field, value in raw.items():
            try:
                found.append(Entry.loads(int(field), value))
            except (ValueError, KeyError, TypeError):
                continue  # not ours to read; left for an operator to look at
        return found


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        redis_py_url(url),
        socket_connect_timeout=TIMEOUT,
        socket_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),
    )


@lru_cache(maxsize=8)
def _memory(scope: str) -> MemoryJournal:
    return MemoryJournal()


def journal_of(settings: Settings) -> Journal:
    """The journal on the broker's Redis: ``DIGEST_BROKER_URL``, or the embedded
    server when it already runs (a worker or ``digest up`` started it). Otherwise one
    in memory, shared by this process's send loops and sweeps."""
    url = settings.broker_url or running_embedded_broker(settings)
    if url is None:
        return _memory(str(settings.data_dir))
    return RedisJournal(_client(url))
