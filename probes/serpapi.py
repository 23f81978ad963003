"""Engine kinds `serpapi` and `serpapi_ai_mode`: Google through SerpApi, over httpx.

``GET {base_url}/search.json`` with the key as the ``api_key`` query parameter
(SerpApi takes it no other way), ``gl`` (the keyword's country, lower case),
``hl`` (its language) and ``location``: SerpApi's canonical location string,
"Austin, Texas, United States", built from the locale's city, region and
country name. A locale with only a country sends no ``location`` (``gl`` is
enough, and a bare country name would be geolocated to its most popular city).

- `serpapi` (``engine=google``) searches the keyword, as people type it into
  Google. When Google loads the AI Overview separately, the first answer holds
  ``ai_overview.page_token``, which expires within minutes: the probe fetches
  it at once (``engine=google_ai_overview&page_token=...``) and returns both
  bodies, as the parts ``response`` and ``ai_overview``.
- `serpapi_ai_mode` (``engine=google_ai_mode``) asks the prompt, AI Mode being
  a conversation; one request, one part.

Failures: SerpApi answers an invalid key (401) and an exhausted account (429)
with ``{"error": "..."}``; an exhausted account is not retried (the next try
would fail the same way), a rate limit is. The key never appears in a reason.

Network only: `probes.parsers.serpapi` and `probes.parsers.serpapi_ai_mode` read the bodies.
"""

from __future__ import annotations

import json
from typing import Any

from citewatch.errors import ProbeError
from citewatch.raw import JSON, RESPONSE, RawPart, RawResult
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.http import get_json, make_client
from probes.locations import COUNTRY_NAMES, chinese_region

DEFAULT_BASE_URL = "https://serpapi.com"
OVERVIEW_PART = "ai_overview"  # the name of the deferred overview's part

# Messages of failures a retry cannot mend, whatever their HTTP status (SerpApi sends 429 for both kinds).
_FINAL_ERRORS = ("run out of searches", "invalid api key")


def location_of(locale: Locale) -> str | None:
    """SerpApi's `location`: "City, Region, Country" from the parts set; None for a country alone (or
    nothing), where `gl` says it all."""
    country = (locale.country or "").strip().lower()
    if not (locale.city or locale.region):
        return None
    parts = [part.strip() for part in (locale.city, locale.region) if part and part.strip()]
    name = COUNTRY_NAMES.get(country)
    if name:
        parts.append(name)
    return ", ".join(parts) or None


def language_of(locale: Locale) -> str | None:
    """SerpApi's `hl`: the language, lower case; Chinese with its script's region (zh-cn, zh-tw)."""
    if not locale.language:
        return None
    region = chinese_region(locale)
    if region:
        return f"zh-{region.lower()}"
    return locale.language.strip().lower().replace("_", "-") or None


def search_params(engine: str, query: str, locale: Locale) -> dict[str, str]:
    """The query parameters of one search, without the key."""
    params = {"engine": engine, "q": query}
    if locale.country and locale.country.strip():
        params["gl"] = locale.country.strip().lower()
    language = language_of(locale)
    if language:
        params["hl"] = language
    location = location_of(locale)
    if location:
        params["location"] = location
    return params


class SerpApiProbe:
    """Google results (engine=google), with a deferred AI Overview fetched at once."""

    engine = "google"

    def __init__(self, settings: ProbeSettings) -> None:
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/search.json"
        self._api_key = settings.api_key
        self._client = make_client(settings, {"Accept": "application/json"})

    def query_of(self, request: ProbeRequest) -> str:
        return request.keyword  # what people type into Google

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        return search_params(self.engine, self.query_of(request), request.locale)

    async def fetch(self, request: ProbeRequest) -> RawResult:
        first = await self._get(self.request_body(request))
        token = _page_token(first)
        if token is None:
            return RawResult.single(first)
        overview = await self._get({"engine": "google_ai_overview", "page_token": token})
        return RawResult((RawPart(RESPONSE, first, JSON), RawPart(OVERVIEW_PART, overview, JSON)))

    async def _get(self, params: dict[str, str]) -> bytes:
        keyed = {**params, "api_key": self._api_key} if self._api_key else params
        try:
            return await get_json(self._client, self.url, keyed, secrets=(self._api_key,))
        except ProbeError as error:
            if error.retryable and any(words in error.reason.lower() for words in _FINAL_ERRORS):
                raise ProbeError(error.reason, retryable=False, status=error.status) from None
            raise

    async def aclose(self) -> None:
        await self._client.aclose()


class SerpApiAiModeProbe(SerpApiProbe):
    """Google AI Mode (engine=google_ai_mode): one request, the answer at the top level."""

    engine = "google_ai_mode"

    def query_of(self, request: ProbeRequest) -> str:
        return request.prompt  # AI Mode is asked questions

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await self._get(self.request_body(request)))


def _page_token(body: bytes) -> str | None:
    """The token of an AI Overview that Google loads separately, when the first answer has one and no
    overview text of its own."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):  # garbage, or nesting too deep to decode
        return None  # the parser reports it
    overview = decoded.get("ai_overview") if isinstance(decoded, dict) else None
    if not isinstance(overview, dict) or overview.get("text_blocks"):
        return None
    token = overview.get("page_token")
    return token.strip() if isinstance(token, str) and token.strip() else None
