"""Parser for Gemini ``generateContent`` with the ``google_search`` tool.

Input: the JSON body of a non-streaming ``POST .../models/{model}:generateContent``
(Gemini API or Vertex AI; both send the same shape). Output: a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md):

- ``candidates[0].content.parts[]``: answer ``text`` parts, ``thought: true``
  text parts (the model's reasoning, not the answer), ``toolCall`` /
  ``toolResponse`` parts (Gemini 3) and ``thoughtSignature`` blobs.
- ``candidates[0].groundingMetadata``: ``webSearchQueries`` (may hold empty
  strings), ``groundingChunks[].web{uri, title}`` (``uri`` is a
  vertexaisearch.cloud.google.com redirect, the real site is usually only the
  ``title``, e.g. "hengdavalve.com"; some are google.com/search links) and
  ``groundingSupports[]``: a ``segment{startIndex, endIndex, text}`` of the
  answer and the ``groundingChunkIndices`` supporting it.
- Segment offsets are UTF-8 **byte** offsets into the concatenated non-thought
  text, ``startIndex`` omitted when 0; on Gemini 3 some are off by one or two
  bytes, so ``segment.text`` is located first and the offsets are the fallback.
- ``finishReason`` SAFETY / RECITATION / PROHIBITED_CONTENT ... or
  ``promptFeedback.blockReason``: the model refused.
- A failed call is a bare ``{"error": {code, message, status}}`` envelope.

Pure: stdlib and `probes.base` / `probes.parsers.common` only, so history can be re-parsed offline.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from probes.base import WEB_SEARCH, Answer
from probes.parsers.common import (
    SourceList,
    citation_key,
    code_or_none,
    count_or_none,
    error_reason,
    int_or_none,
    load_json_object,
    text_or_none,
)

# Bump when the output for the same raw payload changes, so old observations
# can be found and re-parsed.
# 2: positions follow groundingChunks; output tokens include thinking tokens
# 3: error reasons read as every parser reads them (the message trimmed; an empty error object says
#    "API error (no details)")
PARSER_VERSION = 3

# finishReasons that mean the model (or its safety layer) declined to answer.
REFUSAL_FINISH_REASONS = frozenset({
    "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "LANGUAGE",
})
# finishReasons that mean the answer was cut short.
TRUNCATED_FINISH_REASONS = frozenset({"MAX_TOKENS"})

# Keys a generateContent response has; a JSON object with none of them is not one.
_RESPONSE_KEYS = ("candidates", "promptFeedback", "usageMetadata", "modelVersion", "responseId")


def recognizes(body: dict[str, Any]) -> bool:
    """A generateContent body (for `citewatch parse` without --kind)."""
    return "candidates" in body or "promptFeedback" in body


def parse(raw: Raw) -> Answer:
    """Parse one generateContent body into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a Gemini generateContent")

    if "error" in body:
        # The API said the call failed: excluded from denominators, never "not cited".
        reason = error_reason(body["error"], _error_label) or "API error (no details)"
        return Answer(text="", status="error", status_reason=reason, model=text_or_none(body.get("modelVersion")))
    if not any(key in body for key in _RESPONSE_KEYS):
        raise ParseError("not a Gemini generateContent response: none of "
                         f"{', '.join(_RESPONSE_KEYS)} in keys {sorted(body)[:10]}")

    candidates = body.get("candidates")
    if candidates is not None and not isinstance(candidates, list):
        raise ParseError(f"Gemini response 'candidates' is a {type(candidates).__name__}, expected a list")
    candidate: dict[str, Any] = {}
    if candidates:
        if not isinstance(candidates[0], dict):
            raise ParseError(f"Gemini response candidates[0] is a {type(candidates[0]).__name__}, expected an object")
        candidate = candidates[0]

    input_tokens, output_tokens = _usage(body.get("usageMetadata"))
    parts = _parts(candidate)
    grounding = candidate.get("groundingMetadata")
    grounding = grounding if isinstance(grounding, dict) else {}
    queries = _search_queries(grounding, parts)
    chunks = grounding.get("groundingChunks") if isinstance(grounding.get("groundingChunks"), list) else []
    searched = bool(queries or chunks or _has_entry_point(grounding) or _has_search_tool_call(parts))
    base = dict(
        model=text_or_none(body.get("modelVersion")),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=queries,
        features=[WEB_SEARCH] if searched else [],
    )

    block_reason = _prompt_block_reason(body.get("promptFeedback"))
    if block_reason is not None:
        return Answer(text="", status="no_answer", status_reason=f"refusal: prompt blocked ({block_reason})", **base)
    if not candidates:
        return Answer(text="", status="no_answer", status_reason="no candidates in response", **base)

    text = "".join(_answer_texts(parts))
    sources = SourceList()
    _cite(sources, text, grounding, chunks)
    citations = sources.citations(_chunk_ranks(chunks).get)

    finish = candidate.get("finishReason") if isinstance(candidate.get("finishReason"), str) else None
    has_text = bool(text.strip())
    if finish in REFUSAL_FINISH_REASONS:
        return Answer(text=text, citations=citations, status="no_answer",
                      status_reason="refusal: " + _refusal_detail(candidate, finish), **base)
    if finish in TRUNCATED_FINISH_REASONS:
        reason = f"incomplete: {finish}"
        if has_text:
            return Answer(text=text, citations=citations, status="ok", status_reason=reason, **base)
        # Typically thinking used up the whole output budget: a failed call, not an empty answer.
        return Answer(text=text, citations=citations, status="error", status_reason=reason, **base)
    if not has_text:
        reason = "empty answer text" + (f" (finishReason {finish})" if finish and finish != "STOP" else "")
        return Answer(text=text, citations=citations, status="no_answer", status_reason=reason, **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------


def _error_label(error: dict[str, Any]) -> str | None:
    """Google names an error by its status and HTTP code: "INVALID_ARGUMENT (400)"."""
    status, code = text_or_none(error.get("status")), code_or_none(error.get("code"))
    return " ".join(p for p in (status, code and f"({code})") if p) or None


def _usage(usage: Any) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    # thinking tokens are billed at the output rate but counted outside candidatesTokenCount
    answer, thoughts = count_or_none(usage.get("candidatesTokenCount")), count_or_none(usage.get("thoughtsTokenCount"))
    output = None if answer is None and thoughts is None else count_or_none((answer or 0) + (thoughts or 0))
    return count_or_none(usage.get("promptTokenCount")), output


def _parts(candidate: dict[str, Any]) -> list[dict[str, Any]]:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _answer_texts(parts: list[dict[str, Any]]) -> list[str]:
    """The answer's text parts, thoughts excluded. They are joined with no separator, because the
    grounding offsets count bytes of exactly that concatenation."""
    return [p["text"] for p in parts if isinstance(p.get("text"), str) and p.get("thought") is not True]


def _prompt_block_reason(feedback: Any) -> str | None:
    if not isinstance(feedback, dict):
        return None
    reason = feedback.get("blockReason")
    if not reason or reason == "BLOCK_REASON_UNSPECIFIED":
        return None
    message = text_or_none(feedback.get("blockReasonMessage"))
    return f"{reason}: {message}" if message else str(reason)


def _refusal_detail(candidate: dict[str, Any], finish: str) -> str:
    detail = f"finishReason {finish}"
    blocked = [r.get("category") for r in candidate.get("safetyRatings") or []
               if isinstance(r, dict) and r.get("blocked") is True and r.get("category")]
    if blocked:
        detail += f" ({', '.join(map(str, blocked))})"
    message = text_or_none(candidate.get("finishMessage"))
    return f"{detail}: {message}" if message else detail


# --- search queries ----------------------------------------------------------


def _search_queries(grounding: dict[str, Any], parts: list[dict[str, Any]]) -> list[str]:
    """webSearchQueries, then queries of Gemini 3 google-search tool calls; deduplicated, blanks skipped."""
    candidates: list[Any] = []
    if isinstance(grounding.get("webSearchQueries"), list):
        candidates += grounding["webSearchQueries"]
    for part in parts:
        call = part.get("toolCall")
        if isinstance(call, dict) and isinstance(call.get("args"), dict):
            queries = call["args"].get("queries")
            if isinstance(queries, list):
                candidates += queries
    seen: dict[str, None] = {}
    for query in candidates:
        if isinstance(query, str) and query.strip():
            seen.setdefault(query.strip(), None)
    return list(seen)


def _has_entry_point(grounding: dict[str, Any]) -> bool:
    entry = grounding.get("searchEntryPoint")
    return isinstance(entry, dict) and bool(entry.get("renderedContent") or entry.get("sdkBlob"))


def _has_search_tool_call(parts: list[dict[str, Any]]) -> bool:
    return any(isinstance(p.get("toolCall"), dict) and "SEARCH" in str(p["toolCall"].get("toolType", ""))
               for p in parts)


# --- chunks, supports and spans ----------------------------------------------


def _chunk_source(chunk: Any) -> tuple[str | None, str | None]:
    """(uri, title) of a grounding chunk: web results, or retrieved context / maps on Vertex."""
    if not isinstance(chunk, dict):
        return None, None
    for key in ("web", "retrievedContext", "maps"):
        source = chunk.get(key)
        if isinstance(source, dict) and text_or_none(source.get("uri")):
            return text_or_none(source.get("uri")), text_or_none(source.get("title"))
    return None, None


def _chunk_ranks(chunks: list[Any]) -> dict[str, int]:
    """Each source's place in groundingChunks: a cited source's position (DESIGN.md: "in the order the
    engine lists its sources"), keyed as `SourceList` keys pages."""
    ranks: dict[str, int] = {}
    for index, chunk in enumerate(chunks):
        uri, _ = _chunk_source(chunk)
        if uri:
            ranks.setdefault(citation_key(uri), index)
    return ranks


def _cite(sources: SourceList, text: str, grounding: dict[str, Any], chunks: list[Any]) -> None:
    """Chunks some support uses are cited, with the spans of those supports (in text order); unused chunks
    are retrieved-only."""
    supports = grounding.get("groundingSupports")
    resolved: list[tuple[int, tuple[int, int] | None, list[int]]] = []  # (sort key, span, chunk indices)
    if isinstance(supports, list):
        encoded = text.encode("utf-8")
        for order, support in enumerate(supports):
            if not isinstance(support, dict):
                continue
            indices = [i for i in support.get("groundingChunkIndices") or []
                       if int_or_none(i) is not None and 0 <= i < len(chunks)]
            if not indices:
                continue
            span = _segment_span(text, encoded, support.get("segment"))
            resolved.append((order, span, indices))
    # Supports come in text order already; sort by span start anyway (stable), spanless ones last.
    resolved.sort(key=lambda r: (r[1] is None, r[1][0] if r[1] is not None else 0, r[0]))
    for _, span, indices in resolved:
        for index in indices:
            uri, title = _chunk_source(chunks[index])
            sources.cite(uri, title, span)
    for chunk in chunks:
        uri, title = _chunk_source(chunk)
        sources.retrieve(uri, title)


def _segment_span(text: str, encoded: bytes, segment: Any) -> tuple[int, int] | None:
    """Python str (code point) indices of a support's segment in `text`.

    `segment.text` is searched for first, at or nearest to where the byte offsets
    point (Gemini 3 offsets can be off by a byte or two; the same sentence can
    occur twice); the converted byte offsets are the fallback.
    """
    if not isinstance(segment, dict):
        return None
    start_b = int_or_none(segment.get("startIndex"))
    start_b = 0 if start_b is None else start_b  # omitted when 0
    end_b = int_or_none(segment.get("endIndex"))
    hint = _byte_to_char(encoded, start_b, round_up=False)

    needle = segment.get("text")
    if isinstance(needle, str) and needle:
        found = _nearest(text, needle, hint)
        if found is not None:
            return found, found + len(needle)
    if end_b is None:
        return None
    start = hint
    end = _byte_to_char(encoded, end_b, round_up=True)
    return (start, end) if end > start else None


def _nearest(text: str, needle: str, hint: int) -> int | None:
    """Start of the occurrence of `needle` in `text` closest to `hint`."""
    best: int | None = None
    position = text.find(needle)
    while position != -1:
        if best is None or abs(position - hint) < abs(best - hint):
            best = position
        if position > hint:
            break  # later occurrences are further away
        position = text.find(needle, position + 1)
    return best


def _byte_to_char(encoded: bytes, offset: int, *, round_up: bool) -> int:
    """Code point index of a UTF-8 byte offset, clamped to the text; an offset inside a multi-byte
    character moves to that character's start (or past its end with round_up)."""
    offset = min(max(offset, 0), len(encoded))
    while 0 < offset < len(encoded) and (encoded[offset] & 0xC0) == 0x80:  # a continuation byte
        offset += 1 if round_up else -1
    return len(encoded[:offset].decode("utf-8", errors="replace"))
