"""Rendering emails: Jinja templates, CSS inlined once per block, cached."""

from digest.rendering.cache import BlockCache, blocks, cache_stats
from digest.rendering.environment import get_environment, templates_dir
from digest.rendering.inline import inline_calls, inline_css
from digest.rendering.render import RenderedEmail, render_digest

__all__ = [
    "BlockCache",
    "RenderedEmail",
    "blocks",
    "cache_stats",
    "get_environment",
    "inline_calls",
    "inline_css",
    "render_digest",
    "templates_dir",
]
