"""Reduce the HTML of feed entries and statuses to plain text, keeping paragraph and line breaks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that end a paragraph: a blank line after them reads like the original layout.
_BLOCKS = frozenset({
    "p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "table",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "figure",
})
# Elements that end a line only.
_LINES = frozenset({"br", "li", "tr", "dt", "dd", "hr", "figcaption"})
# Elements whose content is never text a reader sees.
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and <hr/> arrive here; never count them as opening a hidden element.
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            # Source newlines inside a paragraph are layout, not content: HTML renders them as spaces.
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """Strip tags and unescape entities, keeping a line break for <br> and a blank line between paragraphs."""
    if not html:
        return ""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
