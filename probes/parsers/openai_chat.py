"""Parser for Chat Completions bodies: OpenAI's search models and any OpenAI-compatible endpoint.

Input: the JSON body of a non-streaming ``POST /v1/chat/completions``. Two
engine kinds read it, with one difference in what counts as a citation:

- `parse` (kind ``openai_chat``, ``gpt-4o-search-preview`` and friends):
  citations are the ``url_citation`` annotations only. OpenAI annotates every
  link its search models write, so an unannotated URL in the prose is not a
  source the search returned.
- `parse_compatible` (kind ``openai_compatible``: DeepSeek, Qwen, Kimi,
  Ollama, vLLM, OpenRouter ...): annotations where the gateway sends them,
  plus every URL the model writes in its text (origin ``"text"``), since
  most of these models have no other way to name a source. A leading
  ``<think>…</think>`` block (reasoning models served by Ollama or vLLM) is
  not part of the answer and is dropped.

What the payload holds (see realdata/FORMATS.md):

- ``choices[0].message``: ``content`` (string or null), ``refusal`` (string or
  null), ``annotations`` (absent, empty, or a list of
  ``{"type": "url_citation", "url_citation": {url, title, start_index,
  end_index}}``; OpenRouter adds ``content`` and sets both indices to 0, with
  titles that may be ""). Indices count code points, like Python str indices.
- ``choices[0].finish_reason``: ``stop``, ``length``, ``content_filter``, and
  on OpenRouter ``error`` with a ``choices[0].error`` object.
- ``usage``: ``prompt_tokens`` / ``completion_tokens``; OpenRouter reports
  ``server_tool_use_details.web_search_requests``.
- Chat Completions exposes no search queries, so ``search_queries`` is empty.

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers.common` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw
from citewatch.urls import trim_url
from probes.base import WEB_SEARCH, Answer
from probes.parsers import ernie, glm, perplexity
from probes.parsers.common import (
    SourceList,
    answer_start,
    chat_usage_tokens,
    citation_key,
    code_or_none,
    count_or_none,
    error_reason,
    int_or_none,
    is_chat_completion,
    load_json_object,
    text_or_none,
)

# Bump when the output for the same raw payload changes (either function), so
# old observations can be found and re-parsed.
PARSER_VERSION = 2  # 2: error reasons read as every parser reads them (a blank code gives way to the type)


@dataclass(frozen=True)
class _Dialect:
    text_urls: bool  # URLs written in the prose are citations too (origin "text")
    strip_think: bool  # drop a leading <think>…</think> reasoning block from the text
    search_model: bool  # a model whose name says "search" searched before answering


_OPENAI_CHAT = _Dialect(text_urls=False, strip_think=False, search_model=True)
_COMPATIBLE = _Dialect(text_urls=True, strip_think=True, search_model=False)


def recognizes(body: dict[str, Any]) -> bool:
    """A chat completion without Perplexity's, Zhipu's or Qianfan's source lists (for `citewatch parse`
    without --kind); one without url_citation annotations could as well come from any compatible server."""
    return (is_chat_completion(body) and not _calls_a_builtin_function(body)
            and not any(other.recognizes(body) for other in (perplexity, glm, ernie)))


def _calls_a_builtin_function(body: dict[str, Any]) -> bool:
    """A leg calling one of Moonshot's builtin functions (``$web_search``: kind kimi), named with a "$" no
    other service's tools take."""
    return any(isinstance(call, dict) and isinstance(call.get("function"), dict)
               and str(call["function"].get("name", "")).startswith("$")
               for choice in _list(body.get("choices"))[:1] if isinstance(choice, dict)
               for message in [choice.get("message")] if isinstance(message, dict)
               for call in _list(message.get("tool_calls")))


def recognizes_compatible(body: dict[str, Any]) -> bool:
    """What kind `openai_compatible` recognizes: a plain chat completion with no url_citation annotations
    (OpenAI's search models annotate every link they write)."""
    return recognizes(body) and not any(
        isinstance(note, dict) and note.get("type") == "url_citation"
        for choice in _list(body.get("choices")) if isinstance(choice, dict)
        for message in [choice.get("message")] if isinstance(message, dict)
        for note in _list(message.get("annotations")))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse(raw: Raw) -> Answer:
    """Parse an OpenAI search-model Chat Completions body (kind ``openai_chat``); annotations only."""
    return _parse(raw, _OPENAI_CHAT)


def parse_compatible(raw: bytes) -> Answer:
    """Parse any OpenAI-compatible Chat Completions body (kind ``openai_compatible``)."""
    return _parse(raw, _COMPATIBLE)


@dataclass(frozen=True)
class _Cite:
    order: int
    span: tuple[int, int] | None
    url: Any
    title: Any
    origin: str


def _parse(raw: bytes, dialect: _Dialect) -> Answer:
    body = load_json_object(raw, "a Chat Completions")
    model = text_or_none(body.get("model"))
    input_tokens, output_tokens = chat_usage_tokens(body.get("usage"))
    base: dict[str, Any] = dict(model=model, input_tokens=input_tokens, output_tokens=output_tokens)

    # An error object is a service failure, not "not cited": excluded from denominators.
    # Gateways that always send the field send null, "" or {} when nothing failed: error_reason says None.
    error = error_reason(body.get("error"), _error_label)
    if error is not None:
        return Answer(text="", status="error", status_reason=error, **base)
    choice = _first_choice(body)
    if choice is None:
        return Answer(text="", status="error", status_reason="no choices in response", **base)
    finish = choice.get("finish_reason") if isinstance(choice.get("finish_reason"), str) else None
    error = error_reason(choice.get("error"), _error_label)
    if error is not None or finish == "error":
        return Answer(text="", status="error", status_reason=error or "finish_reason error", **base)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ParseError(f"choices[0] has no 'message' object (got {type(message).__name__})")

    text, removed = _content(message.get("content"), dialect.strip_think)
    annotations = _annotations(message.get("annotations"), removed, len(text))
    sources = SourceList()
    _cite(sources, text, annotations, dialect.text_urls)
    searched = bool(annotations) or _reported_searches(body.get("usage")) > 0 or (
        dialect.search_model and model is not None and "search" in model.lower())
    answer = Answer(text=text, citations=sources.citations(), features=[WEB_SEARCH] if searched else [],
                    **base)

    refusal = text_or_none(message.get("refusal"))
    has_text = bool(text.strip())
    if refusal is not None:
        # A refusal is an answer with no content, not a transport failure.
        answer.status, answer.status_reason = "no_answer", f"refusal: {refusal}"
    elif finish == "content_filter":
        # The service withheld (part of) the answer: what was said still counts.
        answer.status = "ok" if has_text else "no_answer"
        answer.status_reason = "incomplete: content_filter" if has_text else "refusal: content_filter"
    elif finish == "length":
        answer.status = "ok" if has_text else "error"
        answer.status_reason = "incomplete: length"
    elif not has_text:
        answer.status, answer.status_reason = "no_answer", "empty answer text"
    return answer


# --- payload shape ---------------------------------------------------------


def _first_choice(body: dict[str, Any]) -> dict[str, Any] | None:
    """choices[0], or None when the list is empty; ParseError when the body is not a chat completion."""
    obj = body.get("object")
    # Some compatible servers omit `object`; a different one is another API (or a stream chunk).
    if obj is not None and obj != "chat.completion":
        hint = " (a streaming chunk: request with stream=false)" if obj == "chat.completion.chunk" else ""
        raise ParseError(f"not a Chat Completions object: 'object' is {obj!r}, expected 'chat.completion'{hint}")
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise ParseError(f"Chat Completions object has no 'choices' list (got {type(choices).__name__})")
    if not choices:
        return None
    if not isinstance(choices[0], dict):
        raise ParseError(f"choices[0] is a JSON {type(choices[0]).__name__}, expected an object")
    return choices[0]


def _error_label(error: dict[str, Any]) -> str | None:
    """OpenAI names an error by its code ("invalid_api_key"), else its type; OpenRouter's codes are HTTP statuses."""
    return code_or_none(error.get("code")) or text_or_none(error.get("type"))


def _reported_searches(usage: Any) -> int:
    """Web searches the gateway says it ran (OpenRouter's web plugin); 0 when not reported."""
    details = usage.get("server_tool_use_details") if isinstance(usage, dict) else None
    count = count_or_none(details.get("web_search_requests")) if isinstance(details, dict) else None
    return count or 0


# --- text and annotations --------------------------------------------------


def _content(content: Any, strip_think: bool) -> tuple[str, int]:
    """The answer text and how many leading characters were removed from `content` to get it."""
    if content is None:
        return "", 0
    if isinstance(content, list):  # a few servers send content parts instead of a string
        content = "".join(p["text"] for p in content
                          if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    if not isinstance(content, str):
        raise ParseError(f"message 'content' is a JSON {type(content).__name__}, expected a string or null")
    if strip_think:
        start = answer_start(content)
        if start is None:  # cut off while still thinking: no answer yet
            return "", len(content)
        return content[start:], start
    return content, 0


def _annotations(value: Any, removed: int, text_len: int) -> list[_Cite]:
    """url_citation annotations with spans shifted into the text; None where indices give no span."""
    found: list[_Cite] = []
    for ann in value if isinstance(value, list) else []:
        if not isinstance(ann, dict) or ann.get("type") != "url_citation":
            continue
        # The nested Chat Completions shape; a few gateways flatten it like the Responses API.
        inner = ann.get("url_citation")
        cite = inner if isinstance(inner, dict) else ann
        if text_or_none(cite.get("url")) is None:
            continue
        start, end = int_or_none(cite.get("start_index")), int_or_none(cite.get("end_index"))
        span = None
        if start is not None and end is not None:
            start = min(max(start - removed, 0), text_len)
            end = min(max(end - removed, start), text_len)
            # Equal indices (OpenRouter sends 0, 0) support no text: a citation without a span.
            span = (start, end) if end > start else None
        found.append(_Cite(len(found), span, cite.get("url"), cite.get("title"), "annotation"))
    return found


def _cite(sources: SourceList, text: str, annotations: list[_Cite], text_urls: bool) -> None:
    """One source per page, positioned by first appearance in the text; span-less ones after, in list order."""
    events = list(annotations)
    if text_urls:
        annotated = [(citation_key(str(a.url)), a.span) for a in annotations if a.span is not None]
        for url, start, end in text_links(text):
            key = citation_key(url)
            # A link inside an annotation of the same page is that annotation, not a second span.
            if any(k == key and s < end and start < e for k, (s, e) in annotated):
                continue
            events.append(_Cite(len(events), (start, end), url, None, "text"))
    events.sort(key=lambda c: (c.span is None, c.span[0] if c.span else 0, c.order))
    for event in events:
        citation = sources.cite(event.url, event.title, event.span, origin=event.origin)
        if citation is not None and event.origin == "annotation":
            # The engine itself cites this page, even if the prose named it first.
            citation.origin = "annotation"


# --- URLs written in the text ----------------------------------------------

# Characters that end a bare URL: whitespace, markup delimiters, and CJK text and
# punctuation (Chinese answers write "详见https://example.com，以及…" with no space;
# percent-encoded non-ASCII paths still match).
_STOP = (r"\s<>\"`{}|\\^\[\]"
         "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef")
_BARE_URL = re.compile(rf"https?://[A-Za-z0-9][A-Za-z0-9.\-]*(?::[0-9]+)?(?:[/?#][^{_STOP}]*)?", re.IGNORECASE)
# [label](url) or [label](<url> "title"); labels may nest one level ([[1]](url)),
# targets may hold balanced parentheses (Wikipedia's Valve_(disambiguation)).
_MD_LINK = re.compile(
    r"\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]"
    r"\(\s*<?(?P<url>https?://(?:[^\s()<>]|\([^\s()<>]*\))+)>?(?:\s+\"[^\"\n]*\")?\s*\)",
    re.IGNORECASE)


def text_links(text: str) -> list[tuple[str, int, int]]:
    """http(s) URLs written in `text`: (url, start, end) in order of appearance.

    A markdown link's span is the whole ``[label](url)``; a bare URL's span is
    the URL without the punctuation that follows it. URLs inside a markdown
    link (its target, or a URL used as its label) are not counted twice.
    """
    found = [(m.group("url"), m.start(), m.end()) for m in _MD_LINK.finditer(text)]
    links = [(start, end) for _, start, end in found]
    for match in _BARE_URL.finditer(text):
        if any(start <= match.start() < end for start, end in links):
            continue
        # never empty: _BARE_URL puts a letter or digit after the scheme, which trimming keeps
        url = trim_url(match.group())
        found.append((url, match.start(), match.start() + len(url)))
    return sorted(found, key=lambda link: link[1])
