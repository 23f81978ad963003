"""Parser for Google results through DataForSEO's SERP API (`dataforseo`), and the family parser that
`probes.parsers.dataforseo_ai_mode` shares.

Input: the JSON body of ``POST /v3/serp/google/organic/live/advanced`` (one task). Output: a
`probes.base.Answer` whose text is the AI Overview, citations its sources, organic the organic results.

What the payload holds (see realdata/FORMATS.md and DataForSEO's reference):

- An envelope ``{status_code, status_message, cost, tasks: [...]}``, and in each task the same three
  fields and ``result: [{..., item_types, items: [...]}]``. HTTP says 200 even when a task failed: a
  ``status_code`` other than 20000 (the envelope's or the task's) is the failure, ``status_message`` why.
- ``items[]`` in page order, each with a ``type``: ``organic`` (``rank_group`` is Google's organic
  rank, ads not counted), ``paid`` (ads), ``ai_overview`` and the SERP features.
- The ``ai_overview`` item: ``items[]`` of elements (``ai_overview_element`` with ``title``,
  ``markdown``, ``text``, ``references``; ``ai_overview_table_element`` with ``markdown`` and ``table``),
  and ``references[]`` for the whole block (``position: right``: the sources tray, in Google's order).
  Missing ``links``/``images``/``references`` are null, not []; ``asynchronous_ai_overview: false``
  appears even when the block is full.

Choices this parser makes (documented here because the API does not say):

- The text is built from each element's ``markdown`` with its links removed, never from its ``text``
  (which ends with its sources' labels, "… hidden leak. Facebook · Plumbing Pals") and never from the
  block's own ``markdown`` as well (it repeats the elements). An element's ``title`` is a heading line.
  Markers ``[[n]](url)`` (numbered from 1 again in each element) and empty ``[](url)`` links are
  citations; a link with words keeps its words; images go; a media card (a link whose label holds an
  image: a video's title, views and channel) keeps its first line, the title. Table rows read as cells
  joined by " | ". Bold and bullets are dropped. Only when no element has markdown does the block's
  own ``markdown`` stand for the text (without spans).
- Sources: the block's ``references`` give positions (Google's tray order); sources cited only by
  elements follow in the order first cited. A marker group's span runs from the start of its line (or
  the previous group on that line) to the group; an element's references that no marker names support
  the whole element. Inline links with words (``[CA CSLB](url)``) and media cards are not sources.
- Statuses: a failing status code is ERROR "DataForSEO <code>: <message>", except 40102 "No Search
  Results.": Google answered, with nothing, which is a page without an overview (OK with no answer, as
  SerpApi's "no results" is). A task with no result at all is ERROR "empty result". A result with no
  ``ai_overview`` item (items null or []) is a page read without an overview: OK with "" (`dataforseo`),
  NO_ANSWER (`dataforseo_ai_mode`, whose page is the answer). An overview block flagged
  ``asynchronous_ai_overview: true`` with no content is ERROR: Google showed one that was never read.
- Features come from the items and from ``item_types`` (the page's types, which a shortened ``items``
  may lack), in page order: knowledge_graph is KNOWLEDGE_PANEL, shopping and popular_products SHOPPING,
  paid ADS; a People Also Ask answer written as an AI Overview adds AI_OVERVIEW_QUESTION.
- ``cost`` (the envelope's, else the task's) is the Answer's cost.
- Only http(s) URLs are sources; odd values (a string where a list belongs, nulls) inside the overview
  are skipped, while a wrong envelope (``tasks``, ``result``, ``items`` of the wrong type) is a ParseError.

Pure: stdlib, `probes.base` and `probes.parsers.common` only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.status import ERROR, NO_ANSWER, OK
from citewatch.text import short
from probes.base import (
    ADS,
    AI_MODE,
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
    code_or_none,
    count_or_none,
    load_json_object,
    text_or_none,
)

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

ORGANIC = "organic"  # se_type of /serp/google/organic
AI_MODE_SE_TYPE = "ai_mode"  # se_type of /serp/google/ai_mode
OK_CODE = "20000"
NO_RESULTS_CODE = "40102"  # "No Search Results."

# DataForSEO item types that are SERP features, by the names citewatch stores.
_FEATURES = {
    "ai_overview": AI_OVERVIEW,
    "featured_snippet": FEATURED_SNIPPET,
    "people_also_ask": PEOPLE_ALSO_ASK,
    "video": VIDEO,
    "short_videos": VIDEO,
    "images": IMAGES,
    "top_stories": TOP_STORIES,
    "local_pack": LOCAL_PACK,
    "knowledge_graph": KNOWLEDGE_PANEL,
    "shopping": SHOPPING,
    "popular_products": SHOPPING,
    "paid": ADS,
}
# A People Also Ask answer written as an AI Overview.
_PAA_AI_OVERVIEW = "people_also_ask_ai_overview_expanded_element"


def recognizes(body: dict[str, Any]) -> bool:
    """A DataForSEO Google organic SERP response (for `citewatch parse` without --kind)."""
    return se_type_of(body) == ORGANIC


def parse(raw: Raw) -> Answer:
    """Parse one organic live advanced response into an `Answer`; raise `ParseError` on garbage."""
    return parse_serp(raw, ai_mode=False)


# --- the family parser ---------------------------------------------------------------------------


def se_type_of(body: dict[str, Any]) -> str | None:
    """Which Google endpoint a DataForSEO body answers ("organic", "ai_mode"), from the task's `path`
    (["v3", "serp", "google", "organic", "live", "advanced"]), else its `data.se_type`, else the result's
    `type`; None for anything that is not a DataForSEO Google SERP body."""
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not tasks or not isinstance(tasks[0], dict) or "status_code" not in body:
        return None
    task = tasks[0]
    path = task.get("path")
    if isinstance(path, list) and len(path) >= 4 and path[1:3] == ["serp", "google"]:
        return path[3] if isinstance(path[3], str) else None
    data = task.get("data")
    if isinstance(data, dict) and data.get("api") == "serp" and data.get("se") == "google":
        return data.get("se_type") if isinstance(data.get("se_type"), str) else None
    result = task.get("result")
    if isinstance(result, list) and result and isinstance(result[0], dict) and "check_url" in result[0]:
        kind = result[0].get("type")
        return kind if isinstance(kind, str) else None
    return None


def parse_serp(raw: Raw, ai_mode: bool) -> Answer:
    body = load_json_object(raw, "a DataForSEO SERP response")
    if "tasks" not in body and "status_code" not in body:
        raise ParseError("not a DataForSEO response: no 'tasks' and no 'status_code'")
    tasks = body.get("tasks")
    task = tasks[0] if isinstance(tasks, list) and tasks else None
    if task is not None and not isinstance(task, dict):
        raise ParseError(f"tasks[0] is a JSON {type(task).__name__}, expected an object")
    cost = _cost(body.get("cost"))
    if cost is None and task is not None:
        cost = _cost(task.get("cost"))

    if task is not None and code_or_none(task.get("status_code")) == NO_RESULTS_CODE:
        # Google found nothing for the query: a page without an overview, not a failed probe
        return Answer(text="", status=OK, status_reason="no results for this query", cost=cost)
    failure = _failure(body) or (_failure(task) if task is not None else None)
    if failure is not None:
        return Answer(text="", status=ERROR, status_reason=failure, cost=cost)
    if task is None:
        if tasks is None or isinstance(tasks, list):
            return Answer(text="", status=ERROR, status_reason="empty result: the response holds no task", cost=cost)
        raise ParseError(f"'tasks' is a JSON {type(tasks).__name__}, expected a list")

    result = task.get("result")
    if result is None or result == []:
        return Answer(text="", status=ERROR, status_reason="empty result: the task returned no result", cost=cost)
    if not isinstance(result, list) or not isinstance(result[0], dict):
        raise ParseError("tasks[0].result is not a list of result objects")
    page = result[0]
    items = page.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ParseError(f"tasks[0].result[0].items is a JSON {type(items).__name__}, expected a list")
    items = [item for item in items if isinstance(item, dict)]

    overview = next((item for item in items if item.get("type") == "ai_overview"), None)
    features = _features(items, page.get("item_types"), ai_mode, has_overview=overview is not None)
    organic = _organic(items)
    base = {"organic": organic, "features": features, "cost": cost}
    if overview is None:
        if ai_mode:
            return Answer(text="", status=NO_ANSWER, status_reason="no AI Mode answer in the result", **base)
        return Answer(text="", status=OK, **base)

    text, citations = read_overview(overview)
    if not text.strip():
        if overview.get("asynchronous_ai_overview") is True:
            # Google showed an overview that was never read: a failure, never "no AI Overview"
            return Answer(text=text, citations=citations, status=ERROR, status_reason=(
                "the AI Overview loads asynchronously and its content was not returned"), **base)
        reason = "the AI Mode answer is empty" if ai_mode else "the AI Overview is empty"
        return Answer(text=text, citations=citations, status=NO_ANSWER, status_reason=reason, **base)
    return Answer(text=text, citations=citations, status=OK, **base)


def _failure(envelope: dict[str, Any]) -> str | None:
    """Why the envelope or a task failed: "DataForSEO <code>: <message>"; None when its code is 20000
    or absent."""
    code = code_or_none(envelope.get("status_code"))
    if code is None or code == OK_CODE:
        return None
    message = text_or_none(envelope.get("status_message"))
    return short(f"DataForSEO {code}: {message}" if message else f"DataForSEO {code}")


# DataForSEO charges fractions of a cent a task; a reported cost past this is garbage, and would spend a
# daily budget and the cost KPIs at a stroke.
MAX_COST = 10.0


def _cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= MAX_COST else None


# --- the page: organic results and SERP features -------------------------------------------------


def _organic(items: list[dict[str, Any]]) -> list[OrganicResult]:
    """Organic results with Google's rank (`rank_group`: ads and features not counted); where the rank is
    missing or odd, the next free one after the previous result's (a page's ranks are its results' keys)."""
    results: list[OrganicResult] = []
    seen: set[int] = set()
    for item in items:
        if item.get("type") != "organic":
            continue
        url = text_or_none(item.get("url"))
        if url is None:
            continue
        rank = count_or_none(item.get("rank_group"))  # a rank no column holds is garbage, as a missing one
        if not rank or rank in seen:
            rank = (results[-1].rank if results else 0) + 1
            while rank in seen:
                rank += 1
        seen.add(rank)
        results.append(OrganicResult(rank=rank, url=url, title=text_or_none(item.get("title")),
                                     snippet=text_or_none(item.get("description"))))
    return results


def _features(items: list[dict[str, Any]], item_types: Any, ai_mode: bool, has_overview: bool) -> list[str]:
    """The SERP features shown, each once, in page order: from the items, and from `item_types` (the types
    of the whole page, which a shortened `items` may lack). A People Also Ask answer written as an AI
    Overview adds AI_OVERVIEW_QUESTION after PEOPLE_ALSO_ASK. AI Mode's answer is AI_MODE."""
    if ai_mode:
        return [AI_MODE] if has_overview else []
    types = [item.get("type") for item in items]
    if isinstance(item_types, list):
        types = [t for t in item_types if isinstance(t, str)] + types
    features: list[str] = []
    for kind in types:
        feature = _FEATURES.get(kind) if isinstance(kind, str) else None
        if feature is not None and feature not in features:
            features.append(feature)
    if any(_has_ai_overview_answer(item) for item in items if item.get("type") == "people_also_ask"):
        at = features.index(PEOPLE_ALSO_ASK) + 1 if PEOPLE_ALSO_ASK in features else len(features)
        features.insert(at, AI_OVERVIEW_QUESTION)
    return features


def _has_ai_overview_answer(people_also_ask: dict[str, Any]) -> bool:
    for question in _dicts(people_also_ask.get("items")):
        if any(expanded.get("type") == _PAA_AI_OVERVIEW for expanded in _dicts(question.get("expanded_element"))):
            return True
    return False


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list that may be null, or not a list at all."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


# --- the overview --------------------------------------------------------------------------------


def read_overview(overview: dict[str, Any]) -> tuple[str, list[Citation]]:
    """(text, citations) of an `ai_overview` item, as the module docstring describes."""
    sources = SourceList()
    tray = _References(overview.get("references"))
    blocks: list[str] = []
    offset = 0
    elements = _dicts(overview.get("items"))
    if not any(_has_body(element) for element in elements):  # the block's own markdown, without spans
        text, _ = _clean_markdown(overview.get("markdown"))
        if text:
            for url, title in tray.entries:
                sources.cite(url, title)
            return text, sources.citations(tray.rank_of)
    pending: list[tuple[str, list[_Group], _References, int]] = []
    for element in elements:
        element_text, groups = _element_text(element)
        if not element_text:
            continue
        start = offset + (2 if blocks else 0)
        blocks.append(element_text)
        offset = start + len(element_text)
        pending.append((element_text, groups, _References(element.get("references")), start))
    if not blocks:
        return "", []
    text = "\n\n".join(blocks)

    for element_text, groups, references, start in pending:
        named: set[str] = set()
        for group in groups:
            for url in filter(_is_web_url, group.urls):
                sources.cite(url, references.title_of(url) or tray.title_of(url),
                             (start + group.span[0], start + group.span[1]))
                named.add(citation_key(url))
        whole = (start, start + len(element_text))
        for url, title in references.entries:
            if citation_key(url) not in named:
                sources.cite(url, title or tray.title_of(url), whole)
    for url, title in tray.entries:
        sources.cite(url, title)
    return text, sources.citations(tray.rank_of)


def _is_web_url(url: str) -> bool:
    """Sources are web pages: an http(s) URL, not a `javascript:` or relative link."""
    return url.lower().startswith(("https://", "http://"))


def _has_body(element: dict[str, Any]) -> bool:
    """Whether an element has words of its own (markdown, or a table), beyond a title."""
    return bool(_clean_markdown(element.get("markdown"))[0] or _table_text(element.get("table")))


class _References:
    """A `references` list (null, or not a list, is empty): URLs with titles, and their order."""

    def __init__(self, value: Any) -> None:
        self.entries: list[tuple[str, str | None]] = []
        self._titles: dict[str, str] = {}
        self._ranks: dict[str, int] = {}
        for reference in _dicts(value):
            url = text_or_none(reference.get("url"))
            if url is None or not _is_web_url(url):
                continue
            key, title = citation_key(url), text_or_none(reference.get("title")) or text_or_none(reference.get("source"))
            self.entries.append((url, title))
            self._ranks.setdefault(key, len(self._ranks) + 1)
            if title:
                self._titles.setdefault(key, title)

    def title_of(self, url: str) -> str | None:
        return self._titles.get(citation_key(url))

    def rank_of(self, url: str) -> int | None:
        return self._ranks.get(citation_key(url))


@dataclass
class _Group:
    """Adjacent citation links in an element's text: the URLs they name and the words they support."""

    urls: list[str] = field(default_factory=list)
    span: tuple[int, int] = (0, 0)


def _element_text(element: dict[str, Any]) -> tuple[str, list[_Group]]:
    """An element's text (its title as a heading, then its markdown cleaned) and its citation groups,
    offsets into that text."""
    body, groups = _clean_markdown(element.get("markdown"))
    if not body and element.get("type") == "ai_overview_table_element":
        body = _table_text(element.get("table"))
    title = text_or_none(element.get("title"))
    if title is None or _squash(title) == _squash(body.split("\n", 1)[0]):
        return body, groups
    if not body:
        return title, []
    shift = len(title) + 2
    for group in groups:
        group.span = (group.span[0] + shift, group.span[1] + shift)
    return f"{title}\n\n{body}", groups


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _table_text(table: Any) -> str:
    """A `table` object (`table_header`, `table_content`) as rows of cells joined by " | "."""
    if not isinstance(table, dict):
        return ""
    rows = [table.get("table_header")] + (table.get("table_content") if isinstance(table.get("table_content"), list)
                                          else [])
    lines = []
    for row in rows:
        if isinstance(row, list):
            cells = [" ".join(str(cell).split()) for cell in row if isinstance(cell, (str, int, float))]
            if any(cells):
                lines.append(" | ".join(cells))
    return "\n".join(lines)


# --- markdown ------------------------------------------------------------------------------------

# One level of parentheses inside a URL (Wikipedia's "Foo_(bar)").
_URL = r"\(\s*((?:[^()\s]|\([^()\s]*\))*)\s*\)"
_IMAGE = re.compile(r"!\[[^\[\]]*\]" + _URL)
# a media card: a link whose label holds an image (video title, views, channel), a duration before it
_CARD = re.compile(r"(?:\b\d{1,2}(?::\d{2}){1,2})?\[([^\[\]]*?!\[[^\[\]]*\][^\[\]]*)\]" + _URL)
_CITATION = re.compile(r"\[(?:\[\d{1,3}\])?\]" + _URL)  # [[n]](url) and [](url)
_LINK = re.compile(r"\[([^\[\]]+)\]" + _URL)
_SENTINEL = "\ue000"  # stands for a citation link while the text is cleaned (a private-use character)
_GROUP_RUN = re.compile(f"[ \\t]*{_SENTINEL}(?:[ \\t]*{_SENTINEL})*")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_BULLET = re.compile(r"^(?:[-*+•]\s+|#{1,6}\s+|>\s*)")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def _clean_markdown(markdown: Any) -> tuple[str, list[_Group]]:
    """Markdown as reading text with its links removed, and the citation groups found in it: lines of a
    paragraph joined by "\n", paragraphs by "\n\n"."""
    if not isinstance(markdown, str):
        return "", []
    urls: list[str] = []

    def citation(match: re.Match[str]) -> str:
        urls.append(match.group(1))
        return _SENTINEL

    text = markdown.replace(_SENTINEL, "")
    text = _CARD.sub(lambda m: _IMAGE.sub("", m.group(1)).strip().split("\n", 1)[0].strip(), text)
    text = _IMAGE.sub("", text)
    text = _CITATION.sub(citation, text)
    text = _LINK.sub(lambda m: m.group(1), text)

    out = ""
    groups: list[_Group] = []
    pending = iter(urls)
    for paragraph in re.split(r"\n[ \t]*\n", text):
        separator = "\n\n"
        for raw_line in paragraph.split("\n"):
            line, line_groups = _take_groups(_clean_line(raw_line), pending)
            if not line:  # a line of links only: they support the line before
                if out:
                    last_line_start = out.rfind("\n") + 1
                    groups.extend(_Group(g.urls, (last_line_start, len(out))) for g in line_groups)
                continue
            if out:
                out += separator
            separator = "\n"
            groups.extend(_Group(g.urls, (len(out) + g.span[0], len(out) + g.span[1])) for g in line_groups)
            out += line
    return out, [g for g in groups if g.urls and g.span[1] > g.span[0]]


def _clean_line(line: str) -> str:
    """One markdown line as plain text (citation sentinels kept): table rows as cells joined by " | ",
    rules, bullets, heading marks, emphasis and escapes removed, runs of spaces (no-break ones too) made one."""
    line = line.strip()
    if _TABLE_RULE.match(line):
        return ""
    if line.startswith("|") and line.endswith("|") and len(line) > 1:
        line = " | ".join(cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1]))
    line = _BULLET.sub("", line)
    line = _EMPHASIS.sub(lambda m: next(g for g in m.groups() if g is not None), line)
    line = _ESCAPE.sub(r"\1", line)
    return re.sub(r"[ \t]{2,}", " ", line.replace("\u00a0", " ")).strip()


def _take_groups(line: str, urls: Any) -> tuple[str, list[_Group]]:
    """`line` without its sentinels; each run of them is a group citing its URLs (taken in order from
    `urls`), supporting the words from the line's start (or the previous group) up to it."""
    out = ""
    groups: list[_Group] = []
    floor = 0
    position = 0
    for match in _GROUP_RUN.finditer(line):
        out += line[position:match.start()]
        group_urls = [url for url in (next(urls, "") for _ in range(match.group().count(_SENTINEL))) if url]
        words = out[floor:]
        start = floor + len(words) - len(words.lstrip(" \t,;:"))
        end = floor + len(words.rstrip())
        groups.append(_Group(group_urls, (start, end) if end > start else (floor, floor)))
        following = line[match.end():match.end() + 1]
        if out and following and not following.isspace() and following not in ".,;:!?)":
            out += " "  # the links stood between two words
        floor = len(out)
        position = match.end()
    out += line[position:]
    stripped = out.rstrip()
    return stripped, [_Group(g.urls, (min(g.span[0], len(stripped)), min(g.span[1], len(stripped))))
                      for g in groups]
