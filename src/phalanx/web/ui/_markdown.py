"""Markdown for reports (``report.description``), the one place a template outputs markup that came from
someone else: ``{{ text|markdown }}``.

    >>> render_markdown("**Phishing** wave: see [the advisory](https://cert.example/a) <script>alert(1)</script>")
    Markup('<p><strong>Phishing</strong> wave: see <a href="https://cert.example/a" \
rel="noopener noreferrer nofollow">the advisory</a> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n')

CommonMark (markdown-it-py) with raw HTML disabled, so every tag written in the text is shown as text; links only
to ``http``, ``https`` and ``mailto`` (anything else, ``javascript:`` included, stays text), each with ``rel="noopener
noreferrer nofollow"``; and no images: a remote image would tell its server who reads the report, and when, so an
image is shown as a link to it (or, when its address is not allowed, as its description alone).

At most ``MAX_MARKDOWN`` characters are rendered (markdown-it's time grows with the text, and hostile text makes
it slow: some 15 us a character); a longer text is cut there and says so (the raw STIX holds all of it). Renders
are kept (``_CACHE``), so a report read many times is rendered once.
"""

from __future__ import annotations

__all__ = ["MAX_MARKDOWN", "render_markdown"]

import functools
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_REL = "noopener noreferrer nofollow"


def _allowed(url: str) -> bool:
    """Whether a link may point there (``url`` as markdown-it normalized it: entities decoded, the rest
    percent-encoded, so no space or control character can hide a scheme)."""
    scheme = _SCHEME.match(url)
    return scheme is not None and scheme.group(1).lower() in _SCHEMES


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", _REL)
    return self.renderToken(tokens, idx, options, env)


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    described = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    source = str(token.attrGet("src") or "")
    if not _allowed(source):
        return described
    return f'<a href="{escapeHtml(source)}" rel="{_REL}">image: {described or escapeHtml(source)}</a>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.validateLink = _allowed  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = _parser()
MAX_MARKDOWN = 10_000
"""Characters of Markdown rendered at most, per text."""


def render_markdown(text: str | None) -> Markup:
    """``text`` (Markdown) as HTML that runs nothing: see the module doc."""
    if not text:
        return Markup("")
    return _rendered(text[:MAX_MARKDOWN], len(text))


@functools.lru_cache(maxsize=256)
def _rendered(text: str, length: int) -> Markup:
    html = _MD.render(text)  # safe: raw HTML is off, and links and images are limited above
    if length > len(text):
        html += (f'<p class="muted">The text goes on: it is {length:,} characters long, and the first '
                 f"{len(text):,} are shown. The raw STIX below holds all of it.</p>\n")
    return Markup(html)
