"""Parser for the Perplexity Sonar chat completions API.

Input: the JSON body of a non-streaming ``POST {base_url}/chat/completions``
(models sonar, sonar-pro, sonar-reasoning-pro, sonar-deep-research). Output:
a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md and the API reference):

- ``choices[0].message.content``: the answer, with inline ``[n]`` markers
  counting from 1 into the list of sources (``[2][3]`` cites two). Reasoning
  models put a ``<think>…</think>`` block before the answer: it is dropped.
- ``citations``: the list of source URLs the markers index. Newer responses add
  ``search_results`` (``title``, ``url``, ``date``, ...) in the same order, and
  may send it alone; either is accepted. Listed sources that no marker uses
  were retrieved but not cited.
- ``usage``: ``prompt_tokens``/``completion_tokens`` (older responses have no
  ``cost``). Reasoning-step responses can carry
  ``message.reasoning_steps[].web_search.search_keywords`` (the fan-out queries).

Choices this parser makes (documented here because the API does not say):

- Positions follow the first marker in the text; the same page (same
  normalized URL) keeps one position and gathers the spans of all its markers.
- A span is the text a marker group supports: from the start of its sentence
  (or the end of the previous marker group, whichever is later) to the marker,
  trailing whitespace and a leading list bullet removed. Offsets are Python
  ``str`` (code point) indices into `Answer.text`.
- A marker whose number is out of range (``[0]``, ``[12]`` with 7 sources) is
  not a marker: it is ignored and left in the text.
- An answer with text, NO valid marker at all, and a source list: the list is
  treated as cited, in list order, without spans (the engine shows those
  sources beside the answer). This does not apply to an empty answer or a
  refusal: their listed sources are kept as retrieved only (cited=False), so
  that a refusal never counts as citing anyone.
- Perplexity sends no refusal flag; a short, unmarked answer that opens with an
  apology and "can't / unable to" (or ``message.refusal``, or
  ``finish_reason: content_filter``) is a refusal: status ``no_answer``.

Pure: stdlib, `probes.base` and `probes.parsers.common` only.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import Raw
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer
from probes.parsers.common import (
    SourceList,
    chat_answer_text,
    chat_usage_tokens,
    check_chat_completion,
    citation_key,
    code_or_none,
    count_or_none,
    error_reason,
    first_choice,
    is_chat_completion,
    load_json_object,
    text_or_none,
)
from probes.parsers.markers import (
    MarkerGroup,
    apology_refusal,
    cite_marked,
    marker_groups,
)

# Bump when the output for the same raw payload changes, so old observations
# can be found and re-parsed.
# 2: positions in the order of the source list
# 3: spans run over the abbreviations the analysis knows too ("Jan.", "Dept."); error reasons read as every
#    parser reads them (a blank error string is no error)
PARSER_VERSION = 3


def recognizes(body: dict[str, Any]) -> bool:
    """A Sonar chat completion: one with Perplexity's source lists (for `citewatch parse` without --kind)."""
    return is_chat_completion(body) and ("citations" in body or "search_results" in body)


def parse(raw: Raw) -> Answer:
    """Parse one Sonar chat completion body into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a Perplexity chat completion")

    failure = error_reason(body.get("error"), error_label)
    if failure is not None:
        # An API error envelope ({"error": {...}}) served as the body, or an error beside the choices:
        # the call failed, which is never "not cited".
        input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
        return Answer(text="", status="error", status_reason=failure, model=_model(body),
                      input_tokens=input_tokens, output_tokens=output_tokens)
    check_chat_completion(body)

    input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
    message, finish_reason = first_choice(body["choices"])
    reasoning_steps = _reasoning_steps(message)
    listed = _listed_sources(body)
    base = dict(
        model=_model(body),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=_search_queries(reasoning_steps),
        features=[WEB_SEARCH] if _searched(body, listed, reasoning_steps) else [],
    )
    if message is None:
        return Answer(text="", status="no_answer", status_reason="no choices in response", **base)

    text, think_closed = chat_answer_text(message.get("content"))
    groups = marker_groups(text, lambda n: 1 <= n <= len(listed.urls))
    refusal = _refusal(message, finish_reason, text, groups)
    has_text = bool(text.strip())

    sources = SourceList()
    if refusal is None and has_text:
        if groups:
            cite_marked(sources, text, groups, listed.url_of, listed.title_of)
        else:
            for url in listed.urls:  # no marker at all: the listed sources, in list order
                sources.cite(url, listed.title_of(url))
    for url in listed.urls:
        sources.retrieve(url, listed.title_of(url))
    for url, title in listed.extra:
        sources.retrieve(url, title)
    for url, title in _step_pages(reasoning_steps):
        sources.retrieve(url, title)
    citations = sources.citations(listed.rank_of)

    if refusal is not None:
        return Answer(text=text, citations=citations, status="no_answer", status_reason=f"refusal: {refusal}", **base)
    if finish_reason == "length":
        reason = "incomplete: length"
        status = "ok" if has_text else "error"
        return Answer(text=text, citations=citations, status=status, status_reason=reason, **base)
    if not has_text:
        reason = "empty answer text" if think_closed else "no answer after reasoning (unclosed <think> block)"
        return Answer(text=text, citations=citations, status="no_answer", status_reason=reason, **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------




def _model(body: dict[str, Any]) -> str | None:
    return text_or_none(body.get("model"))


def error_label(error: dict[str, Any]) -> str | None:
    """Both Perplexity APIs name an error by its type and code: "invalid_model (code 400)"."""
    kind, code = text_or_none(error.get("type")), code_or_none(error.get("code"))
    if code is None:
        return kind
    return f"{kind} (code {code})" if kind else f"code {code}"






# --- sources -----------------------------------------------------------------


class _Listed:
    """The numbered source list the markers index, plus search results outside it."""

    def __init__(self, urls: list[str | None], titles: dict[str, str], extra: list[tuple[str, str | None]]) -> None:
        self.urls = urls  # index n-1 is marker [n]; None where the entry names no URL
        self._titles = titles
        self.extra = extra
        self._ranks: dict[str, int] = {}  # a page listed twice keeps its first number
        for number, url in enumerate(urls, start=1):
            if url:
                self._ranks.setdefault(citation_key(url), number)

    def url_of(self, number: int) -> str | None:
        return self.urls[number - 1] if 1 <= number <= len(self.urls) else None

    def title_of(self, url: str | None) -> str | None:
        return self._titles.get(citation_key(url)) if url else None

    def rank_of(self, url: str) -> int | None:
        """The number of the source in the list."""
        return self._ranks.get(citation_key(url))


def _entry_url(entry: Any) -> str | None:
    if isinstance(entry, dict):
        entry = entry.get("url")
    return text_or_none(entry)


def _listed_sources(body: dict[str, Any]) -> _Listed:
    """`citations` (URL strings) numbers the sources; `search_results` gives titles, or the list itself."""
    results = [r for r in body.get("search_results") or [] if isinstance(r, dict)] \
        if isinstance(body.get("search_results"), list) else []
    titles: dict[str, str] = {}
    for result in results:
        url, title = _entry_url(result), text_or_none(result.get("title"))
        if url and title:
            titles.setdefault(citation_key(url), title)
    citations = body.get("citations")
    if isinstance(citations, list) and citations:
        urls = [_entry_url(entry) for entry in citations]
        numbered = {citation_key(u) for u in urls if u}
        extra = [(u, text_or_none(r.get("title"))) for r in results
                 if (u := _entry_url(r)) and citation_key(u) not in numbered]
        return _Listed(urls, titles, extra)
    return _Listed([_entry_url(r) for r in results], titles, [])


def _reasoning_steps(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    steps = message.get("reasoning_steps") if message else None
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def _step_pages(steps: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Pages a reasoning step searched or fetched: retrieved, unless a marker cites them."""
    pages = []
    for step in steps:
        for key, field in (("web_search", "search_results"), ("fetch_url_content", "contents")):
            part = step.get(key)
            items = part.get(field) if isinstance(part, dict) else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and (url := _entry_url(item)):
                    pages.append((url, text_or_none(item.get("title"))))
    return pages


def _search_queries(steps: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for step in steps:
        search = step.get("web_search")
        keywords = search.get("search_keywords") if isinstance(search, dict) else None
        for query in keywords if isinstance(keywords, list) else []:
            if isinstance(query, str) and query.strip():
                seen.setdefault(query.strip(), None)
    return list(seen)


def _searched(body: dict[str, Any], listed: _Listed, steps: list[dict[str, Any]]) -> bool:
    """Whether a web search visibly ran: sources came back, or usage counts search queries."""
    usage = body.get("usage")
    queries = count_or_none(usage.get("num_search_queries")) if isinstance(usage, dict) else None
    return (any(listed.urls) or bool(listed.extra) or bool(queries)
            or any(isinstance(s.get("web_search"), dict) for s in steps))


# --- refusals ------------------------------------------------------------------


def _refusal(message: dict[str, Any], finish_reason: str | None, text: str,
             groups: list[MarkerGroup]) -> str | None:
    """The refusal's words when the model declined, else None."""
    flagged = text_or_none(message.get("refusal"))
    if flagged:
        return short(flagged)
    if finish_reason == "content_filter":
        return short(text) if text.strip() else "content_filter"
    return apology_refusal(text, groups)
