"""The two reference rates the pipeline is measured against, on the same messages.

* naive: what a straightforward sender does per recipient — render the whole email
  with Jinja, inline its CSS with premailer, build it with the standard library's
  ``email.message``, send it with smtplib — in one process;
* raw: the pre-built bytes of the same messages through one smtplib connection, the
  most any sender could get out of one connection to this SMTP server.
"""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from markupsafe import Markup, escape
from sqlalchemy import select

from digest.config import Branding, Settings
from digest.db.engine import unit_of_work
from digest.db.models import Digest, Subscriber
from digest.domain.content import DigestContent, Recipient
from digest.mail.message import build_message, make_message_id
from digest.rendering.environment import get_environment, local_time
from digest.rendering.inline import inline_css
from digest.rendering.render import (
    CONTENTS_FROM,
    edition_line,
    render_digest,
    stylesheet,
    subject_of,
)
from digest.rendering.text import clean_summary
from digest.services.sending.composing import contents, recipient_for


def sample(settings: Settings, limit: int) -> list[tuple[DigestContent, Recipient, str]]:
    """Up to ``limit`` sent digests: their content, recipient and address."""
    with unit_of_work(settings.database_url) as session:
        digests = list(session.scalars(select(Digest).where(Digest.status == "sent").limit(limit)))
        subs = {
            s.id: s
            for s in session.scalars(
                select(Subscriber).where(Subscriber.id.in_([d.subscriber_id for d in digests]))
            )
        }
        content = contents(session, digests, subs, site_language=settings.language)
        return [
            (
                content[d.id],
                recipient_for(subs[d.subscriber_id], settings),
                subs[d.subscriber_id].email,
            )
            for d in digests
        ]


def naive_html(content: DigestContent, recipient: Recipient, brand: Branding) -> str:
    """The whole email rendered and inlined in one go, as if nothing were cached."""
    env = get_environment()
    zone = content.timezone
    rows = []
    if content.article_count >= CONTENTS_FROM:
        headlines = [(a.title, a.url) for s in content.sections for a in s.articles]
        rows.append(env.get_template("digest/_contents.html").render(items=headlines))
    for section in content.sections:
        rows.append(env.get_template("digest/_section.html").render(name=section.topic_name))
        for a in section.articles:
            rows.append(
                env.get_template("digest/_article.html").render(
                    article=a,
                    when=local_time(a.published_at, zone),
                    summary=Markup(clean_summary(a.summary_html)),
                )
            )
    html = env.get_template("digest/body.html").render(
        brand=brand,
        stylesheet=Markup(stylesheet()),
        content=Markup("".join(rows)),
        preheader="",
        preheader_padding="",
        greeting=escape(f"Hello {recipient.name}," if recipient.name else "Hello,"),
        reason=recipient.reason,
        preferences_url=recipient.preferences_url,
        unsubscribe_url=recipient.unsubscribe_url,
        email=recipient.email,
        view_url=recipient.view_url,
        edition=edition_line(content),
    )
    return inline_css(html)


def naive_rate(
    items: list[tuple[DigestContent, Recipient, str]], settings: Settings, port: int
) -> float:
    """Messages per second sent the naive way."""
    client = smtplib.SMTP("127.0.0.1", port)
    start = time.perf_counter()
    for content, recipient, email in items:
        html = naive_html(content, recipient, settings.brand)
        text = render_digest(content, recipient, brand=settings.brand).text
        msg = EmailMessage()
        msg["From"] = settings.from_header
        msg["To"] = email
        msg["Subject"] = subject_of(content, settings.brand.site_name)
        msg["Date"] = format_datetime(content.slot_at)
        msg["Message-ID"] = make_msgid(domain=settings.from_domain)
        msg["List-Unsubscribe"] = f"<{recipient.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        client.send_message(msg)
    elapsed = time.perf_counter() - start
    client.quit()
    return len(items) / elapsed


def prebuilt(
    items: list[tuple[DigestContent, Recipient, str]], settings: Settings
) -> list[tuple[str, bytes]]:
    out = []
    for content, recipient, email in items:
        rendered = render_digest(content, recipient, brand=settings.brand)
        data = build_message(
            from_header=settings.from_header,
            to_addr=email,
            to_name=recipient.name,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=make_message_id(settings.from_domain),
            date=content.slot_at,
            list_id=settings.list_id,
            unsubscribe_url=recipient.unsubscribe_url,
        )
        out.append((email, data))
    return out


def raw_rate(messages: list[tuple[str, bytes]], settings: Settings, port: int, count: int) -> float:
    """Messages per second of pre-built bytes through one connection."""
    client = smtplib.SMTP("127.0.0.1", port)
    start = time.perf_counter()
    for i in range(count):
        email, data = messages[i % len(messages)]
        client.sendmail(settings.from_address, [email], data)
    elapsed = time.perf_counter() - start
    client.quit()
    return count / elapsed
