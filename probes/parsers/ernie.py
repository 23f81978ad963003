"""Parser for Baidu Qianfan AI Search ("智能搜索生成"), the answers ERNIE writes over Baidu search.

Input: the JSON body of a non-streaming ``POST {base_url}/ai_search/chat/completions``
(``https://qianfan.baidubce.com/v2``). Output: a `probes.base.Answer`.

What the payload holds (Qianfan / AppBuilder AI Search docs, and Baidu's own SDK
``AISearchResponse``):

- ``request_id``; ``choices[0].message.content``: the answer; with
  ``enable_corner_markers`` its sentences carry corner markers ``^[1]^``, several
  as ``^[1][2]^``, that name a reference by its ``id``. The documentation is not
  consistent, so plain ``[1]`` / ``[1][2]`` and ``^[1,2]^`` are read as well.
  ``message.reasoning_content`` (thinking models) is not the answer; a leading
  ``<think>…</think>`` block in ``content`` is dropped likewise.
- ``references[]``: ``id`` (from 1), ``url``, ``title``, ``date``, ``content``,
  ``icon``, ``web_anchor``, ``website``, ``type`` (``web``, ``image``,
  ``video``), ``image`` / ``video`` details, ``is_aladdin``. Absent when no search ran.
- ``usage``: ``prompt_tokens`` / ``completion_tokens`` / ``total_tokens``. No
  field counts searches, and no search queries are returned
  (``followup_queries`` are suggestions for the user, not searches).
- ``is_safe``: false when Baidu's content-safety layer answered instead of the model.
- A failure is an AppBuilder body ``{"code", "message", "requestId"}`` (e.g.
  ``RATE_LIMIT_SEARCH_QPS``, ``QUOTA_USER_DAILY_FREE``), or a ModelBuilder envelope
  ``{"error": {"code", "message", "type"}, "id"}`` (``invalid_iam_token``,
  ``rpm_rate_limit_exceeded``, type ``unsafe_request``), sometimes with HTTP 200;
  the older Qianfan ``{"error_code", "error_msg"}`` is read too.

Choices this parser makes:

- Only ``type: "web"`` references (or ones with no type) are pages. A marker
  naming an image or video, an id no reference has (``^[9]^`` with five) or a
  non-number (``^[a]^``) is not a citation and stays in the text as written.
- Cited pages are positioned by their place in ``references`` (the engine's
  own numbering); the same page listed twice (same normalized URL) is one
  source, its markers' spans gathered. Web references no marker names come
  after, ``cited=False`` — also when the answer has no marker at all.
- A span is the text a marker group supports: from the start of its sentence
  (or the end of the previous group, whichever is later; ``。！？`` end a
  sentence) to the marker. Offsets are Python ``str`` indices into
  `Answer.text`, which keeps the markers as sent.
- A refusal (``is_safe: false``, ``finish_reason: content_filter``, an error
  whose code or type says unsafe/sensitive, or a short unmarked apology such
  as "抱歉，我无法…") is status ``no_answer``; its references stay retrieved only.
- Any other error body is status ``error``: a failed call, never "not cited".

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers.common` / `markers` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.status import AnswerStatus
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer, Citation
from probes.parsers.common import (
    ListedPages,
    SourceList,
    chat_answer_text,
    chat_usage_tokens,
    code_or_none,
    error_reason,
    first_choice,
    int_or_none,
    load_json_object,
    text_or_none,
)
from probes.parsers.markers import MarkerGroup, apology_refusal, cite_marked, marker_groups

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

# One corner marker: ^[1]^, ^[1][2]^, ^[1,2]^ (the closing caret sometimes missing), or a plain [1] / [1][2].
_NUMBERS = r"\d{1,4}(?:\s*[,，、]\s*\d{1,4})*"
_UNIT = rf"\^(?:\[{_NUMBERS}\])+\^?|(?:\[\d{{1,4}}\])+\^?"
# Adjacent markers ("^[1]^^[2]^", "[1] [2]") support the same words: one group.
_GROUP = re.compile(rf"(?:{_UNIT})(?:[ \t]*(?:{_UNIT}))*")
_NUMBER = re.compile(r"\d{1,4}")
# An id sent as a string: ASCII digits only ("²" is a digit int() refuses), and short (int() refuses 5000 digits).
_ID_DIGITS = re.compile(r"[0-9]{1,9}")

# What an error's code or type says when Baidu's safety layer, not a fault, stopped the answer.
_SAFETY_WORDS = ("unsafe", "sensitive", "safety", "content_filter")
# A top-level `code` that says "no error".
_NO_ERROR_CODES = (None, 0, "0", "")


def recognizes(body: dict[str, Any]) -> bool:
    """A Qianfan AI Search answer (for `citewatch parse` without --kind): a `references` list or an `is_safe`
    flag, beside `choices` or `is_safe`. Baidu's plain web search (references, no answer) is not one."""
    answered = isinstance(body.get("choices"), list) or "is_safe" in body
    return answered and (isinstance(body.get("references"), list) or isinstance(body.get("is_safe"), bool))


def parse(raw: Raw) -> Answer:
    """Parse one AI Search body into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a Qianfan AI Search chat completion")
    input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(model=text_or_none(body.get("model")), input_tokens=input_tokens,
                                output_tokens=output_tokens)

    failure = _failure(body)
    if failure is not None:
        status, reason = failure
        return Answer(text="", status=status, status_reason=reason, **base)
    _check_shape(body)

    references = _References(_reference_entries(body.get("references")))
    base["features"] = [WEB_SEARCH] if references.any_listed else []
    message, finish_reason = first_choice(body.get("choices") or [])
    if message is None:
        return _without_message(body, references, base)

    text, think_closed = chat_answer_text(message.get("content"))
    groups = marker_groups(text, references.is_page, _GROUP, _NUMBER)
    refusal = _refusal(body, finish_reason, text, groups)
    citations = _citations(text, groups if refusal is None else [], references)
    return _answer(text, citations, refusal, finish_reason, think_closed, base)


def _citations(text: str, groups: list[MarkerGroup], references: _References) -> list[Citation]:
    """Marked pages cited (with spans), then every other web reference as retrieved only."""
    sources = SourceList()
    cite_marked(sources, text, groups, references.url_of, references.title_of)
    for page in references.pages:
        sources.retrieve(page.url, page.title)
    return sources.citations(references.rank_of)


def _answer(text: str, citations: list[Citation], refusal: str | None, finish_reason: str | None,
            think_closed: bool, base: dict[str, Any]) -> Answer:
    """The Answer for a message: a refusal, a truncated or empty answer, or a whole one."""
    has_text = bool(text.strip())
    status: AnswerStatus
    reason: str | None
    if refusal is not None:
        status, reason = "no_answer", f"refusal: {refusal}"
    elif finish_reason == "length":
        status, reason = ("ok" if has_text else "error"), "incomplete: length"
    elif not has_text:
        status = "no_answer"
        reason = "empty answer text" if think_closed else "no answer after reasoning (unclosed <think> block)"
    else:
        status, reason = "ok", None
    return Answer(text=text, citations=citations, status=status, status_reason=reason, **base)


def _without_message(body: dict[str, Any], references: _References, base: dict[str, Any]) -> Answer:
    """No choice came back: a safety block (its references retrieved only) or simply no answer."""
    if body.get("is_safe") is False:
        return Answer(text="", citations=_citations("", [], references), status="no_answer",
                      status_reason="refusal: content safety (is_safe false)", **base)
    return Answer(text="", status="no_answer", status_reason="no choices in response", **base)


# --- failures --------------------------------------------------------------------


def is_refusal_error(raw: Raw) -> bool:
    """Whether an error body (either of Qianfan's shapes) is the safety layer declining (code or type
    unsafe/sensitive, such as ``unsafe_request``), which `parse` reads as status ``no_answer``: nothing
    failed. `probes.ernie` hands such a body on as the payload although Qianfan may send it with a 4xx."""
    try:
        body = load_json_object(raw, "a Qianfan error body")
    except ParseError:
        return False
    failure = _failure(body)
    return failure is not None and failure[0] == "no_answer"


def _failure(body: dict[str, Any]) -> tuple[AnswerStatus, str] | None:
    """(status, reason) when the body reports a failure in one of Qianfan's error shapes, else None."""
    error = body.get("error")
    if error:
        reason = error_reason(error, _error_label) or "API error (no details)"
        return _classified(error if isinstance(error, dict) else {}, reason)
    if body.get("code") not in _NO_ERROR_CODES:  # AppBuilder: {"code", "message", "requestId"}, even with HTTP 200
        return _classified(body, error_reason(body, _error_label) or "API error (no details)")
    if body.get("error_code") not in _NO_ERROR_CODES:  # the older Qianfan v1 shape
        label, message = code_or_none(body.get("error_code")), text_or_none(body.get("error_msg"))
        return "error", f"code {label}: {message}" if label and message else f"code {label or '?'}"
    return None


def _error_label(error: dict[str, Any]) -> str | None:
    """Qianfan names an error by its code, with its type beside it: "rpm_rate_limit_exceeded (rate_limit_exceeded)"."""
    code, kind = code_or_none(error.get("code")), text_or_none(error.get("type"))
    if code and kind and code != kind:
        return f"{code} ({kind})"
    return code or kind


def _classified(error: dict[str, Any], reason: str) -> tuple[AnswerStatus, str]:
    """A content-safety block is the engine declining to answer (a refusal); anything else failed."""
    labels = " ".join(str(error.get(key, "")) for key in ("code", "type")).lower()
    if any(word in labels for word in _SAFETY_WORDS):
        return "no_answer", f"refusal: {reason}"
    return "error", reason


# --- payload shape ---------------------------------------------------------------


def _check_shape(body: dict[str, Any]) -> None:
    if body.get("object") == "chat.completion.chunk":
        raise ParseError("a streaming chunk ('object' is 'chat.completion.chunk'), not a whole answer")
    choices = body.get("choices")
    if not isinstance(choices, list) and not (choices is None and body.get("is_safe") is False):
        raise ParseError(f"AI Search body has no 'choices' list (got {type(choices).__name__}); "
                         f"keys {sorted(body)[:10]}")
    references = body.get("references")
    if references is not None and not isinstance(references, list):
        raise ParseError(f"AI Search 'references' is a JSON {type(references).__name__}, expected a list")






# --- references ------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    url: str
    title: str | None
    page: bool  # a web page; images and videos are not sources


def _reference_entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _reference(entry: Any) -> _Reference | None:
    if not isinstance(entry, dict):
        return None
    url = text_or_none(entry.get("url"))
    if url is None:
        return None
    kind = entry.get("type")
    page = kind is None or (isinstance(kind, str) and kind.strip().lower() == "web")
    return _Reference(url, text_or_none(entry.get("title")) or text_or_none(entry.get("web_anchor")), page)


def _reference_id(entry: Any) -> int | None:
    """A reference's `id` (what markers name): a positive integer, or its digits as a string."""
    value = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(value, str) and _ID_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    number = int_or_none(value)
    return number if number is not None and number >= 1 else None


class _References(ListedPages):
    """The numbered references the markers name (by `id`; by list place where an id is missing or garbage)."""

    def __init__(self, entries: list[Any]) -> None:
        super().__init__()
        self.any_listed = bool(entries)  # references came back: a search ran
        self._numbered: dict[int, _Reference] = {}
        self.pages: list[_Reference] = []  # web pages in list order
        for place, entry in enumerate(entries, start=1):
            reference = _reference(entry)
            if reference is None:
                continue
            self._numbered.setdefault(_reference_id(entry) or place, reference)
            if reference.page:
                self._add_page(reference, place)

    def _add_page(self, reference: _Reference, place: int) -> None:
        self.pages.append(reference)
        self.note(reference.url, reference.title, place)  # a page listed twice keeps its first place

    def is_page(self, number: int) -> bool:
        reference = self._numbered.get(number)
        return reference is not None and reference.page

    def url_of(self, number: int) -> str | None:
        return self._numbered[number].url if self.is_page(number) else None





# --- refusals --------------------------------------------------------------------


def _refusal(body: dict[str, Any], finish_reason: str | None, text: str, groups: list[MarkerGroup]) -> str | None:
    """The refusal's words when Baidu's safety layer or the model declined, else None."""
    words = f": {short(text)}" if text.strip() else ""
    if body.get("is_safe") is False:
        return "content safety (is_safe false)" + words
    if finish_reason == "content_filter":
        return "content_filter" + words
    return apology_refusal(text, groups)
