"""Parser for Zhipu's GLM chat completions with the `web_search` tool (open.bigmodel.cn, api.z.ai).

Input: the JSON body of a non-streaming ``POST {base_url}/chat/completions`` whose request carried
``tools: [{"type": "web_search", "web_search": {"enable": true, "search_result": true, ...}}]``.
Output: a `probes.base.Answer`.

What the payload holds (Zhipu's chat completion reference, the SDKs' response types):

- ``choices[0].message.content``: the answer. The model marks what it took from a search result with
  ``[ref_n]`` (``[ref_2][ref_3]`` cites two), naming the result whose ``refer`` is ``"ref_n"``.
  Thinking models (GLM-4.5 and later) put their reasoning in ``message.reasoning_content``, which is
  not the answer; a leading ``<think>…</think>`` block in the content is dropped too.
- ``choices[0].finish_reason``: ``stop``, ``tool_calls``, ``length``, ``sensitive`` (the content
  filter stopped the answer), ``network_error`` (inference failed). A top-level ``content_filter``
  list may say which side was flagged (``role``: user, assistant, history; ``level``).
- ``web_search`` (top level, sent because the request asks ``search_result: true``): the search
  results in the engine's order, each with ``title``, ``link``, ``media`` (the site's name),
  ``icon``, ``refer`` (``"ref_1"``...), ``content`` (a summary) and ``publish_date``. Some results
  come without a link: they name no page and are dropped.
- ``usage``: ``prompt_tokens`` (search results included) / ``completion_tokens``.
- Errors come as an HTTP 4xx/5xx with ``{"error": {"code": "1301", "message": ...}}``. The probe
  hands on the body of code 1301 (input or output judged unsafe): the engine declining to answer.

Choices this parser makes (the API does not say):

- A marker names the result with that ``refer``. One naming no linked result (``[ref_9]`` with six
  results, ``[ref_0]``, ``[ref_x]``) is not a marker: ignored and left in the text.
- Positions follow the engine's list (its ``ref_n`` numbering): cited sources in list order, then the
  listed results no marker names, retrieved only (``cited=False``). A page listed twice (same
  normalized URL) is one source at its first place, whichever of its refers the text uses.
- A span is the text a marker group supports: back to the start of its sentence (a Latin or a
  full-width ``。！？`` end, a line break) or the previous group's end, a list bullet and leading
  punctuation off. Offsets are Python ``str`` (code point) indices into `Answer.text`.
- An answer without markers cites nobody (unlike Perplexity's parser): its results stay retrieved.
- Refusals are ``no_answer``: error 1301, ``finish_reason: sensitive``, and a short unmarked answer
  that opens with an apology and a "can't" (抱歉，我无法…). Their results are never cited.
- ``length`` (or ``model_context_window_exceeded``): the text so far, reason ``incomplete: length``;
  ``network_error``: an error. Every other error body (1113 no balance, 1302 rate limit, ...): error.

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers.common`/`markers` only.
"""

from __future__ import annotations

import re
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.text import short
from probes.base import WEB_SEARCH, Answer, Citation
from probes.parsers.common import (
    ListedPages,
    SourceList,
    chat_answer_text,
    chat_usage_tokens,
    check_chat_completion,
    code_or_none,
    error_reason,
    first_choice,
    int_or_none,
    is_chat_completion,
    load_json_object,
    text_or_none,
)
from probes.parsers.markers import MarkerGroup, apology_refusal, cite_marked, marker_groups

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

# The business code of input or output judged unsafe: the one error that is an answer (a refusal).
REFUSAL_CODE = "1301"
SENSITIVE = "sensitive"
INFERENCE_FAILED = "network_error"
TRUNCATED = ("length", "model_context_window_exceeded")

# One [ref_n] marker, a group of adjacent ones ("[ref_2][ref_3]", "[ref_2] [ref_3]"), and a result's refer.
_MARKER = re.compile(r"\[ref_(\d{1,4})\]")
_GROUP = re.compile(r"\[ref_\d{1,4}\](?:[ \t]*\[ref_\d{1,4}\])*")
_REFER = re.compile(r"ref_(\d{1,4})")


def recognizes(body: dict[str, Any]) -> bool:
    """A GLM chat completion: one carrying Zhipu's top-level `web_search` list (for `citewatch parse`
    without --kind); OpenAI's, compatible servers' and Perplexity's chat completions have none."""
    return is_chat_completion(body) and isinstance(body.get("web_search"), list)


def parse(raw: Raw) -> Answer:
    """Parse one GLM chat completion body (or an error body) into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a GLM chat completion")
    failure = _error_answer(body)
    if failure is not None:
        return failure
    check_chat_completion(body)

    results = _SearchResults.of(body.get("web_search"))
    input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(model=_model(body), input_tokens=input_tokens, output_tokens=output_tokens,
                                features=[WEB_SEARCH] if results.searched else [])
    message, finish_reason = first_choice(body["choices"])
    if message is None:
        return Answer(text="", citations=results.retrieved_only(), status="no_answer",
                      status_reason="no choices in response", **base)

    text, think_closed = chat_answer_text(message.get("content"))
    groups = marker_groups(text, results.names_page, _GROUP, _MARKER)
    refusal = _refusal(body, finish_reason, text, groups)
    citations = results.citations(text, groups if refusal is None else [])
    has_text = bool(text.strip())

    if refusal is not None:
        return Answer(text=text, citations=citations, status="no_answer", status_reason=f"refusal: {refusal}",
                      **base)
    if finish_reason == INFERENCE_FAILED:
        return Answer(text=text, citations=citations, status="error",
                      status_reason="inference failed (finish_reason network_error)", **base)
    if finish_reason in TRUNCATED:
        return Answer(text=text, citations=citations, status="ok" if has_text else "error",
                      status_reason=f"incomplete: {finish_reason}", **base)
    if not has_text:
        return Answer(text=text, citations=citations, status="no_answer",
                      status_reason=_empty_reason(think_closed, finish_reason), **base)
    return Answer(text=text, citations=citations, status="ok", **base)


def error_label(error: dict[str, Any]) -> str | None:
    """Zhipu names an error by its business code alone ("1113"); the reason reads "1113: message"."""
    return code_or_none(error.get("code"))


def is_refusal_error(raw: Raw) -> bool:
    """Whether an error body is the content filter's refusal (code `REFUSAL_CODE`), which `parse` reads as
    status ``no_answer``: the engine declined, nothing failed. `probes.glm` hands such a body on as the
    payload although Zhipu sends it with HTTP 400."""
    try:
        body = load_json_object(raw, "a GLM error body")
    except ParseError:
        return False
    return _refuses(body.get("error"))


def _refuses(error: Any) -> bool:
    """Whether an `error` member is code 1301 (input or output judged unsafe)."""
    return isinstance(error, dict) and error_label(error) == REFUSAL_CODE


# --- payload shape -----------------------------------------------------------------------------------


def _error_answer(body: dict[str, Any]) -> Answer | None:
    """The Answer of an error body ({"error": {...}}): a refusal for code 1301, else a failed call (never
    "not cited"). None when the body holds no error."""
    reason = error_reason(body.get("error"), error_label)
    if reason is None:
        return None
    input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(text="", model=_model(body), input_tokens=input_tokens, output_tokens=output_tokens)
    if _refuses(body.get("error")):
        return Answer(status="no_answer", status_reason=f"refusal: {short(reason)}", **base)
    return Answer(status="error", status_reason=reason, **base)




def _model(body: dict[str, Any]) -> str | None:
    return text_or_none(body.get("model"))






def _empty_reason(think_closed: bool, finish_reason: str | None) -> str:
    if not think_closed:
        return "no answer after reasoning (unclosed <think> block)"
    if finish_reason and finish_reason != "stop":
        return f"empty answer text (finish_reason {finish_reason})"
    return "empty answer text"


# --- sources -------------------------------------------------------------------------------------------


class _SearchResults(ListedPages):
    """The top-level `web_search` list: the linked results in list order, and the page each refer names."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []  # a page listed twice appears twice; SourceList merges them
        self.searched = False  # the engine sent results (linked or not): a search ran
        self._by_refer: dict[int, str] = {}

    @classmethod
    def of(cls, listed: Any) -> _SearchResults:
        results = cls()
        if listed is None:
            return results  # no search ran, or the request did not ask for its results
        if not isinstance(listed, list):
            raise ParseError(f"'web_search' is a JSON {type(listed).__name__}, expected a list of search results")
        for entry in listed:
            if isinstance(entry, dict):
                results.searched = True
                results._add(entry)
        return results

    def _add(self, entry: dict[str, Any]) -> None:
        url = text_or_none(entry.get("link"))
        if url is None:
            return  # a result without a link names no page
        self.urls.append(url)
        self.note(url, text_or_none(entry.get("title")), len(self.urls))
        number = _refer_number(entry.get("refer"))
        if number is not None:
            self._by_refer.setdefault(number, url)  # a refer given twice names its first result

    def names_page(self, number: int) -> bool:
        return number in self._by_refer

    def url_of(self, number: int) -> str | None:
        return self._by_refer.get(number)

    def citations(self, text: str, groups: list[MarkerGroup]) -> list[Citation]:
        """The marked results cited (with the words each group supports), the others retrieved only."""
        sources = SourceList()
        cite_marked(sources, text, groups, self.url_of, self.title_of)
        for url in self.urls:
            sources.retrieve(url, self.title_of(url))
        return sources.citations(self.rank_of)

    def retrieved_only(self) -> list[Citation]:
        return self.citations("", [])


def _refer_number(refer: Any) -> int | None:
    """n of a result's "ref_n"; None for a refer of another form (or type)."""
    match = _REFER.fullmatch(refer.strip()) if isinstance(refer, str) else None
    return int(match.group(1)) if match else None




# --- refusals --------------------------------------------------------------------------------------------


def _refusal(body: dict[str, Any], finish_reason: str | None, text: str, groups: list[MarkerGroup]) -> str | None:
    """Why the model declined (the reason's words), else None."""
    if finish_reason == SENSITIVE:
        return _sensitive_reason(body.get("content_filter"))
    return apology_refusal(text, groups)


def _sensitive_reason(content_filter: Any) -> str:
    """The reason "finish_reason sensitive", with what the content filter flagged where it says so."""
    flagged = []
    for item in content_filter if isinstance(content_filter, list) else []:
        role = text_or_none(item.get("role")) if isinstance(item, dict) else None
        if role:
            level = int_or_none(item.get("level"))
            flagged.append(role if level is None else f"{role} level {level}")
    return "finish_reason sensitive" + (f" (content filter: {', '.join(flagged)})" if flagged else "")
