"""Engine kind `perplexity_agent`: the Perplexity Agent API, over httpx.

``POST {base_url}/v1/agent`` with ``Authorization: Bearer <key>``: the API that
replaced Sonar chat completions. ``model`` is a provider-prefixed model
(default ``perplexity/sonar``) or a preset name (``fast``, ``low``, ``medium``,
``high``, ``xhigh``, or their older names ``pro-search`` ...), sent as
``preset``. The ``web_search`` tool is offered on every call, carrying the
keyword's country, region and city; the API is strict, so nothing else is sent.

Network only: returns the response body as sent; `probes.parsers.perplexity_agent` reads it.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json
from probes.perplexity import DEFAULT_BASE_URL, user_location

DEFAULT_MODEL = "perplexity/sonar"
PRESETS = frozenset({"fast", "low", "medium", "high", "xhigh",
                     "fast-search", "pro-search", "deep-research", "advanced-deep-research"})


class PerplexityAgentProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/v1/agent"
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        search: dict[str, Any] = {"type": "web_search"}
        location = user_location(request.locale)
        if location:
            search["user_location"] = location
        # a preset bundles its own tools; a web_search listed here replaces only the preset's web_search
        chooser = "preset" if self.model in PRESETS else "model"
        return {chooser: self.model, "input": request.prompt, "tools": [search]}

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request)))

    async def aclose(self) -> None:
        await self._client.aclose()
