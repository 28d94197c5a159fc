"""Test copies: an editor's preview sent to the editor's own address, marked [TEST],
with links that lead nowhere (the reader's signed links stay with the reader) and no
list headers. Nothing is stored about the copy itself: no delivery, no attempt, no
sent-ledger row; only a count per editor, since test copies may go to any address and
must not become a way to mail strangers, and never to a suppressed address."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from digest.config import Settings
from digest.domain.delivery import Reply
from digest.mail.dkim import signed
from digest.mail.message import make_message_id
from digest.mail.sender import Sender
from digest.rendering import render_digest
from digest.services import limits
from digest.services.editorial.previewing import Preview, PreviewError
from digest.services.readers.subscribers import SubscriberError, normalise_email
from digest.services.readers.suppressing import suppression_of
from digest.services.sending.composing import message_of, sample_recipient

log = logging.getLogger(__name__)

TEST_COPIES = 20  # per editor in TEST_COPY_WINDOW
TEST_COPY_WINDOW = timedelta(hours=1)


def may_send_test(session: Session, editor: str, to_addr: str, now: datetime) -> str:
    """The address a test copy from ``editor`` may go to (``to_addr`` normalised), and
    one more attempt counted against the editor; raises PreviewError for an address
    that is not valid or is suppressed, and when the editor has made TEST_COPIES
    attempts in the last hour."""
    try:
        address = normalise_email(to_addr)
    except SubscriberError as exc:
        raise PreviewError(str(exc)) from None
    # Counted first, refusals too: otherwise the refusal below would tell an editor,
    # without limit, which addresses are on the suppression list.
    key = limits.limit_key("test-copy", editor.strip().lower())
    if not limits.take(session, key, TEST_COPIES, now, TEST_COPY_WINDOW):
        raise PreviewError(
            f"{TEST_COPIES} test copies in the last hour is the limit for one editor; "
            "try again later"
        )
    if suppression_of(session, address) is not None:
        raise PreviewError(f"{address} is on the suppression list; nothing is sent to it")
    return address


def test_copy(preview: Preview, settings: Settings, to_addr: str, now: datetime) -> bytes:
    """The previewed email as a test copy for ``to_addr``: ``[TEST]`` before the
    subject, no list headers, and preferences and unsubscribe links that lead nowhere
    (the reader's own signed links stay with the reader)."""
    if preview.email is None or preview.content is None:
        raise PreviewError("nothing new at this slot, so there is no email to send")
    topics = [s.topic_name for s in preview.content.sections]
    recipient = replace(
        sample_recipient(settings, to_addr, topics), reason=preview.recipient.reason
    )
    rendered = render_digest(preview.content, recipient, brand=settings.brand)
    return message_of(
        rendered,
        recipient,
        settings,
        content=preview.content,
        message_id=make_message_id(settings.from_domain),
        date=now,
        test_copy=True,
    )


def send_test(
    preview: Preview, settings: Settings, sender: Sender, to_addr: str, now: datetime
) -> Reply:
    """Send a test copy of ``preview`` to ``to_addr``. Nothing is stored: no delivery,
    no attempt, no sent-ledger row."""
    try:
        address = normalise_email(to_addr)
    except SubscriberError as exc:
        raise PreviewError(str(exc)) from None
    data = signed(test_copy(preview, settings, address, now), settings)
    with sender.session() as conn:
        reply = conn.send(settings.from_address, address, data)
    log.info(
        "test copy of the digest for %s at %s sent to %s: %s %s",
        preview.recipient.email,
        preview.slot_at.isoformat(),
        address,
        reply.code,
        reply.text,
    )
    return reply
