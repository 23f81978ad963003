"""Turning the openai SDK's failures into `ProbeError`s, for the probes that call through the SDK."""

from __future__ import annotations

import openai

from probes.base import ProbeError
from probes.errors import retry_after_seconds
from probes.http import redact, short

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
            redact(f"HTTP {status}: {short(exc.message)}", [secret or ""]),
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        )
    return ProbeError(redact(f"connection failed: {short(str(exc.__cause__ or exc))}", [secret or ""]),
                      retryable=True)
