"""The Perplexity probe against local servers on 127.0.0.1, and the simulator's Sonar wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.parsers.perplexity import parse
from probes.perplexity import DEFAULT_BASE_URL, DEFAULT_MODEL, PerplexityProbe
from probes.simulator import ScriptedResponse, Simulator, demo_scenario
from probes.simulator import perplexity as wire
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.probes.support import (
    RecordingSleep,
    body_of,
    fetch_retrying,
    raw_of,
    recording_server,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perplexity"
KEY = "pplx-test-3b1f9c2e7d6a4b58"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def base_url(sim: Simulator) -> str:
    return sim.base_url_for("perplexity")


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="pplx", kind="perplexity", retries=retries)


# --- a tiny local server that records headers (the simulator does not) ----------------------


@pytest.fixture
def header_server() -> Iterator[tuple[str, list[dict]]]:
    with recording_server(200, fixture_bytes("hengda_ball_valve_dup_markers.json")) as server:
        yield server


# --- the probe ----------------------------------------------------------------------------------


def test_defaults() -> None:
    probe = PerplexityProbe(ProbeSettings())
    assert (probe.model, probe.url) == ("sonar", "https://api.perplexity.ai/chat/completions")
    assert (DEFAULT_BASE_URL, DEFAULT_MODEL) == ("https://api.perplexity.ai", "sonar")


def test_request_body_without_country_has_no_location() -> None:
    probe = PerplexityProbe(ProbeSettings(model="sonar-pro"))
    body = probe.request_body(ProbeRequest("ball valve", "Who makes API 6D ball valves?", Locale(language="en")))
    assert body == {"model": "sonar-pro", "messages": [{"role": "user", "content": "Who makes API 6D ball valves?"}]}


async def test_success_returns_the_body_as_sent_and_sends_prompt_model_locale() -> None:
    raw = fixture_bytes("hengda_zh_cjk_emoji.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = PerplexityProbe(ProbeSettings(model="sonar-pro", base_url=base_url(sim) + "/", api_key=KEY,
                                              timeout=5))
        try:
            got = await probe.fetch(ProbeRequest("球阀 制造商", "恒达阀门 API 6D 球阀 出口认证？",
                                                 Locale(country="cn", language="zh", city="Wenzhou",
                                                        region="Zhejiang")))
        finally:
            await probe.aclose()
        request = sim.requests[-1]
    assert body_of(got) == raw  # byte for byte
    assert request["path"] == "/perplexity/chat/completions"
    assert request["body"] == {
        "model": "sonar-pro",
        "messages": [{"role": "user", "content": "恒达阀门 API 6D 球阀 出口认证？"}],
        "web_search_options": {"user_location": {"country": "CN", "region": "Zhejiang", "city": "Wenzhou"}},
    }
    assert parse(got).citations[0].url == "https://www.hengdavalve.com/zh/about"


async def test_api_key_goes_in_a_bearer_header_only(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = PerplexityProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5))
    try:
        await probe.fetch(ProbeRequest("ball valve", "API 6D ball valve suppliers", Locale(country="de")))
    finally:
        await probe.aclose()
    (request,) = seen
    headers = request["headers"]
    body = json.loads(request["body"])
    assert request["path"] == "/chat/completions"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert KEY not in request["path"] and KEY not in json.dumps(body)
    assert body["model"] == "sonar"
    assert body["web_search_options"] == {"user_location": {"country": "DE"}}


async def test_no_key_sends_no_authorization_header(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = PerplexityProbe(ProbeSettings(base_url=url, timeout=5))
    try:
        body_of(await probe.fetch(ProbeRequest("ball valve", "API 6D ball valve suppliers")))
    finally:
        await probe.aclose()
    assert "authorization" not in seen[0]["headers"]


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture_bytes("hengda_ball_valve_dup_markers.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(
            ScriptedResponse(status=429, body=b'{"error": {"message": "Rate limit exceeded", "type": '
                                              b'"rate_limit_exceeded", "code": 429}}',
                             headers=(("Content-Type", "application/json"), ("Retry-After", "7"))),
            ScriptedResponse(body=raw),
        )
        probe = PerplexityProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", "API 6D ball valve suppliers"), engine(), sleep))
        assert len(sim.requests) == 2
    assert got == raw
    assert sleep.waits == [7.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=b'{"error": {"message": "Internal server error", '
                                                        b'"type": "internal_server_error", "code": 500}}')] * 3)
        probe = PerplexityProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", "API 6D ball valve suppliers"), engine(retries=2), sleep))
        assert len(sim.requests) == 3  # retries + 1
    error = caught.value
    assert "HTTP 500" in error.reason and "(after 3 attempts)" in error.reason
    assert error.retryable and len(sleep.waits) == 2
    assert KEY not in error.reason


async def test_401_is_not_retried_and_does_not_leak_the_key() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=b"<html><head><title>401 Authorization Required</title>"
                                                      b"</head></html>", headers=(("Content-Type", "text/html"),)))
        probe = PerplexityProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", "p"), engine(), sleep))
    assert "HTTP 401" in caught.value.reason and not caught.value.retryable
    assert KEY not in caught.value.reason and sleep.waits == []


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("hengda_no_markers.json"), delay=1.5))
        probe = PerplexityProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=0.3))
        try:
            with pytest.raises(ProbeError) as caught:
                body_of(await probe.fetch(ProbeRequest("k", "API 6D ball valve suppliers")))
        finally:
            await probe.aclose()
    assert "timeout" in caught.value.reason and caught.value.retryable


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = PerplexityProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=2))
    try:
        with pytest.raises(ProbeError) as caught:
            body_of(await probe.fetch(ProbeRequest("k", "p")))
    finally:
        await probe.aclose()
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


# --- the simulator's wire format -------------------------------------------------------------------


def test_wire_module_contract() -> None:
    assert FORMATS["perplexity"] is wire and wire.BASE_SUFFIX == ""
    assert wire.handles("/chat/completions") and not wire.handles("/v1/responses")
    body = {"model": "sonar-pro", "messages": [{"role": "system", "content": "Be precise."},
                                               {"role": "user", "content": "球阀 制造商"}]}
    assert wire.prompt_of("/chat/completions", body) == "球阀 制造商"
    assert wire.prompt_of("/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "ball valve"}]}]}) == "ball valve"
    assert wire.prompt_of("/chat/completions", {}) == ""
    assert wire.model_of("/chat/completions", body) == "sonar-pro"
    assert wire.model_of("/chat/completions", {}) == "sonar"


@pytest.mark.parametrize("prompt", ["industrial ball valve manufacturer", "api 6d ball valve supplier china",
                                    "球阀 制造商"])
@pytest.mark.parametrize("call", range(4))
def test_rendered_answer_parses_back_to_its_segments(prompt: str, call: int) -> None:
    simulated = simulated_answer(demo_scenario(), prompt, "sonar", call)
    body = wire.render(simulated)
    assert {"id", "model", "created", "usage", "citations", "search_results", "object", "choices"} <= body.keys()
    answer = parse(raw_of(body))
    assert answer.status == "ok" and answer.model == "sonar" and answer.features == ["web_search"]

    expected: list[str] = []
    for segment in simulated.segments:
        for url, _ in segment.sources:
            if url not in expected:
                expected.append(url)
    cited = [c for c in answer.citations if c.cited]
    assert [c.url for c in cited] == expected
    assert [c.position for c in cited] == list(range(1, len(expected) + 1))
    titles = {url: title for s in simulated.segments for url, title in s.sources}
    for citation in cited:
        assert citation.title == titles[citation.url]
        citing = [s.sentence for s in simulated.segments if citation.url in (u for u, _ in s.sources)]
        assert len(citation.spans) == len(citing)
        for start, end in citation.spans:
            assert any(answer.text[start:end] in sentence for sentence in citing)
            assert answer.text[start:end]
    # two neutral pages were retrieved and never marked
    others = [c for c in answer.citations if not c.cited]
    assert len(others) == 2 and all(c.url not in expected and c.spans == [] for c in others)


async def test_probe_against_the_rendered_format_end_to_end() -> None:
    """Until the format is registered in probes.simulator.formats, serve a rendered body as a script."""
    simulated = simulated_answer(demo_scenario(), "industrial ball valve manufacturer", "sonar", 0)
    raw = raw_of(wire.render(simulated))
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = PerplexityProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        try:
            got = body_of(await probe.fetch(ProbeRequest("k", "industrial ball valve manufacturer")))
        finally:
            await probe.aclose()
        assert wire.prompt_of(sim.requests[-1]["path"], sim.requests[-1]["body"]) == \
               "industrial ball valve manufacturer"
    assert parse(got).has_answer
