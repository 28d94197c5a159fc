"""Plain objects that carry a digest's content from selection to rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ArticleView:
    """One article as it appears in a digest; ``summary_html`` is already sanitised."""

    id: int
    title: str
    url: str
    summary_html: str
    published_at: datetime
    author: str | None = None
    image_url: str | None = None
    # Changes whenever the article's stored content changes; part of render cache keys.
    version: str = ""


@dataclass(frozen=True)
class Section:
    """The articles of one topic, in the order they are shown."""

    topic_slug: str
    topic_name: str
    articles: tuple[ArticleView, ...]


@dataclass(frozen=True)
class DigestContent:
    """Everything in a digest that does not depend on who receives it."""

    sections: tuple[Section, ...]
    slot_at: datetime  # UTC
    timezone: str  # the recipient's zone, for showing times
    weekly: bool = False  # the slot includes weekly topics
    daily: bool = True  # the slot includes daily topics
    language: str = "en"  # the recipient's language, for words, dates and numbers

    @property
    def article_count(self) -> int:
        return sum(len(s.articles) for s in self.sections)


@dataclass(frozen=True)
class Recipient:
    """The per-recipient values, filled in after the shared parts are rendered."""

    email: str
    name: str | None
    unsubscribe_url: str
    preferences_url: str
    # Why this person gets the email, e.g. "You follow Technology and Trade."
    reason: str
    # This digest in the browser (the reader's signed /view/ link).
    view_url: str = ""
