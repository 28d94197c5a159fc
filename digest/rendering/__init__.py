"""Rendering emails: Jinja templates, CSS inlined once per block, cached."""

from digest.rendering.inline import inline_calls
from digest.rendering.render import RenderedEmail, blocks, render_digest

__all__ = ["RenderedEmail", "blocks", "inline_calls", "render_digest"]
