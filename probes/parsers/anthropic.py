"""Parser for the Anthropic Messages API with the ``web_search`` server tool.

Input: the JSON body of a non-streaming ``POST /v1/messages``, or, when the
turn was paused and continued, every body in order (see below).
Output: a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md):

- ``content`` mixes ``thinking``, ``server_tool_use`` (``name: web_search``,
  ``input.query``), ``web_search_tool_result`` (``content`` is a list of
  ``web_search_result`` with url, title, page_age; or an error object
  ``{"type": "web_search_tool_result_error", "error_code": ...}``) and many
  small ``text`` blocks.
- Cited text blocks carry ``citations`` of type ``web_search_result_location``
  (url, title, ``cited_text``, ``encrypted_index``) and no character offsets:
  the span of a citation is the whole text block it is attached to.
- ``Answer.text`` is the concatenation of every text block, in order, with no
  separator beyond what the blocks hold.
- ``stop_reason`` is ``end_turn``, ``max_tokens``, ``refusal`` (with
  ``stop_details`` {type, category, explanation} on newer responses),
  ``pause_turn``, ...
- An API failure is ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
- ``usage.server_tool_use.web_search_requests`` counts the searches; it only
  serves, with the search blocks, to report the ``web_search`` feature.

``pause_turn``: a long server-tool turn can stop half-way; the client sends the
returned content back as an assistant message and the service continues. The
probe then returns one part per response body, in order (`probes.anthropic`).
Probes before raw results had parts wrote one JSON document instead, which
this parser still reads::

    {"citewatch_multi_turn": [<body 1>, <body 2>, ...]}

For several bodies, the content blocks of all turns are concatenated in order (the second
turn typically starts with the search result of the first turn's pending
``server_tool_use``), ``model`` and ``stop_reason`` come from the last body, and
token usage is summed over the turns (each continuation is billed in full).

Pure: stdlib and `probes.base` / `probes.parsers.common` only, so history can
be re-parsed offline.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw, as_result
from probes.base import WEB_SEARCH, Answer
from probes.parsers.common import (
    SourceList,
    citation_key,
    count_or_none,
    error_reason,
    load_json_object,
    text_or_none,
)

# Bump when the output for the same raw payload changes, so old observations
# can be found and re-parsed.
# 2: error reasons read as every parser reads them (the message trimmed; an empty error object says
#    "API error (no details)")
PARSER_VERSION = 2

# The key of the wrapper that older probes wrote around the bodies of a paused-then-continued turn.
MULTI_TURN_KEY = "citewatch_multi_turn"

# Stop reasons meaning the answer was cut short by a length limit.
TRUNCATED = ("max_tokens", "model_context_window_exceeded")


def recognizes(body: dict[str, Any]) -> bool:
    """A Messages API body, or the probe's record of a continued turn (for `citewatch parse` without --kind)."""
    return MULTI_TURN_KEY in body or (body.get("type") == "message" and isinstance(body.get("content"), list))


def parse(raw: Raw) -> Answer:
    """Parse one Messages API body (or the bodies of a continued turn) into an `Answer`."""
    bodies = _load_bodies(raw)

    errors = [(index, _error_reason(body)) for index, body in enumerate(bodies) if body.get("type") == "error"]
    messages = [body for body in bodies if body.get("type") != "error"]
    last = bodies[-1]
    model = last.get("model") if isinstance(last.get("model"), str) else None
    if model is None and messages:
        model = next((m["model"] for m in reversed(messages) if isinstance(m.get("model"), str)), None)
    input_tokens, output_tokens = _usage(messages)
    blocks = [block for body in messages for block in body["content"]]
    searches = [b for b in blocks if _type(b) == "server_tool_use" and b.get("name", "web_search") == "web_search"]
    results = [b for b in blocks if _type(b) == "web_search_tool_result"]
    ran_search = bool(searches or results) or any(_search_requests(m) > 0 for m in messages)
    base: dict[str, Any] = dict(
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=_search_queries(searches),
        features=[WEB_SEARCH] if ran_search else [],
    )

    # An API error is a failure, not "not cited": no text, no citations.
    if errors:
        index, reason = errors[-1]
        if len(bodies) > 1:
            reason = f"{reason} (response {index + 1} of {len(bodies)})"
        return Answer(text="", status="error", status_reason=reason, **base)

    sources = SourceList()
    text = _collect_text(blocks, sources)
    _retrieve(sources, results)
    citations = sources.citations()
    _fill_titles(citations, results)

    stop_reason = last.get("stop_reason")
    has_text = bool(text.strip())
    if stop_reason == "refusal":
        # A refusal is an answer with no content, not a transport failure.
        return Answer(text=text, citations=citations, status="no_answer",
                      status_reason="refusal: " + _refusal_reason(last), **base)
    if stop_reason == "pause_turn":
        # The probe gave up continuing (or the body was not continued at all): the
        # answer never came, so this must not count as "not cited".
        return Answer(text=text, citations=citations, status="error",
                      status_reason=f"incomplete: pause_turn (turn still paused after {len(bodies)} "
                                    f"response{'s' if len(bodies) > 1 else ''})", **base)
    if stop_reason in TRUNCATED:
        reason = f"incomplete: {stop_reason}"
        return Answer(text=text, citations=citations, status="ok" if has_text else "error",
                      status_reason=reason, **base)
    if not has_text:
        reason = "empty answer text"
        search_errors = _search_errors(results)
        if search_errors:
            reason += "; web search error: " + ", ".join(search_errors)
        return Answer(text=text, citations=citations, status="no_answer", status_reason=reason, **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------


def _load_bodies(raw: Raw) -> list[dict[str, Any]]:
    """The response bodies in order: one, or several (one per part, or in the older multi-turn wrapper)."""
    result = as_result(raw)
    if len(result.parts) > 1:
        bodies = [load_json_object(part.data, "an Anthropic Messages") for part in result.parts]
        for part, body in zip(result.parts, bodies, strict=True):
            _check_body(body, f"part {part.name!r}")
        return bodies
    document = load_json_object(result, "an Anthropic Messages")
    if MULTI_TURN_KEY in document:
        turns = document[MULTI_TURN_KEY]
        if not isinstance(turns, list) or not turns:
            raise ParseError(f"{MULTI_TURN_KEY!r} must be a non-empty list of Messages bodies, "
                             f"got {type(turns).__name__}{' (empty)' if turns == [] else ''}")
        for index, body in enumerate(turns):
            if not isinstance(body, dict):
                raise ParseError(f"{MULTI_TURN_KEY}[{index}] is a JSON {type(body).__name__}, "
                                 "expected a Messages object")
            _check_body(body, f"{MULTI_TURN_KEY}[{index}]")
        return turns
    _check_body(document, "body")
    return [document]


def _check_body(body: dict[str, Any], where: str) -> None:
    kind = body.get("type")
    if kind == "error":
        if not isinstance(body.get("error"), dict):
            raise ParseError(f"{where}: error object without an 'error' object")
        return
    if kind != "message":
        raise ParseError(f"{where}: not an Anthropic Messages object: 'type' is {kind!r}, expected 'message'")
    if not isinstance(body.get("content"), list):
        raise ParseError(f"{where}: Messages object has no 'content' list "
                         f"(got {type(body.get('content')).__name__})")


def _type(block: Any) -> str | None:
    return block.get("type") if isinstance(block, dict) else None


def _error_reason(body: dict[str, Any]) -> str:
    """'type: message' of the error object, and the request id support asks for."""
    reason = error_reason(body["error"], lambda error: text_or_none(error.get("type"))) or "API error (no details)"
    request_id = text_or_none(body.get("request_id"))
    return f"{reason} (request_id {request_id})" if request_id else reason


def _refusal_reason(body: dict[str, Any]) -> str:
    details = body.get("stop_details")
    if isinstance(details, dict):
        parts = [p.strip() for p in (details.get("category"), details.get("explanation"))
                 if isinstance(p, str) and p.strip()]
        if parts:
            return ": ".join(parts)
    return "(no reason given)"


def _usage(messages: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """Tokens summed over every turn; None where no turn reports them."""
    totals: list[int | None] = [None, None]
    for body in messages:
        usage = body.get("usage")
        if not isinstance(usage, dict):
            continue
        for slot, key in enumerate(("input_tokens", "output_tokens")):
            value = count_or_none(usage.get(key))
            if value is not None:
                totals[slot] = (totals[slot] or 0) + value
    return count_or_none(totals[0]), count_or_none(totals[1])


def _search_requests(body: dict[str, Any]) -> int:
    usage = body.get("usage")
    server = usage.get("server_tool_use") if isinstance(usage, dict) else None
    count = count_or_none(server.get("web_search_requests")) if isinstance(server, dict) else None
    return count or 0


# --- text and citations ----------------------------------------------------


def _collect_text(blocks: list[Any], sources: SourceList) -> str:
    """Concatenate the text blocks; cite each block's sources with the block's range as span.

    Blocks come in text order, so citing while walking them gives positions by
    first appearance. Offsets are Python str (code point) indices.
    """
    pieces: list[str] = []
    length = 0
    for block in blocks:
        if _type(block) != "text":
            continue
        block_text = block.get("text") if isinstance(block.get("text"), str) else ""
        start = length
        pieces.append(block_text)
        length += len(block_text)
        for citation in block.get("citations") or []:
            if _type(citation) != "web_search_result_location":
                continue  # document/char locations name no web page
            sources.cite(citation.get("url"), citation.get("title"), (start, length))
    return "".join(pieces)


def _search_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for block in results if isinstance(block.get("content"), list)
            for r in block["content"] if _type(r) == "web_search_result"]


def _retrieve(sources: SourceList, results: list[dict[str, Any]]) -> None:
    """Every page a search returned; those no citation uses stay retrieved-only."""
    for result in _search_results(results):
        sources.retrieve(result.get("url"), result.get("title"))


def _fill_titles(citations: list[Any], results: list[dict[str, Any]]) -> None:
    """A cited page whose citation has no title takes the title its search result gave."""
    missing = {citation_key(c.url): c for c in citations if c.title is None}
    if not missing:
        return
    for result in _search_results(results):
        url = text_or_none(result.get("url"))
        if url is None:
            continue
        citation = missing.get(citation_key(url))
        if citation is not None and citation.title is None:
            citation.title = text_or_none(result.get("title"))


def _search_errors(results: list[dict[str, Any]]) -> list[str]:
    codes: dict[str, None] = {}
    for block in results:
        content = block.get("content")
        if isinstance(content, dict) and content.get("type") == "web_search_tool_result_error":
            codes.setdefault(str(content.get("error_code") or "unknown"), None)
    return list(codes)


def _search_queries(searches: list[dict[str, Any]]) -> list[str]:
    """Queries of every web_search call, in order, without duplicates or blanks."""
    seen: dict[str, None] = {}
    for block in searches:
        tool_input = block.get("input")
        query = tool_input.get("query") if isinstance(tool_input, dict) else None
        if isinstance(query, str) and query.strip():
            seen.setdefault(query.strip(), None)
    return list(seen)
