"""Every kind's probe against an engine that misbehaves on purpose (tests/hostile_server.py): a body that
never ends, a byte at a time, a gzip bomb and a redirect all end as a failed probe with its reason, in
bounded time and memory; a redirect is never followed."""

from __future__ import annotations

import json
import resource
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from citewatch.errors import ProbeError
from probes import registry
from probes.base import ProbeRequest, ProbeSettings
from probes.simulator import Simulator
from probes.simulator.formats import FORMATS
from tests.hostile_server import COMPRESSIONS, HostileServer

KEY = "sk-bounds-0123456789abcdef"
# every kind whose probe speaks HTTP itself (a browser has bounds of its own: test_google_browser_probe)
KINDS = [kind for kind in sorted(FORMATS) if not registry.KINDS[kind].browser]
MAX_BYTES = 1024 * 1024


def probe_for(kind: str, base_url: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    settings = ProbeSettings(model="m", base_url=base_url, api_key=KEY, timeout=timeout, max_response_bytes=MAX_BYTES)
    return registry.kind(kind).make_probe(settings)


async def fetch_failure(kind: str, server: HostileServer, prompt: str, timeout: float = 5.0) -> ProbeError:
    probe = probe_for(kind, server.base_url_for(kind), timeout)
    try:
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(ProbeRequest(keyword=prompt, prompt=prompt))
    finally:
        await probe.aclose()
    return caught.value


def test_every_kind_with_a_wire_format_is_covered() -> None:
    assert set(KINDS) >= {"openai", "openai_chat", "openai_compatible", "perplexity", "perplexity_agent", "gemini",
                          "anthropic"}


@pytest.mark.parametrize("kind", KINDS)
async def test_an_endless_body_is_cut_at_the_size_limit(kind: str) -> None:
    with HostileServer(KEY) as server:
        error = await fetch_failure(kind, server, "endless answer please")
    assert error.reason == "response larger than 1 MB (max_response_mb)"
    assert not error.retryable  # the next answer would be as large
    # the server got to send a little more than the limit, not gigabytes
    assert server.endless_bytes_sent < 64 * MAX_BYTES


@pytest.mark.parametrize("kind", KINDS)
async def test_a_gzip_bomb_is_cut_at_the_size_limit_after_inflating(kind: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with HostileServer(KEY, bomb_mb=256) as server:
        error = await fetch_failure(kind, server, "bomb answer please")
    assert error.reason == "response larger than 1 MB (max_response_mb)"
    # 256 MB inflated would show in the peak; the limit keeps it to about a megabyte
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 128 * 1024


@pytest.mark.parametrize("kind", KINDS)
async def test_a_trickled_answer_stops_at_the_timeout(kind: str) -> None:
    started = time.monotonic()
    with HostileServer(KEY, trickle_gap=0.2) as server:
        # each byte arrives well within the timeout, so only a deadline on the whole response stops this
        error = await fetch_failure(kind, server, "trickle answer please", timeout=1.0)
    assert error.reason == "timeout after 1s" and error.retryable
    # the answer is thousands of bytes at 5 a second: without a deadline this takes many minutes
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("kind", KINDS)
async def test_a_redirect_is_a_failure_and_never_followed(kind: str) -> None:
    with Simulator() as elsewhere:
        target = elsewhere.base_url_for(kind)
        with HostileServer(KEY, redirect_to=target) as server:
            error = await fetch_failure(kind, server, "redirect answer please")
        assert elsewhere.requests == []  # the prompt (and the key) never reached the other origin
    assert error.reason.startswith(f"HTTP 307: redirected to {target}")
    assert "redirects are not followed" in error.reason and not error.retryable


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prompt", ["ball valve", *(f"ball valve {word}" for word in COMPRESSIONS)])
async def test_answers_under_the_limits_arrive_whole_compressed_or_not(kind: str, prompt: str) -> None:
    with HostileServer(KEY) as server:
        probe = probe_for(kind, server.base_url_for(kind))
        try:
            raw = await probe.fetch(ProbeRequest(keyword=prompt, prompt=prompt))
        finally:
            await probe.aclose()
    for part, request in zip(raw.parts, server.requests, strict=True):  # SerpApi may fetch a deferred part
        body = json.loads(request["body"]) if request["body"] else dict(parse_qsl(urlsplit(request["path"]).query))
        assert part.data == server.normal_answer(kind, urlsplit(request["path"]).path, body)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("prompt", "reason"), [
    ("garbled answer please", "cannot decompress the response: Error -3"),
    ("truncated answer please", "cannot decompress the response: the body ends before its compressed stream does"),
])
async def test_a_body_that_does_not_decompress_whole_is_a_failure_with_its_reason(kind: str, prompt: str,
                                                                                  reason: str) -> None:
    with HostileServer(KEY) as server:
        error = await fetch_failure(kind, server, prompt)
    assert error.reason.startswith(reason) and not error.retryable

