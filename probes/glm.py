"""Engine kind `glm`: Zhipu's GLM chat completions with the `web_search` tool, over httpx.

``POST {base_url}/chat/completions`` (default https://open.bigmodel.cn/api/paas/v4; Z.ai's international
https://api.z.ai/api/paas/v4 takes the same requests) with ``Authorization: Bearer <key>``: the key lives
only in the client's default headers, never in the URL, the body or an error reason.

The body asks one user turn and the ``web_search`` tool with ``search_result: true``, so that the results
come back as the top-level ``web_search`` list the parser reads, on the search engine the engine config's
``search:`` block names (`ProbeSettings.search.engine`, e.g. ``search: {engine: search_pro}``): unset, it
is `DEFAULT_SEARCH_ENGINE`, Zhipu's basic engine and the cheapest; Zhipu also offers ``search_pro``,
``search_pro_sogou`` and ``search_pro_quark``, and bills each search besides the tokens. The tool takes
no location or language: the keyword's locale is not sent, and the prompt's own language steers the answer.

Default model `DEFAULT_MODEL`: GLM-4.6, the current generation Zhipu's guides move users to, with tool
calling. The search itself runs on Zhipu's side, and the older GLM-4 models (glm-4-plus, glm-4-air) take
the same tool: `model` in config picks another. GLM-4.5 and later think by default: their reasoning comes
apart from the answer (``reasoning_content``) and costs output tokens.

Errors come as HTTP statuses with ``{"error": {"code": "...", "message": "..."}}``; the reason reads
"HTTP 429: 1302: ...". Two codes are read here:

- 1301, on an HTTP 400: the prompt or the answer was judged unsafe. That is the engine declining to
  answer, not a failed call: its body is returned as the payload (`probes.http.post_json`'s ``answered``,
  with `probes.parsers.glm.is_refusal_error` as the rule), for the parser to record a refusal.
- 1113 (no balance) and the other account codes come on an HTTP 429 that waiting does not mend: they are
  not retried, unlike the rate limits (1302, 1303) sharing the status.

Network only: returns the response body as sent; `probes.parsers.glm` reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from citewatch.errors import ProbeError
from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import bearer_client, error_message, post_json, refusal_on_client_error
from probes.parsers.glm import error_label, is_refusal_error

DEFAULT_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
DEFAULT_MODEL = "glm-4.6"
DEFAULT_SEARCH_ENGINE = "search_std"
# The engines Zhipu documents for the tool; others (Z.ai's own) are passed on as given, for the API to judge.
SEARCH_ENGINES = ("search_std", "search_pro", "search_pro_sogou", "search_pro_quark")

# Business codes an HTTP 429 carries that a retry cannot mend: the account is inactive, missing or locked
# (1110-1112, 1121), or in arrears (1113).
ACCOUNT_CODES = frozenset({"1110", "1111", "1112", "1113", "1121"})
_REASON_CODE = re.compile(r"^HTTP \d{3}: (\d+):")
# A 4xx whose body is code 1301 is the engine's answer (a refusal), not a failed call.
_ANSWERED = refusal_on_client_error(is_refusal_error)


class GlmProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        engine = settings.search.engine
        if engine is not None and (not isinstance(engine, str) or not engine.strip()):
            raise ValueError(f"search.engine must be a name such as 'search_std' or 'search_pro', got {engine!r}")
        self.model = settings.model or DEFAULT_MODEL
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        self.search_engine = DEFAULT_SEARCH_ENGINE if engine is None else engine.strip()
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        search = {"enable": True, "search_engine": self.search_engine, "search_result": True}
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": request.prompt}],
            "tools": [{"type": "web_search", "web_search": search}],
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        try:
            body = await post_json(self._client, self.url, self.request_body(request), error_text=zhipu_error_text,
                                   answered=_ANSWERED)
        except ProbeError as error:
            if _needs_the_account_fixed(error):
                raise ProbeError(error.reason, retryable=False, status=error.status) from None
            raise
        return RawResult.single(body)

    async def aclose(self) -> None:
        await self._client.aclose()


def zhipu_error_text(text: str) -> str:
    """What an HTTP error body says: Zhipu's envelope as "code: message" (the code first, so that no
    shortening of a long message loses it), anything else as `probes.http.error_message` reads it."""
    error = _error_envelope(text)
    code = error_label(error) if error is not None else None
    if error is None or code is None:
        return error_message(text)
    message = error.get("message")
    return f"{code}: {message.strip()}" if isinstance(message, str) and message.strip() else code


def _error_envelope(body: str | bytes) -> dict[str, Any] | None:
    """The `error` object of a Zhipu error body ({"error": {"code": "1301", "message": ...}}), else None."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def _needs_the_account_fixed(error: ProbeError) -> bool:
    """A retryable error whose code says the account must be fixed first (waiting mends nothing)."""
    match = _REASON_CODE.match(error.reason)
    return error.retryable and match is not None and match.group(1) in ACCOUNT_CODES
