"""Parser for Qwen through DashScope's native generation API, with web search and its sources.

Input: the JSON body of a non-streaming ``POST {base_url}/api/v1/services/aigc/text-generation/generation``
(or ``multimodal-generation/generation``) sent with ``enable_search`` and ``search_options.enable_source``
(`probes.qwen`). Output: a `probes.base.Answer`.

What the payload holds (see realdata/FORMATS.md, "Qwen through DashScope"):

- ``output.choices[0].message.content``: the answer; a string on the text endpoint, a list of
  ``{"text": ...}`` parts on the multimodal one (joined with no separator). ``reasoning_content`` beside
  it is the model's thinking, not the answer. ``finish_reason``: ``stop``, ``length``, ``tool_calls``,
  ``null`` (stream chunks only). With ``result_format: text`` (the old default) the answer is
  ``output.text`` and ``output.finish_reason`` instead.
- ``output.search_info.search_results[]``: ``index`` (from 1), ``title``, ``url``, ``site_name`` (often
  the placeholder ``"无"``, "none") and ``icon`` (may be empty). ``search_info`` is missing entirely
  when no search ran. ``extra_tool_info[]`` holds structured tools' answers (a stock quote, the
  weather): no page.
- Markers in the text: ``[ref_<n>]`` (the probe's ``citation_format``) or the default ``[<n>]``, where
  n is a search result's ``index``; ``[ref_1][ref_3]`` cites two. ``[根据权威渠道的实时信息]``
  ("according to authoritative real-time information") cites a structured tool, not a page.
- ``usage``: ``input_tokens``, ``output_tokens`` (thinking included) and ``plugins.search.count``,
  the searches billed. There is no ``model`` in the body (the request named it).
- ``request_id``; a failed call is ``{"request_id", "code", "message"}`` (served with HTTP 4xx/5xx,
  sometimes with 200 and no ``output``).

Choices this parser makes (the API does not say):

- Positions follow the source list's ``index`` (cited sources first, in that order; pages listed but
  never marked after them, ``cited=False``), as for the other engines that number their sources.
  The same page under two indexes (same normalized URL) is one source, at its first index, with
  the spans of both. An answer with no marker cites nothing: the probe asks for markers, so an
  unmarked source was only retrieved.
- A span is the text a marker group supports: from the start of its sentence (full-width ``。！？``
  end one) or the end of the previous marker group, whichever is later, to the marker; leading
  punctuation (``，；：、``) and list bullets removed. Offsets are Python ``str`` indices into
  `Answer.text`, which is the content as sent, markers included.
- A tool bracket (``[根据…]``) is never a citation; it ends a span like a marker group does, so the
  words it vouches for are not given to the next page marker. ``[ref_x]`` (not a number) and
  ``[ref_99]`` (no such source) cite nothing but end a span too; a bare ``[12]`` that names no
  source is plain text (a year, a footnote), as in `probes.parsers.markers`.
- Content filtering is a refusal (status ``no_answer``): ``code: DataInspectionFailed`` (the body of a
  HTTP 400, or a 200 without output), or a ``finish_reason`` ``content_filter`` / ``sensitive``; so is a
  short unmarked apology ("抱歉，我无法…"). A refusal cites nothing; its sources stay retrieved. Any
  other ``code`` is a failed call (status ``error``), with the request id in the reason.
- ``usage.plugins.search.count`` has no `Answer` field: with the search results and
  ``extra_tool_info`` it only sets the ``web_search`` feature.
- A server-sent event stream is not a whole response (with ``incremental_output`` false each event
  repeats the text so far, with it true each adds a piece, and the body does not say which):
  ParseError, like any other shape that is not a generation response.

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers.common` / `markers` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw, as_result
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer, Citation
from probes.parsers.common import (
    ListedPages,
    SourceList,
    code_or_none,
    count_or_none,
    error_reason,
    load_json_object,
    text_or_none,
    usage_tokens,
)
from probes.parsers.markers import MarkerGroup, apology_refusal, cite_marked

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

WHAT = "a DashScope generation response"

# Error codes that mean the content filter stopped the call: the engine refused, nothing failed.
CONTENT_FILTER_CODES = frozenset({"DataInspectionFailed", "data_inspection_failed"})
# finish_reasons that mean the content filter cut the answer.
CONTENT_FILTER_FINISH = frozenset({"content_filter", "sensitive"})
# A site name that names no site.
_NO_SITE_NAMES = frozenset({"无", "暂无", "none", "null"})

# One bracket that may be a marker: [ref_<anything>], a bare [<number>], or a tool's [根据…].
_BRACKET = re.compile(r"\[(?:ref_(?P<ref>[^\[\]\n]{0,20})|(?P<number>\d{1,4})|(?P<tool>根据[^\[\]\n]{1,40}))\]")
# What may stand between two brackets of one group ("[ref_1][ref_3]", "[ref_1] [ref_3]").
_GROUP_GAP = re.compile(r"[ \t]*")


def recognizes(body: dict[str, Any]) -> bool:
    """A DashScope native generation body (for `citewatch parse` without --kind), or its error envelope."""
    output = body.get("output")
    if isinstance(output, dict):
        return any(key in output for key in ("choices", "search_info")) or isinstance(output.get("text"), str)
    return "request_id" in body and "code" in body and "message" in body


def is_refusal_error(raw: Raw) -> bool:
    """Whether an error body is the content filter's refusal (``code`` in `CONTENT_FILTER_CODES`, no output
    or an output object), which `parse` reads as status ``no_answer``: the engine declined, nothing failed.
    `probes.qwen` hands such a body on as the payload although DashScope sends it with HTTP 400."""
    try:
        body = load_json_object(raw, WHAT)
    except ParseError:
        return False
    output = body.get("output")
    return code_or_none(body.get("code")) in CONTENT_FILTER_CODES and (output is None or isinstance(output, dict))


def parse(raw: Raw) -> Answer:
    """Parse one DashScope generation body into an `Answer`; raise `ParseError` on garbage."""
    body = _load_body(raw)
    input_tokens, output_tokens = usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(model=text_or_none(body.get("model")), input_tokens=input_tokens,
                                output_tokens=output_tokens)

    code = code_or_none(body.get("code"))
    if code is not None and code not in CONTENT_FILTER_CODES:
        # A failed call (served as a body, or an error beside the output): never "not cited".
        return Answer(text="", status="error", status_reason=_error_reason(body, code), **base)
    output = body.get("output")
    if output is None and code is not None:  # the content filter stopped the call before any output
        return Answer(text="", status="no_answer", status_reason=_filter_reason(body, code), **base)
    if not isinstance(output, dict):
        raise ParseError(f"not {WHAT}: no 'output' object (got {type(output).__name__}; keys {sorted(body)[:10]})")

    listed = _Listed(_search_results(output))
    base["features"] = [WEB_SEARCH] if _searched(body, output, listed) else []
    message = _message(output)
    if message is None:
        return Answer(text="", citations=_retrieved_only(listed), status="no_answer",
                      status_reason="no choices in response", **base)
    text, finish = message
    return _answer(text, finish, code, body, listed, base)


def _answer(text: str, finish: str | None, code: str | None, body: dict[str, Any], listed: _Listed,
            base: dict[str, Any]) -> Answer:
    """The answer with its sources and status, once the text and finish_reason are known."""
    groups = bracket_groups(text, listed.has)
    refusal = _refusal(text, finish, code, body, groups)
    if refusal is not None:
        # A refusal is an answer with no content, not a transport failure; it cites no one.
        return Answer(text=text, citations=_retrieved_only(listed), status="no_answer", status_reason=refusal,
                      **base)
    sources = SourceList()
    cite_marked(sources, text, groups, listed.url_of, listed.title_of)
    listed.retrieve_all(sources)
    citations = sources.citations(listed.rank_of)
    has_text = bool(text.strip())
    if finish == "length":
        return Answer(text=text, citations=citations, status="ok" if has_text else "error",
                      status_reason="incomplete: length", **base)
    if not has_text:
        return Answer(text=text, citations=citations, status="no_answer", status_reason="empty answer text", **base)
    return Answer(text=text, citations=citations, status="ok", **base)


# --- payload shape ---------------------------------------------------------


def _load_body(raw: Raw) -> dict[str, Any]:
    """The JSON body; a saved event stream gets a reason of its own."""
    try:
        return load_json_object(raw, WHAT)
    except ParseError:
        if _is_event_stream(raw):
            raise ParseError(f"a server-sent event stream, not {WHAT}: request without streaming "
                             "(no X-DashScope-SSE header, no incremental_output)") from None
        raise


def _is_event_stream(raw: Raw) -> bool:
    try:
        head = as_result(raw).first.data[:64]
    except TypeError:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith((b"id:", b"event:", b"data:"))


def _error_reason(body: dict[str, Any], code: str) -> str:
    """'code: message' of the error envelope, with the request id support asks for."""
    reason = error_reason({"code": code, "message": body.get("message")}, lambda error: code)
    request_id = text_or_none(body.get("request_id"))
    return f"{reason} (request_id {request_id})" if request_id else str(reason)


def _filter_reason(body: dict[str, Any], code: str) -> str:
    message = text_or_none(body.get("message"))
    return f"refusal: {code}: {short(message)}" if message else f"refusal: {code}"


def _message(output: dict[str, Any]) -> tuple[str, str | None] | None:
    """(text, finish_reason) of the first choice, or of the text-format output; None when there is neither."""
    choices = output.get("choices")
    if choices is None and isinstance(output.get("text"), str):  # result_format "text"
        return output["text"], _finish(output)
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise ParseError(f"output 'choices' is a JSON {type(choices).__name__}, expected a list")
    if not choices:
        return None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ParseError(f"output.choices[0] is a JSON {type(choice).__name__}, expected an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ParseError(f"output.choices[0] has no 'message' object (got {type(message).__name__})")
    return _content_text(message.get("content")), _finish(choice)


def _finish(holder: dict[str, Any]) -> str | None:
    finish = holder.get("finish_reason")
    return finish if isinstance(finish, str) else None


def _content_text(content: Any) -> str:
    """A string, or the multimodal endpoint's list of {"text": ...} parts joined (other parts skipped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))
    raise ParseError(f"message 'content' is a JSON {type(content).__name__}, expected a string or a list of parts")


def _usage_searches(usage: Any) -> int:
    """usage.plugins.search.count: the web searches billed; 0 when not reported."""
    plugins = usage.get("plugins") if isinstance(usage, dict) else None
    search = plugins.get("search") if isinstance(plugins, dict) else None
    count = count_or_none(search.get("count")) if isinstance(search, dict) else None
    return count or 0


def _searched(body: dict[str, Any], output: dict[str, Any], listed: _Listed) -> bool:
    """Whether a web search visibly ran: pages came back, a search was billed, or a search tool answered."""
    info = output.get("search_info")
    tools = info.get("extra_tool_info") if isinstance(info, dict) else None
    return listed.any() or _usage_searches(body.get("usage")) > 0 or (isinstance(tools, list) and bool(tools))


# --- refusals ------------------------------------------------------------------


def _refusal(text: str, finish: str | None, code: str | None, body: dict[str, Any],
             groups: list[MarkerGroup]) -> str | None:
    """Why the answer is a refusal ("refusal: ..."), or None."""
    if code is not None:  # only a content-filter code gets this far
        return _filter_reason(body, code)
    if finish in CONTENT_FILTER_FINISH:
        return f"refusal: finish_reason {finish}"
    apology = apology_refusal(text, groups)
    return f"refusal: {apology}" if apology else None


# --- sources -----------------------------------------------------------------


class _Listed(ListedPages):
    """The search results by their `index`, which the markers name."""

    def __init__(self, results: list[tuple[int, str, str | None]]) -> None:
        super().__init__()
        self._pages = sorted(results, key=lambda result: result[0])  # stable: list order within an index
        self._by_index: dict[int, str] = {}
        for index, url, title in self._pages:
            self._by_index.setdefault(index, url)  # an index listed twice names its first page
            self.note(url, title, index)  # a page listed twice keeps its first index

    def any(self) -> bool:
        return bool(self._pages)

    def has(self, index: int) -> bool:
        return index in self._by_index

    def url_of(self, index: int) -> str | None:
        return self._by_index.get(index)

    def retrieve_all(self, sources: SourceList) -> None:
        """Every listed page, in index order; those no marker cites stay retrieved-only."""
        for _, url, _ in self._pages:
            sources.retrieve(url, self.title_of(url))


def _retrieved_only(listed: _Listed) -> list[Citation]:
    sources = SourceList()
    listed.retrieve_all(sources)
    return sources.citations()


def _search_results(output: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    """(index, url, title) of each search result with a URL; an entry without a usable `index` takes
    its place in the list."""
    info = output.get("search_info")
    results = info.get("search_results") if isinstance(info, dict) else None
    found = []
    for place, result in enumerate(results if isinstance(results, list) else [], start=1):
        if not isinstance(result, dict) or (url := text_or_none(result.get("url"))) is None:
            continue
        index = count_or_none(result.get("index"))
        found.append((index if index else place, url, _title(result)))
    return found


def _title(result: dict[str, Any]) -> str | None:
    """The page's title; the site's name where the title is missing and the name is a real one."""
    title = text_or_none(result.get("title"))
    if title:
        return title
    site = text_or_none(result.get("site_name"))
    return site if site and site.lower() not in _NO_SITE_NAMES else None


# --- markers -----------------------------------------------------------------


def bracket_groups(text: str, is_source: Callable[[int], bool]) -> list[MarkerGroup]:
    """Groups of adjacent brackets as (start, end, indexes of listed sources they cite, in order).

    A group may cite nothing (a tool bracket, ``[ref_x]``, ``[ref_99]``): it still ends the span of the
    next group. A bare ``[n]`` naming no source is not a bracket at all."""
    groups: list[MarkerGroup] = []
    for match in _BRACKET.finditer(text):
        number = _number(match)
        if match.group("number") is not None and (number is None or not is_source(number)):
            continue  # plain text
        cites = [number] if number is not None and is_source(number) else []
        if groups and _GROUP_GAP.fullmatch(text, groups[-1][1], match.start()):
            start, _, numbers = groups[-1]
            groups[-1] = (start, match.end(), numbers + [n for n in cites if n not in numbers])
        else:
            groups.append((match.start(), match.end(), cites))
    return groups


def _number(match: re.Match[str]) -> int | None:
    """The source index a bracket names: [ref_3] and [3] name 3; [ref_x] and tool brackets none."""
    digits = match.group("number") or match.group("ref")
    return int(digits) if digits and digits.isascii() and digits.isdigit() else None
