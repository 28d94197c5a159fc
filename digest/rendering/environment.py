"""The Jinja environments for emails and reader pages: autoescaping for HTML, none
for text, and one environment per language with its catalogue installed."""

from __future__ import annotations

from functools import cache, partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from digest.domain.languages import DEFAULT_LANGUAGE, direction
from digest.domain.text import counted
from digest.rendering import i18n
from digest.rendering.i18n import local_time

__all__ = ["get_environment", "language_environment", "local_time", "templates_dir"]


def templates_dir() -> Path:
    """The templates: inside the installed package, else beside the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def language_environment(folder: str, language: str) -> Environment:
    """A Jinja environment for ``templates/<folder>`` speaking ``language``: ``_``,
    ``gettext`` and ``ngettext`` (new style: ``_("Hi %(name)s", name=n)``, escaped
    like any value), ``{% trans %}`` blocks with their whitespace trimmed, and the
    ``lang``/``dir`` globals for the ``<html>`` element."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir() / folder)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
        # Templates are part of the installed package: no file check per render.
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(language), newstyle=True
    )
    env.globals.update(lang=language, dir=direction(language), strong=_strong)
    env.filters["local_time"] = partial(local_time, language=language)
    env.filters["number"] = partial(i18n.format_number, language=language)
    env.filters["say"] = partial(i18n.say, language=language)
    env.filters["names"] = partial(i18n.join_names, language=language)
    env.filters["counted"] = counted
    return env


def _strong(value: object) -> Markup:
    """``value`` escaped and emphasised, to go into a translated sentence."""
    return Markup("<strong>%s</strong>") % value


@cache
def get_environment(language: str = DEFAULT_LANGUAGE) -> Environment:
    """The email templates' environment in ``language``: ``.html`` autoescaped,
    ``.txt`` not; an undefined name is an error rather than an empty string."""
    return language_environment("email", language)
