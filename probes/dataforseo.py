"""Engine kinds `dataforseo` and `dataforseo_ai_mode`: Google through DataForSEO's SERP API, over httpx.

- `dataforseo`: ``POST {base_url}/v3/serp/google/organic/live/advanced`` searches the keyword, as people
  type it into Google, with the AI Overview loaded and expanded (``load_async_ai_overview``,
  ``expand_ai_overview``).
- `dataforseo_ai_mode`: ``POST {base_url}/v3/serp/google/ai_mode/live/advanced`` asks the prompt (AI
  Mode being a conversation).

The body is a JSON list of one task: ``keyword``, ``location_name``, ``language_code``, ``device``.
DataForSEO needs a location: its names are Google's geotargets, "Berkeley,California,United States",
built from the locale's city, region and country name (a small table of country codes; a value the table
lacks is sent as written, so that a country given by name works and an unknown code fails loudly as
DataForSEO's "Invalid Field" rather than searching the wrong country). No country: "United States".
``language_code`` is the locale's language ("en" by default; Chinese as "zh-CN"/"zh-TW").

Authentication is HTTP basic: the key (`api_key_env`) holds "login:password", split at the first colon;
the header lives only in the client's default headers, and neither the pair, the password nor its
base64 form ever appears in an error reason.

Failures: HTTP errors (401 bad login, 402 no funds, 429, 5xx) raise ProbeError as every probe's do.
DataForSEO reports most failures inside an HTTP 200 (``status_code`` other than 20000): those bodies are
returned as they are, for the parser to record as an ERROR with their message and cost, except the ones
a retry can mend, which raise a retryable ProbeError: a rate limit (40202) and DataForSEO's internal
errors (5xxxx).

Network only: `probes.parsers.dataforseo` and `probes.parsers.dataforseo_ai_mode` read the bodies.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from citewatch.errors import ProbeError
from citewatch.raw import RawResult
from citewatch.secrets import redact
from citewatch.text import short
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.http import client_secrets, error_message, make_client, post_json
from probes.locations import COUNTRY_NAMES, chinese_region

DEFAULT_BASE_URL = "https://api.dataforseo.com"
ORGANIC_PATH = "/v3/serp/google/organic/live/advanced"
AI_MODE_PATH = "/v3/serp/google/ai_mode/live/advanced"
DEFAULT_COUNTRY = "United States"
DEFAULT_LANGUAGE = "en"
DEVICE = "desktop"

# In-band status codes (HTTP 200) a later try can mend: the rate limit, and DataForSEO's own errors.
RATE_LIMITED = 40202
_OK = 20000


def location_name(locale: Locale) -> str:
    """DataForSEO's `location_name`: "City,Region,Country" from the parts set (no spaces after commas,
    as DataForSEO writes them); the country defaults to the United States."""
    country = (locale.country or "").strip()
    name = COUNTRY_NAMES.get(country.lower(), country) or DEFAULT_COUNTRY
    parts = [part.strip() for part in (locale.city, locale.region) if part and part.strip()]
    return ",".join([*parts, name])


def language_code(locale: Locale) -> str:
    """DataForSEO's `language_code`: the language, lower case; Chinese with its script's region."""
    language = (locale.language or "").strip().replace("_", "-")
    if not language:
        return DEFAULT_LANGUAGE
    region = chinese_region(locale)
    if region:
        return f"zh-{region}"
    if "-" in language:  # DataForSEO's codes carry a region for Chinese only: "zh-cn" -> "zh-CN", "pt-br" -> "pt"
        head, _, tail = language.partition("-")
        return f"{head.lower()}-{tail.upper()}" if head.lower() == "zh" else head.lower()
    return language.lower()


def credentials(api_key: str | None) -> tuple[str, str] | None:
    """(login, password) of a "login:password" key, split at the first colon; None without a key."""
    if not api_key:
        return None
    login, _, password = api_key.partition(":")
    return login.strip(), password.strip()


class DataForSeoProbe:
    """Google results with the AI Overview (organic live advanced): searches the keyword."""

    path = ORGANIC_PATH
    overview_flags: ClassVar[dict[str, Any]] = {"load_async_ai_overview": True, "expand_ai_overview": True}

    def __init__(self, settings: ProbeSettings) -> None:
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + self.path
        headers = {"Accept": "application/json"}
        pair = credentials(settings.api_key)
        if pair is not None:
            token = base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode("ascii")
            # only here: `probes.http` masks the token, the pair and the password in every error reason
            headers["Authorization"] = f"Basic {token}"
        self._client = make_client(settings, headers)

    def query_of(self, request: ProbeRequest) -> str:
        return request.keyword

    def request_body(self, request: ProbeRequest) -> list[dict[str, Any]]:
        """The body sent: a list of one task (what the live endpoints take)."""
        task: dict[str, Any] = {
            "keyword": self.query_of(request),
            "location_name": location_name(request.locale),
            "language_code": language_code(request.locale),
            "device": DEVICE,
            **self.overview_flags,
        }
        return [task]

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await self._post(self.request_body(request)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, body: list[dict[str, Any]]) -> bytes:
        """POST the task list; the body on 2xx, else ProbeError (the basic credentials masked in every
        form), and in-band errors a retry can mend raised as retryable."""
        content = await post_json(self._client, self.url, body, error_text=_http_error_message)
        transient = _transient_failure(content)
        if transient is not None:
            raise ProbeError(short(redact(transient, client_secrets(self._client))), retryable=True)
        return content


class DataForSeoAiModeProbe(DataForSeoProbe):
    """Google AI Mode (ai_mode live advanced): asks the prompt."""

    path = AI_MODE_PATH
    overview_flags: ClassVar[dict[str, Any]] = {}

    def query_of(self, request: ProbeRequest) -> str:
        return request.prompt


def _http_error_message(text: str) -> str:
    """What an HTTP error body says: DataForSEO's envelope ("40100: You are not authorized…"), else what
    `probes.http.error_message` reads of it."""
    try:
        body = json.loads(text)
    except ValueError:
        return error_message(text)
    if isinstance(body, dict) and isinstance(body.get("status_message"), str) and body["status_message"].strip():
        code = body.get("status_code")
        message = body["status_message"].strip()
        return f"{message} ({code})" if isinstance(code, int) and not isinstance(code, bool) else message
    return error_message(text)


def _transient_failure(content: bytes) -> str | None:
    """The reason of an in-band failure a retry can mend (the envelope's or the first task's code), else
    None: other bodies, failing or not, are the parser's to read."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    tasks = body.get("tasks")
    envelopes = [body] + ([tasks[0]] if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict) else [])
    for envelope in envelopes:
        code = envelope.get("status_code")
        if isinstance(code, bool) or not isinstance(code, int) or code == _OK:
            continue
        if code == RATE_LIMITED or code >= 50000:
            message = envelope.get("status_message")
            return f"DataForSEO {code}: {message.strip() if isinstance(message, str) else 'error'}"
    return None
