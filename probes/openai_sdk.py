"""What the probes that call through the openai SDK share: how the client is made, and how its
failures become `ProbeError`s."""

from __future__ import annotations

import openai
from openai import AsyncOpenAI

from citewatch.errors import ProbeError
from citewatch.text import short
from probes.base import ProbeSettings
from probes.http import error_message, redact
from probes.retry_after import retry_after_seconds


def make_client(settings: ProbeSettings, base_url: str | None) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key=settings.api_key or "unset",  # servers without auth (Ollama, vLLM) ignore it
        base_url=base_url,
        timeout=settings.timeout,
        # Retries are the runner's job (one policy for every engine), so the SDK makes exactly one call.
        max_retries=0,
        # trust_env=False: proxies come from base_url in config, never from stray environment variables,
        # which would otherwise carry the Authorization header through them
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False, timeout=settings.timeout),
    )


async def post_json(client: AsyncOpenAI, path: str, body: dict) -> bytes:
    """POST `body` as written under the client's base_url and return the response body as sent.

    The SDK's typed methods (`responses.create` ...) first walk the parameters through a recursive
    TypedDict transform that cost more CPU than everything else in a probe; the bodies here are
    already in wire form, so the SDK's documented raw `post` sends them unchanged. Auth, timeouts and
    the SDK's error types are the same."""
    return await client.post(path, cast_to=bytes, body=body)


# What a call through the SDK raises when it gets no usable response (APITimeoutError is an APIConnectionError).
SDK_ERRORS = (openai.APIStatusError, openai.APIConnectionError)


def probe_error(exc: openai.APIStatusError | openai.APIConnectionError, timeout: float,
                secret: str | None = None) -> ProbeError:
    """The ProbeError for one of `SDK_ERRORS`; `secret`, where given, is masked in the reason."""
    if isinstance(exc, openai.APITimeoutError):
        return ProbeError(f"timeout after {timeout:g}s", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        return ProbeError(
            # the body's own message, as for every probe (masked before shortened)
            f"HTTP {status}: {short(redact(error_message(exc.response.text) or exc.message, [secret]))}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        )
    return ProbeError(f"connection failed: {short(redact(str(exc.__cause__ or exc), [secret]))}",
                      retryable=True)
