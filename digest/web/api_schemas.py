"""The bodies the JSON API takes, as pydantic models: they check each field before
a view runs, and make the requests of the OpenAPI document at /api/openapi.json.

Every string has a length limit, and holds only what the forms and the CSV import
accept too (:func:`digest.domain.text.text_problem`): no control characters but the
tab and line breaks of text that may span lines, and in names no bidirectional
controls either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from digest.domain.languages import LANGUAGES
from digest.domain.text import allowed_pattern, text_problem
from digest.services import console as manage
from digest.services.console import MAX_ID, MAX_PAGE, PAGE_SIZE

# Search fragments of the query string: never stored, so only what PostgreSQL refuses.
NO_NUL = r"^[^\x00]*$"
SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
WEB_URL = r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
FEED_URL = r"^(https?|file)://[^\s\x00-\x1f\x7f-\x9f]+$"


@dataclass(frozen=True)
class Documented:
    """A pattern shown in the OpenAPI document only: the check that enforces it
    says why a value is refused, which a pattern cannot."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        document["pattern"] = self.pattern
        return document


@dataclass(frozen=True)
class Text(StringConstraints):
    """A string field's length limits, then the rule all text from outside follows:
    ``lines`` allows tabs and line breaks, ``name`` also refuses bidirectional
    controls."""

    lines: bool = False
    name: bool = False

    def __iter__(self) -> Iterator[Any]:
        yield from super().__iter__()
        yield AfterValidator(self.check)
        yield Documented(allowed_pattern(lines=self.lines, name=self.name))

    def check(self, value: str) -> str:
        problem = text_problem(value, lines=self.lines, name=self.name)
        if problem:
            raise ValueError(problem)
        return value


def line(max_length: int, min_length: int = 0) -> Any:
    """One line of text."""
    return Text(min_length=min_length, max_length=max_length)


def text(max_length: int, min_length: int = 0) -> Any:
    """Text that may span lines."""
    return Text(min_length=min_length, max_length=max_length, lines=True)


def name_line(max_length: int, min_length: int = 0) -> Any:
    """A person's or a topic's name."""
    return Text(min_length=min_length, max_length=max_length, name=True)


Slug = Annotated[str, StringConstraints(pattern=SLUG)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, name_line(200, 1)]
Detail = Annotated[str, line(2000)]
WebUrl = Annotated[str, StringConstraints(max_length=2000, pattern=WEB_URL)]
Frequency = Literal["daily", "weekly"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced"]
DeliveryStatus = Literal["queued", "sending", "sent", "deferred", "failed"]
Reason = Literal["manual", "operator", "complaint", "hard_bounce", "soft_bounce"]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
DEFAULT_LIMIT = PAGE_SIZE


def example(**fields: Any) -> ConfigDict:
    """A request body model's settings: a field the API does not know is an error,
    not ignored; ``fields`` are an example for the document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [fields]})


# -- subscribers --------------------------------------------------------------------

LanguageCode = Annotated[str, line(16, 2)]
LANGUAGE_HELP = (
    "The language of the reader's emails and pages, a BCP 47 code: "
    + ", ".join(LANGUAGES)
    + ". Without it a new reader follows the site's language."
)


class SubscriberIn(BaseModel):
    model_config = example(
        email="reader@example.org",
        name="Ana",
        topics=["tech", "world"],
        frequency="daily",
        timezone="Europe/Brussels",
        hour=7,
        weekday="mon",
        language="es",
        confirmed=True,
    )

    email: EmailStr
    topics: list[Slug] = Field(min_length=1, max_length=100)
    name: Annotated[str, name_line(200)] | None = None
    frequency: Frequency = "daily"
    timezone: Annotated[str, line(64, 1)] = "UTC"
    hour: int = Field(7, ge=0, le=23)
    weekday: Weekday = Field("mon", description="The day weekly topics arrive.")
    language: LanguageCode | None = Field(None, description=LANGUAGE_HELP)
    confirmed: bool = Field(False, description="Active at once; otherwise pending until confirmed.")


class SubscriberChangesIn(BaseModel):
    """Only the fields given change; an empty name clears it. Without topics or
    frequency, each topic keeps its own frequency."""

    model_config = example(hour=8, timezone="Europe/Brussels", topics=["tech"])

    email: EmailStr | None = None
    topics: list[Slug] | None = Field(None, min_length=1, max_length=100)
    name: Annotated[str, name_line(200)] | None = None
    frequency: Frequency | None = None
    timezone: Annotated[str, line(64, 1)] | None = None
    hour: int | None = Field(None, ge=0, le=23)
    weekday: Weekday | None = None
    language: LanguageCode | None = Field(None, description=LANGUAGE_HELP)
    confirmed: bool | None = Field(
        None,
        description="true makes a pending subscriber active; for one who unsubscribed "
        "or bounced it is a 409: only the reader can subscribe again.",
    )


class SuppressIn(BaseModel):
    model_config = example(detail="asked by phone to stop")

    detail: Detail | None = Field(None, description="Why, for other operators.")


# -- topics -------------------------------------------------------------------------

Keyword = Annotated[str, line(100, 1)]


class TopicIn(BaseModel):
    model_config = example(slug="science", name="Science", keywords=["space", "climate"])

    slug: Slug
    name: Name | None = Field(None, description="Defaults to the slug in title case.")
    keywords: list[Keyword] = Field(
        default_factory=list,
        max_length=100,
        description="Words or phrases; an article mentioning one joins the topic.",
    )


class TopicChangesIn(BaseModel):
    model_config = example(name="Science and space", keywords=["space", "physics"])

    name: Name | None = None
    keywords: list[Keyword] | None = Field(None, max_length=100)


# -- feeds --------------------------------------------------------------------------


class FeedIn(BaseModel):
    model_config = example(url="https://news.example.org/feeds/tech.rss", topics=["tech"])

    url: Annotated[str, StringConstraints(max_length=2000, pattern=FEED_URL)] = Field(
        description="http(s); file:// and private or loopback hosts only where the "
        "server allows them (DIGEST_ALLOW_PRIVATE_FEEDS)."
    )
    topics: list[Slug] = Field(min_length=1, max_length=50)


class FeedChangesIn(BaseModel):
    model_config = example(paused=True)

    paused: bool = Field(
        description="true: polling passes the feed by (fetching it on request still "
        "works); false: it is polled again from beat's next round."
    )


# -- suppressions ---------------------------------------------------------------------


class SuppressionIn(BaseModel):
    model_config = example(email="someone@example.org", reason="complaint", detail="spam report")

    email: EmailStr
    reason: Reason = "manual"
    detail: Detail | None = None


# -- articles -----------------------------------------------------------------------


class ArticleIn(BaseModel):
    """The fields of ``digest articles import``."""

    model_config = example(url="https://news.example.org/a", title="A")

    url: WebUrl
    title: Annotated[str, text(1000, 1)]
    summary: Annotated[str, text(20_000)] | None = Field(None, description="HTML; sanitised.")
    published_at: datetime | None = Field(None, description="Without an offset: UTC.")
    topics: list[Slug] = Field(default_factory=list, max_length=50)
    guid: Annotated[str, line(1000, 1)] | None = Field(None, description="Defaults to url.")
    image_url: WebUrl | None = None
    author: Annotated[str, line(300)] | None = None


class ArticlesIn(BaseModel):
    model_config = example(
        articles=[
            {
                "url": "https://news.example.org/2026/06/01/budget",
                "title": "The budget, line by line",
                "summary": "<p>What changes for whom.</p>",
                "published_at": "2026-06-01T08:00:00+02:00",
                "topics": ["world"],
                "author": "Cleo Martin",
            }
        ]
    )

    articles: list[ArticleIn] = Field(min_length=1, max_length=500)


class EditorialIn(BaseModel):
    """Only the fields given change. Editors and operators alike may send it."""

    model_config = example(pinned_until="2026-06-08T07:00:00Z", held=False)

    pinned_until: datetime | None = Field(
        None,
        description="Pin the article: first in its topics in every digest whose window "
        "closes before this moment, which must be in the future (without an offset: "
        "UTC). null unpins it.",
    )
    held: bool | None = Field(
        None, description="true holds it out of every digest; false releases it."
    )


# -- deliveries -----------------------------------------------------------------------


class RetryIn(BaseModel):
    model_config = example(ids=[1, 2])

    ids: list[Id] = Field(min_length=1, max_length=500)


# -- switches -------------------------------------------------------------------------


class Sending(BaseModel):
    model_config = example(paused=True)

    paused: bool


def subscriber_changes(body: SubscriberIn | SubscriberChangesIn) -> manage.SubscriberChanges:
    """What a subscriber body asks to change, as the console takes it."""
    return manage.SubscriberChanges(
        email=None if body.email is None else str(body.email),
        name=body.name,
        topics=body.topics,
        frequency=body.frequency,
        timezone=body.timezone,
        hour=body.hour,
        weekday=body.weekday,
        language=body.language,
        confirmed=bool(body.confirmed),
    )
