"""The checks an editor reads before a message goes out."""

from __future__ import annotations

from digest.mail.message import quoted_printable
from digest.rendering.checks import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES, check_message, size_check
from tests.unit.rendering.factories import article, content, render


def test_size_levels_around_gmails_clipping_limit() -> None:
    assert size_check(SIZE_WARNING_BYTES).level == "ok"
    assert size_check(SIZE_WARNING_BYTES + 1).level == "warning"
    assert size_check(GMAIL_CLIP_BYTES).level == "warning"
    clipped = size_check(GMAIL_CLIP_BYTES + 1)
    assert clipped.level == "error"
    assert "102.0 KB encoded, over Gmail's 102 KB" in clipped.summary


def test_size_is_the_encoded_html_part() -> None:
    # Non-ASCII text and long lines grow under quoted-printable: the check counts that.
    html = "<p>" + "é" * 40_000 + "</p>"
    [size] = [c for c in check_message(html) if c.name == "size"]
    encoded = len(quoted_printable(html))
    assert encoded > 2 * len(html)
    assert f"{encoded / 1024:.1f} KB" in size.summary


def test_images_without_alt_are_named() -> None:
    html = (
        '<img src="https://x.example/a.png" alt="A chart">'
        '<img src="https://x.example/b.png">'
        '<img src="https://x.example/c.png" alt="">'
    )
    alt = [c for c in check_message(html) if c.name == "alt"][0]
    assert alt.level == "warning"
    assert alt.summary.startswith("1 of 3 images has no alt text")
    assert alt.items == ("https://x.example/b.png",)


def test_links_must_be_absolute_https() -> None:
    html = (
        '<a href="https://x.example/1">ok</a><a href="mailto:desk@x.example">ok</a>'
        '<a href="http://x.example/2">plain</a><a href="/relative">rel</a>'
        '<a href="javascript:alert(1)">js</a><a href="http://x.example/2">again</a>'
    )
    links = [c for c in check_message(html) if c.name == "links"][0]
    assert links.level == "warning"
    assert links.summary.startswith("4 of 6 links are not absolute https URLs")
    assert links.items == ("http://x.example/2", "/relative", "javascript:alert(1)")


def test_many_offenders_are_counted_not_all_listed() -> None:
    html = "".join(f'<a href="http://x.example/{i}">{i}</a>' for i in range(25))
    links = [c for c in check_message(html) if c.name == "links"][0]
    assert len(links.items) == 11
    assert links.items[-1] == "… and 15 more"


def test_a_property_outlook_does_not_render_is_named_with_the_client() -> None:
    html = '<table><tr><td style="box-shadow: 0 1px 2px #000; padding: 4px">x</td></tr></table>'
    compat = [c for c in check_message(html) if c.name == "compat"][0]
    assert compat.level == "warning"
    assert "Outlook (Windows) does not render box-shadow." in compat.summary
    [shadow] = [f for f in compat.findings if f.matched == "box-shadow"]
    assert ("Outlook (Windows)", "unsupported") in [(c.client, c.support) for c in shadow.clients]


def test_only_partly_supported_features_are_information() -> None:
    compat = [c for c in check_message('<p style="font-size: 1rem">x</p>') if c.name == "compat"][0]
    assert compat.level == "info"
    assert [f.matched for f in compat.findings] == ["font-size"]


def test_a_real_digest_passes_the_link_and_alt_checks() -> None:
    email = render(content(("tech", [article(1), article(2), article(3)])))
    checks = {c.name: c for c in check_message(email.html)}
    assert checks["alt"].level == "ok" and checks["links"].level == "ok"
    assert checks["size"].level == "ok"
    # The hidden preheader's max-height is not rendered by Outlook on Windows (its
    # mso-hide rule hides it there instead): the check says so, naming the client.
    [hidden] = [f for f in checks["compat"].findings if f.matched == "max-height"]
    assert hidden.clients[0].client == "Outlook (Windows)"
    assert hidden.clients[0].support == "unsupported"
