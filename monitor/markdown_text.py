"""Untrusted text (scraped titles, URLs, domains) made safe to write into Markdown: the report's and the
alert digests'."""

from __future__ import annotations

import re

_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
                        "\u2060\u2066-\u2069\ufeff]")


def show_invisible(text: str) -> str:
    """Every character that would hide or disguise the text shown as its code point (⟨U+202E⟩)."""
    if not _INVISIBLE.search(text):
        return text
    return _INVISIBLE.sub(lambda match: f"⟨U+{ord(match.group()):04X}⟩", text)


def md_code(value: object) -> str:
    """Markdown code span content (a URL): a backtick would end the span, and a pipe splits a table cell
    even inside one unless escaped."""
    return " ".join(str(value if value is not None else "").split()).replace("`", "%60").replace("|", "\\|")


def md_cell(value: object) -> str:
    """Markdown text or table cell: untrusted text cannot break the table or inject links and HTML."""
    text = " ".join(str(value if value is not None else "").split())
    for char in "\\|[]<>*_`#":
        text = text.replace(char, "\\" + char)
    return text
