"""Position-adjusted word count (GEO, Aggarwal et al., KDD 2024), for engines that tie citations to text spans.

Each sentence's word count is shared equally among the sources it cites and
damped by exp(-index / sentences), so text early in the answer weighs more.
A source's visibility is the sum over the sentences citing it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from .sentences import split_sentences, word_count

__all__ = ["visibility_scores"]

K = TypeVar("K", bound=Hashable)

# Spans that are citation markers rather than prose: "[3]", "[1][2]", "([acme.com](https://...))".
_MARKER = re.compile(r"^[\s(（]*(?:\[[^\]]*\]\([^)\s]*\)|\[\d+\])(?:[\s,，]*(?:\[[^\]]*\]\([^)\s]*\)|\[\d+\]))*[\s)）]*$")


def _is_marker(text: str, span: tuple[int, int]) -> bool:
    return bool(_MARKER.match(text[span[0]:span[1]]))


# Numbered markers written after the text they support ("[3]", "[ref_3]", "^[3]^", "^[1][2]^"): the engine's
# spans point at that text, not at the marker, which would otherwise count as a word, start a sentence of its
# own at the end of an answer, or glue "sizes.[ref_1] Next" into one sentence.
_NUMBERED_MARKER = re.compile(r"\^?(?:\[(?:ref_)?\d{1,4}\])+\^?")


def _masked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Blank marker spans and the brackets around them, and every numbered marker (same length), so that
    they neither start a sentence nor count as words."""
    chars = list(text)
    for marker in _NUMBERED_MARKER.finditer(text):
        chars[marker.start():marker.end()] = " " * (marker.end() - marker.start())
    for start, end in spans:
        while start > 0 and text[start - 1] in " (（":
            start -= 1
        while end < len(text) and text[end] in ")）":
            end += 1
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def visibility_scores(text: str, spans_by_source: Mapping[K, Sequence[tuple[int, int]]]) -> dict[K, float]:
    """Visibility of each source (keyed as given) in one answer; sources without spans score 0."""
    clean = {
        key: [(max(0, s), min(len(text), e)) for s, e in spans if e > s and s < len(text)]
        for key, spans in spans_by_source.items()
    }
    markers = [span for spans in clean.values() for span in spans if _is_marker(text, span)]
    masked = _masked(text, markers)
    sentences = split_sentences(masked)
    scores = {key: 0.0 for key in spans_by_source}
    if not sentences:
        return scores
    cited_by: list[set[K]] = [set() for _ in sentences]
    for key, spans in clean.items():
        for span in spans:
            for index in _sentences_of(span, sentences, span in markers):
                cited_by[index].add(key)
    total = len(sentences)
    for index, ((start, end), sources) in enumerate(zip(sentences, cited_by, strict=True)):
        if sources:
            share = word_count(masked[start:end]) * math.exp(-index / total) / len(sources)
            for key in sources:
                scores[key] += share
    return scores


def _sentences_of(span: tuple[int, int], sentences: list[tuple[int, int]], is_marker: bool) -> list[int]:
    """A marker supports the sentence it follows; a prose span supports the sentences it overlaps."""
    if not is_marker:
        overlapping = [i for i, (s, e) in enumerate(sentences) if s < span[1] and span[0] < e]
        if overlapping:
            return overlapping
    before = [i for i, (s, _) in enumerate(sentences) if s <= span[0]]
    return [before[-1] if before else 0]
