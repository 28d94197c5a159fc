"""A reader's digest in the browser: the link at the top of every digest.

The link is signed and names the digest and the reader's link stamp, so it stops
working when the reader replaces their links or is erased, like their other links.
The page is the email itself: the articles the digest was built with (its stored
article list), rendered by the same code in the reader's language and time zone.
Such links get shared, so the page holds nothing that acts for the reader: its
preferences and unsubscribe links lead nowhere (as in a preview) and the address is
masked. The reader's working links stay in the email.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from digest.config import Settings, secret_key
from digest.db.models import Digest, Subscriber
from digest.domain.text import masked_address
from digest.rendering import render_digest
from digest.services.sending.composing import contents, dead_link, recipient_for
from digest.tokens import InvalidToken, link_stamp, read_token


def digest_page(session: Session, settings: Settings, token: str) -> str | None:
    """The HTML of the digest ``token`` names, as its reader got it; None for a
    forged or stale link, or a digest that was never built or failed (no email with
    this link reached anyone)."""
    try:
        digest_id, stamp = read_token(secret_key(settings), "view", token)
    except InvalidToken:
        return None
    digest = session.get(Digest, digest_id)
    # Built (being sent, or deferred) or sent: the reader may hold this email.
    if digest is None or digest.status not in ("built", "sent"):
        return None
    sub = session.get(Subscriber, digest.subscriber_id)
    if sub is None or link_stamp(sub.created_at, sub.link_epoch or 0) != stamp:
        return None
    content = contents(session, [digest], {sub.id: sub}, site_language=settings.language)
    recipient = replace(
        recipient_for(sub, settings, digest.id),
        preferences_url=dead_link(settings, "preferences"),
        unsubscribe_url=dead_link(settings, "unsubscribe"),
        email=masked_address(sub.email),
    )
    return render_digest(content[digest.id], recipient, brand=settings.brand).html
