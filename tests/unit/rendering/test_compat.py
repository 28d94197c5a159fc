"""Client-compatibility findings from caniemail data, and the shipped data itself."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from digest.rendering.compat import ClientSupport, Finding, check, declarations
from digest.rendering.compat_data import (
    DATA_FILE,
    LICENSE_FILE,
    family_support,
    front_matter,
    write,
)
from tests.unit.rendering.factories import article, content, render


@pytest.fixture(scope="module")
def features_dir(shared_path: Callable[[str], Path]) -> Path:
    # ../shared beside the repo, else the copy kept in tests/data.
    path = shared_path("corpora/caniemail/_features")
    assert path.is_dir(), f"the caniemail corpus is not at {path}"
    return path


def shipped(name: str) -> bytes:
    return resources.files("digest.rendering.data").joinpath(name).read_bytes()


def test_regenerating_from_the_corpus_gives_exactly_the_shipped_data(
    features_dir: Path, tmp_path: Path
) -> None:
    assert len(list(features_dir.glob("*.md"))) > 300
    write(features_dir, tmp_path)
    assert (tmp_path / DATA_FILE).read_bytes() == shipped(DATA_FILE)
    assert (tmp_path / LICENSE_FILE).read_bytes() == shipped(LICENSE_FILE)
    licence = shipped(LICENSE_FILE).decode("utf-8")
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2019 Rémi Parmentier" in licence
    assert len(shipped(DATA_FILE)) < 200_000


def test_front_matter_tolerates_tabs_bare_keys_trailing_commas_and_escapes() -> None:
    text = (
        "---\n"
        'title:\t"<button type=\\"reset\\"> element"\n'
        "category: html\n"
        "keywords:\n"
        "stats: {\n"
        "\tgmail: {\n"
        '\t\tdesktop-webmail: { "2019-02": "a #1 #2", "2020-11":"n", },\n'
        "\t\tios: {\n"
        '\t\t\t"2019-02": "y"  // a comment\n'
        "\t\t\t\"2020-11\": 'n'\n"
        "\t\t},\n"
        "\t},\n"
        "}\n"
        'notes_by_num: { "1": "Partial, with a comma: and a colon.", }\n'
        "---\n"
        "body text\n"
    )
    meta = front_matter(text, "example.md")
    assert meta["title"] == '<button type="reset"> element'
    assert meta["keywords"] == ""
    assert meta["stats"] == {
        "gmail": {
            "desktop-webmail": {"2019-02": "a #1 #2", "2020-11": "n"},
            "ios": {"2019-02": "y", "2020-11": "n"},
        }
    }
    assert meta["notes_by_num"] == {"1": "Partial, with a comma: and a colon."}


def test_front_matter_errors_name_the_file_and_line() -> None:
    with pytest.raises(ValueError, match=r"broken\.md: front matter line 3: ':' after"):
        front_matter("---\ntitle: x\nstats: { gmail { } }\n---\n", "broken.md")


def test_support_is_read_at_the_latest_version_of_each_kept_platform() -> None:
    notes = {"1": "Partial. Negative values are not supported."}
    # Versions listed out of order: the newest one counts.
    stats = {"apple-mail": {"ios": {"15": "n", "14": "y"}}}
    assert family_support(stats, {}, "apple-mail", "f") == {"status": "unsupported"}
    # Years and app versions mixed on one platform: the last listed counts.
    stats = {"outlook": {"windows": {"2016": "n", "16.80": "y"}}}
    assert family_support(stats, {}, "outlook", "f") == {"status": "supported"}
    # Outlook is the Windows desktop app only: Windows Mail and the rest are ignored.
    stats = {"outlook": {"windows": {"2019": "a #1"}, "windows-mail": {"2019-02": "n"}}}
    assert family_support(stats, notes, "outlook", "f") == {
        "status": "partial",
        "note": "Partial. Negative values are not supported.",
    }
    stats = {"gmail": {"ios": {"2020-11": "a #1"}, "android": {"2019-02": "y"}, "x": {"1": "u"}}}
    assert family_support(stats, notes, "gmail", "f") == {
        "status": "partial",
        "note": "Partial. Negative values are not supported. Affects: iOS.",
    }
    assert family_support({"yahoo": {"ios": {"2019": "u"}}}, {}, "yahoo", "f") == {
        "status": "unknown"
    }


def test_declarations_from_a_stylesheet_skip_comments_selectors_and_important() -> None:
    css = """
    /* .old { display: grid } */
    @media (max-width: 600px) { .a, .b { Position: FIXED !important; } }
    .c { background: url(data:image/png;base64,AAAA) no-repeat; --brand: red }
    """
    assert list(declarations(css, block=False)) == [
        ("position", "fixed"),
        ("background", "url(data:image/png;base64,aaaa) no-repeat"),
    ]
    assert list(declarations("color: red; font-size:12px", block=True)) == [
        ("color", "red"),
        ("font-size", "12px"),
    ]


# The expected support below is read from caniemail's css-display-flex.md, html-video.md,
# css-position.md, html-style.md and html-body.md: the latest version of each platform.
GMAIL_FLEX_NOTE = "Not supported with non Google accounts. Affects: iOS, Android."


def test_flex_video_and_fixed_position_name_the_clients_that_fail() -> None:
    html = (
        "<!doctype html><html><head><style>"
        ".banner { position: fixed; top: 0 }"
        "</style></head><body>"
        '<div style="display:flex">A</div>'
        '<video src="https://news.example.org/clip.mp4" controls></video>'
        "</body></html>"
    )
    findings = check(html)
    by_slug = {f.slug: f for f in findings}

    flex = by_slug["css-display-flex"]
    assert (flex.kind, flex.matched) == ("css", "display:flex")
    assert flex.clients == (
        ClientSupport("Gmail", "partial", GMAIL_FLEX_NOTE),
        ClientSupport("Outlook (Windows)", "unsupported", None),
    )
    assert "css-display" not in by_slug, "display:flex is not reported twice"

    video = by_slug["html-video"]
    assert (video.kind, video.matched) == ("html", "<video>")
    assert [(c.client, c.support) for c in video.clients] == [
        ("Gmail", "unsupported"),
        ("Outlook (Windows)", "unsupported"),
        ("Apple Mail", "partial"),
        ("Yahoo Mail", "unsupported"),
    ]
    assert video.clients[3].note == (
        "`<video>`, `<source>` and `<track>` tags are stripped. "
        "The fallback content is shown instead."
    )

    position = by_slug["css-position"]
    assert position.matched == "position"
    assert [(c.client, c.support) for c in position.clients] == [
        ("Gmail", "unsupported"),
        ("Outlook (Windows)", "unsupported"),
        ("Apple Mail", "partial"),
        ("Yahoo Mail", "partial"),
    ]
    assert position.clients[2].note == (
        "Partial. Supports `relative`, `absolute` but not `sticky` and `fixed`."
    )

    # Unsupported somewhere first, then partial only; each group by title.
    assert [f.slug for f in findings] == [
        "html-video",  # "<video> element"
        "css-display-flex",  # "display:flex"
        "css-left-right-top-bottom",  # "left, right, top, bottom": the `top: 0`
        "css-position",
        "html-body",
        "html-style",
    ]
    assert all(f.unsupported for f in findings[:4])
    assert not any(f.unsupported for f in findings[4:])


def test_a_plain_table_message_has_nothing_outlook_cannot_render() -> None:
    html = (
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0"><tr>'
        '<td style="color:#111827; font-size:16px; padding:12px 24px">Hello</td>'
        "</tr></table>"
    )
    findings = check(html)
    outlook = [
        (f.slug, c.support) for f in findings for c in f.clients if c.client == "Outlook (Windows)"
    ]
    assert ("css-padding", "partial") in outlook, "partial support is still reported"
    assert all(support != "unsupported" for _, support in outlook)
    assert "html-table" not in {f.slug for f in findings}, "all four render <table>"


def test_the_rendered_digest_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    email = render(content(("technology", [article(1), article(2)]), ("trade", [article(3)])))
    findings = check(email.html)
    assert isinstance(findings, list)
    assert all(isinstance(f, Finding) and f.clients for f in findings)
    assert "html-style" in {f.slug for f in findings}, "the media queries' <style> block"
    keys = [(not f.unsupported, f.title.lower()) for f in findings]
    assert keys == sorted(keys)
    assert capsys.readouterr() == ("", "")
