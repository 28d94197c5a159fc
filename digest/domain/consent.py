"""Consent: the wording a subscriber agreed to, and addresses kept only as hashes.

The wording shown next to the subscribe button is versioned: a consent record names
the version, and every version stays here, so what someone agreed to can always be
shown again, word for word.
"""

from __future__ import annotations

import hashlib

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
