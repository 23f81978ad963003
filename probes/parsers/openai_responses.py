"""Parser for the OpenAI Responses API with the ``web_search`` tool.

Input: the JSON body of a non-streaming ``POST /v1/responses`` (also what Azure
OpenAI and compatible gateways return). Output: a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md):

- ``output`` mixes ``reasoning``, ``web_search_call`` and ``message`` items.
- ``message.content[]`` holds ``output_text`` parts (text plus ``url_citation``
  annotations with ``start_index``/``end_index``) or ``refusal`` parts.
- ``web_search_call.action`` is ``search`` (``query`` and/or ``queries``,
  optional ``sources``), ``open_page`` (``url``) or ``find_in_page`` (``url``).

Pure: stdlib and `probes.base` only, so history can be re-parsed offline.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from probes.base import WEB_SEARCH, Answer
from probes.parsers import doubao, perplexity_agent
from probes.parsers.common import (
    SourceList,
    code_or_none,
    error_reason,
    incomplete_reason,
    int_or_none,
    is_responses_body,
    load_json_object,
    usage_tokens,
)

# Bump when the output for the same raw payload changes, so old observations
# can be found and re-parsed.
# 2: error and incomplete reasons read as every parser reads them (an empty error object beside a
#    completed response is no failure; a blank incomplete reason is "unknown reason")
PARSER_VERSION = 2

# Separator between output_text parts (and between messages) in Answer.text.
PART_SEPARATOR = "\n\n"

def recognizes(body: dict[str, Any]) -> bool:
    """A Responses API body that is not the Perplexity Agent API's nor Volcengine Ark's (for `citewatch parse`
    without --kind)."""
    return is_responses_body(body) and not perplexity_agent.recognizes(body) and not doubao.recognizes(body)


def parse(raw: Raw) -> Answer:
    """Parse one Responses API body into an `Answer`; raise `ParseError` on garbage."""
    body = _load_response(raw)
    output: list[Any] = body["output"]

    model = body.get("model") if isinstance(body.get("model"), str) else None
    input_tokens, output_tokens = usage_tokens(body.get("usage"))
    searches = [item for item in output if _item_type(item) == "web_search_call"]
    base = dict(
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=_search_queries(searches),
        # The only feature this engine reports: a web search actually ran.
        features=[WEB_SEARCH] if searches else [],
    )

    # A failed response is a transport/service failure, not "not cited":
    # it must be excluded from denominators, so no citations are kept.
    error_reason = _error_reason(body)
    if error_reason is not None:
        return Answer(text="", status="error", status_reason=error_reason, **base)

    text, annotations, refusals = _collect_messages(output)
    sources = SourceList()
    _cite(sources, annotations)
    _retrieve(sources, searches)
    citations = sources.citations()

    status = body.get("status")
    has_text = bool(text.strip())
    if refusals:
        # A refusal is an answer with no content, not a transport failure.
        return Answer(text=text, citations=citations, status="no_answer",
                      status_reason="refusal: " + " ".join(refusals), **base)
    if status == "incomplete":
        reason = f"incomplete: {incomplete_reason(body)}"
        if has_text:
            return Answer(text=text, citations=citations, status="ok", status_reason=reason, **base)
        return Answer(text=text, citations=citations, status="error", status_reason=reason, **base)
    if status in ("cancelled", "queued", "in_progress") and not has_text:
        # Background responses polled too early or cancelled: nothing was answered yet.
        return Answer(text=text, citations=citations, status="error",
                      status_reason=f"response status {status}", **base)
    if not has_text:
        reason = "empty answer text" if _has_message(output) else "no message in output"
        return Answer(text=text, citations=citations, status="no_answer", status_reason=reason, **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------


def _load_response(raw: bytes) -> dict[str, Any]:
    """Decode and check the top-level shape; every garbage case names what was wrong."""
    body = load_json_object(raw, "a Responses API")
    obj = body.get("object")
    if obj != "response":
        hint = _error_reason(body)
        extra = f" (API error: {hint})" if hint else ""
        raise ParseError(f"not a Responses API object: 'object' is {obj!r}, expected 'response'{extra}")
    if not isinstance(body.get("output"), list):
        raise ParseError(f"Responses API object has no 'output' list (got {type(body.get('output')).__name__})")
    return body


def _item_type(item: Any) -> str | None:
    return item.get("type") if isinstance(item, dict) else None


def _error_reason(body: dict[str, Any]) -> str | None:
    """The reason of a failed response ('code: message' of its error object), or None when it did not fail."""
    reason = error_reason(body.get("error"), lambda error: code_or_none(error.get("code")))
    return reason or ("response status failed" if body.get("status") == "failed" else None)


# --- text and annotations --------------------------------------------------


def _has_message(output: list[Any]) -> bool:
    return any(_item_type(item) == "message" for item in output)


def _collect_messages(output: list[Any]) -> tuple[str, list[tuple[int, int | None, int | None, dict]], list[str]]:
    """Join the output_text parts of all messages and shift annotations into the joined text.

    Returns (text, annotations, refusals). Each annotation is
    (order, start, end, annotation) with start/end already shifted and clamped
    (None when the annotation gives no usable indices).

    OpenAI's start_index/end_index count Unicode code points, like Python str
    indices, so shifting is plain addition: no UTF-8 or UTF-16 conversion.
    """
    pieces: list[str] = []
    length = 0
    annotations: list[tuple[int, int | None, int | None, dict]] = []
    refusals: list[str] = []
    for item in output:
        if _item_type(item) != "message" or not isinstance(item.get("content"), list):
            continue
        for part in item["content"]:
            ptype = _item_type(part)
            if ptype == "refusal":
                refusal = part.get("refusal")
                refusals.append(refusal.strip() if isinstance(refusal, str) and refusal.strip() else "(no reason given)")
                continue
            if ptype != "output_text":
                continue
            part_text = part.get("text") if isinstance(part.get("text"), str) else ""
            # Empty parts add no separator, so offsets of later parts stay exact.
            if part_text and pieces:
                pieces.append(PART_SEPARATOR)
                length += len(PART_SEPARATOR)
            offset = length
            if part_text:
                pieces.append(part_text)
                length += len(part_text)
            for ann in part.get("annotations") or []:
                if _item_type(ann) != "url_citation":
                    continue  # file_citation etc. name no web source
                start, end = _span(ann, len(part_text))
                if start is not None and end is not None:
                    start, end = start + offset, end + offset
                annotations.append((len(annotations), start, end, ann))
    return "".join(pieces), annotations, refusals


def _span(ann: dict[str, Any], part_len: int) -> tuple[int | None, int | None]:
    """Clamp an annotation's indices into its part; None when they are missing or not ints."""
    start, end = int_or_none(ann.get("start_index")), int_or_none(ann.get("end_index"))
    if start is None or end is None:
        return None, None
    start = min(max(start, 0), part_len)
    end = min(max(end, start), part_len)
    return start, end


def _cite(sources: SourceList, annotations: list[tuple[int, int | None, int | None, dict]]) -> None:
    """One source per distinct page, positioned by its first appearance in the text."""
    # Stable sort by start; annotations without indices keep their order, last.
    ordered = sorted(annotations, key=lambda a: (a[1] is None, a[1] if a[1] is not None else 0, a[0]))
    for _, start, end, ann in ordered:
        span = (start, end) if start is not None and end is not None else None
        sources.cite(ann.get("url"), ann.get("title"), span)


# --- web_search_call items -------------------------------------------------


def _action(item: dict[str, Any]) -> dict[str, Any]:
    action = item.get("action")
    return action if isinstance(action, dict) else {}


def _search_queries(searches: list[dict[str, Any]]) -> list[str]:
    """Queries of every search action, in order, without duplicates or blanks.

    Newer models send `queries` (a list) beside `query` (usually its first entry).
    """
    seen: dict[str, None] = {}
    for item in searches:
        action = _action(item)
        if action.get("type") != "search":
            continue
        candidates = [action.get("query")]
        if isinstance(action.get("queries"), list):
            candidates += action["queries"]
        for query in candidates:
            if isinstance(query, str) and query.strip():
                seen.setdefault(query.strip(), None)
    return list(seen)


def _retrieve(sources: SourceList, searches: list[dict[str, Any]]) -> None:
    """Pages the search returned or opened; those no annotation cites stay retrieved-only."""
    for item in searches:
        action = _action(item)
        if action.get("type") == "search" and isinstance(action.get("sources"), list):
            # sources only appear when the request asked for them via `include`;
            # non-url sources (e.g. type "api") name no page.
            for source in action["sources"]:
                if _item_type(source) == "url":
                    sources.retrieve(source.get("url"))
        elif action.get("type") in ("open_page", "find_in_page"):
            sources.retrieve(action.get("url"))
