"""The SMTP or LMTP server of the bounce domain: ``digest bounces serve``.

Point the bounce domain's MX at it (SMTP), or have the mail server that holds the
domain hand its mail over (LMTP, e.g. Postfix's ``mailbox_transport = lmtp:…``).
Each message is given to ``take(data, recipient)`` once per recipient, in a worker
thread; the reply is sent only after it returned, so a message is either stored or
refused with a temporary error that makes the sending server try again later.
Recipients outside the accepted domains are refused at RCPT: this server relays
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

log = logging.getLogger(__name__)

Take = Callable[[bytes, str], None]
# Bounces quote the message they return, some with its attachments; more than this
# is not a bounce of ours.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class BounceHandler:
    """aiosmtpd handler: accepts mail for ``domains`` (any domain when empty) and
    hands each message to ``take`` once per recipient."""

    def __init__(self, take: Take, domains: tuple[str, ...] = (), lmtp: bool = False) -> None:
        self.take = take
        self.domains = tuple(d.lower() for d in domains)
        self.lmtp = lmtp
        self.received = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.domains and domain not in self.domains:
            return f"550 5.1.2 not a bounce address of this server: {address}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        loop = asyncio.get_running_loop()
        replies = []
        for recipient in envelope.rcpt_tos:
            try:
                await loop.run_in_executor(None, self.take, data, recipient)
            except Exception:  # stored nothing: the sender keeps it and tries again
                log.exception("could not take in a message for %s", recipient)
                replies.append("451 4.3.0 cannot store the message now, try again later")
            else:
                self.received += 1
                replies.append("250 2.0.0 bounce received")
        if not self.lmtp:
            # SMTP has one reply for the whole message: refuse it if any copy failed.
            failed = [r for r in replies if not r.startswith("250")]
            return failed[0] if failed else replies[0]
        # LMTP answers once per recipient, in RCPT order.
        return "\r\n".join(replies)


class BounceReceiver(Controller):
    """The threaded server: ``start()``, then ``stop()``."""

    def __init__(
        self,
        take: Take,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        domains: tuple[str, ...] = (),
        lmtp: bool = False,
    ) -> None:
        self.lmtp = lmtp
        self.bounce_handler = BounceHandler(take, domains, lmtp)
        super().__init__(
            self.bounce_handler,
            hostname=host,
            port=port,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
