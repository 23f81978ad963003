"""Moonshot (Kimi) chat completions wire format, with the ``$web_search`` builtin function.

The round trip `probes.kimi` completes: a request without a ``tool`` message gets a first leg that stops
with ``finish_reason: "tool_calls"``, calling ``$web_search`` with arguments that hold a ``search_id``;
the request that sends those arguments back (in a ``tool`` message) gets the answer. The search id names
the call it belongs to (`earlier_call`), so the second leg renders the same answer and does not count as a
new call. Kimi lists no sources: the answer writes its pages in the prose, a markdown link on a domain
label or a bare URL after each sentence, as `probes.parsers.kimi` (through `openai_compatible`) reads them.
"""

from __future__ import annotations

import json
from typing import Any

from probes.simulator.openai_chat import chat_completion, handles, prompt_of
from probes.simulator.scenario import SimulatedAnswer, domain_of, is_chinese
from probes.simulator.serpapi import decode_token, encode_token

BASE_SUFFIX = "/v1"  # the probe's base_url is http://127.0.0.1:PORT/kimi/v1, like https://api.moonshot.cn/v1
DEFAULT_MODEL = "moonshot-v1-auto"
SEARCH_FUNCTION = "$web_search"

__all__ = ["BASE_SUFFIX", "earlier_call", "handles", "model_of", "prompt_of", "render", "render_request"]


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def earlier_call(path: str, body: dict) -> tuple[str, int] | None:
    """The second leg names its call in the search id it sends back."""
    reply = _tool_reply(body)
    if reply is None:
        return None
    try:
        arguments = json.loads(reply)
        return decode_token(str(arguments["search_result"]["search_id"]))
    except (ValueError, TypeError, KeyError):
        return None


def render_request(answer: SimulatedAnswer, path: str, body: dict) -> dict[str, Any]:
    return render(answer) if _tool_reply(body) is not None else search_leg(answer)


def search_leg(answer: SimulatedAnswer) -> dict[str, Any]:
    """The first leg: the model asks for ``$web_search``; nothing is written yet."""
    arguments = {"search_result": {"search_id": encode_token(answer.prompt, answer.call_index)},
                 "usage": {"total_tokens": 8000}}
    call = {"id": f"t-web_search-{answer.ident[:12]}", "type": "builtin_function",
            "function": {"name": SEARCH_FUNCTION, "arguments": json.dumps(arguments)}}
    leg = chat_completion(answer, answer.model, {"role": "assistant", "content": "", "tool_calls": [call]}, "")
    leg["choices"][0]["finish_reason"] = "tool_calls"
    return leg


def render(answer: SimulatedAnswer) -> dict[str, Any]:
    """The answer leg: each sentence followed by its pages, the first as a link on its domain, the rest
    as bare URLs, in the full-width brackets of a Chinese answer."""
    open_, close, joiner = ("（", "）", "") if is_chinese(answer.prompt) else (" (", ")", " ")
    sentences = []
    for segment in answer.segments:
        pages = [f"[{domain_of(url)}]({url})" if n == 0 else url for n, (url, _) in enumerate(segment.sources)]
        sentences.append(segment.sentence + (open_ + " ".join(pages) + close if pages else ""))
    text = sentences[0] + ("\n\n" + joiner.join(sentences[1:]) if len(sentences) > 1 else "")
    return chat_completion(answer, answer.model, {"role": "assistant", "content": text}, text)


def _tool_reply(body: dict) -> str | None:
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "tool":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return None
