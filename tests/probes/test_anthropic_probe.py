"""Tests for the Anthropic Messages probe against local servers on 127.0.0.1.

The simulator serves our fixtures (tests/fixtures/anthropic/) and records the
request bodies; a tiny http.server records headers, which the simulator does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from citewatch.raw import RawPart, RawResult
from monitor.config import EngineConfig
from probes import anthropic as probe_module
from probes.anthropic import DEFAULT_BASE_URL, DEFAULT_MODEL, AnthropicProbe
from probes.base import Locale, ProbeRequest, ProbeSettings, SearchOptions
from probes.parsers.anthropic import parse
from probes.simulator import ScriptedResponse, Simulator
from probes.simulator import anthropic as sim_anthropic
from probes.simulator.formats import FORMATS
from tests.probes.support import (
    RecordingSleep,
    body_of,
    fetch_retrying,
    recording_server,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"
API_KEY = "sk-ant-api03-test-secret-key-0123456789"
REQUEST = ProbeRequest(keyword="api 6d ball valve supplier china",
                       prompt="Which manufacturers supply API 6D trunnion ball valves from China?",
                       locale=Locale(country="de", language="de", city="Hamburg", region="Hamburg"))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ok(name: str, **kwargs: object) -> ScriptedResponse:
    return ScriptedResponse(body=fixture(name), **kwargs)  # type: ignore[arg-type]


def make_probe(sim: Simulator, timeout: float = 5.0, model: str | None = None) -> AnthropicProbe:
    return AnthropicProbe(ProbeSettings(model=model, base_url=f"http://127.0.0.1:{sim.port}/anthropic",
                                        api_key=API_KEY, timeout=timeout))


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="claude", kind="anthropic", retries=retries, timeout=5)


# --- request shape -----------------------------------------------------------------


async def test_success_returns_the_body_as_sent_and_posts_the_messages_request() -> None:
    with Simulator() as sim:
        sim.enqueue(ok("hengda_ball_valve_dup_sources.json"))
        probe = make_probe(sim)
        raw = body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    assert raw == fixture("hengda_ball_valve_dup_sources.json")  # byte for byte
    assert len(sim.requests) == 1
    assert sim.requests[0]["path"] == "/anthropic/v1/messages"
    assert sim.requests[0]["body"] == {
        "model": DEFAULT_MODEL,
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": REQUEST.prompt}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5,
                   "user_location": {"type": "approximate", "country": "DE", "city": "Hamburg",
                                     "region": "Hamburg"}}],
    }
    assert parse(raw).status == "ok"


@pytest.mark.parametrize(("locale", "expected"), [
    (Locale(), None),
    (Locale(language="zh"), None),  # a language alone is no location
    (Locale(city="Wenzhou"), None),  # the API needs a country for a location
    (Locale(country="cn", language="zh"), {"type": "approximate", "country": "CN"}),
    (Locale(country="CN", region="Zhejiang"), {"type": "approximate", "country": "CN", "region": "Zhejiang"}),
])
def test_user_location_only_with_a_country(locale: Locale, expected: dict | None) -> None:
    probe = AnthropicProbe(ProbeSettings())
    body = probe.request_body(ProbeRequest(keyword="球阀", prompt="球阀 制造商", locale=locale))
    assert body["tools"][0].get("user_location") == expected
    assert body["messages"] == [{"role": "user", "content": "球阀 制造商"}]


def test_defaults_and_model_setting() -> None:
    assert DEFAULT_BASE_URL == "https://api.anthropic.com"
    assert DEFAULT_MODEL == "claude-sonnet-4-5"
    assert AnthropicProbe(ProbeSettings()).url == "https://api.anthropic.com/v1/messages"
    probe = AnthropicProbe(ProbeSettings(model="claude-opus-4-1", base_url="https://gateway.example.com/claude/"))
    assert probe.url == "https://gateway.example.com/claude/v1/messages"
    assert probe.request_body(REQUEST)["model"] == "claude-opus-4-1"


# --- headers (a real local server that records them) -------------------------------------


async def test_api_key_and_version_go_in_their_headers() -> None:
    with recording_server(200, fixture("hengda_no_citations.json")) as (url, seen):
        probe = AnthropicProbe(ProbeSettings(base_url=url, api_key=API_KEY, timeout=5))
        body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    [request] = seen
    headers = request["headers"]
    assert request["path"] == "/v1/messages"
    assert headers["x-api-key"] == API_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers  # the key is not sent as a bearer token
    assert API_KEY not in request["path"]


async def test_api_key_never_appears_in_error_reasons() -> None:
    reply = (b'{"type": "error", "error": {"type": "authentication_error", '
             b'"message": "invalid x-api-key"}, "request_id": "req_011CVw"}')
    with recording_server(401, reply) as (url, _):
        probe = AnthropicProbe(ProbeSettings(base_url=url, api_key=API_KEY, timeout=5))
        with pytest.raises(ProbeError) as info:
            body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    assert info.value.reason.startswith("HTTP 401: ")
    assert "authentication_error" in info.value.reason
    assert not info.value.retryable
    assert API_KEY not in info.value.reason and API_KEY not in str(info.value)


# --- failures and the shared retry policy ------------------------------------------------


async def test_429_with_retry_after_then_success() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        rate_limited = fixture("hengda_error_overloaded.json").replace(b"overloaded_error", b"rate_limit_error")
        sim.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "7"), ("Content-Type", "application/json")),
                                     body=rate_limited),
                    ok("hengda_zh_cjk_emoji.json"))
        raw = body_of(await fetch_retrying(make_probe(sim), REQUEST, engine(), sleep))
    assert sleep.waits == [7.0]
    assert len(sim.requests) == 2
    assert raw == fixture("hengda_zh_cjk_emoji.json")


async def test_500_until_retries_run_out() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        body = b'{"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}'
        sim.enqueue(*[ScriptedResponse(status=500, body=body)] * 4)
        with pytest.raises(ProbeError) as info:
            body_of(await fetch_retrying(make_probe(sim), REQUEST, engine(retries=2), sleep))
    assert len(sim.requests) == 3  # retries + 1 attempts
    assert len(sleep.waits) == 2
    assert "HTTP 500" in info.value.reason and "api_error" in info.value.reason
    assert info.value.reason.endswith("(after 3 attempts)")
    assert info.value.retryable


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(delay=1.0, body=fixture("hengda_no_citations.json")))
        probe = make_probe(sim, timeout=0.2)
        with pytest.raises(ProbeError) as info:
            body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    assert "timeout" in info.value.reason
    assert info.value.retryable


async def test_connection_refused() -> None:
    probe = AnthropicProbe(ProbeSettings(base_url="http://127.0.0.1:9", api_key=API_KEY, timeout=2))
    with pytest.raises(ProbeError) as info:
        body_of(await probe.fetch(REQUEST))
    await probe.aclose()
    assert info.value.reason.startswith("connection failed") and info.value.retryable


# --- pause_turn ------------------------------------------------------------------------


async def test_pause_turn_is_continued_and_both_bodies_come_back() -> None:
    part1, part2 = fixture("hengda_pause_turn_part1.json"), fixture("hengda_pause_turn_part2.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=part1), ScriptedResponse(body=part2))
        probe = make_probe(sim)
        raw = await probe.fetch(REQUEST)
        await probe.aclose()

    assert len(sim.requests) == 2
    first, second = (r["body"] for r in sim.requests)
    assert sim.requests[1]["path"] == "/anthropic/v1/messages"
    # The continuation repeats the request, the paused content sent back as the assistant turn.
    assert {k: v for k, v in second.items() if k != "messages"} == {k: v for k, v in first.items() if k != "messages"}
    assert second["messages"] == [{"role": "user", "content": REQUEST.prompt},
                                  {"role": "assistant", "content": json.loads(part1)["content"]}]

    # The result holds both bodies as parts, each byte for byte.
    assert raw == RawResult((RawPart("response", part1), RawPart("continuation-1", part2)))

    answer = parse(raw)
    assert answer.status == "ok" and answer.status_reason is None
    assert [c.url for c in answer.citations if c.cited] == [
        "https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf",
        "https://northstarvalves.de/en/products/cryogenic-ball-valves"]
    assert len(answer.search_queries) == 3
    assert (answer.input_tokens, answer.output_tokens) == (15480 + 18932, 210 + 341)


async def test_pause_turn_gives_up_after_three_continuations() -> None:
    part1 = fixture("hengda_pause_turn_part1.json")
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(body=part1)] * 5)
        probe = make_probe(sim)
        raw = await probe.fetch(REQUEST)
        await probe.aclose()
        left = len(sim.script)
    assert probe_module.MAX_CONTINUATIONS == 3
    assert len(sim.requests) == 4 and left == 1
    # Every continuation sends back all the content returned so far.
    content = json.loads(part1)["content"]
    for index, request in enumerate(sim.requests[1:], start=1):
        assert request["body"]["messages"][1] == {"role": "assistant", "content": content * index}
    assert [part.name for part in raw.parts] == ["response", "continuation-1", "continuation-2", "continuation-3"]
    answer = parse(raw)
    assert answer.status == "error"
    assert answer.status_reason == "incomplete: pause_turn (turn still paused after 4 responses)"


async def test_failed_continuation_raises_with_context() -> None:
    with Simulator() as sim:
        sim.enqueue(ok("hengda_pause_turn_part1.json"),
                    ScriptedResponse(status=529, body=fixture("hengda_error_overloaded.json")))
        probe = make_probe(sim)
        with pytest.raises(ProbeError) as info:
            body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    assert info.value.reason.startswith("HTTP 529: ")
    assert info.value.reason.endswith("(continuing a paused turn, request 2)")
    assert info.value.retryable


async def test_unparseable_body_is_returned_as_is() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=b"<html>502 Bad Gateway</html>", headers=(("Content-Type", "text/html"),)))
        probe = make_probe(sim)
        raw = body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    assert raw == b"<html>502 Bad Gateway</html>"


# --- the simulator serving this wire format by path -----------------------------------------


async def test_simulator_answers_on_the_anthropic_mount(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until formats.py registers the module, mount it for this test only.
    monkeypatch.setitem(FORMATS, "anthropic", sim_anthropic)
    with Simulator() as sim:
        base_url = sim.base_url_for("anthropic")
        assert base_url == f"http://127.0.0.1:{sim.port}/anthropic"
        probe = AnthropicProbe(ProbeSettings(base_url=base_url, api_key=API_KEY, timeout=5))
        first = body_of(await probe.fetch(REQUEST))
        again = body_of(await probe.fetch(REQUEST))
        await probe.aclose()
    answer = parse(first)
    assert answer.status == "ok" and answer.model == "claude-sonnet-4-5-20250929"
    assert answer.search_queries == [REQUEST.prompt]
    assert any(c.cited for c in answer.citations)
    assert first != again  # the k-th call gets the k-th answer


async def test_a_deepseek_engine_sends_its_tool_version_and_records_web_search_result_locations() -> None:
    # DeepSeek serves the Messages API and its web search tool at https://api.deepseek.com/anthropic: an
    # engine of kind anthropic with that base_url (here the local simulator), its model and the tool's version
    from monitor.pipeline import make_probe as engine_probe

    with Simulator() as sim:
        sim.enqueue(ok("hengda_ball_valve_dup_sources.json"))
        probe = engine_probe(EngineConfig(id="deepseek", kind="anthropic", model="deepseek-flash",
                                          base_url=sim.base_url_for("anthropic"),
                                          search={"tool": "web_search_20250305"}))
        raw = await probe.fetch(ProbeRequest("球阀", "哪些中国厂家生产 API 6D 球阀？"))
        await probe.aclose()
        sent = sim.requests[0]["body"]
    assert (sent["model"], sent["tools"][0]["type"]) == ("deepseek-flash", "web_search_20250305")
    answer = parse(raw)
    cited = [c for c in answer.citations if c.cited]
    assert cited and all(c.spans for c in cited)  # each tied to the text it supports
    assert {c.origin for c in cited} == {"annotation"}


def test_the_search_tool_version_is_configurable_and_checked() -> None:
    probe = AnthropicProbe(ProbeSettings(search=SearchOptions(tool="web_search_20260209")))
    assert probe.request_body(REQUEST)["tools"][0]["type"] == "web_search_20260209"
    assert AnthropicProbe(ProbeSettings()).request_body(REQUEST)["tools"][0]["type"] == "web_search_20250305"
    with pytest.raises(ValueError, match="web_search_"):
        EngineConfig(id="deepseek", kind="anthropic", search={"tool": "code_execution"})
    with pytest.raises(ValueError, match="search.tool: kind openai does not take it"):
        EngineConfig(id="gpt", kind="openai", search={"tool": "web_search_20250305"})
