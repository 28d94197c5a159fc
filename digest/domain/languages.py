"""The languages readers can get their emails and pages in, and choosing one.

Codes are BCP 47 primary language tags. A reader who chose or accepted a language on
the form keeps it; one who never did (imported without one, or from before languages
existed) follows the site's default, and so moves with it.
"""

from __future__ import annotations

import re

# Each language in its own name, as a reader looks for it in a list.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "ar": "العربية",
}
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})

_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
_MAX_ACCEPT = 2000  # longer Accept-Language headers are read only this far


class LanguageError(ValueError):
    """A language that is not offered; the message names the choices."""


def direction(language: str) -> str:
    """``rtl`` for a right-to-left language, else ``ltr``."""
    return "rtl" if primary(language) in RIGHT_TO_LEFT else "ltr"


def primary(tag: str) -> str:
    """``pt-BR`` → ``pt``; the primary subtag, lower case."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def supported(language: str | None) -> str | None:
    """``language`` if it is offered, else None (a code stored before a language was
    withdrawn, or written by hand)."""
    return language if language in LANGUAGES else None


def parse_language(value: str) -> str:
    """A supported language code from ``value`` (``fr``, ``FR``, ``fr-CA`` → ``fr``);
    raises :class:`LanguageError` naming the supported codes otherwise."""
    text = value.strip()
    if _TAG.fullmatch(text) and primary(text) in LANGUAGES:
        return primary(text)
    offered = ", ".join(LANGUAGES)
    raise LanguageError(f"unknown language {text[:20]!r}: use one of {offered}")


def preferred(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The supported language a browser's ``Accept-Language`` header ranks highest
    (RFC 9110 §12.5.4: quality values, ``*``); ``default`` when none is offered."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "")[:_MAX_ACCEPT].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, raw = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        tag = tag.strip()
        if quality <= 0 or not (tag == "*" or _TAG.fullmatch(tag)):
            continue
        code = default if tag == "*" else primary(tag)
        if code in LANGUAGES:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else default
