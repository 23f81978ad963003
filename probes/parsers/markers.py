"""Numbered citation markers ("[2]", "[2][3]") in answer text, as both Perplexity formats write them,
and the apology-shaped refusal that Perplexity sends without a flag.

Offsets are Python ``str`` (code point) indices into the answer text. Pure: stdlib,
`citewatch.abbreviations` and `probes.parsers.common` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from citewatch.abbreviations import ABBREVIATIONS
from citewatch.text import short
from probes.parsers.common import SourceList

# One citation marker, and a group of adjacent markers ("[2][3]", "[2] [3]").
_MARKER = re.compile(r"\[(\d{1,4})\]")
_GROUP = re.compile(r"\[\d{1,4}\](?:[ \t]*\[\d{1,4}\])*")

# Sentence ends: Latin ones count only when followed by whitespace (so 3.3 and
# example.com stay whole); CJK full-width ones end a sentence by themselves.
_LATIN_ENDS = ".!?…"
_CJK_ENDS = "。！？"
# What may precede the cited words of a span: whitespace, leftover punctuation,
# a Markdown list bullet or heading.
_LEAD = re.compile(r"(?:[\s,;:，；：、]+|[-*+•](?=\s)|\d{1,3}[.)](?=\s)|#{1,6}(?=\s)|>)*")

# A refusal: short, unmarked, and opening with an apology plus "can't", or a bare "I can't help".
_REFUSAL_MAX_CHARS = 600
_REFUSAL = re.compile(
    r"^(?:(?:i'?m|i am)\s+(?:very\s+)?sorry|sorry|i apologi[sz]e)\b[^.!?\n]{0,80}?"
    r"\b(?:can'?t|cannot|can not|unable to|not able to|won'?t)\b"
    r"|^i\s+(?:can'?t|cannot|am unable to|am not able to|won'?t)\s+"
    r"(?:help|assist|provide|share|comply|answer|give|disclose)\b"
    r"|^(?:抱歉|对不起|很抱歉|非常抱歉)[^。！？\n]{0,30}?(?:无法|不能|不便)",
    re.IGNORECASE,
)

MarkerGroup = tuple[int, int, list[int]]


def marker_groups(text: str, is_source: Callable[[int], bool], group: re.Pattern[str] = _GROUP,
                  number: re.Pattern[str] = _MARKER) -> list[MarkerGroup]:
    """Marker groups as (start, end, numbers naming a source, in order). A number that names no
    source ("[0]", "[12]" with 7 sources) is not a marker; a group with none is plain text. `group` and
    `number` are an engine's own marker syntax (default "[1][2]"; `number`'s first group is the number)."""
    groups = []
    for match in group.finditer(text):
        numbers = [n for n in (int(m) for m in number.findall(match.group())) if is_source(n)]
        if numbers:
            groups.append((match.start(), match.end(), numbers))
    return groups


UrlOf = Callable[[int], str | None]
TitleOf = Callable[[str | None], str | None]


def cite_marked(sources: SourceList, text: str, groups: list[MarkerGroup], url_of: UrlOf, title_of: TitleOf) -> None:
    """Cite each marked source, with the words its group supports as the span."""
    floor = 0
    for group in groups:
        floor = cite_group(sources, text, floor, group, url_of, title_of)


def cite_group(sources: SourceList, text: str, floor: int, group: MarkerGroup, url_of: UrlOf,
               title_of: TitleOf) -> int:
    """Cite the sources of one marker group with the words before it (back no further than `floor`, the
    previous group's end); returns this group's end, the next group's floor."""
    start, end, numbers = group
    span = span_before(text, floor, start)
    for number in numbers:
        url = url_of(number)
        sources.cite(url, title_of(url), span)
    return end


def span_before(text: str, floor: int, end: int) -> tuple[int, int] | None:
    """The cited words before a marker group at `end`: back to the sentence start, not before `floor`."""
    while end > floor and text[end - 1].isspace():
        end -= 1
    start = floor
    # A sentence end at end-1 closes the cited sentence itself, so the search starts one before it.
    for i in range(end - 2, floor - 1, -1):
        ch = text[i]
        if ch == "\n" or ch in _CJK_ENDS or (
                ch in _LATIN_ENDS and text[i + 1].isspace() and not _abbreviation(text, i)):
            start = i + 1
            break
    lead = _LEAD.match(text, start, end)
    if lead is not None:
        start = lead.end()
    return (start, end) if end > start else None


def _abbreviation(text: str, i: int) -> bool:
    """A period that ends an abbreviation ("St. Louis", "Apex Inc. and", "U.S. data", "J. Smith"), not a sentence."""
    if text[i] != ".":
        return False
    j = i
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:i]
    return (len(word) == 1 and word.isupper()) or word.lower() in ABBREVIATIONS


def apology_refusal(text: str, groups: list[MarkerGroup]) -> str | None:
    """The refusal's words when a short answer with no marker opens with an apology and a "can't"."""
    answer = text.strip()
    if groups or not answer or len(answer) > _REFUSAL_MAX_CHARS:
        return None
    return short(answer) if _REFUSAL.match(answer.replace("\u2019", "'")) else None
