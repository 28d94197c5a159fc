"""The Redis transport the workers use: kombu's, with one repair.

When the broker goes away, the worker closes its channel and reconnects. A task that
ends in between is acknowledged on the closed channel, and kombu 5.7 then fails with
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (the channel's
connection is gone), which Celery treats as unrecoverable: the worker exits. Here that
acknowledgement fails as what it is, a lost connection: Celery logs that it could not
acknowledge the task and goes on. The task's message went with the broker (or comes
back after the visibility timeout, when the broker kept its data); running it again is
harmless, since every step of the pipeline is a conditional update.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client is None and getattr(self.connection, "client", None) is None:
            raise redis.ConnectionError("the broker connection of this channel is closed")
        with super().conn_or_acquire(client) as conn:
            yield conn


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make ``redis://``, ``rediss://`` and ``redis+socket://`` broker URLs use it."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
