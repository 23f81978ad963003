"""Engine kind `kimi`: Kimi (Moonshot AI) chat completions with the ``$web_search`` builtin function, over httpx.

``POST {base_url}/chat/completions`` (default `DEFAULT_BASE_URL`, Moonshot's China platform;
`INTERNATIONAL_BASE_URL` for platform.moonshot.ai, whose keys are not valid on the other) with
``Authorization: Bearer <key>``: the key lives only in the client's default headers, never in the URL,
a body or an error reason. The body::

    {"model": ..., "messages": [{"role": "user", "content": <prompt>}],
     "tools": [{"type": "builtin_function", "function": {"name": "$web_search"}}]}

The round trip: Moonshot runs the search, but through the tool-call protocol. A response that stops with
``finish_reason: "tool_calls"`` asks for ``$web_search``; its ``arguments`` (a JSON string holding a
``search_result.search_id`` and the search's ``usage``) are to be sent back unchanged. The probe appends
the assistant message as received (with its ``tool_calls``) and, for each call, a message
``{"role": "tool", "tool_call_id": <id>, "name": "$web_search", "content": <arguments>}``, then POSTs the
whole conversation again, with the same model and tools; until a response stops otherwise (``stop``,
``length``, ``content_filter``), at most `MAX_LEGS` requests. Past the bound, or when a leg asks for a tool
other than ``$web_search`` (only that one is declared, so none is expected), the probe returns what it
received and the parser reports an incomplete answer. Every response body is kept verbatim as a part,
in order: ``response``, ``response-2``, ... (JSON); an answer without search is the one part ``response``.

Default model `DEFAULT_MODEL`, ``moonshot-v1-auto``: a model without thinking, as ``$web_search``
requires (Moonshot's guide: thinking must be off when the tool is used), that picks its context size
(8k, 32k, 128k) for each request, which the search results (several thousand tokens) need; the guide's
own example uses it. The Kimi K2.5 and K2.6 models think by default and would need
``"thinking": {"type": "disabled"}``, which this body does not send; the K2 previews were retired.

Moonshot's search takes no location or language: the keyword's locale is not sent, and the prompt's own
language steers the answer.

Errors: Moonshot answers a failure with HTTP 4xx/5xx and ``{"error": {"message", "type"}}``, which
`probes.http` turns into a ProbeError reading "HTTP 429: <message> (<type>)", retried on 429 and 5xx; a
failed later leg says which request it was, and a retry starts the round trip again. The content
filter's HTTP 400 (type ``content_filter``) is the engine declining to answer, not a failure: its body is
returned as the last part (`probes.http.post_json`'s ``answered``, with
`probes.parsers.kimi.is_refusal_error` as the rule), and the parser records the refusal.

Network only: returns the bodies as sent; `probes.parsers.kimi` reads them.
"""

from __future__ import annotations

import json
from typing import Any

from citewatch.errors import ProbeError
from citewatch.raw import RESPONSE, RawPart, RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json, refusal_on_client_error
from probes.parsers.kimi import (
    SEARCH_FUNCTION,
    TOOL_CALLS,
    finish_reason,
    first_message,
    is_refusal_error,
    is_search_call,
    tool_calls,
)

DEFAULT_BASE_URL = "https://api.moonshot.cn/v1"  # platform.moonshot.cn (China)
INTERNATIONAL_BASE_URL = "https://api.moonshot.ai/v1"  # platform.moonshot.ai
DEFAULT_MODEL = "moonshot-v1-auto"
PATH = "/chat/completions"
SEARCH_TOOL = {"type": "builtin_function", "function": {"name": SEARCH_FUNCTION}}
# Requests allowed in one round trip (a search, maybe a second one, and the answer, with room to spare).
MAX_LEGS = 4

# A 4xx whose body is the content filter's refusal is the engine's answer, not a failed call.
_ANSWERED = refusal_on_client_error(is_refusal_error)


def part_name(index: int) -> str:
    """The name of the part holding the response to request `index` (0-based): response, response-2, ..."""
    return RESPONSE if index == 0 else f"{RESPONSE}-{index + 1}"


class KimiProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + PATH
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": request.prompt}],
            "tools": [SEARCH_TOOL],
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        body = self.request_body(request)
        bodies: list[bytes] = []
        while True:
            bodies.append(await self._post(body, leg=len(bodies) + 1))
            follow_up = search_follow_up(bodies[-1])
            if follow_up is None or len(bodies) >= MAX_LEGS:
                break
            body = dict(body, messages=[*body["messages"], *follow_up])
        return RawResult(tuple(RawPart(part_name(index), raw) for index, raw in enumerate(bodies)))

    async def _post(self, body: dict[str, Any], leg: int) -> bytes:
        try:
            return await post_json(self._client, self.url, body, answered=_ANSWERED)
        except ProbeError as exc:
            if leg > 1:
                exc.reason = f"{exc.reason} (continuing the {SEARCH_FUNCTION} round trip, request {leg})"
            raise

    async def aclose(self) -> None:
        await self._client.aclose()


def search_follow_up(raw: bytes) -> list[dict[str, Any]] | None:
    """The messages that continue a leg asking for ``$web_search``: the assistant message as received, then
    one tool message per call, its arguments sent back unchanged. None when the leg is the last one (any
    other finish_reason, a body that is not JSON, a call to another tool or of an odd shape)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not ours to judge: the parser reports garbage
    if not isinstance(body, dict) or finish_reason(body) != TOOL_CALLS:
        return None
    message, calls = first_message(body), tool_calls(body)
    if message is None or not calls or not all(_answerable(call) for call in calls):
        return None
    replies = [{"role": "tool", "tool_call_id": call["id"], "name": SEARCH_FUNCTION,
                "content": call["function"]["arguments"]} for call in calls]
    return [message, *replies]


def _answerable(call: Any) -> bool:
    """A ``$web_search`` call with the id and the arguments string its reply needs."""
    return (is_search_call(call) and isinstance(call.get("id"), str)
            and isinstance(call["function"].get("arguments"), str))
