"""Shared transport for probes that speak HTTP through httpx: one place that turns
httpx failures and HTTP error statuses into `ProbeError`s."""

from __future__ import annotations

from typing import Any

import httpx

from probes.base import ProbeError
from probes.errors import retry_after_seconds


def short(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters, for error reasons stored on observations."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_client(timeout: float, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    # trust_env=False: proxies come from base_url in config, not from stray environment variables
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), headers=headers or {}, trust_env=False,
                             follow_redirects=False)


async def post_json(client: httpx.AsyncClient, url: str, body: dict[str, Any], *,
                    headers: dict[str, str] | None = None) -> bytes:
    """POST a JSON body; return the response bytes on 2xx, raise ProbeError otherwise."""
    try:
        response = await client.post(url, json=body, headers=headers)
    except httpx.TimeoutException:
        raise ProbeError(f"timeout after {client.timeout.read:g}s", retryable=True) from None
    except httpx.TransportError as exc:
        raise ProbeError(f"connection failed: {short(str(exc) or type(exc).__name__)}", retryable=True) from None
    if response.status_code >= 400:
        status = response.status_code
        raise ProbeError(
            f"HTTP {status}: {short(response.text)}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    return response.content
