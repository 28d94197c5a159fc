"""Editors' work: the preview of a reader's (or a topic set's) next digest with the
reason every nearby article is in or out, test copies sent to themselves, and the
articles list with pins and holds.

Builds on the console's list and error types (:mod:`digest.services.console.base`)
and on the sending pipeline's own planning, selection and rendering code, so what it
shows is what is sent.

Writes: ``articles`` (``pinned_until``, ``held``, ``edited_by``, ``edited_at``) and,
for articles pushed through the console or the API, what
:mod:`digest.services.ingesting` writes. Previews and test copies write nothing.
"""

from digest.services.editorial.articles import (
    KEEP,
    ArticleRow,
    hold_article,
    list_articles,
    moment_of,
    pin_article,
    push_articles,
    release_article,
    set_editorial,
    unpin_article,
)

__all__ = [
    "KEEP",
    "ArticleRow",
    "hold_article",
    "list_articles",
    "moment_of",
    "pin_article",
    "push_articles",
    "release_article",
    "set_editorial",
    "unpin_article",
]
