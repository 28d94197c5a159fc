"""What text from outside may hold: one rule for every form, API body, query
parameter, command and imported row, so each refuses the same input in the same words.

Refused in all text: the C0 control characters (U+0000–U+001F), DEL (U+007F) and the
C1 controls (U+0080–U+009F), except the tab and line breaks of text that may span
lines; and lone surrogates, which are not text at all. PostgreSQL cannot store a NUL
or a surrogate; the others reach logs, terminals, CSV files and email headers, where
they do harm. Names also refuse the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069), which make a name read differently from what it holds.

Addresses must not imitate others by mixing look-alike scripts: each label of the
domain (in its Unicode form) is written in one script, and the local part does not
mix Latin letters with Cyrillic or Greek ones.
"""

from __future__ import annotations

import re
import unicodedata

# Character ranges as regular-expression escapes, which Python and JSON Schema
# (the API's document) read alike.
_C0 = r"\u0000-\u001f"
_C0_BUT_BREAKS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f"  # tab, LF and CR allowed
_DEL_C1 = r"\u007f-\u009f"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_SURROGATES = r"\ud800-\udfff"

_CONTROLS = re.compile(f"[{_C0}{_DEL_C1}{_SURROGATES}]")
_CONTROLS_BUT_BREAKS = re.compile(f"[{_C0_BUT_BREAKS}{_DEL_C1}{_SURROGATES}]")
_BIDI_CONTROLS = re.compile(f"[{_BIDI}]")

# Scripts written together: a label in Japanese mixes Han with kana, one in Korean
# Han with Hangul, one in Chinese may carry Bopomofo.
_WRITTEN_TOGETHER = (
    frozenset({"Han", "Hiragana", "Katakana"}),
    frozenset({"Han", "Hangul"}),
    frozenset({"Han", "Bopomofo"}),
)
# The first word of a letter's Unicode name, where it is not the script's own name.
_SCRIPT_WORDS = {
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "KATAKANA-HIRAGANA": "Katakana",
    "MODIFIER": None,  # modifier letters go with any script
}
# Letters that pass for Latin ones.
_LOOK_ALIKES = ("Cyrillic", "Greek")


class TextError(ValueError):
    """Text that cannot be kept: ``field`` names the input, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def text_problem(value: str, *, lines: bool = False, name: bool = False) -> str | None:
    """Why ``value`` cannot be kept, or None when it can. ``lines``: text that may span
    lines, where tabs and line breaks are allowed; ``name``: a person's or a topic's
    name, which also refuses the bidirectional controls."""
    found = (_CONTROLS_BUT_BREAKS if lines else _CONTROLS).search(value)
    if found:
        char = found.group()
        if "\ud800" <= char <= "\udfff":
            return f"is not valid Unicode text (found the lone surrogate {_code(char)})"
        return f"must not contain control characters (found {_code(char)})"
    if name:
        found = _BIDI_CONTROLS.search(value)
        if found:
            return (
                "must not contain bidirectional text controls "
                f"(found {_code(found.group())}, which reverses or isolates text)"
            )
    return None


def allowed_pattern(*, lines: bool = False, name: bool = False) -> str:
    """The rule of :func:`text_problem` as a regular expression that matches the text
    it keeps, for documents such as the API's (lone surrogates left out: JSON cannot
    carry them anyway)."""
    refused = (_C0_BUT_BREAKS if lines else _C0) + _DEL_C1 + (_BIDI if name else "")
    return f"^[^{refused}]*$"


def check_text(field: str, value: str, *, lines: bool = False, name: bool = False) -> str:
    """``value`` unchanged if it can be kept; else :class:`TextError` naming ``field``."""
    problem = text_problem(value, lines=lines, name=name)
    if problem:
        raise TextError(field, problem)
    return value


def one_line_name(field: str, raw: str | None, limit: int) -> str | None:
    """A name as stored: runs of spaces made one, None when empty, at most ``limit``
    characters. Control characters (line breaks included) and bidirectional controls
    are refused, never dropped: :class:`TextError` naming ``field``."""
    check_text(field, raw or "", name=True)
    name = " ".join((raw or "").split()) or None
    if name and len(name) > limit:
        raise TextError(field, f"is longer than {limit} characters")
    return name


def script_of(char: str) -> str | None:
    """The script of a letter (``"Latin"``, ``"Cyrillic"``, ``"Han"`` …); None for
    anything else (digits, hyphens, combining marks), which goes with any script."""
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "").split(" ", 1)[0]
    if not word:
        return None
    return _SCRIPT_WORDS.get(word, word.title())


def scripts_in(text: str) -> list[str]:
    """The scripts of the letters in ``text``, each once, in order of appearance."""
    found = (script_of(c) for c in text)
    return list(dict.fromkeys(s for s in found if s is not None))


def _listed(scripts: list[str]) -> str:
    named = sorted(scripts, key=lambda s: s != "Latin")  # Latin first, the rest as found
    return ", ".join(named[:-1]) + f" and {named[-1]}"


def _mixed(scripts: list[str]) -> bool:
    return len(scripts) > 1 and not any(set(scripts) <= group for group in _WRITTEN_TOGETHER)


def address_problem(address: str) -> str | None:
    """Why ``address`` (already syntax-checked, its domain in Unicode form) looks like
    another one, or None: bidirectional controls anywhere, a domain label in more
    than one script (``exаmple.org`` with a Cyrillic а), or a local part mixing
    Latin with Cyrillic or Greek letters."""
    found = _BIDI_CONTROLS.search(address)
    if found:
        return f"must not contain bidirectional text controls (found {_code(found.group())})"
    local, _, domain = address.rpartition("@")
    for label in domain.split("."):
        scripts = scripts_in(label)
        if _mixed(scripts):
            return f"mixes {_listed(scripts)} letters in {label!r}: a domain look-alike"
    scripts = scripts_in(local)
    if "Latin" in scripts and any(s in scripts for s in _LOOK_ALIKES):
        mixed = [s for s in scripts if s == "Latin" or s in _LOOK_ALIKES]
        return f"mixes {_listed(mixed)} letters before the @: an address look-alike"
    return None


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 article", "3 articles", "0 articles"."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def masked_address(email: str) -> str:
    """``a•••@example.org``: enough for a reader to recognise their address on a page
    anyone holding the link can open, not enough to learn it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"
