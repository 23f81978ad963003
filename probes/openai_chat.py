"""Engine kinds `openai_chat` and `openai_compatible`: Chat Completions through the openai SDK.

- `openai_chat`: OpenAI's search models (``gpt-4o-search-preview`` ...), with
  ``web_search_options`` carrying the asker's approximate location.
- `openai_compatible`: any OpenAI-compatible chat endpoint (DeepSeek, Qwen,
  Kimi, Ollama, vLLM, OpenRouter ...); ``base_url`` and ``model`` are required,
  the API key is optional (local servers need none).

Network only: returns the response body as sent; `probes.parsers.openai_chat` reads it.
"""

from __future__ import annotations

from typing import Any

from citewatch.errors import ConfigError
from citewatch.raw import RawResult
from probes.base import ProbeRequest, ProbeSettings
from probes.openai_sdk import SDK_ERRORS, make_client, post_json, probe_error

DEFAULT_CHAT_MODEL = "gpt-4o-search-preview"
DEFAULT_CHAT_BASE_URL = "https://api.openai.com/v1"
PATH = "/chat/completions"


class _ChatCompletionsProbe:
    def __init__(self, settings: ProbeSettings, model: str, base_url: str) -> None:
        self.model = model
        self.url = f"{base_url.rstrip('/')}{PATH}"
        # Retries are the runner's job (one policy for every engine), so the SDK makes exactly one call.
        self._client = make_client(settings, base_url)
        self._timeout = settings.timeout
        # Some compatible servers echo the bearer token in their error text: it is masked in error reasons.
        self._secret = settings.api_key

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        return {"model": self.model, "messages": [{"role": "user", "content": request.prompt}]}

    async def fetch(self, request: ProbeRequest) -> RawResult:
        try:
            return RawResult.single(await post_json(self._client, PATH, self.request_body(request)))
        except SDK_ERRORS as exc:
            raise probe_error(exc, self._timeout, self._secret) from None

    async def aclose(self) -> None:
        await self._client.close()


class OpenAIChatProbe(_ChatCompletionsProbe):
    """OpenAI's search models through Chat Completions (``web_search_options``)."""

    def __init__(self, settings: ProbeSettings) -> None:
        super().__init__(settings, settings.model or DEFAULT_CHAT_MODEL, settings.base_url or DEFAULT_CHAT_BASE_URL)

    def request_body(self, request: ProbeRequest) -> dict[str, Any]:
        options: dict[str, Any] = {}
        location = request.locale.approximate_location()
        if location:
            options["user_location"] = {"type": "approximate", "approximate": location}
        # {} asks for the default search with no location hint.
        return {**super().request_body(request), "web_search_options": options}


class OpenAICompatibleProbe(_ChatCompletionsProbe):
    """Any OpenAI-compatible Chat Completions endpoint; no search options are sent."""

    def __init__(self, settings: ProbeSettings) -> None:
        from probes.registry import (
            KINDS,  # the kind's requirements are declared once, there
        )

        problems = KINDS["openai_compatible"].requirement_problems(settings.base_url, settings.model)
        if problems or not settings.base_url or not settings.model:
            raise ConfigError("cannot probe an OpenAI-compatible endpoint", problems)
        super().__init__(settings, settings.model, settings.base_url)
