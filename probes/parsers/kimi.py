"""Parser for Kimi (Moonshot AI) chat completions with the ``$web_search`` builtin function.

Input: the raw result of `probes.kimi`, one part per chat completion of the search round trip, in order
(``response``, ``response-2``, ...), or the bytes of one body (a plain final chat completion, or a Moonshot
error envelope). Output: a `probes.base.Answer`.

The round trip (Moonshot's web search guide): the request declares
``tools: [{"type": "builtin_function", "function": {"name": "$web_search"}}]``. When the model wants to
search, its response stops with ``finish_reason: "tool_calls"`` and an assistant message such as::

    {"role": "assistant", "content": "",
     "tool_calls": [{"id": "t-web_search-…", "type": "builtin_function",
                     "function": {"name": "$web_search",
                                  "arguments": "{\\"search_result\\":{\\"search_id\\":\\"…\\"},
                                                 \\"usage\\":{\\"total_tokens\\":8015}}"}}]}

The client sends that message back with a ``role: "tool"`` message holding the arguments unchanged;
Moonshot runs the search on its side and the next response answers (``finish_reason: "stop"``). A model
may search again, so a round trip has one or more legs.

What this parser reads:

- The answer is the last leg's ``choices[0].message.content``, read by
  `probes.parsers.openai_chat.parse_compatible` (kind ``openai_compatible``'s reading): a leading
  ``<think>`` block dropped, every URL written in the prose a citation with origin ``"text"``.
  Moonshot returns no source list (the search result is named by a ``search_id`` only), so an answer
  that writes no URL cites nothing and no page counts as retrieved.
- ``input_tokens`` / ``output_tokens``: ``usage.prompt_tokens`` / ``completion_tokens`` summed over the
  legs, each billed in full. The search's own count (``usage.total_tokens`` inside the arguments) has no
  `Answer` field and is not added: Moonshot bills those tokens as prompt tokens of the next leg, which
  the sum already holds.
- ``features``: ``web_search`` when a leg called ``$web_search``. ``search_queries``: none (the
  arguments carry no query).
- ``model``: the last leg's; where it names none (a refusal envelope), the latest leg that does.

Statuses:

- Moonshot's error envelope ``{"error": {"message", "type"}}`` of type ``content_filter`` (HTTP 400,
  handed on by the probe as the payload): the engine declined, ``no_answer``; any other error: ``error``.
- ``finish_reason: "content_filter"``: a refusal (``no_answer``) without text, ``incomplete:
  content_filter`` with it; ``length``: ``incomplete: length``.
- A round trip that ended still on ``tool_calls`` (the probe's bound reached): ``error``, reason
  ``incomplete: tool_calls (…)``; never "not cited".

Pure: stdlib, `citewatch`, `probes.base` and `probes.parsers` only.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ParseError
from citewatch.raw import Raw, RawPart, as_result
from citewatch.status import ERROR, NO_ANSWER
from probes.base import WEB_SEARCH, Answer
from probes.parsers.common import (
    chat_usage_tokens,
    count_or_none,
    error_reason,
    is_chat_completion,
    load_json_object,
    text_or_none,
)
from probes.parsers.openai_chat import parse_compatible, recognizes_compatible

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed
# (a change to `parse_compatible`'s reading changes this parser's output too).
PARSER_VERSION = 1

WHAT = "a Moonshot chat completion"
SEARCH_FUNCTION = "$web_search"
TOOL_CALLS = "tool_calls"
CONTENT_FILTER = "content_filter"


def recognizes(body: dict[str, Any]) -> bool:
    """A leg that calls ``$web_search`` (no other service writes one), or a plain chat completion (a final
    leg, an answer without search), which could as well come from any compatible server: `citewatch parse`
    then asks which kind, and takes ``--kind kimi``."""
    return is_chat_completion(body) and (bool(search_calls(body)) or recognizes_compatible(body))


def is_refusal_error(raw: Raw) -> bool:
    """Whether an error body is the content filter's refusal (type ``content_filter``), which `parse` reads
    as ``no_answer``. `probes.kimi` hands such a body on as the payload although Moonshot sends HTTP 400."""
    try:
        body = load_json_object(raw, WHAT)
    except ParseError:
        return False
    return _filter_refusal(body) is not None


def parse(raw: Raw) -> Answer:
    """Parse the legs of one round trip (or one body) into an `Answer`; raise `ParseError` on garbage."""
    parts, bodies = _load_legs(raw)
    last = bodies[-1]
    input_tokens, output_tokens = _summed_usage(bodies)
    searched = any(search_calls(body) for body in bodies)
    refusal = _filter_refusal(last)
    if refusal is not None:
        return Answer(text="", status=NO_ANSWER, status_reason=f"refusal: {refusal}", model=_model(bodies),
                      input_tokens=input_tokens, output_tokens=output_tokens,
                      features=[WEB_SEARCH] if searched else [])

    answer = parse_compatible(parts[-1].data)  # the answer as kind openai_compatible reads it
    answer.model = _model(bodies)
    answer.input_tokens, answer.output_tokens = input_tokens, output_tokens
    if searched and WEB_SEARCH not in answer.features:
        answer.features = [*answer.features, WEB_SEARCH]
    if finish_reason(last) == TOOL_CALLS:
        # The answer never came (the probe stopped at its bound): a failure, not "not cited".
        count = len(bodies)
        answer.status, answer.status_reason = ERROR, (
            f"incomplete: tool_calls (the {SEARCH_FUNCTION} round trip was still asking for tools after "
            f"{count} response{'s' if count > 1 else ''})")
    return answer


# --- the legs ----------------------------------------------------------------------------------


def _load_legs(raw: Raw) -> tuple[tuple[RawPart, ...], list[dict[str, Any]]]:
    """The parts and their decoded bodies; every leg before the last must be one that asked for tools."""
    try:
        parts = as_result(raw).parts
    except TypeError:
        raise ParseError(f"expected the raw result or the response body as bytes, got {type(raw).__name__}") from None
    if len(parts) == 1:
        return parts, [load_json_object(parts[0].data, WHAT)]
    bodies = [_load_part(part) for part in parts]
    for part, body in zip(parts[:-1], bodies[:-1], strict=True):
        if finish_reason(body) != TOOL_CALLS:
            raise ParseError(f"part {part.name!r} is not a leg that asked for tools (finish_reason "
                             f"{finish_reason(body)!r}): only the last response of a round trip may end otherwise")
    return parts, bodies


def _load_part(part: RawPart) -> dict[str, Any]:
    try:
        return load_json_object(part.data, WHAT)
    except ParseError as exc:
        raise ParseError(f"part {part.name!r}: {exc}") from None


def first_message(body: dict[str, Any]) -> dict[str, Any] | None:
    """``choices[0].message``, or None where the body has none (an error envelope, an odd shape)."""
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    return message if isinstance(message, dict) else None


def finish_reason(body: dict[str, Any]) -> str | None:
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    reason = choice.get("finish_reason") if isinstance(choice, dict) else None
    return reason if isinstance(reason, str) else None


def tool_calls(body: dict[str, Any]) -> list[Any]:
    """The tool calls of ``choices[0].message``, as sent (any shape); [] where there are none."""
    message = first_message(body)
    calls = message.get("tool_calls") if message is not None else None
    return calls if isinstance(calls, list) else []


def is_search_call(call: Any) -> bool:
    function = call.get("function") if isinstance(call, dict) else None
    return isinstance(function, dict) and function.get("name") == SEARCH_FUNCTION


def search_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``$web_search`` calls of a leg."""
    return [call for call in tool_calls(body) if is_search_call(call)]


# --- what the legs say together ----------------------------------------------------------------


def _filter_refusal(body: dict[str, Any]) -> str | None:
    """'content_filter: <message>' for the content filter's error envelope; None for anything else."""
    error = body.get("error")
    if not isinstance(error, dict) or text_or_none(error.get("type")) != CONTENT_FILTER:
        return None
    return error_reason(error, lambda details: text_or_none(details.get("type")))


def _summed_usage(bodies: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """Prompt and completion tokens summed over the legs; None where no leg reports them."""
    totals: list[int | None] = [None, None]
    for body in bodies:
        for slot, count in enumerate(chat_usage_tokens(body.get("usage"))):
            if count is not None:
                totals[slot] = (totals[slot] or 0) + count
    return count_or_none(totals[0]), count_or_none(totals[1])


def _model(bodies: list[dict[str, Any]]) -> str | None:
    """The last leg's model, else the latest leg's that names one."""
    return next((model for body in reversed(bodies) if (model := text_or_none(body.get("model")))), None)
