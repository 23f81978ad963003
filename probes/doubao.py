"""Engine kind `doubao`: Doubao (豆包) through Volcengine Ark's Responses API with the ``web_search`` tool, over
httpx.

``POST {base_url}/api/v3/responses`` (default `DEFAULT_BASE_URL`, Ark in cn-beijing; a base_url written as
the SDKs write it, ending in ``/api/v3``, is taken as well) with ``Authorization: Bearer <ARK_API_KEY>``: the
key lives only in the client's default headers, never in the URL, the body or an error reason. The body::

    {"model": ..., "input": [{"role": "user", "content": <prompt>}],
     "tools": [{"type": "web_search", "limit": 10,
                "user_location": {"type": "approximate", "country": ..., "region": ..., "city": ...}}]}

The model decides whether to search (Ark has no "always search" switch); ``limit`` is the results one
search returns (Ark's default, 10, pinned so a changed default does not change what is measured). The
account needs Ark's "联网内容插件" (web content plugin) enabled, billed per query searched.

Default model `DEFAULT_MODEL`, ``doubao-seed-1-6-250615``: the model every example of Ark's web search guide
("联网搜索 Web Search") and of its SDKs' web search samples calls, so the one known to take the tool. Later
versions (``doubao-seed-1-6-251015``, ``doubao-seed-1-8-251228``, the 2.x models) are set with ``model:``
where the account has them and Ark's model list (docs/82379/1330310) gives them the tool; an endpoint id
(``ep-...``) is taken the same way.

``user_location`` comes from the keyword's locale: only the fields it has (at least one, or no
``user_location`` at all, since Ark refuses a location that is only a type). Ark's guide writes the place
in Chinese (``"country": "中国", "region": "浙江", "city": "杭州"``): the country code ``cn`` is sent as 中国,
any other country as its upper-case ISO code; region and city are sent as the keyword's locale spells them
(write them in Chinese for a Chinese search). Ark takes no language: the prompt's own language steers the
answer.

Errors: Ark answers a failure with HTTP 4xx/5xx and ``{"error": {"code", "message", "param", "type"}}``,
which `probes.http` turns into a ProbeError reading "HTTP 429: <message> (<type>)", retried on 429 and 5xx.
The content filter's HTTP 400 (``SensitiveContentDetected``, ``InputTextSensitiveContentDetected`` ...) is
not a failure but the engine declining to answer: its body is returned as the payload
(`probes.http.post_json`'s ``answered``, with `probes.parsers.doubao.is_refusal_error` as the rule), and the
parser records the refusal.

Network only: returns the response body as sent; `probes.parsers.doubao` reads it.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import RawResult
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json, refusal_on_client_error
from probes.parsers.doubao import is_refusal_error

DEFAULT_BASE_URL = "https://ark.cn-beijing.volces.com"
DEFAULT_MODEL = "doubao-seed-1-6-250615"
PATH = "/api/v3/responses"
SEARCH_LIMIT = 10  # results per search, Ark's default (range 1-50)

# Country names as Ark's guide writes them; any other country goes as its ISO code.
COUNTRY_NAMES = {"cn": "中国"}


def endpoint_url(base_url: str | None) -> str:
    """The Responses URL under `base_url` (its root, or the SDKs' ``…/api/v3``)."""
    root = (base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/api/v3")
    return root + PATH


def user_location(locale: Locale) -> dict[str, str] | None:
    """Ark's ``user_location`` for a locale: the fields it has, or None when it has none."""
    location = locale.approximate_location()
    if not location:
        return None
    country = (locale.country or "").strip().lower()
    if country in COUNTRY_NAMES:
        location["country"] = COUNTRY_NAMES[country]
    return {"type": "approximate", **location}


# A 4xx whose body is the content filter's refusal is the engine's answer, not a failed call.
_ANSWERED = refusal_on_client_error(is_refusal_error)


class DoubaoProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = endpoint_url(settings.base_url)
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        tool: dict[str, Any] = {"type": "web_search", "limit": SEARCH_LIMIT}
        location = user_location(request.locale)
        if location is not None:
            tool["user_location"] = location
        return {"model": self.model, "input": [{"role": "user", "content": request.prompt}], "tools": [tool]}

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request),
                                                answered=_ANSWERED))

    async def aclose(self) -> None:
        await self._client.aclose()
