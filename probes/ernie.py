"""Engine kind `ernie`: Baidu Qianfan AI Search ("智能搜索生成"), ERNIE answering over Baidu search, over httpx.

``POST {base_url}/ai_search/chat/completions`` (default base_url
``https://qianfan.baidubce.com/v2``) with ``Authorization: Bearer <key>``. The
body asks for a whole (non-streaming) answer from the v2 search source with
corner markers, which tie the answer's sentences to its references. `model` is
required by the API. The API takes no location or answer language: the
prompt's own language steers it, and Baidu searches from China.

Errors: an HTTP 4xx/5xx is a ProbeError ("HTTP 429: <message> (<type or code>)",
retried on 429 and 5xx), except a refusal: an error body whose code or type says the
safety layer declined (``{"error": {"type": "unsafe_request", ...}}``, or an
AppBuilder ``{"code", "message"}`` saying unsafe or sensitive) is the engine's
answer, not a failed call, and is returned as the payload whatever 4xx it came
with (`probes.http.post_json`'s ``answered``, with
`probes.parsers.ernie.is_refusal_error` as the rule); the parser records the refusal.

Network only: returns the response body as sent (errors Baidu reports with
HTTP 200 included); `probes.parsers.ernie` reads it.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json, refusal_on_client_error
from probes.parsers.ernie import is_refusal_error

DEFAULT_BASE_URL = "https://qianfan.baidubce.com/v2"
# Baidu's own model, first in the AI Search model list; the 32k context holds the search results it is given.
DEFAULT_MODEL = "ernie-4.5-turbo-32k"
SEARCH_SOURCE = "baidu_search_v2"  # v1 is the API's default only for compatibility; the docs advise v2

# A 4xx whose body is the safety layer's refusal is the engine's answer, not a failed call.
_ANSWERED = refusal_on_client_error(is_refusal_error)


class ErnieProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/ai_search/chat/completions"
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        return {
            "messages": [{"role": "user", "content": request.prompt}],
            "model": self.model,
            "search_source": SEARCH_SOURCE,
            "enable_corner_markers": True,
            "stream": False,  # the parser reads one whole JSON body, never server-sent events
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request),
                                                answered=_ANSWERED))

    async def aclose(self) -> None:
        await self._client.aclose()
