"""Engine kind `anthropic`: the Anthropic Messages API with the `web_search` server tool, over httpx.

Network only: ``fetch`` returns the response bodies as sent; `probes.parsers.anthropic` reads them.

``POST {base_url}/v1/messages`` with headers ``x-api-key`` and
``anthropic-version``; the body asks for one user turn and the web search
server tool (with an approximate ``user_location`` where the keyword's locale
names a country), of the version `DEFAULT_SEARCH_TOOL` unless the engine's
``search: {tool: ...}`` names another (a newer Anthropic version, or what a
compatible service takes: DeepSeek serves the same Messages API and tool at
``https://api.deepseek.com/anthropic``).

``stop_reason: "pause_turn"``: the service stopped a long server-tool turn
half-way. The probe continues it by sending the same request with the
returned content appended as an assistant message, at most
`MAX_CONTINUATIONS` times. The raw result then holds every response body
verbatim, in order: the part `response`, then `continuation-1`, ... A turn
that was never paused is the one part `response`.
"""

from __future__ import annotations

import json
from typing import Any

from citewatch.errors import ProbeError
from citewatch.raw import RESPONSE, RawPart, RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import make_client, post_json

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MODEL = "claude-sonnet-4-5"
ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS = 2048
MAX_SEARCHES = 5
DEFAULT_SEARCH_TOOL = "web_search_20250305"
# Follow-up requests allowed after a `pause_turn` (so at most 1 + 3 requests per fetch).
MAX_CONTINUATIONS = 3


class AnthropicProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/v1/messages"
        self.search_tool = settings.search.tool or DEFAULT_SEARCH_TOOL
        headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
        if settings.api_key:
            headers["x-api-key"] = settings.api_key
        # The key lives only in the client's default headers: never in the URL, bodies or error reasons.
        self._client = make_client(settings, headers)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        tool: dict[str, Any] = {"type": self.search_tool, "name": "web_search", "max_uses": MAX_SEARCHES}
        if request.locale.country:
            # The API only takes a location with a country; city and region refine it.
            tool["user_location"] = {"type": "approximate", **request.locale.approximate_location()}
        return {
            "model": self.model,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": request.prompt}],
            "tools": [tool],
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        body = self.request_body(request)
        raw = await post_json(self._client, self.url, body)
        bodies = [raw]
        assistant_content: list[Any] = []
        content = _paused_content(raw)
        while content is not None and len(bodies) <= MAX_CONTINUATIONS:
            # Send the turn back as it came: the service resumes where it paused.
            assistant_content = assistant_content + content
            follow_up = dict(body, messages=[body["messages"][0], {"role": "assistant", "content": assistant_content}])
            try:
                raw = await post_json(self._client, self.url, follow_up)
            except ProbeError as exc:
                exc.reason = f"{exc.reason} (continuing a paused turn, request {len(bodies) + 1})"
                raise
            bodies.append(raw)
            content = _paused_content(raw)
        names = [RESPONSE, *(f"continuation-{n}" for n in range(1, len(bodies)))]
        return RawResult(tuple(RawPart(name, body) for name, body in zip(names, bodies, strict=True)))

    async def aclose(self) -> None:
        await self._client.aclose()


def _paused_content(raw: bytes) -> list[Any] | None:
    """The content blocks of a body that stopped with `pause_turn`; None for any other body."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not ours to judge: the parser reports garbage
    if not isinstance(body, dict) or body.get("stop_reason") != "pause_turn":
        return None
    content = body.get("content")
    return content if isinstance(content, list) else None
