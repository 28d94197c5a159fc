"""The readers' catalogues: every string of every reader template and of the Python
code that speaks to readers is extracted, translated in every language offered, and
compiled; and no template holds words outside a translation call."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from digest.domain.languages import LANGUAGES
from digest.rendering.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "translate": (2,),
    "translate_plural": (2, 3),
    "phrase": None,
    "N_": None,
}
# Pages of the console: English only, not extracted (babel.cfg says the same).
CONSOLE = re.compile(r"(^|/)(_?admin_[^/]*|forbidden)\.html$")


def _extracted() -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """What ``pybabel extract`` (docs/languages.md) finds: msgid -> all its forms,
    and the files the strings came from."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    files: set[str] = set()
    messages = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        # As the command is documented: only hidden folders and caches are skipped,
        # so templates/email/_base is read.
        directory_filter=lambda path: not Path(path).name.startswith((".", "__")),
    )
    for file, _line, message, _comments, _context in messages:
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
        files.add(Path(file).as_posix())
    return found, files


@pytest.fixture(scope="module")
def extraction() -> tuple[dict[str, tuple[str, ...]], set[str]]:
    return _extracted()


@pytest.fixture(scope="module")
def extracted(
    extraction: tuple[dict[str, tuple[str, ...]], set[str]],
) -> dict[str, tuple[str, ...]]:
    return extraction[0]


def _catalogue(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def test_extraction_finds_the_strings_of_templates_python_code_and_the_shared_layout(
    extraction: tuple[dict[str, tuple[str, ...]], set[str]],
) -> None:
    extracted, files = extraction
    # One from a reader page, one from the email layout in templates/email/_base/,
    # one from Python (a form error), one plural from a text template.
    assert "Check your inbox" in extracted
    assert "Sent to %(email)s" in extracted
    assert "pick at least one topic" in extracted
    assert extracted["Your daily digest, %(edition)s: %(num)s new article."][1].endswith(
        "new articles."
    )
    assert {"templates/email/_base/body.html", "digest/rendering/render.py"} <= files
    assert "templates/web/subscribe.html" in files
    # The console is not for readers: its templates are not read.
    assert not [f for f in files if CONSOLE.search(f)]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_extracted_string_is_translated_in_every_language(
    language: str, extracted: dict[str, tuple[str, ...]]
) -> None:
    catalogue = _catalogue(language)
    missing, untranslated = [], []
    for msgid, forms in extracted.items():
        entry = catalogue.get(forms if len(forms) > 1 else msgid)
        if entry is None:
            missing.append(msgid)
        elif "fuzzy" in entry.flags or not all(
            entry.string if isinstance(entry.string, tuple) else (entry.string,)
        ):
            untranslated.append(msgid)
    assert missing == [], f"{language}: not in the catalogue (run pybabel extract/update)"
    assert untranslated == [], f"{language}: not translated, or marked fuzzy"
    # Placeholders agree with the source (%(name)s kept, none added), plural forms
    # are as many as the language has.
    problems = [(m.id, errors) for m, errors in catalogue.check()]
    assert problems == []


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_compiled_catalogue_is_the_one_in_the_po_file(language: str) -> None:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as mo:
        shipped = read_mo(mo)
    compiled = BytesIO()
    write_mo(compiled, _catalogue(language))
    compiled.seek(0)
    fresh = read_mo(compiled)
    assert _pairs(shipped) == _pairs(fresh), f"run pybabel compile -d digest/locale -l {language}"


def _pairs(catalogue: Catalog) -> dict[object, object]:
    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in catalogue if m.id}


# -- no words outside translation calls ------------------------------------------------

_SKIPPED_ELEMENTS = {"style", "script"}
_ATTRIBUTES = re.compile(r"""[\w-]+=("[^"]*"|'[^']*')""")
_WORDY_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "label"}


class _Words(HTMLParser):
    """The words a reader would see in the literal parts of a template: text and
    the attributes read aloud or shown, outside styles and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self.skipping += 1
        self.words += [v for k, v in attrs if k in _WORDY_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            # A macro that writes attributes into a tag (aria-invalid="true") is
            # markup, not words.
            self.words.append(_ATTRIBUTES.sub(" ", data))


def _reader_templates() -> list[Path]:
    email = sorted((ROOT / "templates" / "email").rglob("*.*"))
    web = sorted((ROOT / "templates" / "web").glob("*.html"))
    return [
        p for p in email + web if p.suffix in (".html", ".txt") and not CONSOLE.search(p.as_posix())
    ]


def literal_words(source: str, html: bool) -> list[str]:
    """Letters in the literal text of a template (what Jinja outputs as it stands),
    leaving out everything Jinja computes: expressions, tags and comments."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    literal = "".join(value if kind == "data" else " " for _line, kind, value in env.lex(source))
    if html:
        parser = _Words()
        parser.feed(literal)
        texts = parser.words
    else:
        texts = [literal]
    return [w for text in texts for w in re.findall(r"[^\W\d_]{2,}", text)]


def test_the_word_check_sees_untranslated_text_and_accepts_translated_text() -> None:
    assert literal_words('<p>Hello {{ name }}</p><img alt="A photo">', html=True) == [
        "Hello",
        "photo",
    ]
    assert (
        literal_words('<p>{{ _("Hello %(n)s", n=name) }}</p><style>p{color:red}</style>', True)
        == []
    )
    assert literal_words("Sent to {{ email }}\n== {{ x }} ==", html=False) == ["Sent", "to"]


@pytest.mark.parametrize("path", _reader_templates(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reader_template_holds_words_outside_a_translation_call(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    if path.name == "style.css":
        return
    assert literal_words(source, html=path.suffix == ".html") == []
