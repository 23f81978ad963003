"""Engine kind `perplexity`: the Perplexity Sonar chat completions API, over httpx.

``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``; the
keyword's country goes to ``web_search_options.user_location`` (ISO 3166-1
alpha-2, upper case; city and region ride along when a country is set, since
the API takes them only beside a country). Sonar has no request field for the
answer language: the prompt's own language steers it.

Network only: returns the response body as sent; `probes.parsers.perplexity` reads it.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import RawResult
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json

DEFAULT_BASE_URL = "https://api.perplexity.ai"
DEFAULT_MODEL = "sonar"


def user_location(locale: Locale) -> dict[str, str] | None:
    """Perplexity's user_location: the country (ISO 3166-1 alpha-2, upper case), with region and city
    only beside a country, which is how the API takes them."""
    if not locale.country:
        return None
    location = {"country": locale.country.strip().upper()}
    if locale.region:
        location["region"] = locale.region
    if locale.city:
        location["city"] = locale.city
    return location


class PerplexityProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        location = user_location(request.locale)
        if location:
            body["web_search_options"] = {"user_location": location}
        return body

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request)))

    async def aclose(self) -> None:
        await self._client.aclose()
