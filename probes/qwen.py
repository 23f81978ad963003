"""Engine kind `qwen`: Qwen through DashScope's native generation API with web search, over httpx.

``POST {base_url}/api/v1/services/aigc/text-generation/generation`` with ``Authorization: Bearer <key>``
(the key is in that header only: never in the URL, the body or an error reason). The native endpoint is
the one that returns the search sources; the OpenAI-compatible one searches but lists none. Models that
take mixed input are served by ``/api/v1/services/aigc/multimodal-generation/generation`` instead, where a
message's content is a list of ``{"text": ...}`` parts; `uses_multimodal_endpoint` is the rule:

- Qwen-VL and QVQ models: a name containing ``-vl`` (``qwen-vl-max``, ``qwen3-vl-plus``) or starting
  with ``qvq``;
- omni models: a name containing ``-omni`` (``qwen-omni-turbo``, ``qwen3-omni-flash``);
- Qwen 3.5 and later, natively multimodal: ``qwen3.5-plus``, ``qwen3.6-plus``, ``qwen4-…``.

Everything else (``qwen-plus``, ``qwen-max``, ``qwen3-max``, ``qwq-plus`` ...) uses the text endpoint. The
model's name alone decides (there is no setting to override it): a model the rule misfiles is a fix to
`uses_multimodal_endpoint`.

The body asks for search, its sources and ``[ref_<n>]`` markers::

    {"model": ..., "input": {"messages": [{"role": "user", "content": <prompt>}]},
     "parameters": {"result_format": "message", "enable_search": true,
                    "search_options": {"enable_source": true, "enable_citation": true,
                                       "citation_format": "[ref_<number>]",
                                       "forced_search": <bool>, "search_strategy": <str>}}}

``forced_search`` (search even where the model would not; default True, since an answer from memory
cites nothing) and ``search_strategy`` (``"turbo"``, the default, or ``"max"``, which searches more
sources; the service also knows ``"agent"``) come from the engine config's ``search:`` block
(`ProbeSettings.search`: ``forced`` and ``strategy``), e.g. ``search: {forced: true, strategy: max}``;
an option left out (None) takes the default.

DashScope has no request field for the answer's language or the asker's country, so the keyword's
locale is not sent: the prompt's own language steers the answer.

Base URLs: `DEFAULT_BASE_URL` (China, Beijing) and `INTERNATIONAL_BASE_URL` (Singapore); a base_url
written as the SDKs write it, ending in ``/api/v1``, is taken as well.

Errors: DashScope answers a failure with HTTP 4xx/5xx and ``{"request_id", "code", "message"}``, which
`probes.http` turns into a ProbeError reading "HTTP 429: <message> (<code>)", retried on 429 and 5xx.
The content filter's HTTP 400 (code ``DataInspectionFailed``) is not a failure but the engine declining
to answer: its body is returned as the payload (`probes.http.post_json`'s ``answered``, with
`probes.parsers.qwen.is_refusal_error` as the rule), and the parser records the refusal.

Network only: returns the response body as sent; `probes.parsers.qwen` reads it.
"""

from __future__ import annotations

import re
from typing import Any

from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.http import bearer_client, post_json, refusal_on_client_error
from probes.parsers.qwen import is_refusal_error

DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com"  # China (Beijing)
INTERNATIONAL_BASE_URL = "https://dashscope-intl.aliyuncs.com"  # Singapore
DEFAULT_MODEL = "qwen-plus"
TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
CITATION_FORMAT = "[ref_<number>]"  # what `probes.parsers.qwen` reads (it reads the default "[<number>]" too)
DEFAULT_FORCED_SEARCH = True
DEFAULT_SEARCH_STRATEGY = "turbo"

# Qwen 3.5 and later ("qwen3.5-plus", "qwen3.6-plus", "qwen4-max"): the version after "qwen".
_VERSIONED = re.compile(r"qwen(\d+)(?:\.(\d+))?")
_FIRST_MULTIMODAL_VERSION = (3, 5)


def uses_multimodal_endpoint(model: str) -> bool:
    """Whether DashScope serves `model` on the multimodal endpoint (see the module's docstring)."""
    name = model.strip().lower()
    if "-vl" in name or "-omni" in name or name.startswith("qvq"):
        return True
    version = _VERSIONED.match(name)
    return version is not None and (int(version[1]), int(version[2] or 0)) >= _FIRST_MULTIMODAL_VERSION


def endpoint_url(base_url: str | None, multimodal: bool) -> str:
    """The generation URL under `base_url` (its root, or the SDKs' ``…/api/v1``)."""
    root = (base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/api/v1")
    return root + (MULTIMODAL_PATH if multimodal else TEXT_PATH)


# A 4xx whose body is the content filter's refusal is the engine's answer, not a failed call.
_ANSWERED = refusal_on_client_error(is_refusal_error)


class QwenProbe:
    def __init__(self, settings: ProbeSettings) -> None:
        forced, strategy = settings.search.forced, settings.search.strategy
        if forced is not None and not isinstance(forced, bool):
            raise ValueError(f"search.forced must be true or false, got {forced!r}")
        if strategy is not None and (not isinstance(strategy, str) or not strategy.strip()):
            raise ValueError(f"search.strategy must be a name such as 'turbo' or 'max', got {strategy!r}")
        self.model = settings.model or DEFAULT_MODEL
        self.forced_search = DEFAULT_FORCED_SEARCH if forced is None else forced
        self.search_strategy = DEFAULT_SEARCH_STRATEGY if strategy is None else strategy.strip()
        self.multimodal = uses_multimodal_endpoint(self.model)
        self.url = endpoint_url(settings.base_url, self.multimodal)
        self._client = bearer_client(settings)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        # The multimodal endpoint takes a message's content as parts only.
        content: str | list[dict[str, str]] = [{"text": request.prompt}] if self.multimodal else request.prompt
        return {
            "model": self.model,
            "input": {"messages": [{"role": "user", "content": content}]},
            "parameters": {
                "result_format": "message",
                "enable_search": True,
                "search_options": {
                    "enable_source": True,  # list the search results: the sources
                    "enable_citation": True,  # mark them in the text, so citations have spans
                    "citation_format": CITATION_FORMAT,
                    "forced_search": self.forced_search,
                    "search_strategy": self.search_strategy,
                },
            },
        }

    async def fetch(self, request: ProbeRequest) -> RawResult:
        return RawResult.single(await post_json(self._client, self.url, self.request_body(request),
                                                answered=_ANSWERED))

    async def aclose(self) -> None:
        await self._client.aclose()
