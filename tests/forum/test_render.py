"""The Markdown → HTML → sanitiser path, including generated hostile input.

Output is checked by parsing it the way a browser does (html5lib), not by regex.
"""

from __future__ import annotations

import re

import html5lib
from hypothesis import given, settings
from hypothesis import strategies as st

from offramp.forum.render import LINK_REL, render_markdown

SAFE_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}

HOSTILE = [
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<math><mi xlink:href='javascript:1'>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=//evil>",
    "<style>*{}</style>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "![i](javascript:alert(1))",
    "![i](//evil.example/p.gif)",
    "![i](https://evil.example/p.gif)",
    "<a href=x onclick=1>",
    "<div style='background:url(javascript:1)'>",
    "&lt;script&gt;",
    "&#60;script&#62;",
    "<!-- comment -->",
    "<![CDATA[x]]>",
    "`<script>`",
    "```\n<script>\n```",
    "> <b>q</b>",
    "**<i>b</i>**",
    "<object data=x>",
    "<embed src=x>",
    "<form action=//evil><input>",
    "<base href=//evil>",
    "<meta http-equiv=refresh content=0>",
    "<link rel=stylesheet href=x>",
    "[x](https://ok.example)",
    "https://ok.example/auto",
    "| a |\n|---|\n| <b>c</b> |",
    "\u202e",
    "\x00",
    "&",
    "<",
    ">",
    '"',
    "'",
    "\n\n",
    "  \n",
    "*",
    "_",
    "[",
    "](",
    ")",
]


def scheme_of(url: str) -> str | None:
    """The scheme a browser would see (WHATWG URL parsing), or None for a relative URL."""
    c0_and_space = "".join(chr(code) for code in range(0x21))
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(c0_and_space))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


def elements(fragment: str):
    tree = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    return [node for node in tree.iter() if isinstance(node.tag, str) and node is not tree]


def assert_safe(html: str) -> None:
    for node in elements(html):
        assert node.tag in SAFE_TAGS, node.tag
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name in {"href", "src", "alt", "title", "rel", "start", "class"}, name
            if name == "href":
                assert scheme_of(value) in {None, "http", "https", "mailto"}, value
            if name == "src":
                assert value.startswith("/") and not value.startswith("//"), value
        if node.tag == "a":
            assert node.attrib.get("rel") == LINK_REL


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), max_size=12))
def test_generated_hostile_markdown_never_yields_executable_markup(parts):
    assert_safe(render_markdown("".join(parts)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6), st.sampled_from([" ", "\n", "\n\n"])
)
def test_hostile_fragments_joined_by_whitespace(parts, joiner):
    assert_safe(render_markdown(joiner.join(parts)))


def test_links_get_rel_and_local_images_stay():
    html = render_markdown("[a](https://example.org) ![logo](/static/favicon.svg)")
    assert f'rel="{LINK_REL}"' in html
    assert '<img src="/static/favicon.svg" alt="logo">' in html


def test_remote_images_become_links():
    html = render_markdown("![chart](https://example.org/c.png)")
    assert "<img" not in html and 'href="https://example.org/c.png"' in html
    assert "image: chart" in html


def test_post_headings_sit_below_the_page_headings():
    assert render_markdown("# Big\n\n## Smaller").startswith("<h3>Big</h3>\n<h4>Smaller</h4>")


def test_table_alignment_uses_classes_not_inline_style():
    html = render_markdown("| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert "style=" not in html and 'class="align-right"' in html
