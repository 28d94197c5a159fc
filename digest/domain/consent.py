"""Consent: the wording a subscriber agreed to, and addresses kept only as hashes.

The wording shown next to the subscribe button is versioned: a consent record names
the version, and every version stays here, so what someone agreed to can always be
shown again, word for word.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from digest.domain.text import text_problem

CONSENT_WORDING = {
    "2026-11": (
        "Send me the topics I picked, at the time I chose. I can change them or "
        "unsubscribe in one click from any email, and my address is used for nothing else."
    ),
}
CURRENT_WORDING = "2026-11"


def address_hash(email: str) -> str:
    """A stable SHA-256 of a normalised address: lets a suppression entry outlive
    the address it blocks without keeping that address in clear."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def consent_page(base_url: str, claimed: str | None) -> str:
    """The page a consent record names: ``claimed`` (the page a form says it was on)
    when it is an address on the site's own origin, the origin of ``base_url``, such
    as a form the publisher embeds in its pages; else the subscribe page itself. The
    request's Host header and a page elsewhere are never recorded, since anyone can
    write them."""
    own = f"{base_url.rstrip('/')}/subscribe"
    if (
        not claimed
        or len(claimed) > 2000
        or text_problem(claimed)
        or any(c.isspace() for c in claimed)
    ):
        return own
    try:
        page, site = urlsplit(claimed), urlsplit(base_url)
    except ValueError:
        return own
    same_origin = (
        page.scheme.lower() == site.scheme.lower() and page.netloc.lower() == site.netloc.lower()
    )
    return claimed if same_origin else own
