"""Brand and competitor mentions in answer text.

Every transformation here keeps the string length, so an offset found in
the masked or folded text is an offset into the original answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from opencc import OpenCC

from citewatch.text import third_of
from citewatch.urls import trim_url

from ._cjk import CJK, has_cjk
from .ownership import EntitySpec
from .urls import registrable_domain

__all__ = ["MentionHit", "find_mentions"]


@dataclass(frozen=True)
class MentionHit:
    entity: str
    alias: str  # the configured term whose match comes first in the text
    count: int
    first_offset: int
    rank: int  # 1-based, by first_offset among entities found
    third: int = 1  # 1, 2 or 3: the third of the prose (its word characters) where the first mention falls


# --- width folding --------------------------------------------------------


class _FoldTable(dict[int, str]):
    """str.translate table: NFKC of each character, when that is one char, and a traditional Chinese
    character as its simplified form.

    Maps full-width Latin (ＡＣＭＥ), full-width punctuation and half-width
    katakana to their usual forms, and 恆達閥門 to 恒达阀门 (OpenCC's character table), without changing
    the length: an alias written in either script matches answers in both. Characters whose folded form is
    longer (㈱ -> (株)) stay as they are.
    """

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        folded = unicodedata.normalize("NFKC", char)
        value = folded if len(folded) == 1 else char
        if has_cjk(value):
            simplified = _to_simplified().convert(value)
            value = simplified if len(simplified) == 1 else value
        self[codepoint] = value
        return value


@cache
def _to_simplified() -> OpenCC:
    return OpenCC("t2s")


_FOLD = _FoldTable()


def _fold(text: str) -> str:
    return text if text.isascii() else text.translate(_FOLD)


# --- prose mask -----------------------------------------------------------

# A URL runs until whitespace, quotes/angle brackets, or CJK text and CJK
# punctuation (Chinese answers often glue "。" or prose right after a URL).
_URL_BODY = f"[^\\s<>\"`{CJK}\u3000-\u303f\uff00-\uffef]+"
# Not preceded by a Latin letter or digit; CJK may come right before it.
_BARE_URL = re.compile(
    rf"(?:(?<![A-Za-z0-9+.\-])https?://|(?<![\w./@-])www\.){_URL_BODY}",
    re.IGNORECASE,
)
# Link target: one level of nested parentheses (Wikipedia URLs have them)
# and an optional "title".
_TARGET = r"\(\s*<?(?:[^()\s<>]|\([^()\s]*\))*>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
_LINK = re.compile(rf"\[([^\[\]\n]*)\]({_TARGET})")
# [1], [2][3], [1, 2], [1-3], [^1] footnotes, [ref_1] (Qwen, GLM), ^[1]^ (ERNIE), and 【1】 seen in Chinese
# answers.
_CITE_MARKER = re.compile(
    r"\^?\[(?:\^|ref_)?\d+(?:\s*[,\-–]\s*\d+)*\]\^?|【\d+(?:\s*[,\-–、]\s*\d+)*】"
)
_URL_LABEL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_DOMAIN_LABEL = re.compile(
    r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}(?:/\S*)?$", re.IGNORECASE
)


def _is_source_label(label: str) -> bool:
    label = label.strip()
    if _URL_LABEL.match(label):
        return True
    if not _DOMAIN_LABEL.match(label):
        return False
    # "Node.js" has the shape of a domain but no public suffix.
    return registrable_domain(label.split("/", 1)[0]) is not None


def _mask_spans(text: str, folded: str) -> list[tuple[int, int]]:
    """Spans to blank. ``folded`` is ``_fold(text)`` (same length)."""
    spans: list[tuple[int, int]] = []
    for m in _LINK.finditer(folded):
        if _is_source_label(m.group(1)):
            spans.append((m.start(), m.end()))  # a source label, not prose
        else:
            spans.append((m.end(1), m.end()))  # keep the label, drop "](...)"
    # Bare URLs on the unfolded text: there a full-width "，" still ends the
    # URL, while folded to "," it would let the URL swallow the prose after.
    # Links are blanked first so a link's URL is not matched twice.
    for m in _BARE_URL.finditer(_apply_mask(text, spans)):
        spans.append((m.start(), m.start() + len(trim_url(m.group()))))
    for m in _CITE_MARKER.finditer(folded):
        spans.append(m.span())
    return spans


def _apply_mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] != "\n":  # keep line structure for later splitting
                chars[i] = " "
    return "".join(chars)


# --- matching ---------------------------------------------------------------

# A word character that is not CJK: Latin aliases need one of these on
# neither side, so "Acme" matches in "我们推荐Acme的" but not in "Acmeville".
_LATIN_WORD = f"[^\\W{CJK}]"


def _term_pattern(term: str) -> str:
    folded = _fold(term.strip())
    body = r"\s+".join(re.escape(part) for part in folded.split())
    if has_cjk(folded):
        return body  # CJK has no spaces between words: plain substring
    if re.match(r"\w", folded):
        body = f"(?<!{_LATIN_WORD})" + body
    if re.search(r"\w$", folded):
        body = body + f"(?!{_LATIN_WORD})"
    return body


@dataclass(frozen=True)
class _Matcher:
    entity: str
    pattern: re.Pattern[str]
    terms: tuple[str, ...]  # group i+1 of pattern matched terms[i]


def _entity_terms(entity: EntitySpec) -> list[str]:
    terms: list[str] = []
    seen: set[str] = set()
    for term in (entity.name, *entity.aliases, *entity.people, *entity.titles):
        key = _fold(term.strip()).casefold()
        if key and key not in seen:
            seen.add(key)
            terms.append(term.strip())
    # Longest first: the regex alternation then prefers "Acme Industrial"
    # over "Acme" at the same position, so the overlap counts once.
    terms.sort(key=lambda t: len(_fold(t)), reverse=True)
    return terms


def _build_matchers(entities: Sequence[EntitySpec]) -> tuple[_Matcher, ...]:
    matchers = []
    for entity in entities:
        terms = _entity_terms(entity)
        if not terms:
            continue
        pattern = "|".join(f"({_term_pattern(t)})" for t in terms)
        matchers.append(
            _Matcher(entity.name, re.compile(pattern, re.IGNORECASE), tuple(terms))
        )
    return tuple(matchers)


@lru_cache(maxsize=64)
def _cached_matchers(entities: tuple[EntitySpec, ...]) -> tuple[_Matcher, ...]:
    return _build_matchers(entities)


def _matchers(entities: Sequence[EntitySpec]) -> tuple[_Matcher, ...]:
    # Runs for every observation: compile once per entity list.
    try:
        return _cached_matchers(tuple(entities))
    except TypeError:  # a spec holding lists is unhashable
        return _build_matchers(entities)


def find_mentions(text: str, entities: Sequence[EntitySpec]) -> list[MentionHit]:
    """Mentions of each entity in the prose of ``text``, ordered by rank.

    Case-insensitive and width-insensitive; Latin terms match whole words,
    CJK terms match as substrings; overlapping terms of one entity count
    once. Entities without a mention are left out.
    """
    folded = _fold(text)
    prose = _apply_mask(folded, _mask_spans(text, folded))
    found: list[tuple[int, int, str, str, int]] = []
    for order, matcher in enumerate(_matchers(entities)):
        first: re.Match[str] | None = None
        count = 0
        for m in matcher.pattern.finditer(prose):
            if m.end() == m.start():
                continue
            count += 1
            if first is None:
                first = m
        if first is not None and first.lastindex is not None:
            alias = matcher.terms[first.lastindex - 1]
            found.append((first.start(), order, matcher.entity, alias, count))
    found.sort()
    prose_length = _word_chars(prose)
    return [
        MentionHit(entity=name, alias=alias, count=count, first_offset=offset, rank=i,
                   third=third_of(_word_chars(prose, offset), prose_length))
        for i, (offset, _, name, alias, count) in enumerate(found, start=1)
    ]


_NOT_WORD = re.compile(r"\W+")


def _word_chars(prose: str, end: int | None = None) -> int:
    """Letters, digits and CJK characters in ``prose[:end]``: a measure of how far into the answer a place is
    that spaces, punctuation and the blanked links and markers do not move."""
    return len(_NOT_WORD.sub("", prose[:end]))
