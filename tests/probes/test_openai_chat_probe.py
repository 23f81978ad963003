"""Tests for the Chat Completions probes (kinds openai_chat and openai_compatible) against local servers.

The simulator on 127.0.0.1 serves our recorded fixtures; a tiny http.server
records request headers (the simulator does not). Nothing reaches the internet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ConfigError, ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.openai_chat import (
    DEFAULT_CHAT_BASE_URL,
    DEFAULT_CHAT_MODEL,
    OpenAIChatProbe,
    OpenAICompatibleProbe,
)
from probes.parsers.openai_chat import parse, parse_compatible
from probes.simulator import ScriptedResponse, Simulator, demo_scenario
from probes.simulator import openai_chat as sim_chat
from probes.simulator import openai_compatible as sim_compatible
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.probes.support import (
    RecordingSleep,
    body_of,
    fetch_retrying,
    raw_of,
    recording_server,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openai_chat"
CHAT_BODY = (FIXTURES / "chat_hengda_3citations_dup_utm.json").read_bytes()
DEEPSEEK_BODY = (FIXTURES / "deepseek_chat_zh_links.json").read_bytes()
API_KEY = "sk-test-4f9a2c7e1b8d3a6f"
PROMPT = "Which manufacturers make API 6D trunnion ball valves?"


def chat_probe(sim: Simulator, **settings: Any) -> OpenAIChatProbe:
    return OpenAIChatProbe(ProbeSettings(base_url=f"http://127.0.0.1:{sim.port}/openai_chat/v1",
                                         api_key=API_KEY, **settings))


def compatible_probe(sim: Simulator, **settings: Any) -> OpenAICompatibleProbe:
    settings.setdefault("model", "deepseek-chat")
    return OpenAICompatibleProbe(ProbeSettings(base_url=f"http://127.0.0.1:{sim.port}/openai_compatible/v1",
                                               **settings))


def engine(kind: str, retries: int) -> EngineConfig:
    # only the retry policy matters here; a compatible engine must name its endpoint and model
    return EngineConfig(id="chat", kind=kind, retries=retries, base_url="http://127.0.0.1:1/v1", model="m")


# --- requests ------------------------------------------------------------------------


async def test_openai_chat_sends_prompt_model_and_location_and_returns_the_body_as_sent() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=CHAT_BODY))
        probe = chat_probe(sim)
        request = ProbeRequest("api 6d ball valve", PROMPT,
                               Locale(country="ae", language="en", city="Dubai", region="Dubai"))
        raw = body_of(await probe.fetch(request))
        await probe.aclose()
    assert raw == CHAT_BODY  # byte for byte
    assert parse(raw).citations[0].url.startswith("https://www.hengdavalve.com/")
    (seen,) = sim.requests
    assert seen["path"] == "/openai_chat/v1/chat/completions"
    assert seen["body"] == {
        "model": DEFAULT_CHAT_MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "web_search_options": {"user_location": {"type": "approximate", "approximate": {
            "country": "AE", "city": "Dubai", "region": "Dubai"}}},
    }
    assert DEFAULT_CHAT_MODEL == "gpt-4o-search-preview"


async def test_openai_chat_without_location_and_with_a_configured_model() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=CHAT_BODY), ScriptedResponse(body=CHAT_BODY))
        probe = chat_probe(sim, model="gpt-4o-mini-search-preview")
        body_of(await probe.fetch(ProbeRequest("valve", "球阀 制造商")))
        await probe.fetch(ProbeRequest("valve", "球阀 制造商", Locale(country="cn", language="zh")))
        await probe.aclose()
    first, second = (r["body"] for r in sim.requests)
    assert first == {"model": "gpt-4o-mini-search-preview",
                     "messages": [{"role": "user", "content": "球阀 制造商"}], "web_search_options": {}}
    # language alone is not a location; country alone is
    assert second["web_search_options"] == {"user_location": {"type": "approximate", "approximate": {"country": "CN"}}}


async def test_openai_compatible_sends_no_search_options() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=DEEPSEEK_BODY))
        probe = compatible_probe(sim, api_key=API_KEY)
        raw = body_of(await probe.fetch(ProbeRequest("ball valve", "中国 API 6D 球阀出口厂家有哪些？",
                                             Locale(country="cn", language="zh", city="Wenzhou"))))
        await probe.aclose()
    assert raw == DEEPSEEK_BODY
    assert len(parse_compatible(raw).citations) == 5
    (seen,) = sim.requests
    assert seen["path"] == "/openai_compatible/v1/chat/completions"
    assert seen["body"] == {"model": "deepseek-chat",
                            "messages": [{"role": "user", "content": "中国 API 6D 球阀出口厂家有哪些？"}]}


@pytest.mark.parametrize(("settings", "message"), [
    (ProbeSettings(model="deepseek-chat"), "needs base_url"),
    (ProbeSettings(model="deepseek-chat", base_url=""), "needs base_url"),
    (ProbeSettings(base_url="http://127.0.0.1:11434/v1"), "needs model"),
])
def test_openai_compatible_requires_base_url_and_model(settings: ProbeSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OpenAICompatibleProbe(settings)


async def test_openai_chat_defaults_to_the_openai_service_not_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/elsewhere")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    probe = OpenAIChatProbe(ProbeSettings())
    assert DEFAULT_CHAT_BASE_URL == "https://api.openai.com/v1"
    assert str(probe._client.base_url).rstrip("/") == DEFAULT_CHAT_BASE_URL
    assert probe._client.api_key == "unset"  # keys come from config, never from stray variables
    await probe.aclose()


# --- headers (a tiny local server that records them) --------------------------------


async def test_api_key_goes_in_the_bearer_header() -> None:
    with recording_server(200, CHAT_BODY, "/v1") as (base_url, seen):
        probe = OpenAIChatProbe(ProbeSettings(base_url=base_url, api_key=API_KEY))
        body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    (request,) = seen
    headers = request["headers"]
    assert request["path"] == "/v1/chat/completions"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["content-type"] == "application/json"
    assert headers.get("x-stainless-retry-count") == "0"  # one attempt per fetch: retries are the runner's


async def test_compatible_without_a_key_sends_a_placeholder() -> None:
    with recording_server(200, DEEPSEEK_BODY, "/v1") as (base_url, seen):
        probe = OpenAICompatibleProbe(ProbeSettings(base_url=base_url, model="llama3.1:8b"))
        raw = body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    assert raw == DEEPSEEK_BODY
    assert seen[0]["headers"]["authorization"] == "Bearer unset"  # Ollama and vLLM ignore it


async def test_key_echoed_in_an_error_is_redacted() -> None:
    echo = json.dumps({"error": {"message": f"invalid token {API_KEY}", "type": "auth_error"}}).encode()
    with recording_server(401, echo, "/v1") as (base_url, _):
        probe = OpenAICompatibleProbe(ProbeSettings(base_url=base_url, model="qwen-plus", api_key=API_KEY))
        with pytest.raises(ProbeError) as caught:
            body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    assert caught.value.reason.startswith("HTTP 401")
    assert API_KEY not in caught.value.reason and "***" in caught.value.reason
    assert not caught.value.retryable


# --- failures through the shared retry policy ---------------------------------------


@pytest.mark.parametrize("kind", ["openai_chat", "openai_compatible"])
async def test_429_with_retry_after_then_success(kind: str) -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "7"), ("Content-Type", "application/json")),
                                     body=b'{"error": {"message": "Rate limit reached", "type": "requests", '
                                          b'"code": "rate_limit_exceeded"}}'),
                    ScriptedResponse(body=CHAT_BODY))
        probe = chat_probe(sim) if kind == "openai_chat" else compatible_probe(sim)
        raw = body_of(await fetch_retrying(probe, ProbeRequest("valve", PROMPT), engine(kind, 2), sleep))
    assert raw == CHAT_BODY
    assert sleep.waits == [7.0]
    assert len(sim.requests) == 2


@pytest.mark.parametrize("kind", ["openai_chat", "openai_compatible"])
async def test_500_until_failure(kind: str) -> None:
    error = b'{"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}'
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=error)] * 3)
        probe = chat_probe(sim) if kind == "openai_chat" else compatible_probe(sim)
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("valve", PROMPT), engine(kind, 2)))
    assert len(sim.requests) == 3  # retries + 1 attempts, the SDK itself never retries
    assert "HTTP 500" in caught.value.reason and "after 3 attempts" in caught.value.reason
    assert caught.value.status == "error"


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=CHAT_BODY, delay=1.0))
        probe = chat_probe(sim, timeout=0.3)
        with pytest.raises(ProbeError) as caught:
            body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    assert caught.value.reason == "timeout after 0.3s" and caught.value.retryable


async def test_connection_refused() -> None:
    probe = OpenAICompatibleProbe(ProbeSettings(base_url="http://127.0.0.1:9/v1", model="qwen-plus", timeout=5))
    with pytest.raises(ProbeError) as caught:
        body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
    await probe.aclose()
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


async def test_client_error_is_not_retried() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=400, body=b'{"error": {"message": "web_search_options is not supported '
                                                         b'with this model.", "type": "invalid_request_error"}}'))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(chat_probe(sim, model="gpt-4o"), ProbeRequest("valve", PROMPT),
                                 engine("openai_chat", 2)))
    assert caught.value.reason.startswith("HTTP 400") and "web_search_options" in caught.value.reason
    assert not caught.value.retryable and len(sim.requests) == 1


# --- probe, simulator and parser together ------------------------------------------


@pytest.mark.parametrize(("wire", "parser"), [(sim_chat, parse), (sim_compatible, parse_compatible)],
                         ids=["openai_chat", "openai_compatible"])
async def test_simulated_answer_through_the_probe(wire: Any, parser: Any) -> None:
    scenario = demo_scenario()
    model = "gpt-4o-search-preview" if wire is sim_chat else "deepseek-chat"
    rendered = raw_of(wire.render(simulated_answer(scenario, PROMPT, model, 0)))
    with Simulator(scenario) as sim:
        sim.enqueue(ScriptedResponse(body=rendered))
        probe = chat_probe(sim) if wire is sim_chat else compatible_probe(sim)
        raw = body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    answer = parser(raw)
    assert answer.status == "ok" and answer.citations
    assert answer.text.startswith(simulated_answer(scenario, PROMPT, model, 0).segments[0].sentence)


@pytest.mark.parametrize("kind", ["openai_chat", "openai_compatible"])
async def test_simulator_routes_the_kind_once_registered(kind: str) -> None:
    if kind not in FORMATS:
        pytest.skip(f"{kind} is not registered in probes.simulator.formats yet")
    with Simulator() as sim:
        base_url = sim.base_url_for(kind)
        settings = ProbeSettings(base_url=base_url, model=None if kind == "openai_chat" else "deepseek-chat")
        probe = OpenAIChatProbe(settings) if kind == "openai_chat" else OpenAICompatibleProbe(settings)
        raw = body_of(await probe.fetch(ProbeRequest("valve", PROMPT)))
        await probe.aclose()
    answer = (parse if kind == "openai_chat" else parse_compatible)(raw)
    assert answer.status == "ok" and answer.citations
    assert sim.requests[-1]["path"] == f"/{kind}/v1/chat/completions"
