"""How often and how fast an engine is called: rate limits, retries with backoff (budgets: monitor.budget)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from citewatch.errors import ProbeError
from citewatch.raw import RawResult
from probes.base import Probe, ProbeRequest

Sleep = Callable[[float], Awaitable[None]]
MAX_BACKOFF_S = 60.0


class RateLimiter:
    """Spaces request starts so that an engine never sees more than `per_minute` of them."""

    def __init__(self, per_minute: float | None) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Honour Retry-After; otherwise exponential backoff with jitter (0.5 s, 1 s, 2 s, ...)."""
    if retry_after is not None:
        return min(retry_after, MAX_BACKOFF_S)
    return min(0.5 * 2**attempt, MAX_BACKOFF_S) * random.uniform(0.8, 1.2)


async def fetch_with_retries(probe: Probe, request: ProbeRequest, retries: int, limiter: RateLimiter,
                             sleep: Sleep = asyncio.sleep) -> tuple[RawResult, int]:
    """One probe call with the engine's retry policy: (raw result, latency in ms of the attempt that
    answered). Raises the last ProbeError when retries run out."""
    attempt = 0
    while True:
        await limiter.wait()
        started = time.monotonic()
        try:
            raw = await probe.fetch(request)
            return raw, round((time.monotonic() - started) * 1000)
        except ProbeError as exc:
            too_long = exc.retry_after is not None and exc.retry_after > MAX_BACKOFF_S
            if not exc.retryable or attempt >= retries or too_long:
                if too_long:
                    exc.reason = f"{exc.reason} (Retry-After {exc.retry_after:g}s: longer than a run waits)"
                if attempt:
                    exc.reason = f"{exc.reason} (after {attempt + 1} attempts)"
                raise
            await sleep(backoff_seconds(attempt, exc.retry_after))
            attempt += 1
