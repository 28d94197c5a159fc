"""Rendering: inlined CSS, the layout's promises, escaping, and inlining paid once
per block rather than once per recipient."""

from __future__ import annotations

import dataclasses
import re

import pytest
from markupsafe import Markup

from digest.config import Branding
from digest.rendering import blocks, cache_stats, get_environment, inline_calls, inline_css
from digest.rendering.environment import local_time
from digest.rendering.render import PREHEADER_PADDING, _safe_view, edition_line, stylesheet
from digest.rendering.text import clean_summary
from tests.unit.rendering.factories import (
    LIST_NAME,
    article,
    content,
    elements,
    recipient,
    render,
)


@pytest.fixture(autouse=True)
def cold_cache() -> None:
    blocks.clear()


def style_blocks(html: str) -> list[str]:
    return re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.DOTALL)


def test_css_is_inlined_and_media_queries_stay_in_a_style_block() -> None:
    email = render(content(("technology", [article(1), article(2)])))
    tags = elements(email.html)
    styled = {tag for tag, attrs in tags if attrs.get("style")}
    assert {"table", "td", "a", "img", "div"} <= styled
    media, outlook = style_blocks(email.html)
    assert "@media only screen and (max-width: 620px)" in media
    assert "prefers-color-scheme: dark" in media
    assert ".masthead {" not in media, "plain rules are inlined, not kept"
    assert "[data-ogsc] .article-title" in outlook
    assert "data-premailer" not in email.html
    assert email.html.lower().startswith("<!doctype html>")


def test_head_declares_viewport_language_and_colour_schemes() -> None:
    tags = elements(render(content(("technology", [article(1)]))).html)
    metas = {a.get("name"): a.get("content") for t, a in tags if t == "meta"}
    assert metas["viewport"] == "width=device-width, initial-scale=1"
    assert metas["color-scheme"] == metas["supported-color-schemes"] == "light dark"
    assert ("html", {"lang": "en", "dir": "ltr", "xmlns": "http://www.w3.org/1999/xhtml"}) in tags


def test_layout_600px_preheader_images_and_footer() -> None:
    email = render(content(("technology", [article(1), article(2)]), ("trade", [article(3)])))
    tags = elements(email.html)
    container = [a for t, a in tags if t == "table" and a.get("width") == "600"]
    assert len(container) == 1 and container[0]["role"] == "presentation"
    assert "max-width:600px" in (container[0]["style"] or "")
    images = [a for t, a in tags if t == "img"]
    assert [a["alt"] for a in images] == ["Story number 1", "Story number 3"]
    assert all(a.get("width") == "552" and "display:block" in (a["style"] or "") for a in images)
    assert email.preheader == "Story number 1 · Story number 2 · Story number 3"
    hidden = re.search(
        r'<div class="preheader" style="display:none[^"]*">([^<]*)</div>', email.html
    )
    assert hidden and hidden.group(1).startswith(email.preheader + "\u200c\u00a0")
    assert 'href="https://news.example.org/unsubscribe/tok0?a=1&amp;b=2"' in email.html
    assert 'href="https://news.example.org/preferences/tok0"' in email.html
    assert "because you follow Technology and Trade" in email.html
    assert "Sent to reader0@example.org" in email.html
    assert "Hello Ana," in email.html
    # Sections in order, each article once as a title link.
    assert email.html.index(">Technology<") < email.html.index(">Trade<")
    for i in (1, 2, 3):
        link = f'class="article-title" dir="auto" href="https://news.example.org/story-{i}"'
        assert email.html.count(link) == 1
    assert email.html.index("story-2") < email.html.index(">Trade<") < email.html.index("story-3")


def test_times_are_shown_in_the_readers_zone() -> None:
    brussels = render(content(("technology", [article(1)]), zone="Europe/Brussels"))
    shanghai = render(content(("technology", [article(1)]), zone="Asia/Shanghai"))
    assert "Mon 16 Mar, 15:30" in brussels.html and "Mon 16 Mar, 15:30" in brussels.text
    assert "Mon 16 Mar, 22:30" in shanghai.html and "Mon 16 Mar, 22:30" in shanghai.text


def test_text_part_and_subject() -> None:
    long_summary = "<p>" + " ".join(["Words&nbsp;that &amp; go on"] * 40) + "</p><p>Second.</p>"
    email = render(content(("technology", [article(1, summary_html=long_summary), article(2)])))
    assert not re.search(r"</?[a-z][^>]*>", email.text)
    assert "&amp;" not in email.text and "&nbsp;" not in email.text
    assert "Words that & go on" in email.text  # no-break spaces become spaces
    assert "\n\nSecond.\n" in email.text
    summary_lines = [line for line in email.text.splitlines() if "Words" in line]
    assert len(summary_lines) > 5 and all(len(line) <= 72 for line in summary_lines)
    assert "== Technology ==" in email.text
    assert "https://news.example.org/story-2" in email.text
    assert "Summary of story 2 & more." in email.text
    assert "Unsubscribe: https://news.example.org/unsubscribe/tok0?a=1&b=2" in email.text
    assert "https://news.example.org/preferences/tok0" in email.text
    assert "You get this email because you follow Technology and Trade." in email.text
    assert email.text.startswith("Hello Ana,\n")
    assert email.subject == "Example News: Story number 1 (+1 more)"
    assert "Your daily digest, " in email.text and ": 2 new articles." in email.text


def test_the_text_part_names_the_cadences_the_digest_holds() -> None:
    one = [article(1)]
    base = content(("technology", one))
    weekly_only = dataclasses.replace(base, weekly=True, daily=False)
    both = dataclasses.replace(base, weekly=True, daily=True)
    assert "Your weekly digest, " in render(weekly_only).text
    assert ": 1 new article." in render(weekly_only).text
    assert "Your weekly and daily digest, " in render(both).text
    assert "Your daily digest, " in render(base).text


def test_the_subject_keeps_the_count_apart_from_the_headline() -> None:
    many = content(("technology", [article(i) for i in range(1, 5)]))
    assert render(many).subject == "Example News: Story number 1 (+3 more)"
    assert render(content(("technology", [article(1)]))).subject == "Example News: Story number 1"


def test_subject_is_one_line_whatever_the_title_and_list_name() -> None:
    c = content(("technology", [article(1, title="Breaking\r\nBcc: x@evil.example\n news")]))
    email = render(c, list_name="Example\r\nNews")
    assert email.subject == "Example News: Breaking Bcc: x@evil.example news"
    assert render(content(("technology", [article(1, title="x" * 300)]))).subject.endswith("…")


HOSTILE = article(
    66,
    title='<script>alert("t")</script><img src=x onerror=alert(1)>Hostile',
    summary_html=(
        '<p onclick="alert(2)">Hi <script>alert(3)</script>'
        '<img src="x" onerror="alert(4)"><a href="javascript:alert(5)">link</a>'
        '<iframe src="https://evil.example"></iframe><style>body{}</style>'
        "<!--digest-fragment-end--></p>"
    ),
    author="<b onmouseover=alert(6)>Mallory</b>",
    url="javascript:alert(7)",
    image_url="javascript:alert(8)",
)


def test_hostile_markup_never_reaches_the_html_unescaped() -> None:
    r = recipient(name='<script>x</script>"')
    email = render(content(("<b>tech</b>", [HOSTILE])), r, list_name="<i onclick=x>News</i>")
    tags = elements(email.html)
    assert not any(t in ("script", "iframe", "img", "b", "i") for t, _ in tags)
    for _, attrs in tags:
        assert not any(k.startswith("on") for k in attrs), attrs
        assert not any("javascript:" in (v or "").lower() for v in attrs.values()), attrs
    assert "&lt;script&gt;alert(" in email.html  # the title is shown as text
    assert "&lt;script&gt;x&lt;/script&gt;&#34;" in email.html  # the name too
    # The text part shows the title as the plain text it is.
    assert '<script>alert("t")</script><img src=x onerror=alert(1)>Hostile' in email.text
    assert "alert(3)" not in email.text
    assert "\n" not in email.subject and "\r" not in email.subject


def test_same_input_gives_the_same_bytes() -> None:
    c = content(("technology", [article(1), article(2)]), ("trade", [article(3)]))
    first = render(c)
    blocks.clear()
    assert render(c) == first == render(c)


def test_blocks_join_to_what_inlining_the_whole_email_would_give() -> None:
    c = content(("technology", [article(1), article(2)]), ("trade", [article(3)]))
    r = recipient()
    email = render(c, r)
    env = get_environment()
    rows = []
    for s in c.sections:
        rows.append(env.get_template("digest/_section.html").render(name=s.topic_name))
        for a in s.articles:
            rows.append(
                env.get_template("digest/_article.html").render(
                    article=_safe_view(a),
                    when=local_time(a.published_at, c.timezone),
                    summary=Markup(clean_summary(a.summary_html)),
                )
            )
    whole = env.get_template("digest/body.html").render(
        brand=Branding(site_name=LIST_NAME),
        stylesheet=Markup(stylesheet()),
        preheader_padding=Markup(PREHEADER_PADDING),
        preheader=email.preheader,
        content=Markup("".join(row + "\n" for row in rows)),
        greeting="Hello Ana,",
        reason=r.reason,
        preferences_url=r.preferences_url,
        unsubscribe_url=r.unsubscribe_url,
        email=r.email,
        view_url=r.view_url,
        edition=edition_line(c),
    )
    assert email.html == inline_css(whole)


def test_inlining_runs_per_block_not_per_recipient() -> None:
    c = content(("technology", [article(i) for i in range(1, 9)]), ("trade", [article(9)]))
    before = inline_calls.calls
    render(c)
    per_digest = inline_calls.calls - before
    assert per_digest == 1 + 1 + 2 + 9  # the layout, the headlines, two headings, nine articles
    for i in range(1000):
        email = render(c, recipient(i, name=f"Reader {i}"))
        assert f"tok{i}?" in email.html and f"Hello Reader {i}," in email.html
    assert inline_calls.calls - before == per_digest
    stats = cache_stats()
    assert stats["inline_calls"] == inline_calls.calls
    # Each article is cached inlined (time left out) and in the reader's zone, and as
    # text: 9 + 9 + 9 blocks beside the layout, the text part's layout, the headlines
    # and two headings.
    assert stats["misses"] == stats["size"] == 1 + 1 + 1 + 2 + 9 + 9 + 9
    assert stats["hits"] == 1000 * (1 + 1 + 1 + 2 + 9 + 9)


def test_shared_articles_are_inlined_once_across_different_digests() -> None:
    pool = [article(i) for i in range(1, 21)]
    before = inline_calls.calls
    for n in range(50):
        chosen = [pool[(n + k) % 20] for k in range(5)]
        email = render(content(("technology", chosen)), recipient(n))
        assert all(f"/story-{a.id}" in email.html for a in chosen)
    # 20 distinct articles, one heading, one layout, whatever the number of digests.
    assert inline_calls.calls - before == 20 + 1 + 1


def test_article_blocks_are_shared_between_lists_and_zones() -> None:
    c = content(("technology", [article(1)]))
    brussels = render(c, list_name="Morning")
    before = inline_calls.calls
    render(c, list_name="Evening")
    assert inline_calls.calls - before == 1  # only the other list's layout
    tokyo = render(content(("technology", [article(1)]), zone="Asia/Tokyo"), list_name="Evening")
    assert inline_calls.calls - before == 1  # the article is not inlined again
    published = article(1).published_at
    for email, zone in ((brussels, "Europe/Brussels"), (tokyo, "Asia/Tokyo")):
        shown = local_time(published, zone)
        assert shown in email.html and "DIGESTWHEN" not in email.html
    assert local_time(published, "Asia/Tokyo") != local_time(published, "Europe/Brussels")


def test_changed_content_is_never_served_from_the_cache() -> None:
    first = render(content(("technology", [article(1, version="", title="Old title")])))
    second = render(content(("technology", [article(1, version="", title="New title")])))
    assert "Old title" in first.html and "New title" in second.html
    assert "Old title" not in second.html and "Old title" not in second.text
    edited = render(content(("technology", [article(1, version="v2", title="Edited")])))
    assert "Edited" in edited.html and "Edited" in edited.text


def test_the_default_masthead_and_from_name_agree() -> None:
    from digest.config import load_settings

    settings = load_settings({})
    assert settings.brand.site_name == settings.from_name == "Digest"


def test_the_headline_list_of_articles_without_a_version_follows_their_titles() -> None:
    plain = [article(i, version="") for i in range(100, 106)]
    first = render(content(("technology", plain)))
    retitled = [article(i, version="", title=f"New title {i}") for i in range(100, 106)]
    second = render(content(("technology", retitled)))
    assert "Story number 100" in first.html
    headlines = second.html.split('class="contents-list"')[1].split("</ol>")[0]
    assert "New title 100" in headlines and "Story number 100" not in headlines
