"""Engine kind `openai`: the OpenAI Responses API with the `web_search` tool, through the openai SDK.

Network only: returns the response body as sent; `probes.parsers.openai_responses` reads it.
"""

from __future__ import annotations

from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.openai_sdk import SDK_ERRORS, make_client, post_json, probe_error

DEFAULT_MODEL = "gpt-5-mini"
PATH = "/responses"


class OpenAIResponsesProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self._client = make_client(settings, settings.base_url)
        self.url = f"{str(self._client.base_url).rstrip('/')}{PATH}"
        self._timeout = settings.timeout
        self._secret = settings.api_key

    def request_body(self, request: ProbeRequest) -> dict:
        tool: dict = {"type": "web_search"}
        location = request.locale.approximate_location()
        if location:
            tool["user_location"] = {"type": "approximate", **location}
        return {
            "model": self.model,
            "input": request.prompt,
            "tools": [tool],
            # Ask for the pages the search looked at, so retrieved-but-not-cited sources are kept.
            "include": ["web_search_call.action.sources"],
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        try:
            return RawResult.single(await post_json(self._client, PATH, self.request_body(request)))
        except SDK_ERRORS as exc:
            raise probe_error(exc, self._timeout, self._secret) from None

    async def aclose(self) -> None:
        await self._client.close()

