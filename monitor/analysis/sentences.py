"""Sentence spans and word counts for English and Chinese answer text.

Used by the position-adjusted word count (GEO visibility), which needs each
sentence's position and length; spans are offsets into the original text.
"""

from __future__ import annotations

import re

from citewatch.abbreviations import ABBREVIATIONS

from ._cjk import CJK

__all__ = ["split_sentences", "word_count"]

# Closing quotes/brackets that belong to the sentence they end: 他说：“好。”
_CLOSERS = "\"'”’」』）)\\]】"
# CJK terminators end a sentence with or without a following space.
_CJK_END = re.compile(f"[。！？；]+[{_CLOSERS}]*")
# Latin terminators end a sentence only before whitespace.
_LATIN_END = re.compile(f"[.!?]+[{_CLOSERS}]*(?=\\s)")
_LINE = re.compile(r"[^\r\n]+")
# "e.g", "i.e", "U.S", "J" (initials): letters, each followed by a dot.
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)*[A-Za-z]$")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+>]\s+)*\(?\d+$")
_HAS_WORD = re.compile(r"[^\W_]")


def _is_abbreviation_dot(line: str, dot: int) -> bool:
    """Whether the lone '.' at ``dot`` ends a token rather than a sentence."""
    start = dot
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    token = line[start:dot].lstrip("(\"'“‘[")
    if _DOTTED.match(token) or token.lower() in ABBREVIATIONS:
        return True
    # "1. Install" at the start of a line is a list marker, not a sentence.
    return bool(_LIST_MARKER.match(line[:dot]))


def _line_breaks(line: str) -> list[int]:
    """Offsets (within the line) just after each sentence end."""
    ends = [m.end() for m in _CJK_END.finditer(line)]
    for m in _LATIN_END.finditer(line):
        terminators = m.group().rstrip(_CLOSERS)
        if terminators == "." and _is_abbreviation_dot(line, m.start()):
            continue
        ends.append(m.end())
    return sorted(set(ends))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``.

    A line break always ends a sentence, so markdown bullets and headings
    are sentences of their own. Spans exclude surrounding whitespace; spans
    without any letter or digit ("---", "```", "|---|") are dropped as they
    carry no words.
    """
    spans: list[tuple[int, int]] = []
    for line_match in _LINE.finditer(text):
        line, base = line_match.group(), line_match.start()
        start = 0
        for end in [*_line_breaks(line), len(line)]:
            piece = line[start:end]
            stripped = piece.strip()
            if stripped and _HAS_WORD.search(stripped):
                lead = len(piece) - len(piece.lstrip())
                s = base + start + lead
                spans.append((s, s + len(stripped)))
            start = end
    return spans


_WORD = re.compile(f"([{CJK}])|[^\\s{CJK}]+")


def word_count(s: str) -> int:
    """Words in ``s``: each CJK character is one word, and so is each run of
    other non-space characters that holds a letter or digit (punctuation
    alone is not a word)."""
    return sum(
        1 for m in _WORD.finditer(s) if m.group(1) or _HAS_WORD.search(m.group())
    )
