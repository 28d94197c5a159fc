"""Email-client support data from caniemail, reduced to what ``compat.check`` needs.

Regenerate the shipped data after updating the corpus::

    python -m digest.rendering.compat_data /path/to/caniemail/_features

This writes ``data/caniemail.json`` and copies the corpus licence (MIT) beside it as
``data/caniemail.LICENSE``. The front matter is YAML in name only (tabs, unquoted keys,
trailing commas), so it is read with a small tolerant parser rather than a YAML library.

Support is kept for four client families, at the latest version of each of their
platforms: Gmail (all platforms), Outlook (the ``windows`` platform only: Outlook
desktop on Windows), Apple Mail and Yahoo Mail (all platforms). A family is
"unsupported" when every platform with data says "n", "supported" when every one says
"y", "unknown" when none has data ("u" or no entry), and "partial" otherwise; the
notes of the platforms that are not "y" go with it.

Mapped, per feature:

* CSS properties, from the title (``margin``, ``gap, column-gap, row-gap``) plus the
  keywords that are longhands of them (``margin-left``), and a few set by hand;
* CSS property values, from ``property:value`` titles (``display:flex``) and
  ``background`` with ``url()`` for background-image;
* CSS functions, from ``name()`` titles (``linear-gradient()``, ``rgba()``, ``calc()``);
* HTML elements, from ``<tag>`` titles, with the ``type`` of ``<input>``/``<button>``.

Skipped, because a declaration or a tag name does not show them reliably: at-rules
and media features (``css-at-*``); selectors, combinators, pseudo-classes and
pseudo-elements; units; ``!important``, comments, custom properties, nesting; keyword
values (``system-ui``, ``fit-content``); the ``inert`` attribute and every other HTML
attribute (``align``, ``width``, ``aria-*``, ``srcset`` ...); HTML comments, the
doctype, anchor and mailto links, the color-scheme meta tag; image formats, AMP, BIMI.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
DATA_FILE = "caniemail.json"
LICENSE_FILE = "caniemail.LICENSE"

# Family -> (caniemail client, the platforms kept; None for all of them).
FAMILIES: dict[str, tuple[str, frozenset[str] | None]] = {
    "gmail": ("gmail", None),
    "outlook": ("outlook", frozenset({"windows"})),
    "apple-mail": ("apple-mail", None),
    "yahoo": ("yahoo", None),
}
_PLATFORM_NAMES = {"desktop-webmail": "webmail", "mobile-webmail": "mobile webmail", "ios": "iOS"}
_PLATFORM_NAMES.update(android="Android", macos="macOS", windows="Windows")
_STATUS = {"y": "supported", "n": "unsupported", "a": "partial", "u": "unknown"}

_SKIPPED_PREFIXES = ("css-at-", "css-pseudo-", "css-selector-", "css-unit-", "html-aria-")
_SKIPPED = {"css-comments", "css-important", "css-inert-attribute", "css-intrinsic-size"}
_SKIPPED |= {"css-nesting", "css-sytem-ui", "css-variables"}


def _properties(names: str) -> list[dict[str, str]]:
    return [{"property": name} for name in names.split()]


# Features whose title does not name what they cover: read by hand from their
# description, notes or keywords.
_OVERRIDES: dict[str, list[dict[str, str]]] = {
    "css-animation": _properties(
        "animation animation-delay animation-direction animation-duration"
        " animation-fill-mode animation-iteration-count animation-name"
        " animation-play-state animation-timing-function"
    ),
    "css-background-image": [
        {"property": "background-image"},
        {"property": "background", "function": "url"},
    ],
    # column-count and column-gap have features of their own.
    "css-column-layout-properties": _properties(
        "column-fill column-rule column-rule-color column-rule-style column-rule-width"
        " column-span column-width columns"
    ),
    "css-scroll-snap": _properties("scroll-snap-align scroll-snap-stop scroll-snap-type"),
    "css-transition": _properties(
        "transition transition-delay transition-duration transition-property"
        " transition-timing-function"
    ),
    "css-unit-calc": [{"function": "calc"}],
    "html-address": [{"element": "address"}],
    "html-h1-h6": [{"element": f"h{n}"} for n in range(1, 7)],
    "html-image-maps": [{"element": "area"}, {"element": "map"}],
}
# Features whose keywords are exactly the properties or elements they cover.
_FROM_KEYWORDS = {"css-border-inline-block-individual", "css-border-inline-block-longhand"}
_FROM_KEYWORDS |= {"css-border-radius-logical", "css-grid-template", "html-lists", "html-semantics"}

_IDENT = re.compile(r"-?[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_FUNCTION = re.compile(r"([a-z][a-z0-9-]*)\(\)")
_TAG = re.compile(r'<([a-z][a-z0-9]*)(?:\s+type="([a-z]+)")?>')
_NOTE_REF = re.compile(r"#(\w+)")
_YEAR = re.compile(r"(19|20)\d\d(-\d\d)?")


# --- the front matter --------------------------------------------------------------


class _Reader:
    """A tolerant reader for caniemail's front matter: ``key: value`` lines whose
    values may be JSON5-like objects (unquoted or quoted keys, tabs, optional and
    trailing commas, ``//``, ``/* */`` and ``#`` comments)."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.pos = 0
        self.source = source

    def fail(self, expected: str) -> ValueError:
        line = self.text.count("\n", 0, self.pos) + 2  # +1 for the opening "---"
        found = self.text[self.pos : self.pos + 20] or "the end"
        return ValueError(f"{self.source}: front matter line {line}: {expected}, found {found!r}")

    def skip(self, newlines: bool = True) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r" or (newlines and char in "\n,"):
                self.pos += 1
            elif text.startswith("//", self.pos) or (char == "#" and newlines):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("an end to the comment")
                self.pos = end + 2
            else:
                return

    def document(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.pos >= len(self.text):
                return result
            key = self.scalar(":\n")
            if not self.text.startswith(":", self.pos):
                raise self.fail(f"':' after the key {key!r}")
            self.pos += 1
            self.skip(newlines=False)
            if self.text.startswith("{", self.pos):
                result[key] = self.mapping()
            else:
                result[key] = self.scalar("\n")
                # Anything after a quoted value on its line is not data.
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end

    def mapping(self) -> dict[str, Any]:
        self.pos += 1  # the "{"
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail("'}'")
            if self.text[self.pos] == "}":
                self.pos += 1
                return result
            key = self.scalar(":,}\n")
            self.skip(newlines=False)
            if not self.text.startswith(":", self.pos):
                raise self.fail(f"':' after the key {key!r}")
            self.pos += 1
            self.skip()
            if self.text.startswith("{", self.pos):
                result[key] = self.mapping()
            else:
                result[key] = self.scalar(",}\n")

    def scalar(self, stops: str) -> str:
        text = self.text
        if self.pos < len(text) and text[self.pos] in "\"'":
            return self.quoted()
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in stops:
            self.pos += 1
        return text[start : self.pos].strip()

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == quote:
                if quote == "'" and text.startswith("''", self.pos):
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            if char == "\\" and quote == '"' and self.pos + 1 < len(text):
                # The corpus only escapes quotes; keep \n and \t readable all the same.
                escaped = text[self.pos + 1]
                out.append({"n": "\n", "t": "\t"}.get(escaped, escaped))
                self.pos += 2
                continue
            out.append(char)
            self.pos += 1
        raise self.fail(f"a closing {quote}")


def front_matter(text: str, source: str) -> dict[str, Any]:
    """The front matter of one feature file as nested dicts of strings."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{source}: does not start with a '---' front matter line")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise ValueError(f"{source}: the front matter has no closing '---' line") from None
    return _Reader("\n".join(lines[1:end]), source).document()


# --- support per client family -------------------------------------------------------


def _newest(keys: list[str]) -> str:
    """The latest of a platform's versions: by number when they are all years
    ("2019", "2023-12") or all app versions ("12.4"), else the last listed, since the
    corpus mixes the two on some platforms ("2016" then "16.80" for Outlook on macOS)."""
    years = [bool(_YEAR.fullmatch(k)) for k in keys]
    if all(years) or not any(years):
        # max() keeps the first of equals; reversed so the last listed wins a tie.
        return max(reversed(keys), key=lambda k: tuple(int(n) for n in re.findall(r"\d+", k)))
    return keys[-1]


def _latest(versions: Any, source: str) -> tuple[str, list[str]] | None:
    """The status letter and note numbers of a platform's latest version."""
    if not isinstance(versions, dict) or not versions:
        return None
    value = versions[_newest(list(versions))]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{source}: support value {value!r} is not a string such as 'a #1'")
    letter = value.strip()[0].lower()
    if letter not in _STATUS:
        raise ValueError(f"{source}: support value {value!r} does not start with y, n, a or u")
    return letter, _NOTE_REF.findall(value)


def family_support(
    stats: dict[str, Any], notes: dict[str, Any], family: str, source: str
) -> dict[str, str]:
    """``{"status": ..., "note": ...}`` for one family; the note only when not supported."""
    client, kept = FAMILIES[family]
    platforms = stats.get(client)
    known: dict[str, tuple[str, list[str]]] = {}
    if isinstance(platforms, dict):
        for platform, versions in platforms.items():
            if kept is not None and platform not in kept:
                continue
            latest = _latest(versions, source)
            if latest is not None and latest[0] != "u":
                known[platform] = latest
    letters = {letter for letter, _ in known.values()}
    if not letters:
        return {"status": "unknown"}
    if letters == {"y"}:
        return {"status": "supported"}
    status = "unsupported" if letters == {"n"} else "partial"
    texts: list[str] = []
    for letter, refs in known.values():
        for ref in refs if letter != "y" else ():
            text = str(notes.get(ref, "")).strip()
            if text and text not in texts:
                texts.append(text)
    if "y" in letters:
        affected = [_PLATFORM_NAMES.get(p, p) for p, (letter, _) in known.items() if letter != "y"]
        texts.append(f"Affects: {', '.join(affected)}.")
    result = {"status": status}
    if texts:
        result["note"] = " ".join(texts)
    return result


# --- what a feature is about ----------------------------------------------------------


def _keywords(meta: dict[str, Any]) -> list[str]:
    return [k.strip().lower() for k in str(meta.get("keywords", "")).split(",") if k.strip()]


def _css_matches(slug: str, meta: dict[str, Any]) -> list[dict[str, str]]:
    if slug in _FROM_KEYWORDS:
        return [{"property": k} for k in _keywords(meta) if _IDENT.fullmatch(k)]
    title = str(meta.get("title", "")).strip().lower()
    title = re.sub(r"\s+(css property|property|shorthand)$", "", title)
    pair = re.fullmatch(r"([a-z-]+)\s*:\s*([a-z-]+)", title)
    if pair:
        return [{"property": pair[1], "value": pair[2]}]
    parts = [p.strip() for p in re.split(r",|&", title)]
    if all(_FUNCTION.fullmatch(p) for p in parts):
        return [{"function": p[:-2]} for p in parts]
    if not all(_IDENT.fullmatch(p) for p in parts):
        return []
    longhands = [k for k in _keywords(meta) if any(k.startswith(f"{p}-") for p in parts)]
    return [{"property": p} for p in dict.fromkeys(parts + longhands) if _IDENT.fullmatch(p)]


def _html_matches(slug: str, meta: dict[str, Any]) -> list[dict[str, str]]:
    if slug in _FROM_KEYWORDS:
        return [{"element": k} for k in _keywords(meta) if re.fullmatch(r"[a-z][a-z0-9]*", k)]
    tags = _TAG.findall(str(meta.get("title", "")).lower())
    return [{"element": tag, "type": kind} if kind else {"element": tag} for tag, kind in tags]


def feature(path: Path) -> tuple[str, dict[str, Any] | None]:
    """One feature file as ``(slug, entry)``; the entry is None when nothing maps."""
    slug = path.stem
    meta = front_matter(path.read_text(encoding="utf-8"), str(path))
    category = str(meta.get("category", "")).strip().lower()
    if slug in _OVERRIDES:
        matches = _OVERRIDES[slug]
    elif slug in _SKIPPED or slug.startswith(_SKIPPED_PREFIXES):
        matches = []
    else:
        mapper = {"css": _css_matches, "html": _html_matches}.get(category)
        matches = mapper(slug, meta) if mapper else []
    if not matches:
        return slug, None
    stats = meta.get("stats")
    if not isinstance(stats, dict):
        raise ValueError(f"{path}: has no 'stats' mapping")
    notes = meta.get("notes_by_num")
    notes = notes if isinstance(notes, dict) else {}
    support = {f: family_support(stats, notes, f, str(path)) for f in FAMILIES}
    entry = {
        "title": str(meta.get("title", slug)).strip(),
        "category": category,
        "match": sorted(matches, key=lambda m: json.dumps(m, sort_keys=True)),
        "support": support,
    }
    return slug, entry


def build(features_dir: Path) -> dict[str, Any]:
    """The checker's data from every ``*.md`` in ``features_dir`` (``_template`` aside)."""
    paths = sorted(p for p in features_dir.glob("*.md") if not p.name.startswith("_"))
    if not paths:
        raise ValueError(f"{features_dir}: no caniemail feature files (*.md) found")
    features = {slug: entry for slug, entry in map(feature, paths) if entry is not None}
    return {
        "source": "https://www.caniemail.com/ (MIT, see caniemail.LICENSE)",
        "features": features,
    }


def dumps(data: dict[str, Any]) -> str:
    """The JSON text as shipped: compact, sorted keys, one trailing newline."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write(features_dir: Path, out_dir: Path = DATA_DIR) -> Path:
    """Regenerate ``caniemail.json`` and copy the corpus licence into ``out_dir``."""
    licence = features_dir.parent / "LICENSE"
    if not licence.is_file():
        raise ValueError(f"{licence}: the caniemail licence is missing; it must ship with the data")
    text = dumps(build(features_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DATA_FILE
    target.write_text(text, encoding="utf-8")
    shutil.copyfile(licence, out_dir / LICENSE_FILE)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m digest.rendering.compat_data", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("features_dir", type=Path, help="caniemail's _features directory")
    args = parser.parse_args(argv)
    try:
        target = write(args.features_dir)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    features = json.loads(target.read_text(encoding="utf-8"))["features"]
    print(f"wrote {target} ({target.stat().st_size} bytes, {len(features)} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
