"""Parser for Doubao (豆包) through Volcengine Ark's Responses API with the ``web_search`` tool.

Input: the JSON body of a non-streaming ``POST {base_url}/api/v3/responses`` (`probes.doubao`), or the
error envelope Ark sends with an HTTP 4xx (the content filter's refusal is handed on as the payload).
Output: a `probes.base.Answer`.

What the payload holds (Ark's "Responses API" reference, docs/82379/1569618, and the volcengine SDKs'
``volcenginesdkarkruntime.types.responses`` and ``arkruntime/model/responses``):

- The OpenAI Responses shape: ``object: "response"``, ``status`` (``completed``, ``incomplete`` with
  ``incomplete_details.reason`` and, for a filtered answer, ``incomplete_details.content_filter``,
  ``failed`` with ``error: {code, message}``, ``in_progress``), ``model`` (the model and version that
  answered, e.g. ``doubao-seed-1-6-250615``), ``output`` items, ``usage``. Ark adds members OpenAI's body
  never has: ``caching``, ``expire_at``, ``thinking`` and ``usage.tool_usage`` (see `recognizes`).
- ``output``: ``reasoning`` items (the thinking, not the answer), ``web_search_call`` items whose
  ``action`` is ``{"type": "search", "query": ...}`` (one item per query searched), then a ``message``
  whose ``content[]`` holds ``output_text`` parts: ``text`` and ``annotations[]``.
- An annotation: ``type`` ``url_citation`` (``annotation`` in the first SDK releases; ``doc_citation``
  cites a private knowledge base, no web page), ``url``, ``title``, ``site_name``, ``logo_url``,
  ``mobile_url``, ``publish_time``, ``summary``, ``cover_image``, ``freshness_info``. Ark sends no
  ``start_index``/``end_index``: the annotations say which pages the answer used, not which words.
- ``usage``: ``input_tokens``, ``output_tokens`` (thinking included), ``tool_usage.web_search`` (the
  searches billed: one per query) and ``tool_usage_details.web_search`` (by source: ``search_engine``,
  ``toutiao``, ``douyin``, ``moji``).
- A failed call: ``{"error": {"code", "message", "param", "type"}}`` with HTTP 4xx/5xx (``type`` is the
  HTTP error's name: ``BadRequest``, ``Unauthorized``, ``TooManyRequests`` ...), or an ``error`` beside
  ``status: failed`` in an HTTP 200. Messages end with ``Request id: <id>``.

Choices this parser makes (the API does not say):

- Positions follow the order of the annotations (Ark adds them as the answer streams, so the list is in
  order of first use); the same page annotated twice (same normalized URL) is one citation. Where a
  gateway adds ``start_index``/``end_index`` (code points into the part, as OpenAI's), they become spans,
  shifted into `Answer.text` (the ``output_text`` parts joined with a blank line); a page annotated twice
  keeps both spans. The title is the annotation's ``title``, else its ``site_name``.
- Ark lists no pages searched but not used: every source is a cited one (``retrieved_sources`` off).
- Content filtering is a refusal (status ``no_answer``): an error ``code`` in `CONTENT_FILTER_CODES` (an
  HTTP 400 envelope, or the ``error`` of a response), an ``incomplete`` response stopped by the content
  filter, a ``refusal`` part, or a short apology with no annotation ("抱歉，我无法…",
  `probes.parsers.markers.apology_refusal`). A refusal cites no one; the pages its annotations named are
  kept as not cited. The reason leaves Ark's request id out, so the same refusal always reads the same.
  Any other error is a failed call (status ``error``), its message (request id included) as the reason.
- ``usage.tool_usage.web_search`` has no `Answer` field: with the ``web_search_call`` items it only sets
  the ``web_search`` feature.

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers.common` / `markers` only.
"""

from __future__ import annotations

import re
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer, Citation
from probes.parsers.common import (
    SourceList,
    code_or_none,
    count_or_none,
    error_reason,
    incomplete_reason,
    int_or_none,
    is_responses_body,
    load_json_object,
    text_or_none,
    usage_tokens,
)
from probes.parsers.markers import apology_refusal

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

WHAT = "a Volcengine Ark Responses API"

# Separator between output_text parts (and between messages) in Answer.text, as for OpenAI's Responses API.
PART_SEPARATOR = "\n\n"

# Error codes that mean the content filter stopped the call (Ark's error code list, docs/82379/1299023): the
# engine refused, nothing failed. A dotted sub-code ("SensitiveContentDetected.Violence") counts as its base.
CONTENT_FILTER_CODES = frozenset({
    "SensitiveContentDetected",
    "InputTextSensitiveContentDetected", "OutputTextSensitiveContentDetected",
    "InputImageSensitiveContentDetected", "OutputImageSensitiveContentDetected",
    "InputTextRiskDetection", "OutputTextRiskDetection",
})
# The incomplete_details.reason of an answer the content filter cut.
CONTENT_FILTER_REASON = "content_filter"

# Annotation types that name a web page ("annotation" is what the first SDK releases called url_citation).
WEB_ANNOTATIONS = frozenset({"url_citation", "annotation"})

# What only Ark's bodies carry (OpenAI's and Perplexity's Responses bodies have none of these).
_ARK_MEMBERS = frozenset({"caching", "expire_at", "thinking"})
_ARK_USAGE_MEMBERS = frozenset({"tool_usage", "tool_usage_details"})
_ARK_ANNOTATION_MEMBERS = frozenset({"site_name", "logo_url", "mobile_url", "publish_time", "cover_image",
                                     "freshness_info"})
# Ark's error types are HTTP error names in PascalCase ("BadRequest"); OpenAI's are snake_case.
_ARK_ERROR_TYPE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*")
# The request id Ark appends to its messages ("... information. Request id: 0217...").
_REQUEST_ID = re.compile(r"\s*Request\s+id\s*[:：]\s*\S*\s*$", re.IGNORECASE)

# (span in Answer.text or None, the annotation); list order is citation order.
Annotation = tuple[tuple[int, int] | None, dict[str, Any]]


def recognizes(body: dict[str, Any]) -> bool:
    """An Ark Responses body or Ark error envelope (for `citewatch parse` without --kind). Ark's bodies
    carry ``caching``/``expire_at``/``thinking``, ``usage.tool_usage`` or annotations with ``site_name``...;
    its error envelopes a PascalCase ``type`` or a content-filter code."""
    if is_responses_body(body):
        return bool(_ARK_MEMBERS & body.keys()) or _has_ark_usage(body) or _has_ark_annotations(body["output"])
    return _is_envelope(body) and "choices" not in body and _is_ark_error(body.get("error"))


def is_refusal_error(raw: Raw) -> bool:
    """Whether an error body is the content filter's refusal (an ``error.code`` in `CONTENT_FILTER_CODES`),
    which `parse` reads as status ``no_answer``. `probes.doubao` hands such a body on as the payload
    although Ark sends it with HTTP 400."""
    try:
        body = load_json_object(raw, WHAT)
    except ParseError:
        return False
    if not (is_responses_body(body) or _is_envelope(body)):
        return False  # a body `parse` would refuse
    return _is_filter_code(_error_code(body.get("error")))


def parse(raw: Raw) -> Answer:
    """Parse one Ark Responses body (or error envelope) into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, WHAT)
    if not is_responses_body(body):
        return _envelope_answer(body)
    output: list[Any] = body["output"]
    base = _base(body, output)
    text, annotations, refusals = _collect_messages(output)

    refusal = _refusal(body, text, annotations, refusals)
    if refusal is not None:
        # A refusal is an answer with no content, not a transport failure; it cites no one.
        return Answer(text=text, citations=_named_only(annotations), status="no_answer", status_reason=refusal,
                      **base)
    failure = _failure_reason(body)
    if failure is not None:
        # A failed response is a service failure, not "not cited": excluded from denominators, no citations.
        return Answer(text="", status="error", status_reason=failure, **base)
    return _answer(body, output, text, _cited(annotations), base)


def _answer(body: dict[str, Any], output: list[Any], text: str, citations: list[Citation],
            base: dict[str, Any]) -> Answer:
    """The answer's status once refusals and failures are ruled out."""
    status, has_text = body.get("status"), bool(text.strip())
    if status == "incomplete":
        reason = f"incomplete: {incomplete_reason(body)}"
        return Answer(text=text, citations=citations, status="ok" if has_text else "error", status_reason=reason,
                      **base)
    if status in ("in_progress", "queued", "cancelled") and not has_text:
        return Answer(text=text, citations=citations, status="error", status_reason=f"response status {status}",
                      **base)
    if not has_text:
        reason = "empty answer text" if any(_item_type(item) == "message" for item in output) else (
            "no message in output")
        return Answer(text=text, citations=citations, status="no_answer", status_reason=reason, **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape -------------------------------------------------------------------------------


def _is_envelope(body: dict[str, Any]) -> bool:
    """An error envelope's shape: neither a response's 'object' nor its 'output'."""
    return "object" not in body and "output" not in body


def _envelope_answer(body: dict[str, Any]) -> Answer:
    """A body that is no response object: an error envelope (a refusal or a failure), else garbage."""
    error = body.get("error")
    code = _error_code(error)
    reason = _error_text(error)
    if not _is_envelope(body) or reason is None:
        hint = f" (API error: {reason})" if reason else ""
        raise ParseError(f"not {WHAT} object: 'object' is {body.get('object')!r}, expected 'response' with an "
                         f"'output' list{hint}")
    if _is_filter_code(code) and isinstance(error, dict):
        return Answer(text="", status="no_answer", status_reason=_filter_reason(code, error))
    return Answer(text="", status="error", status_reason=reason)


def _base(body: dict[str, Any], output: list[Any]) -> dict[str, Any]:
    """What every answer of this body carries: the model, tokens, search queries and features."""
    input_tokens, output_tokens = usage_tokens(body.get("usage"))
    searches = [item for item in output if _item_type(item) == "web_search_call"]
    searched = bool(searches) or _billed_searches(body.get("usage")) > 0
    return dict(model=text_or_none(body.get("model")), input_tokens=input_tokens, output_tokens=output_tokens,
                search_queries=_search_queries(searches), features=[WEB_SEARCH] if searched else [])


def _item_type(item: Any) -> str | None:
    return item.get("type") if isinstance(item, dict) else None


def _billed_searches(usage: Any) -> int:
    """usage.tool_usage.web_search: the searches billed; 0 when not reported."""
    tools = usage.get("tool_usage") if isinstance(usage, dict) else None
    count = count_or_none(tools.get("web_search")) if isinstance(tools, dict) else None
    return count or 0


def _has_ark_usage(body: dict[str, Any]) -> bool:
    usage = body.get("usage")
    return isinstance(usage, dict) and bool(_ARK_USAGE_MEMBERS & usage.keys())


def _has_ark_annotations(output: list[Any]) -> bool:
    return any(annotation.get("type") in ("annotation", "doc_citation") or _ARK_ANNOTATION_MEMBERS & annotation.keys()
               for annotation in _raw_annotations(output))


def _raw_annotations(output: list[Any]) -> list[dict[str, Any]]:
    """Every annotation object of every output_text part, in order."""
    return [annotation for part in _text_parts(output) for annotation in _list(part.get("annotations"))
            if isinstance(annotation, dict)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- errors and refusals ----------------------------------------------------------------------------


def _error_code(error: Any) -> str | None:
    return code_or_none(error.get("code")) if isinstance(error, dict) else None


def _is_filter_code(code: str | None) -> bool:
    return code is not None and code.split(".", 1)[0] in CONTENT_FILTER_CODES


def _is_ark_error(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    kind = error.get("type")
    return (isinstance(kind, str) and _ARK_ERROR_TYPE.fullmatch(kind) is not None) or _is_filter_code(
        _error_code(error))


def _error_text(error: Any) -> str | None:
    """'code: message' of an Ark error object (its type where it has no code); None when it says nothing."""
    return error_reason(error, lambda details: _error_code(details) or text_or_none(details.get("type")))


def _filter_reason(code: str | None, error: dict[str, Any]) -> str:
    """"refusal: <code>: <message>", without the request id (the same refusal always reads the same)."""
    message = text_or_none(_REQUEST_ID.sub("", str(error.get("message") or "")))
    return f"refusal: {code}: {short(message)}" if message else f"refusal: {code}"


def _failure_reason(body: dict[str, Any]) -> str | None:
    """Why a response failed ('code: message' of its error), or None when it did not."""
    reason = _error_text(body.get("error"))
    return reason or ("response status failed" if body.get("status") == "failed" else None)


def _refusal(body: dict[str, Any], text: str, annotations: list[Annotation], refusals: list[str]) -> str | None:
    """Why the answer is a refusal ("refusal: ..."), or None."""
    error = body.get("error")
    code = _error_code(error)
    if _is_filter_code(code) and isinstance(error, dict):
        return _filter_reason(code, error)
    if refusals:
        return "refusal: " + " ".join(refusals)
    if body.get("status") == "incomplete" and _filtered(body.get("incomplete_details")):
        return _incomplete_filter_reason(body["incomplete_details"])
    apology = None if annotations else apology_refusal(text, [])
    return f"refusal: {apology}" if apology else None


def _filtered(details: Any) -> bool:
    """Whether incomplete_details says the content filter stopped the answer."""
    return isinstance(details, dict) and (details.get("reason") == CONTENT_FILTER_REASON
                                          or bool(details.get("content_filter")))


def _incomplete_filter_reason(details: dict[str, Any]) -> str:
    """"refusal: content_filter", with the filter's type and details where Ark gives them."""
    found = details.get("content_filter")
    if isinstance(found, dict):
        found = " ".join(part for part in (text_or_none(found.get("type")), text_or_none(found.get("details")))
                         if part)
    detail = text_or_none(found) if isinstance(found, str) else None
    return f"refusal: {CONTENT_FILTER_REASON}: {short(detail)}" if detail else f"refusal: {CONTENT_FILTER_REASON}"


# --- text and annotations --------------------------------------------------------------------------


def _text_parts(output: list[Any]) -> list[dict[str, Any]]:
    """Every content part of every message, in order (odd items and parts skipped)."""
    return [part for item in output if _item_type(item) == "message"
            for part in _list(item.get("content")) if isinstance(part, dict)]


def _collect_messages(output: list[Any]) -> tuple[str, list[Annotation], list[str]]:
    """Join the output_text parts of all messages, with their web annotations (spans shifted into the
    joined text where the annotation has indices); and the words of any refusal part."""
    pieces: list[str] = []
    length = 0
    annotations: list[Annotation] = []
    refusals: list[str] = []
    for part in _text_parts(output):
        if part.get("type") == "refusal":
            refusals.append(text_or_none(part.get("refusal")) or "(no reason given)")
            continue
        if part.get("type") != "output_text":
            continue
        part_text = part.get("text") if isinstance(part.get("text"), str) else ""
        if part_text and pieces:  # empty parts add no separator, so later offsets stay exact
            pieces.append(PART_SEPARATOR)
            length += len(PART_SEPARATOR)
        annotations += [(_span(note, length, len(part_text)), note) for note in _list(part.get("annotations"))
                        if isinstance(note, dict) and _is_web_annotation(note)]
        pieces.append(part_text)
        length += len(part_text)
    return "".join(pieces), annotations, refusals


def _is_web_annotation(note: dict[str, Any]) -> bool:
    kind = note.get("type")
    return isinstance(kind, str) and kind in WEB_ANNOTATIONS


def _span(note: dict[str, Any], offset: int, part_length: int) -> tuple[int, int] | None:
    """An annotation's indices (code points into its part, where a gateway adds them) clamped into the part
    and shifted into the joined text; None without usable indices."""
    start, end = int_or_none(note.get("start_index")), int_or_none(note.get("end_index"))
    if start is None or end is None:
        return None
    start = min(max(start, 0), part_length)
    end = min(max(end, start), part_length)
    return (offset + start, offset + end) if end > start else None


def _title(note: dict[str, Any]) -> str | None:
    return text_or_none(note.get("title")) or text_or_none(note.get("site_name"))


def _cited(annotations: list[Annotation]) -> list[Citation]:
    """One citation per distinct page, in the annotations' order, with every span it supports."""
    sources = SourceList()
    for span, note in annotations:
        sources.cite(note.get("url"), _title(note), span)
    return sources.citations()


def _named_only(annotations: list[Annotation]) -> list[Citation]:
    """The pages a refused answer's annotations named, kept as not cited."""
    sources = SourceList()
    for _, note in annotations:
        sources.retrieve(note.get("url"), _title(note), origin="annotation")
    return sources.citations()


# --- web_search_call items -------------------------------------------------------------------------


def _search_queries(searches: list[dict[str, Any]]) -> list[str]:
    """The query of every search action, in order, without duplicates or blanks (``queries``, a list, read
    too: OpenAI's newer shape, which a gateway may pass on)."""
    seen: dict[str, None] = {}
    for item in searches:
        action = item.get("action") if isinstance(item.get("action"), dict) else {}
        for query in [action.get("query"), *_list(action.get("queries"))]:
            if isinstance(query, str) and query.strip():
                seen.setdefault(query.strip(), None)
    return list(seen)
