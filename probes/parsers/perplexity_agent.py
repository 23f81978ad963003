"""Parser for the Perplexity Agent API (``POST {base_url}/v1/agent``, alias ``/v1/responses``).

The Agent API replaced Sonar chat completions (its SDK partners report Sonar's
end on 2026-09-27). Its body has the OpenAI Responses shape, with
Perplexity's own output items. Input: the JSON body of a non-streaming call.
Output: a `probes.base.Answer`.

What the payload holds:

- ``output[]`` items. ``message`` items carry ``output_text`` parts, with
  inline ``[n]`` markers; their ``annotations`` (``url_citation`` with
  ``start_index``/``end_index``) are often empty.
- ``search_results`` items: ``queries`` (the fan-out) and ``results``
  (``id``, ``url``, ``title``, ``date``, ``snippet``). A marker ``[n]`` names
  the result whose ``id`` is n; results without ids are numbered from 1 in
  order. ``people_search_results`` and ``fetch_url_results`` share that shape;
  ``finance_results`` and ``sandbox_results`` carry no URL.
- ``status``: ``completed``, ``incomplete`` (``incomplete_details.reason``),
  or ``failed``/``cancelled`` with ``error``, all served with HTTP 200.
- ``model``: the model that answered (a preset resolves to a provider's model,
  e.g. ``openai/...``); ``usage.input_tokens``/``output_tokens``.

Choices this parser makes:

- Positions follow the engine's list: a cited page's place among the results
  (DESIGN.md: "in the order the engine lists its sources"); an annotated page
  missing from the results comes after them. A result no marker or annotation
  names was retrieved but not cited. An answer with text,
  no marker and no annotation cites nothing: unlike Sonar, the Agent API lists
  every page its search returned, not the ones shown beside the answer.
- A failed, cancelled or unfinished run is ``error``, never "not cited"; an
  incomplete one with text is ``ok`` with its reason, without text ``error``.
- Refusals: a ``refusal`` content part, or Sonar's apology shape (see
  `probes.parsers.markers`), is ``no_answer``.

Pure: stdlib, `probes.base` and `probes.parsers` helpers only.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer
from probes.parsers.common import (
    ListedPages,
    SourceList,
    error_reason,
    incomplete_reason,
    int_or_none,
    is_responses_body,
    load_json_object,
    text_or_none,
    usage_tokens,
)
from probes.parsers.markers import (
    MarkerGroup,
    apology_refusal,
    cite_group,
    marker_groups,
)
from probes.parsers.perplexity import error_label

# Bump when the output for the same raw payload changes, so old observations
# can be found and re-parsed.
# 2: spans run over the abbreviations the analysis knows too ("Jan.", "Dept."); error reasons read as every
#    parser reads them (a blank error string is no error)
PARSER_VERSION = 2

# Output items whose results are pages with URLs (the finance and sandbox ones have none).
_PAGE_ITEMS = {"search_results": "search_result", "people_search_results": "search_result",
               "fetch_url_results": "fetched_page"}
_UNFINISHED = {"queued", "in_progress"}


def recognizes(body: dict[str, Any]) -> bool:
    """An Agent API response: Responses-shaped, with Perplexity's result items or a provider-prefixed model
    such as perplexity/sonar (for `citewatch parse` without --kind)."""
    items = body.get("output") if isinstance(body.get("output"), list) else []
    has_results = any(isinstance(item, dict) and item.get("type") in _PAGE_ITEMS for item in items)
    return is_responses_body(body) and (has_results or "/" in str(body.get("model", "")))


def parse(raw: Raw) -> Answer:
    """Parse one Agent API response body into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a Perplexity Agent API response")
    input_tokens, output_tokens = usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(model=text_or_none(body.get("model")), input_tokens=input_tokens,
                                output_tokens=output_tokens)
    status = body.get("status")
    failure = error_reason(body.get("error"), error_label)
    if status in ("failed", "cancelled") or (failure is not None and not isinstance(body.get("output"), list)):
        # an error envelope, or a run that failed behind an HTTP 200: never "not cited"
        reason = failure or f"run {status}"
        if status == "cancelled":
            reason = f"run cancelled: {reason}"
        return Answer(text="", status="error", status_reason=reason, **base)
    _check_shape(body)
    if status in _UNFINISHED:
        return Answer(text="", status="error", status_reason=f"run not finished (status {status})", **base)

    items = [item for item in body["output"] if isinstance(item, dict)]
    pages = _Pages(items)
    text, annotations, refused = _message_text(items)
    base["search_queries"] = pages.queries
    base["features"] = [WEB_SEARCH] if pages.searched or _billed_search(body.get("usage")) else []

    groups = marker_groups(text, lambda n: pages.url_of(n) is not None)
    refusal = refused or apology_refusal(text, groups)
    has_text = bool(text.strip())
    sources = SourceList()
    if refusal is None and has_text:
        _cite_in_text_order(sources, text, groups, annotations, pages)
    for url, title, origin in pages.all:
        sources.retrieve(url, title, origin)
    citations = sources.citations(pages.rank_of)

    if refusal is not None:
        return Answer(text=text, citations=citations, status="no_answer", status_reason=f"refusal: {refusal}",
                      **base)
    if status == "incomplete":
        reason = f"incomplete: {incomplete_reason(body)}"
        return Answer(text=text, citations=citations, status="ok" if has_text else "error", status_reason=reason,
                      **base)
    if not has_text:
        return Answer(text=text, citations=citations, status="no_answer", status_reason="empty answer text", **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------------------------


def _check_shape(body: dict[str, Any]) -> None:
    kind = body.get("object")
    if kind not in ("response", None):
        hint = " (a Sonar chat completion: use engine kind perplexity)" if kind == "chat.completion" else ""
        raise ParseError(f"not an Agent API response: 'object' is {kind!r}, expected 'response'{hint}")
    if isinstance(body.get("type"), str) and body["type"].startswith("response."):
        raise ParseError(f"a streaming event ({body['type']!r}), not a whole Agent API response")
    if not isinstance(body.get("output"), list):
        raise ParseError(f"Agent API response has no 'output' list (got {type(body.get('output')).__name__})")


def _billed_search(usage: Any) -> bool:
    details = usage.get("tool_calls_details") if isinstance(usage, dict) else None
    return isinstance(details, dict) and isinstance(details.get("search_web"), dict)


# --- answer text -----------------------------------------------------------------------------


Annotation = tuple[tuple[int, int] | None, str | None, str | None]  # (span in the joined text, url, title)


def _message_text(items: list[dict[str, Any]]) -> tuple[str, list[Annotation], str | None]:
    """The answer: every message's output_text parts joined, their url_citation annotations with spans
    shifted into the joined text (None where the indices do not fit the part), and a refusal part's
    words if any."""
    text = ""
    annotations: list[Annotation] = []
    refusal = None
    for item in items:
        if item.get("type") != "message":
            continue
        parts = item.get("content")
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "refusal":
                refusal = short(text_or_none(part.get("refusal")) or "refusal")
                continue
            if part.get("type") != "output_text" or not isinstance(part.get("text"), str):
                continue
            offset = len(text)
            for note in part.get("annotations") or []:
                if isinstance(note, dict) and note.get("type") == "url_citation":
                    start, end = int_or_none(note.get("start_index")), int_or_none(note.get("end_index"))
                    span = None
                    if start is not None and end is not None and 0 <= start < end <= len(part["text"]):
                        span = (offset + start, offset + end)
                    annotations.append((span, text_or_none(note.get("url")), text_or_none(note.get("title"))))
            text += part["text"]
    return text, annotations, refusal


# --- sources ---------------------------------------------------------------------------------


class _Pages(ListedPages):
    """The pages the run's tools returned, and what its markers' numbers name."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__()
        self.all: list[tuple[str, str | None, str]] = []
        self.queries: list[str] = []
        self.searched = False
        self._by_number: dict[int, str] = {}
        numbered = 0
        for item in items:
            origin = _PAGE_ITEMS.get(str(item.get("type")))
            if origin is None:
                continue
            self.searched = self.searched or item.get("type") == "search_results"
            for query in item.get("queries") or []:
                if isinstance(query, str) and query.strip() and query.strip() not in self.queries:
                    self.queries.append(query.strip())
            for result in item.get("results") or []:
                url = text_or_none(result.get("url")) if isinstance(result, dict) else None
                if url is None:
                    continue
                title = text_or_none(result.get("title"))
                self.all.append((url, title, origin))
                self.note(url, title, len(self) + 1)
                numbered += 1
                number = int_or_none(result.get("id"))
                self._by_number.setdefault(number if number is not None else numbered, url)

    def url_of(self, number: int) -> str | None:
        return self._by_number.get(number)



def _cite_in_text_order(sources: SourceList, text: str, groups: list[MarkerGroup], annotations: list[Annotation],
                        pages: _Pages) -> None:
    """Markers and annotations together, by where they end in the text (a spanless annotation last), so
    that a page's spans follow the reading."""
    events: list[tuple[int, int, Any]] = [(group[0], 0, group) for group in groups]
    events += [(span[1] if span else len(text), 1, (span, url, title)) for span, url, title in annotations]
    floor = 0  # a marker's span starts no earlier than the previous marker group's end
    for _, kind, event in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            floor = cite_group(sources, text, floor, event, pages.url_of, pages.title_of)
        else:
            span, url, title = event
            sources.cite(url, title or pages.title_of(url), span)
