"""Text helpers every package shares."""

from __future__ import annotations

import re


def short(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters, for the reasons stored on observations and shown to users."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` as both databases can hold it: NUL (which PostgreSQL refuses in text) and lone surrogates
    (which UTF-8 cannot encode; JSON escapes can produce them) become U+FFFD, the replacement character.
    One character for one, so offsets into the text (citation spans) stay right."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


THIRDS = ("first_third", "middle_third", "last_third")


def third_of(position: int, length: int) -> int:
    """In which third of a text of `length` units `position` falls: 1, 2 or 3 (1 for an empty text)."""
    if length <= 0 or position * 3 < length:
        return 1
    return 2 if position * 3 < 2 * length else 3
