"""Markdown to safe HTML: markdown-it-py with raw HTML off, then the nh3 allowlist.

Rendered once, on write, and stored. Two layers on purpose: markdown-it never
emits raw HTML from the source, and nh3 (the maintained successor of bleach)
removes anything outside the allowlist even if a rendering rule misbehaves.
Images are kept only when they point into this site; any other image would be
a tracking beacon against readers, so it becomes a plain link instead.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

LINK_REL = "nofollow ugc noopener noreferrer"

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
# Table alignment arrives as inline style, which our Content-Security-Policy
# blocks; a core rule turns it into one of these classes instead.
ALIGN_CLASSES = {"align-left", "align-right", "align-center"}
ALLOWED_CLASSES = {"th": ALIGN_CLASSES, "td": ALIGN_CLASSES}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def _is_local(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


def _image_or_link(self, tokens, idx, options, env):
    """Render local images as images; anything else as a link to it."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = self.renderInlineAsText(token.children or [], options, env)
    if _is_local(src):
        return self.image(tokens, idx, options, env)
    label = alt or src
    return f'<a href="{_escape(src)}">{_escape("image: " + label)}</a>'


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.core.ruler.push("shift_headings", _shift_headings)
    md.core.ruler.push("align_classes", _align_classes)
    md.add_render_rule("image", _image_or_link)
    return md


def _shift_headings(state) -> None:
    """A post's headings start at h3 (h1 and h2 belong to the page) and never skip a
    level: each is at most one deeper than the one before it."""
    ranks = sorted({int(t.tag[1]) for t in state.tokens if t.type == "heading_open"})
    previous = 2
    for token in state.tokens:
        if token.type == "heading_open":
            previous = min(3 + ranks.index(int(token.tag[1])), previous + 1, 6)
            token.tag = f"h{previous}"
        elif token.type == "heading_close":
            token.tag = f"h{previous}"


def _align_classes(state) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            side = str(token.attrs.pop("style")).removeprefix("text-align:")
            token.attrSet("class", f"align-{side}")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not _is_local(value):
        return None
    return value


def render_markdown(source: str) -> str:
    """The stored, safe HTML for a post body."""
    return nh3.clean(
        _markdown().render(source),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
        attribute_filter=_attribute_filter,
        strip_comments=True,
    )
