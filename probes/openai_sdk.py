"""What the probes that call through the openai SDK share: how the client is made, and how its
failures become `ProbeError`s."""

from __future__ import annotations

import sys

import openai
from openai import AsyncOpenAI

from citewatch.errors import ProbeError
from citewatch.secrets import redact
from citewatch.text import short
from probes.base import ProbeSettings
from probes.bounded import ResponseRefused, bounded_transport
from probes.http import error_message, redirect_error, refused_error
from probes.retry_after import retry_after_seconds

# The SDK's HTTP stack: httpx up to openai 2, httpx2 (the same API) since 3. Its transport is wrapped.
_SDK_HTTP = sys.modules[openai.DefaultAsyncHttpxClient.__mro__[1].__module__.partition(".")[0]]
# The SDK's own connection pool size (its default client's), which a custom transport would not get.
_POOL = _SDK_HTTP.Limits(max_connections=1000, max_keepalive_connections=100)


def make_client(settings: ProbeSettings, base_url: str | None) -> AsyncOpenAI:
    http_client = openai.DefaultAsyncHttpxClient(
        timeout=settings.timeout,
        # every request bounded in time and size (probes.bounded), as for the httpx probes
        transport=bounded_transport(_SDK_HTTP, settings.timeout, settings.max_response_bytes, limits=_POOL),
        # a redirect would re-send the prompt and the Authorization header to another origin
        follow_redirects=False,
        # trust_env=False: proxies come from base_url in config, never from stray environment variables,
        # which would otherwise carry the Authorization header through them
        trust_env=False,
    )
    return AsyncOpenAI(
        api_key=settings.api_key or "unset",  # servers without auth (Ollama, vLLM) ignore it
        base_url=base_url,
        timeout=settings.timeout,
        # Retries are the runner's job (one policy for every engine), so the SDK makes exactly one call.
        max_retries=0,
        http_client=http_client,
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
    if isinstance(exc.__cause__, ResponseRefused):
        return refused_error(exc.__cause__)
    if isinstance(exc, openai.APITimeoutError):
        return ProbeError(f"timeout after {timeout:g}s", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if 300 <= status < 400:
            return redirect_error(status, exc.response.headers.get("location"))
        return ProbeError(
            # the body's own message, as for every probe (masked before shortened)
            f"HTTP {status}: {short(redact(error_message(exc.response.text) or exc.message, [secret]))}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        )
    return ProbeError(f"connection failed: {short(redact(str(exc.__cause__ or exc), [secret]))}",
                      retryable=True)
