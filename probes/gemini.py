"""Engine kind `gemini`: Gemini generateContent with the `google_search` tool, over httpx.

POST {base_url}/models/{model}:generateContent with the API key in the
`x-goog-api-key` header (never in the URL, so it cannot reach logs or error
text). The same path works on Vertex AI (base_url
.../v1/projects/P/locations/L/publishers/google, key of express mode).

Network only: returns the response body as sent; `probes.parsers.gemini` reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx

from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import make_client, post_json

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
DEFAULT_MODEL = "gemini-2.5-flash"
API_KEY_HEADER = "x-goog-api-key"

# google.rpc.RetryInfo.retryDelay is a protobuf Duration: "31s", "45.837906927s".
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class GeminiProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        model = settings.model or DEFAULT_MODEL
        self.model = model.removeprefix("models/")  # "models/gemini-2.5-flash" is the API's own spelling
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        headers = {API_KEY_HEADER: settings.api_key} if settings.api_key else {}
        self._client = make_client(settings, headers)
        self._client.event_hooks["response"].append(_retry_after_from_body)

    @property
    def url(self) -> str:
        return f"{self.base_url}/models/{quote(self.model, safe='')}:generateContent"

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "tools": [{"google_search": {}}],
        }
        # The only locale the API takes is a language for retrieval (BCP 47); it has no country
        # or city field, and latLng needs coordinates the keyword's locale does not carry.
        language = request.locale.language
        if language:
            country = request.locale.country
            code = f"{language.lower()}-{country.upper()}" if country and "-" not in language else language
            body["toolConfig"] = {"retrievalConfig": {"languageCode": code}}
        return body

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request)))

    async def aclose(self) -> None:
        await self._client.aclose()


async def _retry_after_from_body(response: httpx.Response) -> None:
    """Gemini answers 429 with no Retry-After header; the wait is in the body's google.rpc.RetryInfo.

    Copy it into the header so that `post_json` (the one place that translates HTTP failures)
    reports it as ProbeError.retry_after.
    """
    if response.status_code != 429 or "retry-after" in response.headers:
        return
    await response.aread()
    delay = retry_delay_seconds(response.content)
    if delay is not None:
        response.headers["Retry-After"] = f"{delay:g}"


def retry_delay_seconds(body: bytes) -> float | None:
    """The RetryInfo delay of a Google API error body, in seconds, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list) and data:  # streaming endpoints wrap the error in a list
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None
