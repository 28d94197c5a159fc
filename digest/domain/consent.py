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
# The same version in the other languages the form is shown in: a translation is
# part of the version it translates, fixed here rather than in the catalogues, so
# that a catalogue update never changes what someone agreed to.
TRANSLATED_WORDING = {
    "2026-11": {
        "es": (
            "Envíenme los temas que he elegido, a la hora que he escogido. Puedo cambiarlos "
            "o darme de baja con un clic desde cualquier correo, y mi dirección no se usa "
            "para nada más."
        ),
        "fr": (
            "Envoyez-moi les thèmes choisis, à l'heure choisie. Je peux les modifier ou me "
            "désabonner en un clic depuis n'importe quel e-mail, et mon adresse ne sert à "
            "rien d'autre."
        ),
        "de": (
            "Senden Sie mir die gewählten Themen zur gewählten Zeit. Ich kann sie ändern "
            "oder mich mit einem Klick aus jeder E-Mail abmelden, und meine Adresse wird "
            "für nichts anderes verwendet."
        ),
        "ar": (
            "أرسلوا إليّ المواضيع التي اخترتها في الوقت الذي حددته. يمكنني تغييرها أو إلغاء "
            "الاشتراك بنقرة واحدة من أي رسالة، ولا يُستخدم عنواني لأي غرض آخر."
        ),
    },
}
CURRENT_WORDING = "2026-11"


def consent_wording(version: str, language: str = "en") -> str | None:
    """The wording of ``version`` as shown in ``language`` (English where no
    translation of that version exists); None for an unknown version. A recorded
    version names its language after a slash (``2026-11/fr``); plain is English."""
    version, _, recorded = version.partition("/")
    english = CONSENT_WORDING.get(version)
    if english is None:
        return None
    return TRANSLATED_WORDING.get(version, {}).get(recorded or language, english)


def recorded_version(language: str) -> str:
    """How a consent record names the current wording shown in ``language``."""
    translated = language in TRANSLATED_WORDING.get(CURRENT_WORDING, {})
    return f"{CURRENT_WORDING}/{language}" if translated else CURRENT_WORDING


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
