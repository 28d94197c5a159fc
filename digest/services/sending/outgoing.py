"""One claimed delivery made ready for the relay: rendered, composed, signed, and
with the envelope sender that brings its bounces back to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from digest.config import Settings, secret_key
from digest.db.models import Subscriber
from digest.domain.content import DigestContent
from digest.mail.dkim import signed
from digest.mail.verp import address_of, token
from digest.rendering import render_digest
from digest.services.sending.composing import message_of, recipient_for


@dataclass
class Outgoing:
    delivery_id: int
    to_addr: str
    data: bytes | None  # None: must not be sent (see `blocked`)
    blocked: str | None = None
    return_path: str | None = None  # the envelope sender; None: the From address


def outgoing_for(
    delivery_id: int,
    email: str,
    message_id: str,
    sub: Subscriber,
    content: DigestContent,
    settings: Settings,
    now: datetime,
    digest_id: int,
) -> Outgoing:
    """Digest ``digest_id`` for delivery ``delivery_id``, to ``email``, as it goes to
    the relay."""
    recipient = recipient_for(sub, settings, digest_id)
    rendered = render_digest(content, recipient, brand=settings.brand)
    envelope, ref = None, None
    if settings.bounce_address is not None:
        # VERP: a bounce comes back to an address that names this delivery; the same
        # token in a header serves bounces sent elsewhere that quote our headers.
        ref = token(delivery_id, secret_key(settings))
        envelope = address_of(settings.bounce_address, ref)
    data = message_of(
        rendered,
        recipient,
        settings,
        content=content,
        message_id=message_id,
        date=now,
        to_addr=email,
        delivery_token=ref,
    )
    return Outgoing(delivery_id, email, signed(data, settings), return_path=envelope)
