"""The Gemini probe against local servers on 127.0.0.1, and the simulator's Gemini wire format.

The probe is network only: it must send the request the real API expects
(path, body, key header), return the body bytes as received, and turn every
transport failure into a ProbeError that the shared retry policy understands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from monitor.analysis.ownership import EntitySpec, owner_of, source_url
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.gemini import (
    API_KEY_HEADER,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    GeminiProbe,
    retry_delay_seconds,
)
from probes.parsers.gemini import parse
from probes.simulator import ScriptedResponse, Simulator, demo_scenario
from probes.simulator import gemini as wire
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import domain_of, simulated_answer
from tests.probes.support import (
    RecordingSleep,
    body_of,
    fetch_retrying,
    raw_of,
    recording_server,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gemini"
KEY = "AIzaSyD-test-key-0123456789abcdefghijklm"
PROMPT = "Which companies make API 6D trunnion ball valves?"
ZH = ProbeRequest("球阀 制造商", "哪些公司生产 API 6D 球阀？", Locale(country="cn", language="zh"))
EN = ProbeRequest("api 6d ball valve", PROMPT)
ENTITIES = (
    EntitySpec("Hengda Valve", "brand", ("Hengda", "恒达阀门"), ("hengdavalve.com",)),
    EntitySpec("Apex Flow Controls", "competitor", ("Apex Flow",), ("apexflow.com",)),
    EntitySpec("NorthStar Valves", "competitor", ("NorthStar",), ("northstarvalves.de",)),
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="gemini", kind="gemini", retries=retries)


def probe_for(sim: Simulator, *, timeout: float = 5.0, model: str | None = None) -> GeminiProbe:
    return GeminiProbe(ProbeSettings(model=model, base_url=f"http://127.0.0.1:{sim.port}/gemini/v1beta",
                                     api_key=KEY, timeout=timeout))


# --- request shape ---------------------------------------------------------------


async def test_success_returns_the_body_as_received_and_sends_the_api_request() -> None:
    raw = fixture("hengda_zh_gemini3_drift.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = probe_for(sim)
        try:
            assert body_of(await probe.fetch(ZH)) == raw
        finally:
            await probe.aclose()
    (request,) = sim.requests
    assert request["path"] == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    assert request["body"] == {
        "contents": [{"role": "user", "parts": [{"text": "哪些公司生产 API 6D 球阀？"}]}],
        "tools": [{"google_search": {}}],
        "toolConfig": {"retrievalConfig": {"languageCode": "zh-CN"}},
    }


async def test_no_locale_sends_no_tool_config_and_model_prefix_is_accepted() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture("hengda_no_search.json")))
        probe = probe_for(sim, model="models/gemini-2.5-pro")
        try:
            body_of(await probe.fetch(EN))
        finally:
            await probe.aclose()
    assert sim.requests[-1]["path"] == "/gemini/v1beta/models/gemini-2.5-pro:generateContent"
    assert "toolConfig" not in sim.requests[-1]["body"]
    assert sim.requests[-1]["body"]["contents"][0]["parts"][0]["text"] == PROMPT


@pytest.mark.parametrize(("locale", "code"), [
    (Locale(language="de"), "de"),
    (Locale(country="de", language="DE"), "de-DE"),
    (Locale(country="us", language="en-GB"), "en-GB"),
    (Locale(country="cn"), None),
])
def test_language_code_from_locale(locale: Locale, code: str | None) -> None:
    body = GeminiProbe(ProbeSettings()).request_body(ProbeRequest("k", "p", locale))
    assert body.get("toolConfig", {}).get("retrievalConfig", {}).get("languageCode") == code


def test_defaults_are_the_real_service() -> None:
    probe = GeminiProbe(ProbeSettings())
    assert probe.url == f"{DEFAULT_BASE_URL}/models/{DEFAULT_MODEL}:generateContent"
    assert probe.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    probe = GeminiProbe(ProbeSettings(base_url="https://gw.example.com/gemini/v1beta/", model="gemini-3-flash-preview"))
    assert probe.url == "https://gw.example.com/gemini/v1beta/models/gemini-3-flash-preview:generateContent"


async def test_api_key_goes_in_the_header_never_in_the_url() -> None:
    with recording_server(200, fixture("hengda_api6d_grounded.json"), "/v1beta") as (base_url, requests):
        probe = GeminiProbe(ProbeSettings(base_url=base_url, api_key=KEY, timeout=5))
        try:
            body_of(await probe.fetch(EN))
        finally:
            await probe.aclose()
    (seen,) = requests
    headers = seen["headers"]
    assert headers[API_KEY_HEADER] == KEY
    assert "authorization" not in headers
    assert seen["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert KEY not in seen["path"] and "key=" not in seen["path"]
    assert headers["content-type"] == "application/json"


async def test_without_a_key_no_key_header_is_sent() -> None:
    with recording_server(200, fixture("hengda_no_search.json"), "/v1beta") as (base_url, requests):
        probe = GeminiProbe(ProbeSettings(base_url=base_url, timeout=5))
        try:
            body_of(await probe.fetch(EN))
        finally:
            await probe.aclose()
    assert API_KEY_HEADER not in requests[0]["headers"]


async def test_http_error_reason_carries_the_api_message_but_not_the_key() -> None:
    with recording_server(400, fixture("api_error_invalid_key.json"), "/v1beta") as (base_url, _):
        probe = GeminiProbe(ProbeSettings(base_url=base_url, api_key=KEY, timeout=5))
        try:
            with pytest.raises(ProbeError) as caught:
                body_of(await probe.fetch(EN))
        finally:
            await probe.aclose()
    assert caught.value.reason.startswith("HTTP 400:")
    assert "API key not valid" in caught.value.reason
    assert KEY not in caught.value.reason and not caught.value.retryable


# --- failures and the shared retry policy --------------------------------------------------


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture("hengda_api6d_grounded.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "7"),),
                                     body=fixture("api_error_429_retry_info.json")),
                    ScriptedResponse(body=raw))
        sleep = RecordingSleep()
        assert body_of(await fetch_retrying(probe_for(sim), EN, engine(), sleep)) == raw
    assert sleep.waits == [7.0]  # the header wins over the body's RetryInfo
    assert len(sim.requests) == 2


async def test_429_with_retry_info_only_in_the_body_waits_that_long() -> None:
    """Gemini sends no Retry-After header; its wait is google.rpc.RetryInfo.retryDelay."""
    raw = fixture("hengda_api6d_grounded.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, body=fixture("api_error_429_retry_info.json")),
                    ScriptedResponse(body=raw))
        sleep = RecordingSleep()
        assert body_of(await fetch_retrying(probe_for(sim), EN, engine(), sleep)) == raw
    assert sleep.waits == [31.0]


@pytest.mark.parametrize(("body", "seconds"), [
    (b'{"error": {"code": 429, "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", '
     b'"retryDelay": "45.837906927s"}]}}', 45.837906927),
    (b'[{"error": {"code": 429, "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", '
     b'"retryDelay": "3s"}]}}]', 3.0),
    (b'{"error": {"code": 429, "message": "Resource exhausted. Please try again later."}}', None),
    (b'{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"}]}}', None),
    (b"<html>Too Many Requests</html>", None),
    (b'"error"', None),
])
def test_retry_delay_seconds(body: bytes, seconds: float | None) -> None:
    assert retry_delay_seconds(body) == seconds


async def test_500_until_retries_run_out() -> None:
    error = b'{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}'
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=error)] * 3)
        sleep = RecordingSleep()
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe_for(sim), EN, engine(retries=2), sleep))
    assert len(sim.requests) == 3  # retries + 1 attempts
    assert "HTTP 500" in caught.value.reason and "An internal error has occurred." in caught.value.reason
    assert caught.value.reason.endswith("(after 3 attempts)")
    assert len(sleep.waits) == 2


async def test_timeout_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture("hengda_no_search.json"), delay=1.0))
        probe = probe_for(sim, timeout=0.2)
        try:
            with pytest.raises(ProbeError, match="timeout") as caught:
                body_of(await probe.fetch(EN))
        finally:
            await probe.aclose()
    assert caught.value.reason == "timeout after 0.2s" and caught.value.retryable


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    probe = GeminiProbe(ProbeSettings(base_url="http://127.0.0.1:9/v1beta", api_key=KEY, timeout=2))
    try:
        with pytest.raises(ProbeError, match="connection failed") as caught:
            body_of(await probe.fetch(EN))
    finally:
        await probe.aclose()
    assert caught.value.retryable and KEY not in caught.value.reason


# --- the simulator's Gemini wire format -------------------------------------------------------


def test_wire_format_paths() -> None:
    assert FORMATS["gemini"] is wire and wire.BASE_SUFFIX == "/v1beta"
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    assert wire.handles(path) and not wire.handles("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
    assert not wire.handles("/v1/responses")
    assert wire.model_of(path, {}) == "gemini-2.5-flash"
    assert wire.model_of("/v1beta/models/gemini-3-flash-preview:generateContent", {}) == "gemini-3-flash-preview"
    body = GeminiProbe(ProbeSettings()).request_body(ZH)
    assert wire.prompt_of(path, body) == "哪些公司生产 API 6D 球阀？"


PROMPTS = [PROMPT, "industrial ball valve manufacturer", "哪些公司生产 API 6D 球阀？", "低温阀门 品牌"]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("call", range(4))
def test_rendered_answer_parses_back_to_the_segments_sources(prompt: str, call: int) -> None:
    answer = simulated_answer(demo_scenario(), prompt, "gemini-2.5-flash", call)
    rendered = wire.render(answer)
    parsed = parse(raw_of(rendered))
    assert parsed.status == "ok" and parsed.model == "gemini-2.5-flash"
    assert parsed.search_queries == [prompt] and parsed.features == ["web_search"]

    expected: list[str] = []
    for segment in answer.segments:
        for url, _ in segment.sources:
            if url not in expected:
                expected.append(url)
    redirects = {wire.redirect_uri(answer.ident, url): url for segment in answer.segments for url, _ in segment.sources}
    cited = [c for c in parsed.citations if c.cited]
    assert [redirects[c.url] for c in cited] == expected
    for citation in cited:
        url = redirects[citation.url]
        assert citation.url.startswith("https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQ")
        assert citation.title == domain_of(url)  # the real service puts the site's domain in the title
        sentences = [s.sentence for s in answer.segments if url in [u for u, _ in s.sources]]
        assert len(citation.spans) == len(sentences)
        for (start, end), sentence in zip(citation.spans, sentences, strict=True):
            assert parsed.text[start:end] == sentence
    assert [c.cited for c in parsed.citations[len(cited):]] == [False] * (len(parsed.citations) - len(cited))


def test_rendered_offsets_are_utf8_bytes_with_start_omitted_at_zero() -> None:
    answer = simulated_answer(demo_scenario(), "哪些公司生产 API 6D 球阀？", "gemini-2.5-flash", 1)
    rendered = wire.render(answer)
    text = rendered["candidates"][0]["content"]["parts"][0]["text"]
    encoded = text.encode("utf-8")
    assert len(encoded) > len(text)
    for support in rendered["candidates"][0]["groundingMetadata"]["groundingSupports"]:
        segment = support["segment"]
        assert "startIndex" not in segment or segment["startIndex"] > 0
        start = segment.get("startIndex", 0)
        assert encoded[start:segment["endIndex"]].decode("utf-8") == segment["text"]


def test_rendered_sources_are_owned_through_their_title() -> None:
    scenario = demo_scenario()
    owners = set()
    for call in range(12):
        answer = simulated_answer(scenario, PROMPT, "gemini-2.5-flash", call)
        for citation in parse(json.dumps(wire.render(answer)).encode()).citations:
            owners.add(owner_of(source_url(citation.url, citation.title), ENTITIES))
    assert {"Hengda Valve", "Apex Flow Controls", "NorthStar Valves", None} == owners


@pytest.fixture
def mounted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Route /gemini/... to this wire format for the test (registration in formats.py is the integrator's)."""
    monkeypatch.setitem(FORMATS, "gemini", wire)
    yield


async def test_probe_against_the_simulator_end_to_end(mounted: None) -> None:
    with Simulator() as sim:
        base_url = sim.base_url_for("gemini")
        assert base_url.endswith("/gemini/v1beta")
        probe = GeminiProbe(ProbeSettings(model="gemini-3-flash-preview", base_url=base_url, api_key=KEY, timeout=5))
        try:
            first = parse(body_of(await probe.fetch(EN)))
            again = parse(body_of(await probe.fetch(EN)))
        finally:
            await probe.aclose()
    assert first.status == "ok" and first.model == "gemini-3-flash-preview"
    assert first.search_queries == [PROMPT] and first.text
    # the k-th call with a prompt gets the scenario's k-th answer
    for parsed, call in ((first, 0), (again, 1)):
        expected = simulated_answer(demo_scenario(), PROMPT, "gemini-3-flash-preview", call, "gemini")
        assert parsed.text == " ".join(s.sentence for s in expected.segments)
        assert len([c for c in parsed.citations if c.cited]) == len(
            {url for s in expected.segments for url, _ in s.sources})
