"""premailer behind one function: style attributes, media queries kept, no fetching."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.rendering.inline import inline_calls, inline_css, inline_fragment

DOCUMENT = """<!doctype html>
<html><head>
<link rel="stylesheet" href="{href}">
<style>
td {{ padding: 4px; }}
.box a {{ color: #123456; }}
@media (max-width: 620px) {{ td {{ padding: 0 !important; }} }}
@media (prefers-color-scheme: dark) {{ a {{ color: #fff !important; }} }}
</style>
<style data-premailer="ignore">[data-ogsc] a {{ color: #eee !important; }}</style>
</head><body><table><tr><td class="box"><a href="https://x.example">x</a></td></tr></table>
</body></html>"""


def test_rules_are_inlined_and_media_queries_kept() -> None:
    html = inline_css(DOCUMENT.format(href="https://127.0.0.1:9/never.css"))
    assert html.startswith("<!doctype html>")
    assert '<td class="box" style="padding:4px">' in html
    assert '<a href="https://x.example" style="color:#123456">' in html
    assert "@media (max-width: 620px)" in html and "prefers-color-scheme: dark" in html
    assert "[data-ogsc] a { color: #eee !important; }" in html
    assert ".box a {" not in html


def test_external_stylesheets_are_never_loaded(tmp_path: Path) -> None:
    sheet = tmp_path / "evil.css"
    sheet.write_text("a { color: #ff0000; }")
    html = inline_css(DOCUMENT.format(href=sheet.as_uri()))
    assert "#ff0000" not in html and "#f00" not in html


def test_a_fragment_gets_the_styles_of_its_place_in_the_document() -> None:
    before = "<html><head><style>.outer .cell { color: #abcdef; }</style></head><body>"
    before += '<table class="outer">'
    after = "</table></body></html>"
    calls = inline_calls.calls
    out = inline_fragment('<tr><td class="cell">hi</td></tr>', before, after)
    assert out == '<tr><td class="cell" style="color:#abcdef">hi</td></tr>'
    assert inline_calls.calls == calls + 1


def test_a_fragment_holding_a_marker_is_refused() -> None:
    with pytest.raises(RuntimeError, match="markers"):
        inline_fragment("<tr><td><!--digest-fragment-end--></td></tr>", "<table>", "</table>")
