"""The Perplexity Agent API: its parser on recorded-shape payloads, its probe against local servers on
127.0.0.1, and the simulator's wire format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError, ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.parsers.perplexity_agent import PARSER_VERSION, parse
from probes.perplexity_agent import DEFAULT_MODEL, PerplexityAgentProbe
from probes.simulator import ScriptedResponse, Simulator, demo_scenario
from probes.simulator import perplexity_agent as wire
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.probes.support import (
    RecordingSleep,
    body_of,
    cited,
    fetch_retrying,
    load_json,
    parse_body,
    raw_of,
    recording_server,
    retrieved,
    span_texts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perplexity_agent"
KEY = "pplx-agent-test-7c2d9e4f1a6b"
HENGDA = "https://www.hengdavalve.com/zh/products/api6d-ball-valve"
APEX = "https://apexflow.com/products/trunnion-ball-valves?utm_source=perplexity"
WIKI = "https://en.wikipedia.org/wiki/Ball_valve"


def body(name: str = "hengda_zh_markers.json") -> dict[str, Any]:
    return load_json(FIXTURES, name)


def with_text(text: str, annotations: list | None = None, **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body())
    message = next(item for item in changed["output"] if item["type"] == "message")
    message["content"][0].update(text=text, annotations=annotations or [])
    changed.update(changes)
    return changed


# --- the parser -----------------------------------------------------------------------------------


def test_parser_is_versioned() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool) and PARSER_VERSION == 2


def test_markers_name_results_by_id_with_spans_in_cjk_and_emoji_text() -> None:
    answer = parse_body(parse, body())
    assert (answer.status, answer.model) == ("ok", "openai/gpt-5.1")
    assert (answer.input_tokens, answer.output_tokens) == (2410, 96)
    assert answer.search_queries == ["API 6D 球阀 出口 制造商", "Hengda Valve API 6D certification"]
    assert answer.features == ["web_search"]
    assert [(c.position, c.url) for c in cited(answer)] == [(1, HENGDA), (2, APEX), (3, WIKI)]
    hengda, apex, wiki = cited(answer)
    assert hengda.title == "恒达阀门 API 6D 球阀"
    assert span_texts(answer, hengda) == ["恒达阀门（Hengda Valve）的 API 6D 球阀通过认证，交货期短 🚢。"]
    # "[1][2]" is one group; the second [2] supports only the sentence after the first group
    assert span_texts(answer, apex) == ["恒达阀门（Hengda Valve）的 API 6D 球阀通过认证，交货期短 🚢。",
                                        "Apex Flow Controls 是常见的替代品牌。"]
    assert span_texts(answer, wiki) == ["A ball valve uses a rotating ball to control flow."]
    # [9] and [0] name no result: plain text. Results never marked, and fetched pages, are retrieved only;
    # finance results carry no URL.
    assert "[9]" in answer.text and "[0]" in answer.text
    assert [(c.position, c.url, c.origin) for c in retrieved(answer)] == [
        (4, "https://www.reddit.com/r/engineering/comments/valves", "search_result"),
        (5, "https://northstarvalves.de/en/news/2026-expansion", "fetched_page")]


def test_positions_follow_the_engines_list_not_the_first_marker() -> None:
    answer = parse_body(parse, with_text("Apex first.[2] Then Hengda.[1]"))
    assert [(c.position, c.url) for c in cited(answer)] == [(1, HENGDA), (2, APEX)]
    assert span_texts(answer, cited(answer)[1]) == ["Apex first."]


def test_abbreviations_the_analysis_knows_end_no_sentence() -> None:  # PARSER_VERSION 2
    text = "Apex opened its Houston plant in Sept. 2019, Est. by the Dept. of Energy."
    answer = parse_body(parse, with_text(text + "[2]"))
    assert span_texts(answer, cited(answer)[0]) == [text]


def test_results_without_ids_are_numbered_from_one_across_items() -> None:
    changed = with_text("Wikipedia explains it.[3]")
    for item in changed["output"]:
        for result in item.get("results", []):
            result.pop("id", None)
    answer = parse_body(parse, changed)
    assert [c.url for c in cited(answer)] == [WIKI]


def test_annotations_cite_with_their_own_spans_beside_markers() -> None:
    text = "See the maker's page. Ball valves rotate.[3]"
    notes = [{"type": "url_citation", "url": "https://hengdavalve.com/contact", "title": "Contact",
              "start_index": 0, "end_index": 20},
             {"type": "url_citation", "url": HENGDA, "start_index": 0, "end_index": 20},
             {"type": "url_citation", "url": "https://x.example/broken", "start_index": 30, "end_index": 999}]
    answer = parse_body(parse, with_text(text, notes))
    by_url = {c.url: c for c in cited(answer)}
    # listed pages take their list places; pages only annotated follow, in text order
    assert [c.url for c in cited(answer)] == [HENGDA, WIKI, "https://hengdavalve.com/contact",
                                              "https://x.example/broken"]
    assert span_texts(answer, by_url[HENGDA]) == ["See the maker's page"]
    assert by_url[HENGDA].title == "恒达阀门 API 6D 球阀"  # from the results, as the note has none
    assert by_url["https://x.example/broken"].spans == []  # indices past the text: cited, no span


def test_text_without_markers_cites_nothing_and_keeps_every_result_as_retrieved() -> None:
    answer = parse_body(parse, with_text("Ball valves are common in pipelines."))
    assert answer.status == "ok" and cited(answer) == []
    assert len(retrieved(answer)) == 5


@pytest.mark.parametrize("text", ["I'm sorry, but I can't help with that request.", "抱歉，我无法回答这个问题。"])
def test_an_apology_is_a_refusal_and_cites_nobody(text: str) -> None:
    answer = parse_body(parse, with_text(text))
    assert answer.status == "no_answer" and answer.status_reason == f"refusal: {text}"
    assert cited(answer) == [] and len(retrieved(answer)) == 5


def test_a_refusal_part_is_a_refusal() -> None:
    changed = with_text("")
    message = next(item for item in changed["output"] if item["type"] == "message")
    message["content"] = [{"type": "refusal", "refusal": "I can't assist with that."}]
    answer = parse_body(parse, changed)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: I can't assist with that.")


def test_empty_answer_is_no_answer() -> None:
    answer = parse_body(parse, with_text("  "))
    assert (answer.status, answer.status_reason) == ("no_answer", "empty answer text")


def test_incomplete_run_keeps_its_text_or_fails_without_it() -> None:
    reason = {"incomplete_details": {"reason": "max_output_tokens"}, "status": "incomplete"}
    truncated = parse_body(parse, with_text("Hengda makes ball valves.[1] And", **reason))
    assert (truncated.status, truncated.status_reason) == ("ok", "incomplete: max_output_tokens")
    assert [c.url for c in cited(truncated)] == [HENGDA]
    nothing = parse_body(parse, with_text("", **reason))
    assert (nothing.status, nothing.status_reason) == ("error", "incomplete: max_output_tokens")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"status": "cancelled", "error": {"message": "cancelled by user", "type": "cancelled"}},
     "run cancelled: cancelled: cancelled by user"),
    ({"status": "queued"}, "run not finished (status queued)"),
    ({"status": "in_progress", "output": []}, "run not finished (status in_progress)"),
])
def test_runs_that_did_not_complete_behind_http_200_are_errors(changes: dict, reason: str) -> None:
    answer = parse_body(parse, with_text("Hengda.[1]", **changes))
    assert (answer.status, answer.status_reason) == ("error", reason) and answer.citations == []


def test_failed_run_and_error_envelope_are_errors_never_not_cited() -> None:
    failed = parse((FIXTURES / "failed_run.json").read_bytes())
    assert (failed.status, failed.status_reason) == ("error", "internal_error (code 500): upstream model error")
    envelope = parse((FIXTURES / "error_unknown_field.json").read_bytes())
    assert envelope.status == "error" and 'unknown field "web_search_options"' in envelope.status_reason


@pytest.mark.parametrize(("raw", "message"), [
    (raw_of({"object": "chat.completion", "choices": []}), "use engine kind perplexity"),
    (raw_of({"type": "response.output_text.delta", "delta": "x"}), "streaming event"),
    (raw_of({"object": "response", "status": "completed"}), "no 'output' list"),
    (raw_of({"error": "  "}), "no 'output' list"),  # a blank error says nothing (PARSER_VERSION 2)
    (b"<html>502 Bad Gateway</html>", "not JSON"),
])
def test_garbage_raises_parse_error_saying_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(raw)


# --- the probe -------------------------------------------------------------------------------------


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="pplx-agent", kind="perplexity_agent", retries=retries)


def base_url(sim: Simulator) -> str:
    return sim.base_url_for("perplexity_agent")


def test_defaults_and_request_bodies() -> None:
    probe = PerplexityAgentProbe(ProbeSettings())
    assert (probe.model, probe.url) == (DEFAULT_MODEL, "https://api.perplexity.ai/v1/agent")
    request = ProbeRequest("ball valve", "Who makes API 6D ball valves?",
                           Locale(country="de", language="de", city="Hamburg"))
    assert probe.request_body(request) == {
        "model": "perplexity/sonar", "input": "Who makes API 6D ball valves?",
        "tools": [{"type": "web_search", "user_location": {"country": "DE", "city": "Hamburg"}}]}
    preset = PerplexityAgentProbe(ProbeSettings(model="pro-search"))
    assert preset.request_body(ProbeRequest("k", "p")) == {
        "preset": "pro-search", "input": "p", "tools": [{"type": "web_search"}]}


async def test_success_returns_the_body_as_sent_with_the_key_in_a_bearer_header_only() -> None:
    raw = (FIXTURES / "hengda_zh_markers.json").read_bytes()
    with recording_server(200, raw) as (url, seen):
        probe = PerplexityAgentProbe(ProbeSettings(model="openai/gpt-5.1", base_url=url + "/", api_key=KEY,
                                                   timeout=5))
        try:
            got = await probe.fetch(ProbeRequest("球阀", "恒达阀门 API 6D 球阀？", Locale(country="cn")))
        finally:
            await probe.aclose()
    (request,) = seen
    assert body_of(got) == raw
    assert request["path"] == "/v1/agent"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert json.loads(request["body"]) == {"model": "openai/gpt-5.1", "input": "恒达阀门 API 6D 球阀？",
                                           "tools": [{"type": "web_search", "user_location": {"country": "CN"}}]}
    assert KEY not in request["body"].decode()


async def test_429_with_retry_after_then_success() -> None:
    raw = (FIXTURES / "hengda_zh_markers.json").read_bytes()
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "4"),),
                                     body=b'{"error": {"message": "rate limited", "type": '
                                          b'"request_rate_limit_exceeded", "code": 429}}'),
                    ScriptedResponse(body=raw))
        probe = PerplexityAgentProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", "API 6D ball valve suppliers"), engine(), sleep))
        assert len(sim.requests) == 2
    assert got == raw and sleep.waits == [4.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=b'{"error": {"message": "boom", "type": '
                                                        b'"internal_error", "code": 500}}')] * 3)
        probe = PerplexityAgentProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", "p"), engine(retries=2), sleep))
        assert len(sim.requests) == 3
    assert "HTTP 500" in caught.value.reason and "(after 3 attempts)" in caught.value.reason
    assert KEY not in caught.value.reason and len(sleep.waits) == 2


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=b"{}", delay=1.5))
        probe = PerplexityAgentProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=0.3))
        try:
            with pytest.raises(ProbeError) as caught:
                body_of(await probe.fetch(ProbeRequest("k", "p")))
        finally:
            await probe.aclose()
    assert "timeout" in caught.value.reason and caught.value.retryable


# --- the simulator's wire format -------------------------------------------------------------------


def test_wire_module_contract() -> None:
    assert FORMATS["perplexity_agent"] is wire and wire.BASE_SUFFIX == ""
    assert wire.handles("/v1/agent") and wire.handles("/v1/responses") and not wire.handles("/chat/completions")
    assert wire.prompt_of("/v1/agent", {"input": "球阀 制造商"}) == "球阀 制造商"
    assert wire.model_of("/v1/agent", {"model": "perplexity/sonar"}) == "perplexity/sonar"
    assert wire.model_of("/v1/agent", {"preset": "low"}) == wire.PRESET_MODEL


@pytest.mark.parametrize("prompt", ["industrial ball valve manufacturer", "球阀 制造商"])
@pytest.mark.parametrize("call", range(3))
async def test_simulated_answers_parse_back_through_the_probe(prompt: str, call: int) -> None:
    simulated = simulated_answer(demo_scenario(), prompt, "perplexity/sonar", call)
    expected: list[str] = []
    for segment in simulated.segments:
        expected.extend(url for url, _ in segment.sources if url not in expected)
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw_of(wire.render(simulated))))
        probe = PerplexityAgentProbe(ProbeSettings(base_url=base_url(sim), timeout=5))
        try:
            answer = parse(body_of(await probe.fetch(ProbeRequest("k", prompt))))
        finally:
            await probe.aclose()
    assert answer.status == "ok" and answer.search_queries[0] == prompt
    assert [c.url for c in cited(answer)] == expected
    assert len(retrieved(answer)) == 2 and all(c.spans for c in cited(answer))
