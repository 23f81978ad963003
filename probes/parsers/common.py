"""Helpers every pure parser shares: loading the JSON body, reading the pieces several formats share
(usage, error objects, a leading reasoning block) and building the list of sources.

`SourceList` keeps one `Citation` per page (pages are the same when their
normalized URLs are), positioned by first appearance; pages the engine only
retrieved come after the cited ones, marked `cited=False`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw, as_result
from citewatch.urls import normalize_url
from probes.base import Citation


def load_json_object(raw: Raw, what: str) -> dict[str, Any]:
    """Decode a JSON object body (a result's first part); every garbage case raises ParseError saying what
    was wrong."""
    try:
        data = as_result(raw).first.data
    except TypeError:
        raise ParseError(f"expected the raw response body as bytes, got {type(raw).__name__}") from None
    if not data.strip():
        raise ParseError(f"empty body: expected {what} JSON object")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        head = data[:60].decode("utf-8", "replace").strip()
        raise ParseError(f"body is not JSON ({exc.__class__.__name__}: {exc}); starts with {head!r}") from exc
    if not isinstance(body, dict):
        raise ParseError(f"expected {what} JSON object, got a JSON {type(body).__name__}")
    return body


def int_or_none(value: Any) -> int | None:
    # bool is an int subclass; a true/false token count is garbage, not 1/0.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# No real answer counts two billion tokens or searches; a larger (or negative) count is garbage, and would
# not fit the database's integer columns either.
MAX_COUNT = 2**31 - 1


def count_or_none(value: Any) -> int | None:
    """A token or search count: a non-negative integer of a plausible size, else None."""
    count = int_or_none(value)
    return count if count is not None and 0 <= count <= MAX_COUNT else None


def text_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def code_or_none(value: Any) -> str | None:
    """An error code as text: a string, or an integer such as an HTTP status; never a bool."""
    return text_or_none(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def usage_tokens(usage: Any) -> tuple[int | None, int | None]:
    """(input, output) tokens of a Responses-shaped `usage`: OpenAI's and the Perplexity Agent API's."""
    if not isinstance(usage, dict):
        return None, None
    return count_or_none(usage.get("input_tokens")), count_or_none(usage.get("output_tokens"))


def chat_usage_tokens(usage: Any) -> tuple[int | None, int | None]:
    """(input, output) tokens of a Chat Completions-shaped `usage`: OpenAI's, compatible servers' and Sonar's."""
    if not isinstance(usage, dict):
        return None, None
    return count_or_none(usage.get("prompt_tokens")), count_or_none(usage.get("completion_tokens"))


def incomplete_reason(body: dict[str, Any]) -> str:
    """Why a Responses-shaped body (OpenAI's, the Perplexity Agent API's) stopped early."""
    details = body.get("incomplete_details")
    reason = text_or_none(details.get("reason")) if isinstance(details, dict) else None
    return reason or "unknown reason"


def error_reason(error: Any, label_of: Callable[[dict[str, Any]], str | None]) -> str | None:
    """The reason an API's `error` member gives; None when it says nothing (null, "", {}).

    Every format's error object has a `message`; what names the error beside it (a type, a code, a
    status) differs, and `label_of` reads that. The object reads "label: message", or either alone,
    or else its JSON; a string is its own reason."""
    if not error:
        return None
    if isinstance(error, dict):
        label, message = label_of(error), text_or_none(error.get("message"))
        if label and message:
            return f"{label}: {message}"
        return label or message or json.dumps(error, ensure_ascii=False)[:500]
    if isinstance(error, str):
        return text_or_none(error)
    return json.dumps(error, ensure_ascii=False)[:500]


# A leading reasoning block, as reasoning models served by Sonar, Ollama or vLLM write it before the answer.
_THINK_BLOCK = re.compile(r"\s*<think>.*?</think>\s*", re.DOTALL)
_THINK_OPEN = re.compile(r"\s*<think>")


def answer_start(text: str) -> int | None:
    """Where the answer starts in `text`: past a leading <think>…</think> block and the whitespace around
    it, 0 without one; None when the block never closes (cut off while reasoning: no answer yet)."""
    block = _THINK_BLOCK.match(text)
    if block is not None:
        return block.end()
    return None if _THINK_OPEN.match(text) else 0


def is_chat_completion(body: dict[str, Any]) -> bool:
    """A Chat Completions body (for `recognizes`): OpenAI's, Perplexity Sonar's or any compatible server's."""
    choices = body.get("choices")
    return body.get("object") == "chat.completion" or (
        isinstance(choices, list) and bool(choices) and isinstance(choices[0], dict) and "message" in choices[0])


def is_responses_body(body: dict[str, Any]) -> bool:
    """A Responses-shaped body (for `recognizes`): OpenAI's Responses API or the Perplexity Agent API."""
    return body.get("object") == "response" and isinstance(body.get("output"), list)


def citation_key(url: str) -> str:
    """Two URLs with the same key are the same source (tracking parameters, fragment, case of host...).

    Parsers' output depends on this: a change to normalize_url that merges or splits pages must bump
    every parser's PARSER_VERSION, so that `citewatch reparse` refreshes the history."""
    return normalize_url(url)


class SourceList:
    """The sources of one answer, in the order the engine first cites them."""

    def __init__(self) -> None:
        self._cited: dict[str, Citation] = {}
        self._retrieved: dict[str, Citation] = {}

    def cite(self, url: Any, title: Any = None, span: tuple[int, int] | None = None,
             origin: str = "annotation", visible: bool = True) -> Citation | None:
        """Record a citation of `url` (optionally supporting text[span]); returns its Citation."""
        url = text_or_none(url)
        if url is None:
            return None
        key = citation_key(url)
        citation = self._cited.get(key)
        if citation is None:
            citation = Citation(url=url, position=len(self._cited) + 1, title=text_or_none(title), origin=origin,
                                visible=visible)
            self._cited[key] = citation
        elif citation.title is None:
            citation.title = text_or_none(title)
        if span is not None and span[1] > span[0] and span not in citation.spans:
            citation.spans.append(span)
        return citation

    def retrieve(self, url: Any, title: Any = None, origin: str = "search_result") -> None:
        """Record a page the engine looked at; it counts as retrieved unless it is (or becomes) cited."""
        url = text_or_none(url)
        if url is None:
            return
        key = citation_key(url)
        if key not in self._retrieved:
            self._retrieved[key] = Citation(url=url, position=0, title=text_or_none(title), cited=False,
                                            origin=origin)
        elif self._retrieved[key].title is None:
            self._retrieved[key].title = text_or_none(title)

    def citations(self, listed_rank: Callable[[str], int | None] | None = None) -> list[Citation]:
        """Cited sources by position, then retrieved-only ones numbered after them.

        Positions follow first citation in the text, unless the engine numbers its sources in a list
        of its own: then `listed_rank(url)` gives each source's place there, cited sources take
        positions in that order, and any the list lacks follow in text order."""
        cited = list(self._cited.values())
        if listed_rank is not None:
            ranks = {id(c): listed_rank(c.url) for c in cited}
            cited.sort(key=lambda c: (ranks[id(c)] is None, ranks[id(c)] or 0))  # stable: text order otherwise
            for position, citation in enumerate(cited, start=1):
                citation.position = position
        retrieved = [c for key, c in self._retrieved.items() if key not in self._cited]
        for offset, citation in enumerate(retrieved, start=len(cited) + 1):
            citation.position = offset
        return cited + retrieved


def first_choice(choices: list[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A chat completion's first choice: its message and finish_reason; (None, None) when there is none."""
    if not choices:
        return None, None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ParseError(f"choices[0] is a JSON {type(choice).__name__}, expected an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ParseError("choices[0] has no 'message' object (a streaming 'delta' is not a whole answer)")
    finish = choice.get("finish_reason")
    return message, finish if isinstance(finish, str) else None


def chat_answer_text(content: Any) -> tuple[str, bool]:
    """A chat message's answer text without a leading <think> block, and whether that block (if any) was
    closed. Content parts (vision models, some gateways) are joined."""
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(part["text"] for part in content
                       if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str))
    else:
        raise ParseError(f"choices[0].message.content is a JSON {type(content).__name__}, expected a string")
    start = answer_start(text)
    if start is None:
        return "", False  # cut off while reasoning: no answer yet
    return text[start:], True


def check_chat_completion(body: dict[str, Any]) -> None:
    """Raise ParseError unless `body` is a whole chat completion (not a streaming chunk, with `choices`)."""
    obj = body.get("object")
    if obj == "chat.completion.chunk":
        raise ParseError("a streaming chunk ('object' is 'chat.completion.chunk'), not a whole chat completion")
    if obj not in ("chat.completion", None):
        raise ParseError(f"not a chat completion: 'object' is {obj!r}, expected 'chat.completion'")
    if not isinstance(body.get("choices"), list):
        raise ParseError(f"chat completion has no 'choices' list (got {type(body.get('choices')).__name__})")


class ListedPages:
    """The pages an engine lists, by page (`citation_key`): the first title given and the first rank, for
    `SourceList.citations(rank_of)` and the markers' titles. A page listed twice keeps its first of both."""

    def __init__(self) -> None:
        self._titles: dict[str, str] = {}
        self._ranks: dict[str, int] = {}

    def __len__(self) -> int:
        """How many distinct pages are listed."""
        return len(self._ranks)

    def note(self, url: str, title: str | None, rank: int) -> None:
        key = citation_key(url)
        self._ranks.setdefault(key, rank)
        if title:
            self._titles.setdefault(key, title)

    def title_of(self, url: str | None) -> str | None:
        return self._titles.get(citation_key(url)) if url else None

    def rank_of(self, url: str) -> int | None:
        return self._ranks.get(citation_key(url))
