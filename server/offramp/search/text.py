"""Plain text for the index, and highlighted passages made safe for display.

The engines mark matches with two private-use characters that the indexed text can
never contain (they are removed from it here). The marked passage is then cut into
pieces — plain or matched — and only ever shown escaped: the ``<mark>`` markup is
ours, every character of the passage is the poster's and is escaped.
"""

from __future__ import annotations

import functools
from html import escape
from html.parser import HTMLParser

START, END = "\ue000", "\ue001"
_MARKERS = str.maketrans("", "", START + END)

# Elements after which the text continues on a new line, so that words in two
# paragraphs, list items or cells are not glued together.
_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4",
    "h5", "h6", "tr", "td", "th", "table", "hr",
}  # fmt: skip


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@functools.lru_cache(maxsize=256)
def plain_text(html: str) -> str:
    """The text of a post's sanitised HTML: no tags, entities decoded, no markers.

    (Cached: bulk re-indexing of seeded data meets the same bodies again and again.)
    """
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = ("".join(collector.parts)).splitlines()
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def clean(text: str) -> str:
    """Any text on its way into the index: the match markers removed."""
    return text.translate(_MARKERS)


def pieces(marked: str) -> list[tuple[str, bool]]:
    """A passage with markers, as (text, is_match) pieces; markers never reach output."""
    result: list[tuple[str, bool]] = []
    inside = False
    current: list[str] = []
    for character in marked:
        if character in (START, END):
            if current:
                result.append(("".join(current), inside))
                current = []
            inside = character == START
        else:
            current.append(character)
    if current:
        result.append(("".join(current), inside))
    return result


def to_html(parts: list[tuple[str, bool]]) -> str:
    """Escaped text with ``<mark>`` around the matches."""
    return "".join(
        f"<mark>{escape(text, quote=True)}</mark>" if matched else escape(text, quote=True)
        for text, matched in parts
    )
