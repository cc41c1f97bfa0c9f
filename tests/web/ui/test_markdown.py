"""Reports' Markdown rendered for the dashboard: hostile input yields no executable HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from phalanx.web.ui._format import FILTERS
from phalanx.web.ui._markdown import render_markdown
from phalanx.web.ui._render import Renderer

_TAGS = {"p", "strong", "em", "a", "code", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
         "hr", "br"}
_ATTRIBUTES = {"href", "rel", "title", "class", "start"}
_SCHEMES = ("http://", "https://", "mailto:")


class _Elements(HTMLParser):
    """Every element and attribute of a piece of HTML, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_inert(html: str) -> None:
    """Only text elements; links only to http, https and mailto, with rel noopener noreferrer nofollow."""
    for tag, attrs in elements(html):
        assert tag in _TAGS, (tag, html)
        named = dict(attrs)
        assert set(named) <= _ATTRIBUTES, (tag, attrs)
        if tag == "a":
            assert (named.get("href") or "").lower().startswith(_SCHEMES), attrs
            assert named.get("rel") == "noopener noreferrer nofollow"


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<div>\n<img src=x onerror=alert(1)>\n</div>\n",
    "<!-- comment --><iframe src=javascript:alert(1)></iframe>",
    "<svg><script>alert(1)</script></svg>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1) )",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](<java\nscript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n\n[click][x]",
    "![pixel](https://tracker.example/p.png?who=reader)",
    "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "![x\" onerror=\"alert(1)](https://e.example/i.png)",
    "[t](https://e.example \"a\\\" onclick=\\\"alert(1)\")",
    "[t](https://e.example/\"onmouseover=\"alert(1))",
    "```html onload=alert(1)\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;script&#62; &amp;lt;b&amp;gt;",
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=p></form>",
    "> <object data=x></object>\n> * <embed src=x>",
    "<meta http-equiv=refresh content=0;url=https://evil.example>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_inert(text: str) -> None:
    html = str(render_markdown(text))
    assert_inert(html)
    assert "<script" not in html.lower()  # written tags are text: &lt;script&gt;
    for _, attrs in elements(html):
        for name, value in attrs:
            assert not name.startswith("on")
            assert "javascript:" not in (value or "").lower().replace("\t", "")


def test_markdown_that_is_allowed_renders() -> None:
    html = str(render_markdown("# Title\n\n**bold** _it_ `code`\n\n1. [web](https://cert.example/a?b=1&c=2)\n"
                               "2. <https://cert.example> and [mail](mailto:soc@cert.example)\n"))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://cert.example/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">web</a>' in html
    assert '<a href="https://cert.example" rel="noopener noreferrer nofollow">https://cert.example</a>' in html
    assert '<a href="mailto:soc@cert.example" rel="noopener noreferrer nofollow">mail</a>' in html
    assert_inert(html)


def test_only_http_https_and_mailto_links_are_links() -> None:
    for target in ("javascript:alert(1)", "ftp://files.example/x", "/objects/x", "//evil.example", "#top",
                   "tel:123", "data:,hi"):
        assert "<a " not in str(render_markdown(f"[x]({target})")), target
    for target in ("http://e.example", "HTTPS://E.EXAMPLE", "mailto:a@e.example"):
        assert "<a " in str(render_markdown(f"[x]({target})")), target


def test_images_become_links_never_images() -> None:
    html = str(render_markdown("![chart of <b>waves</b>](https://tracker.example/p.png)"))
    assert "<img" not in html
    assert '<a href="https://tracker.example/p.png" rel="noopener noreferrer nofollow">image: chart of ' in html
    assert str(render_markdown("![only words](data:image/png;base64,AAAA)")).count("<a") == 0


def test_entities_stay_text() -> None:
    html = str(render_markdown("&lt;script&gt; &amp;lt; 5 < 6 & 7 > 3"))
    assert html == "<p>&lt;script&gt; &amp;lt; 5 &lt; 6 &amp; 7 &gt; 3</p>\n"


def test_it_is_the_markdown_filter_of_the_templates_and_the_only_markup() -> None:
    assert FILTERS["markdown"] is render_markdown
    assert isinstance(render_markdown("x"), Markup) and render_markdown("") == Markup("")
    env = Renderer().env
    html = env.from_string("{{ text|markdown }}|{{ text }}").render(text="<b>x</b> **y**")
    assert html == "<p>&lt;b&gt;x&lt;/b&gt; <strong>y</strong></p>\n|&lt;b&gt;x&lt;/b&gt; **y**"
