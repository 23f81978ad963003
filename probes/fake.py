"""A probe that answers from a script instead of the network, for pipeline tests that need no HTTP server.

    probe = FakeProbe(payload_bytes, ProbeError("HTTP 500: boom", retryable=True), payload_bytes)

Each `fetch` takes the next outcome: a raw result is returned (bytes as a one-part one), an exception is raised, and a
callable (or coroutine function) is called with the request and what it returns used the same way. The
last outcome repeats once the script runs out. The requests it saw are kept in `requests`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable
from typing import Union

from citewatch.raw import RawResult, as_result
from probes.base import ProbeRequest

Outcome = Union[bytes, RawResult, BaseException,
                Callable[[ProbeRequest], "bytes | RawResult | Awaitable[bytes | RawResult]"]]


class FakeProbe:
    url = "fake://probe"

    def __init__(self, *outcomes: Outcome) -> None:
        if not outcomes:
            raise ValueError("FakeProbe needs at least one outcome: a payload, an error or a callable")
        self._outcomes = list(outcomes)
        self.requests: list[ProbeRequest] = []
        self.closed = False

    def request_body(self, request: ProbeRequest) -> dict[str, str]:
        return {"prompt": request.prompt}

    async def fetch(self, request: ProbeRequest) -> RawResult:
        self.requests.append(request)
        outcome = self._outcomes.pop(0) if len(self._outcomes) > 1 else self._outcomes[0]
        if callable(outcome) and not isinstance(outcome, BaseException):
            outcome = outcome(request)
            if inspect.isawaitable(outcome):
                outcome = await outcome
        if isinstance(outcome, BaseException):
            raise copy.copy(outcome)  # a fresh one each time: the runner adds to a ProbeError's reason
        return as_result(outcome)

    async def aclose(self) -> None:
        self.closed = True
