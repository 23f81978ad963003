"""Parser for SerpApi's Google results (engine=google), AI Overview included.

Input: the result of `probes.serpapi.SerpApiProbe`: the JSON body of ``GET
/search.json?engine=google`` (part ``response``) and, where Google loaded the
overview separately, the body of the ``engine=google_ai_overview`` request
made with its ``page_token`` (part ``ai_overview``). Output: a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md and SerpApi's documentation):

- ``ai_overview`` in one of three shapes: inline (``text_blocks`` and
  ``references``), deferred (``page_token`` and ``serpapi_link``: the second
  part then holds ``ai_overview`` with the blocks), or failed (``error``).
- ``text_blocks[]``: ``paragraph``, ``heading``, ``list`` (``list[]`` of items
  with ``snippet``, an optional ``title`` and nested ``list``), ``table``
  (``table``: rows of cells), ``video``, ``expandable`` (a ``title`` and
  ``text_blocks`` of its own). Snippets may hold LaTeX between ``$`` signs,
  listed in ``snippet_latex``, and links, listed in ``snippet_links``.
- ``reference_indexes`` on blocks, list items and snippet links name
  ``references[].index``, counting from 0; a link can appear more than once.
- ``related_questions[]`` (People also ask), whose items can be of type
  ``ai_overview``; ``organic_results[]`` with ``position`` counting from 1;
  other SERP features under their own top-level keys.
- ``search_metadata.status`` is ``Success``, or ``Error`` beside a top-level
  ``error``. "Google hasn't returned any results for this query." is SerpApi's
  ``error`` for a search with no results: a page that was read, not a failure.

Choices this parser makes (documented here because SerpApi does not say):

- Text: each block's lines (a paragraph, a heading, a list item "title
  snippet", a table row with cells joined by " | ") joined by "\\n"; blocks
  joined by "\\n\\n"; an expandable's title is a block, its blocks follow.
  LaTeX keeps its source without the ``$`` delimiters.
- Citations: every reference, in the order of ``index`` (Google's sources
  tray), one per page (the same normalized URL keeps its first position). A
  reference's spans are the ranges of the blocks, items and links that name
  it. Links written in the text (``snippet_links``) to pages outside Google
  and outside the references follow, with ``origin="text"``. SerpApi does not
  say which sources sit behind "Show more": all are visible.
- Status: OK for any page read, with or without an overview (text "" without
  one). An overview that failed (``ai_overview.error``, Google's "not
  available" notice) is NO_ANSWER with the error as reason. A service error
  is ERROR with its reason. A page with no results, no overview, no SERP
  feature and no "no results" message is ERROR "empty result" (SerpApi has
  served such empty answers for valid searches), never "no overview". A
  deferred overview whose second request is missing or failed is ERROR: the
  page promised an overview that was not read.
- Features: the SERP features present, in the order of SerpApi's keys (its
  schema's order, close to but not always the page's), the overview moved to the
  top (below leading ads), as Google shows it.

Pure: stdlib, `probes.base` and `probes.parsers.common` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from citewatch.errors import ParseError
from citewatch.raw import Raw, as_result
from probes.base import (
    ADS,
    AI_OVERVIEW,
    AI_OVERVIEW_QUESTION,
    FEATURED_SNIPPET,
    IMAGES,
    KNOWLEDGE_PANEL,
    LOCAL_PACK,
    PEOPLE_ALSO_ASK,
    SHOPPING,
    TOP_STORIES,
    VIDEO,
    Answer,
    Citation,
    OrganicResult,
)
from probes.parsers.common import (
    SourceList,
    citation_key,
    count_or_none,
    error_reason,
    load_json_object,
    text_or_none,
)

PARSER_VERSION = 1

OVERVIEW_PART = "ai_overview"  # the part holding a deferred overview (probes.serpapi.OVERVIEW_PART)
NO_RESULTS = "hasn't returned any results"  # SerpApi's "error" for a search Google found nothing for
EMPTY_RESULT = "empty result"

# Top-level keys of a SerpApi Google answer and the SERP feature each stands for.
FEATURE_KEYS: dict[str, str] = {
    "ads": ADS,
    "ai_overview": AI_OVERVIEW,
    "answer_box": FEATURED_SNIPPET,
    "knowledge_graph": KNOWLEDGE_PANEL,
    "local_results": LOCAL_PACK,
    "top_stories": TOP_STORIES,
    "inline_videos": VIDEO,
    "video_results": VIDEO,
    "short_videos": VIDEO,
    "inline_images": IMAGES,
    "images_results": IMAGES,
    "shopping_results": SHOPPING,
    "inline_shopping": SHOPPING,
    "related_questions": PEOPLE_ALSO_ASK,
}

_GOOGLE_HOST = re.compile(r"(?:^|\.)google\.[a-z]{2,3}(?:\.[a-z]{2})?$")


def recognizes(body: dict[str, Any]) -> bool:
    """A SerpApi Google search (or deferred overview) answer, not AI Mode's nor another vendor's."""
    engine = engine_of(body)
    if engine is not None:
        return engine in ("google", "google_ai_overview")
    return isinstance(body.get("search_metadata"), dict) and "text_blocks" not in body and (
        "organic_results" in body or "ai_overview" in body)


def parse(raw: Raw) -> Answer:
    """Parse one SerpApi Google result into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a SerpApi Google search")
    failure = service_failure(body)
    if failure is not None:
        return failure

    organic = organic_results(body.get("organic_results"))
    page_features = features_of(body)
    overview = body.get("ai_overview")
    if overview is not None and not isinstance(overview, dict):
        raise ParseError(f"'ai_overview' is a JSON {type(overview).__name__}, expected an object")

    status, reason = "ok", None
    read = Overview()
    if overview and not overview.get("text_blocks") and text_or_none(overview.get("page_token")):
        overview, reason = _deferred_overview(raw)
        if overview is None:  # the promised overview was not read: a failure, never "no overview"
            return Answer(text="", organic=organic, features=_without(page_features, AI_OVERVIEW),
                          status="error", status_reason=reason)
    if overview:
        failed = error_reason(overview.get("error"), lambda error: None)
        if failed is not None and not overview.get("text_blocks"):
            status, reason = "no_answer", f"AI Overview: {failed}"
        else:
            read = read_overview(overview.get("text_blocks"), overview.get("references"))

    features = page_features if read.text else _without(page_features, AI_OVERVIEW)
    if not read.text and status == "ok" and not organic and not features:
        return Answer(text="", status="error", status_reason=EMPTY_RESULT)
    return Answer(text=read.text, citations=read.citations, organic=organic, features=features,
                  status=status, status_reason=reason)


# --- errors --------------------------------------------------------------------------


def engine_of(body: dict[str, Any]) -> str | None:
    parameters = body.get("search_parameters")
    return text_or_none(parameters.get("engine")) if isinstance(parameters, dict) else None


def service_failure(body: dict[str, Any]) -> Answer | None:
    """The Answer for a body that reports an error or an unfinished search; None for a finished one.
    "No results" is a page that was read: OK, with nothing on it."""
    error = error_reason(body.get("error"), lambda e: text_or_none(e.get("code")))
    if error is not None and NO_RESULTS in error.lower().replace("’", "'"):
        return Answer(text="", status="ok", status_reason="no results for this query")
    if error is not None:
        return Answer(text="", status="error", status_reason=error)
    metadata = body.get("search_metadata")
    status = text_or_none(metadata.get("status")) if isinstance(metadata, dict) else None
    if status is not None and status.lower() == "error":
        return Answer(text="", status="error", status_reason="SerpApi search failed (search_metadata.status Error)")
    if status is not None and status.lower() != "success":
        return Answer(text="", status="error", status_reason=f"SerpApi search not finished (status {status})")
    return None


def _deferred_overview(raw: Raw) -> tuple[dict[str, Any] | None, str | None]:
    """The overview Google loaded separately, from the result's second part; (None, reason) when it was
    not fetched or its request failed."""
    part = as_result(raw).part(OVERVIEW_PART)
    if part is None:
        return None, "deferred AI Overview (page_token) was not fetched"
    follow = load_json_object(part.data, "a SerpApi AI Overview")
    failure = service_failure(follow)
    if failure is not None and failure.status == "ok":  # "no results" for the overview: none was written
        return {"error": failure.status_reason}, None
    if failure is not None:
        return None, f"deferred AI Overview request failed: {failure.status_reason}"
    overview = follow.get("ai_overview")
    if not isinstance(overview, dict) or not (overview.get("text_blocks") or overview.get("error")):
        return None, "deferred AI Overview came back empty"
    return overview, None


# --- SERP features and organic results ---------------------------------------------------


def features_of(body: dict[str, Any], keys: dict[str, str] = FEATURE_KEYS) -> list[str]:
    """The SERP features present (non-empty), each once, in the order of SerpApi's keys, the overview first
    (below leading ads)."""
    found: list[str] = []
    for key, value in body.items():
        feature = keys.get(key)
        if feature is None or not value or not isinstance(value, (list, dict)):
            continue
        if feature not in found:
            found.append(feature)
        if key == "related_questions" and isinstance(value, list) and AI_OVERVIEW_QUESTION not in found and any(
                isinstance(q, dict) and q.get("type") == "ai_overview" for q in value):
            found.append(AI_OVERVIEW_QUESTION)
    if AI_OVERVIEW in found:
        found.remove(AI_OVERVIEW)
        found.insert(1 if found and found[0] == ADS and _ads_lead(body) else 0, AI_OVERVIEW)
    return found


def _ads_lead(body: dict[str, Any]) -> bool:
    keys = list(body)
    return "ads" in keys and keys.index("ads") < keys.index("ai_overview")


def _without(features: list[str], feature: str) -> list[str]:
    return [f for f in features if f != feature]


def organic_results(items: Any) -> list[OrganicResult]:
    """Organic results with Google's rank (`position`, from 1); items without a link are left out, and so is
    a rank already taken, or missing (then the item's place counts)."""
    results: list[OrganicResult] = []
    taken: set[int] = set()
    for place, item in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        url = text_or_none(item.get("link"))
        position = count_or_none(item.get("position"))  # a rank no column holds is garbage: its place counts
        rank = position if position is not None and position >= 1 else place
        if url is None or rank in taken:
            continue
        taken.add(rank)
        results.append(OrganicResult(rank=rank, url=url, title=text_or_none(item.get("title")),
                                     snippet=text_or_none(item.get("snippet"))))
    return sorted(results, key=lambda result: result.rank)


# --- the overview's blocks -------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    refs: list[int] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Block:
    lines: list[_Line]
    refs: list[int] = field(default_factory=list)


@dataclass
class Overview:
    """An overview (or AI Mode answer) read: its text and its sources."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)


def read_overview(text_blocks: Any, references: Any) -> Overview:
    """The text of `text_blocks` in reading order and the `references` as citations (see the module doc)."""
    blocks = _blocks(text_blocks)
    listed = _references(references)
    sources = SourceList()
    pieces: list[str] = []
    offset = 0
    for block in blocks:
        if pieces:
            pieces.append("\n\n")
            offset += 2
        block_start = offset
        for number, line in enumerate(block.lines):
            if number:
                pieces.append("\n")
                offset += 1
            start, end = offset, offset + len(line.text)
            pieces.append(line.text)
            offset = end
            _cite(sources, listed, line.refs, (start, end))
            _cite_links(sources, listed, line, start)
        _cite(sources, listed, block.refs, (block_start, offset))
    text = "".join(pieces)
    if not text.strip():
        return Overview()
    return Overview(text, _tray(sources, listed))


def reference_citations(references: Any) -> list[Citation]:
    """The references alone as citations, in Google's order, without spans (an answer with no blocks)."""
    return _tray(SourceList(), _references(references))


def _tray(sources: SourceList, listed: dict[int, tuple[str, str | None]]) -> list[Citation]:
    """Every reference is in the sources tray, cited by a block or not: positions in the order of `index`,
    then links written in the text."""
    ranks: dict[str, int] = {}
    for index in sorted(listed):
        url, title = listed[index]
        sources.cite(url, title)
        ranks.setdefault(citation_key(url), index)
    return sources.citations(lambda url: ranks.get(citation_key(url)))


def _cite(sources: SourceList, listed: dict[int, tuple[str, str | None]], refs: list[int],
          span: tuple[int, int]) -> None:
    for index in refs:
        if index in listed:
            url, title = listed[index]
            sources.cite(url, title, span)


def _cite_links(sources: SourceList, listed: dict[int, tuple[str, str | None]], line: _Line, start: int) -> None:
    """Links in a line's text: the references they name support the link's words; a link to a page outside
    Google is a source written in the text."""
    searched_from = 0
    for link in line.links:
        words = text_or_none(link.get("text"))
        found = line.text.find(words, searched_from) if words else -1
        span = (start + found, start + found + len(words)) if words and found >= 0 else None
        if found >= 0 and words:
            searched_from = found + len(words)
        refs = _indexes(link.get("reference_indexes"))
        if refs and span is not None:
            _cite(sources, listed, refs, span)
        url = text_or_none(link.get("link"))
        if not refs and url and not _is_google(url):
            sources.cite(url, words, span, origin="text")


def _is_google(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return True  # not a page anyone could open
    return not host or bool(_GOOGLE_HOST.search(host))


def _references(references: Any) -> dict[int, tuple[str, str | None]]:
    """(url, title) by `index`; a reference without a usable index takes its place in the list."""
    listed: dict[int, tuple[str, str | None]] = {}
    for place, reference in enumerate(references if isinstance(references, list) else []):
        if not isinstance(reference, dict):
            continue
        url = text_or_none(reference.get("link")) or text_or_none(reference.get("url"))
        index = count_or_none(reference.get("index"))
        index = index if index is not None else place
        if url is not None and index not in listed:
            listed[index] = (url, text_or_none(reference.get("title")) or text_or_none(reference.get("source")))
    return listed


def _indexes(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [index for item in value if (index := count_or_none(item)) is not None]


def _blocks(text_blocks: Any, depth: int = 0) -> list[_Block]:
    blocks: list[_Block] = []
    if depth > 8:  # nesting that deep is garbage, not an overview
        return blocks
    for block in text_blocks if isinstance(text_blocks, list) else []:
        if isinstance(block, str) and block.strip():
            blocks.append(_Block([_Line(block.strip())]))
            continue
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        refs = _indexes(block.get("reference_indexes"))
        if kind == "expandable":
            title = _snippet(block, "title")
            if title:
                blocks.append(_Block([_Line(title)], refs))
            blocks.extend(_blocks(block.get("text_blocks"), depth + 1))
            continue
        lines: list[_Line] = []
        snippet = _snippet(block)
        if snippet:
            lines.append(_Line(snippet, links=_links(block)))
        elif kind in ("video",) and _snippet(block, "title"):
            lines.append(_Line(_snippet(block, "title")))
        lines.extend(_list_lines(block.get("list"), depth))
        lines.extend(_table_lines(block))
        if lines:
            blocks.append(_Block(lines, refs))
    return blocks


def _snippet(item: dict[str, Any], key: str = "snippet") -> str:
    """A snippet as shown: LaTeX without its `$` delimiters, whitespace collapsed at the ends."""
    text = item.get(key)
    if not isinstance(text, str):
        return ""
    latex = item.get("snippet_latex") if key == "snippet" else None
    for formula in latex if isinstance(latex, list) else []:
        if isinstance(formula, str) and formula:
            text = text.replace(f"${formula}$", formula)
    return text.strip()


def _links(item: dict[str, Any]) -> list[dict[str, Any]]:
    links = item.get("snippet_links")
    return [link for link in links if isinstance(link, dict)] if isinstance(links, list) else []


def _list_lines(items: Any, depth: int) -> list[_Line]:
    """A list's items as lines: "title snippet", nested lists after their item."""
    lines: list[_Line] = []
    if depth > 8:
        return lines
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str) and item.strip():
            lines.append(_Line(item.strip()))
            continue
        if not isinstance(item, dict):
            continue
        title, snippet = _snippet(item, "title"), _snippet(item)
        text = f"{title} {snippet}" if title and snippet else title or snippet
        if text:
            lines.append(_Line(text, _indexes(item.get("reference_indexes")), _links(item)))
        lines.extend(_list_lines(item.get("list"), depth + 1))
    return lines


def _table_lines(block: dict[str, Any]) -> list[_Line]:
    """A table's rows as lines, cells joined by " | ": `table` (rows of cells), else `formatted` (rows as
    objects, their keys the header)."""
    rows = block.get("table")
    if not isinstance(rows, list):
        formatted = block.get("formatted")
        records = [r for r in formatted if isinstance(r, dict)] if isinstance(formatted, list) else []
        rows = [list(records[0])] + [list(r.values()) for r in records] if records else []
    lines = []
    for row in rows:
        cells = [_cell(cell) for cell in row] if isinstance(row, list) else [_cell(row)]
        text = " | ".join(cell for cell in cells if cell)
        if text:
            lines.append(_Line(text))
    return lines


def _cell(cell: Any) -> str:
    if isinstance(cell, dict):
        return _snippet(cell)
    if isinstance(cell, (str, int, float)) and not isinstance(cell, bool):
        return " ".join(str(cell).split())
    return ""
