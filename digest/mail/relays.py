"""Several SMTP relays tried in order: the first one that can take mail carries it.

A relay that cannot take a message right now (it cannot be reached, it closes the
connection, or it answers 421 or another 4xx before the envelope is accepted) hands
the message to the next relay, and is left out for the rest of the session. An answer
about the message itself (a 4xx or 5xx to RCPT TO or DATA) is the message's answer:
another relay would only hear the same, or deliver a message the first one refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from digest.domain.delivery import Reply
from digest.mail.sender import Admit, SMTPConnection, SMTPSender


@dataclass(frozen=True)
class RelaySender:
    """The relays of ``DIGEST_SMTP_URL``, in the order they are tried."""

    relays: tuple[SMTPSender, ...]

    def __post_init__(self) -> None:
        if not self.relays:
            raise ValueError("a RelaySender needs at least one relay")

    @classmethod
    def from_urls(cls, urls: Sequence[str], timeout: float = 30.0) -> RelaySender:
        """One relay per URL (see :meth:`SMTPSender.from_url`)."""
        return cls(tuple(SMTPSender.from_url(url, timeout) for url in urls))

    @contextmanager
    def session(self) -> Iterator[FailoverConnection]:
        """Connections for the messages sent inside the ``with`` block, each relay's
        opened when it is first needed."""
        conn = FailoverConnection(self.relays)
        try:
            yield conn
        finally:
            conn.close()


class FailoverConnection:
    """One connection per relay; a message goes to the first relay still in use."""

    def __init__(self, relays: Sequence[SMTPSender]) -> None:
        self.connections = [SMTPConnection(relay) for relay in relays]
        self.current = 0  # relays before this one could not take mail in this session
        self.replayed = False
        self.session_failed = False

    @property
    def relay(self) -> SMTPSender:
        """The relay the next message goes to first."""
        return self.connections[self.current].sender

    def send(self, from_addr: str, to_addr: str, data: bytes, admit: Admit | None = None) -> Reply:
        """Send through the relays in turn until one takes the message or none is
        left; ``admit`` is asked before each relay (each has its own limits)."""
        last = len(self.connections) - 1
        while True:
            conn = self.connections[self.current]
            reply = conn.send(from_addr, to_addr, data, admit)
            if not conn.unavailable or self.current == last:
                # Only when every relay had already failed this session.
                self.replayed, self.session_failed = conn.replayed, conn.session_failed
                return self._named(reply, conn.sender)
            self.current += 1

    def _named(self, reply: Reply, relay: SMTPSender) -> Reply:
        """With several relays, the reply says which one gave it."""
        if len(self.connections) == 1 or relay.address in reply.text:
            return reply
        return Reply(reply.code, reply.enhanced_code, f"{reply.text} (via {relay.address})")

    def close(self) -> None:
        """Say QUIT to every relay that was used (best effort)."""
        for conn in self.connections:
            conn.close()
