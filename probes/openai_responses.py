"""Engine kind `openai`: the OpenAI Responses API with the `web_search` tool, through the openai SDK.

Network only: returns the response body as sent; `probes.parsers.openai_responses` reads it.
"""

from __future__ import annotations

import openai
from openai import AsyncOpenAI

from probes.base import ProbeError, ProbeRequest, ProbeSettings
from probes.errors import retry_after_seconds
from probes.http import short

DEFAULT_MODEL = "gpt-5-mini"


class OpenAIResponsesProbe:
    kind = "openai"

    def __init__(self, settings: ProbeSettings) -> None:
        self.model = settings.model or DEFAULT_MODEL
        # Retries are the runner's job (one policy for every engine), so the SDK makes exactly one call.
        self._client = AsyncOpenAI(
            api_key=settings.api_key or "unset",
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=0,
        )
        self._timeout = settings.timeout

    def request_body(self, request: ProbeRequest) -> dict:
        tool: dict = {"type": "web_search"}
        location = {
            key: value
            for key, value in (
                ("country", request.locale.country.upper() if request.locale.country else None),
                ("city", request.locale.city),
                ("region", request.locale.region),
            )
            if value
        }
        if location:
            tool["user_location"] = {"type": "approximate", **location}
        return {
            "model": self.model,
            "input": request.prompt,
            "tools": [tool],
            # Ask for the pages the search looked at, so retrieved-but-not-cited sources are kept.
            "include": ["web_search_call.action.sources"],
        }

    async def fetch(self, request: ProbeRequest) -> bytes:
        try:
            body = self.request_body(request)
            # tools and include go as extra_body: sent as written, skipping the SDK's recursive
            # TypedDict transform, which cost more CPU than everything else in a probe
            response = await self._client.responses.with_raw_response.create(
                model=body.pop("model"), input=body.pop("input"), extra_body=body)
        except openai.APITimeoutError:
            raise ProbeError(f"timeout after {self._timeout:g}s", retryable=True) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            raise ProbeError(
                f"HTTP {status}: {short(exc.message)}",
                retryable=status == 429 or status >= 500,
                retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
            ) from None
        except openai.APIConnectionError as exc:
            raise ProbeError(f"connection failed: {short(str(exc.__cause__ or exc))}", retryable=True) from None
        return response.content

    async def aclose(self) -> None:
        await self._client.close()

