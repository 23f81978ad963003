"""Tests for the Anthropic Messages API (web_search server tool) parser.

Our own fixtures (tests/fixtures/anthropic/) are written in the real wire
format for a B2B valve exporter (Hengda Valve / 恒达阀门 and competitors). The
real public samples in ../shared/realdata/anthropic_json/ are read in place,
never copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from citewatch.raw import RawPart, RawResult
from probes.parsers.anthropic import MULTI_TURN_KEY, PARSER_VERSION, parse
from probes.simulator import anthropic as sim_anthropic
from probes.simulator import demo_scenario
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.conftest import realdata
from tests.probes.support import (
    cited,
    load_json,
    parse_body,
    parse_file,
    real_file,
    retrieved,
    span_texts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"

HENGDA_PRODUCT = "https://www.hengdavalve.com/products/api-6d-trunnion-ball-valve"
HENGDA_CERTS = "https://www.hengdavalve.com/about/certificates"
APEX = "https://www.apexflow.com/products/trunnion-ball-valves"
NORTHSTAR = "https://northstarvalves.de/en/products/cryogenic-ball-valves"


load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def wrap(*raws: bytes) -> bytes:
    """The probe's multi-turn document: the bodies' bytes spliced in unchanged."""
    return b'{"' + MULTI_TURN_KEY.encode() + b'": [' + b", ".join(raws) + b"]}"


def text_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in body["content"] if b["type"] == "text"]


# --- module contract ---------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 2


def test_fixtures_carry_every_top_level_key_of_a_real_response() -> None:
    keys = {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    names = sorted(p.name for p in FIXTURES.glob("*.json") if p.name != "hengda_error_overloaded.json")
    assert len(names) >= 9
    for name in names:
        body = load(name)
        assert keys <= body.keys(), (name, keys - body.keys())
        assert (body["type"], body["role"]) == ("message", "assistant")
        usage = body["usage"]
        assert {"input_tokens", "output_tokens", "server_tool_use", "service_tier"} <= usage.keys()
    error = load("hengda_error_overloaded.json")
    assert error.keys() == {"type", "error", "request_id"} and error["error"].keys() == {"type", "message"}


# --- normal answer with duplicate sources --------------------------------------


def test_cited_blocks_become_spans_and_duplicates_merge() -> None:
    answer = parse_fixture("hengda_ball_valve_dup_sources.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "claude-sonnet-4-5-20250929"
    assert (answer.input_tokens, answer.output_tokens) == (28714, 612)
    assert answer.features == ["web_search"]
    # Three searches, the third a repeat of the first with a trailing space.
    assert answer.search_queries == ["API 6D trunnion ball valve manufacturer China export",
                                     "Hengda Valve API 6D API 607 certificate"]
    # Text blocks are concatenated as they are, the preamble between searches included.
    assert answer.text.startswith("Let me check the certifications as well.Based on the search results")
    assert answer.text.endswith("EN 10204 3.1 material certificates with every shipment.")

    assert [c.url for c in cited(answer)] == [HENGDA_PRODUCT, HENGDA_CERTS, APEX, NORTHSTAR]
    assert [c.position for c in answer.citations] == list(range(1, 8))
    product, certs, apex, northstar = cited(answer)
    assert product.title == "API 6D Trunnion Mounted Ball Valve | Hengda Valve"
    # The #specs variant in the second cited block is the same page: one citation, two spans.
    assert span_texts(answer, product) == [
        'Hengda Valve manufactures API 6D trunnion mounted ball valves from 2" to 48" in pressure classes 150 to 2500',
        "The company holds API 6D and API 607 fire-safe certificates and exports to more than 60 countries",
    ]
    assert span_texts(answer, certs) == [
        "The company holds API 6D and API 607 fire-safe certificates and exports to more than 60 countries"]
    assert certs.spans == [product.spans[1]]  # two sources support the same block
    assert span_texts(answer, apex) == ["Apex Flow Controls offers trunnion ball valves with double block and "
                                        "bleed capability for pipeline service"]
    assert span_texts(answer, northstar) == ["NorthStar Valves, based in Germany, specializes in cryogenic ball "
                                             "valves tested to BS 6364"]
    for c in cited(answer):
        assert (c.cited, c.visible, c.origin) == (True, True, "annotation")

    # Search results no citation uses, after the cited ones, without spans.
    assert [(c.url, c.title) for c in retrieved(answer)] == [
        ("https://en.wikipedia.org/wiki/Ball_valve", "Ball valve - Wikipedia"),
        ("https://www.made-in-china.com/products-search/hot-china-products/Api_6D_Ball_Valve.html",
         "China API 6D Ball Valve, API 6D Ball Valve Manufacturers, Suppliers | Made-in-China.com"),
        ("https://www.api.org/products-and-services/api-monogram-and-apiqr/composite-list", "API Composite List | API"),
    ]
    for c in retrieved(answer):
        assert (c.spans, c.origin) == ([], "search_result")


def test_every_span_is_exactly_its_text_block() -> None:
    body = load("hengda_ball_valve_dup_sources.json")
    answer = parse_obj(body)
    assert answer.text == "".join(b["text"] for b in text_blocks(body))
    offset = 0
    expected: dict[str, list[tuple[int, int]]] = {}
    for block in text_blocks(body):
        for c in block.get("citations", []):
            url = c["url"].split("#")[0]
            span = (offset, offset + len(block["text"]))
            if span not in expected.setdefault(url, []):
                expected[url].append(span)
        offset += len(block["text"])
    assert {c.url: c.spans for c in cited(answer)} == expected


def test_citation_title_missing_falls_back_to_the_search_result_title() -> None:
    body = load("hengda_ball_valve_dup_sources.json")
    for block in text_blocks(body):
        for c in block.get("citations", []):
            if c["url"] == APEX:
                c["title"] = None
    answer = parse_obj(body)
    apex = next(c for c in answer.citations if c.url == APEX)
    assert apex.title == "Trunnion Ball Valves | Apex Flow Controls"


def test_first_non_empty_title_wins() -> None:
    body = load("hengda_ball_valve_dup_sources.json")
    blocks = [b for b in text_blocks(body) if b.get("citations")]
    blocks[0]["citations"][0]["title"] = ""
    answer = parse_obj(body)
    # The later #specs citation of the same page brings its title.
    assert answer.citations[0].url == HENGDA_PRODUCT
    assert answer.citations[0].title == "API 6D Trunnion Mounted Ball Valve | Hengda Valve"


def test_same_url_twice_in_one_block_counts_once_with_one_span() -> None:
    body = load("hengda_no_citations.json")
    block = text_blocks(body)[0]
    cite = {"type": "web_search_result_location", "url": "https://www.hengdavalve.com/products/ductile-iron-gate-valve",
            "title": "Ductile Iron Gate Valve", "cited_text": "DN50-DN1200", "encrypted_index": "EpABCioIBxgC"}
    block["citations"] = [cite, dict(cite, cited_text="PN10/PN16")]
    answer = parse_obj(body)
    assert len(cited(answer)) == 1
    assert cited(answer)[0].spans == [(0, len(block["text"]))]


def test_non_web_citation_types_and_empty_blocks_are_ignored() -> None:
    body = load("hengda_no_citations.json")
    body["content"] += [
        {"type": "text", "text": " See the catalogue.",
         "citations": [{"type": "char_location", "cited_text": "Catalogue 2026", "document_index": 0,
                        "document_title": "catalogue.pdf", "start_char_index": 0, "end_char_index": 14}]},
        {"type": "text", "text": "",
         "citations": [{"type": "web_search_result_location", "url": "https://www.apexflow.com/products/gate-valves",
                        "title": "Gate Valves", "cited_text": "x", "encrypted_index": "Ep"}]},
    ]
    answer = parse_obj(body)
    assert [(c.url, c.spans, c.cited) for c in cited(answer)] == [
        ("https://www.apexflow.com/products/gate-valves", [], True)]  # cited, but an empty block spans nothing
    assert answer.text.endswith(" See the catalogue.")


# --- no citations / empty / refusal / error ------------------------------------------


def test_search_ran_but_answer_has_no_citations() -> None:
    answer = parse_fixture("hengda_no_citations.json")
    assert answer.status == "ok" and answer.has_answer
    assert cited(answer) == []
    assert [c.url for c in retrieved(answer)] == ["https://www.hengdavalve.com/products/ductile-iron-gate-valve",
                                                  "https://www.apexflow.com/products/gate-valves"]
    assert "Hengda Valve (恒达阀门)" in answer.text
    assert answer.search_queries == ["DN300 PN16 ductile iron gate valve manufacturer China"]


def test_empty_answer_is_no_answer() -> None:
    answer = parse_fixture("hengda_empty_answer.json")
    assert answer.status == "no_answer" and answer.status_reason == "empty answer text"
    assert answer.text == "" and not answer.has_answer and cited(answer) == []
    assert answer.search_queries == ["恒达阀门 出口 认证"]  # the search still happened
    assert answer.features == ["web_search"]
    assert [c.url for c in retrieved(answer)] == ["https://www.hengdavalve.com/zh/about/certificates"]


def test_whitespace_only_text_is_no_answer() -> None:
    body = load("hengda_no_citations.json")
    text_blocks(body)[0]["text"] = " \n\n "
    assert parse_obj(body).status == "no_answer"


def test_refusal_is_no_answer_with_the_stop_details() -> None:
    answer = parse_fixture("hengda_refusal.json")
    assert answer.status == "no_answer" and not answer.has_answer
    assert answer.status_reason == "refusal: cyber: This request was declined because it could enable cyber harm."
    assert answer.text == "Here is an overview of how the safety interlock on"  # what came before the stop
    assert answer.citations == [] and answer.features == [] and answer.search_queries == []
    assert answer.model == "claude-sonnet-4-5-20250929"
    assert (answer.input_tokens, answer.output_tokens) == (612, 11)


def test_refusal_without_stop_details() -> None:
    body = load("hengda_refusal.json")
    del body["stop_details"]
    body["content"] = []
    answer = parse_obj(body)
    assert answer.status == "no_answer" and answer.status_reason == "refusal: (no reason given)"


def test_api_error_body_is_an_error() -> None:
    answer = parse_fixture("hengda_error_overloaded.json")
    assert answer.status == "error"
    assert answer.status_reason == "overloaded_error: Overloaded (request_id req_011CVvY7hPq3nKcX2mB8sT4u)"
    assert answer.text == "" and answer.citations == [] and answer.model is None
    assert (answer.input_tokens, answer.output_tokens) == (None, None)


def test_api_error_without_request_id() -> None:
    raw = b'{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}'
    answer = parse(raw)
    assert (answer.status, answer.status_reason) == ("error", "authentication_error: invalid x-api-key")


@pytest.mark.parametrize(("error", "reason"), [
    ({"type": "api_error", "message": " Internal server error\n"}, "api_error: Internal server error"),
    ({}, "API error (no details)"),
])
def test_api_error_reasons_are_trimmed_and_never_empty(error: Any, reason: str) -> None:  # PARSER_VERSION 2
    answer = parse_obj({"type": "error", "error": error})
    assert (answer.status, answer.status_reason) == ("error", reason)


def test_failed_search_is_ignored_when_text_came_back() -> None:
    answer = parse_fixture("hengda_search_error.json")
    assert answer.status == "ok" and answer.status_reason is None
    assert answer.search_queries == ["butterfly valve suppliers API 609", "NorthStar Valves butterfly valve"]
    assert [(c.url, span_texts(answer, c)) for c in answer.citations] == [
        ("https://www.hengdavalve.com/products/triple-offset-butterfly-valve",
         ["Hengda Valve makes triple offset butterfly valves to API 609 Category B"])]


def test_failed_search_is_noted_when_no_text_came_back() -> None:
    body = load("hengda_search_error.json")
    body["content"] = [b for b in body["content"] if b["type"] != "text"]
    answer = parse_obj(body)
    assert answer.status == "no_answer"
    assert answer.status_reason == "empty answer text; web search error: max_uses_exceeded"


def test_max_tokens_keeps_the_truncated_text() -> None:
    answer = parse_fixture("hengda_max_tokens.json")
    assert answer.status == "ok" and answer.has_answer
    assert answer.status_reason == "incomplete: max_tokens"
    assert answer.text.endswith("its main competitors in Wenzhou are")
    assert span_texts(answer, answer.citations[0]) == ["Hengda Valve manufactures API 6D trunnion mounted ball valves"]


def test_max_tokens_without_text_is_an_error() -> None:
    body = load("hengda_max_tokens.json")
    body["content"] = [b for b in body["content"] if b["type"] != "text"]
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "incomplete: max_tokens")


# --- indices into multi-byte text ----------------------------------------------------


def test_cjk_and_emoji_before_spans_slice_exactly() -> None:
    answer = parse_fixture("hengda_zh_cjk_emoji.json")
    assert answer.status == "ok"
    text = answer.text
    hengda, apex, northstar = cited(answer)
    prefix = text[: hengda.spans[0][0]]
    # Emoji outside the BMP (4 UTF-8 bytes, 2 UTF-16 units) and CJK (3 UTF-8 bytes) precede the first span.
    assert "🔧" in prefix and "🏭" in prefix and "恒达阀门" in prefix
    assert any(ord(ch) > 0xFFFF for ch in prefix)
    assert len(prefix.encode("utf-8")) > len(prefix.encode("utf-16-le")) // 2 > len(prefix)
    assert span_texts(answer, hengda) == ["恒达阀门成立于1998年，产品出口到60多个国家，持有 API 6D 和 API 607 认证",
                                          "NorthStar Valves 专注于 −196 °C 低温球阀 ❄️"]
    assert hengda.url == "https://www.hengdavalve.com/zh/about"  # the #history variant merged into it
    assert hengda.title == "关于我们 - 恒达阀门有限公司"
    # Two flags (two code points each) precede the Apex span.
    assert "🇨🇳→🇺🇸" in text[: apex.spans[0][0]]
    assert span_texts(answer, apex) == ["Apex Flow Controls 提供带双阻双泄功能的固定球阀"]
    assert span_texts(answer, northstar) == ["NorthStar Valves 专注于 −196 °C 低温球阀 ❄️"]
    assert [c.position for c in answer.citations] == [1, 2, 3, 4]
    assert [c.url for c in retrieved(answer)] == ["https://baike.baidu.com/item/球阀"]


# --- multi-turn (pause_turn) ---------------------------------------------------------


def test_a_single_paused_body_is_an_error() -> None:
    answer = parse_fixture("hengda_pause_turn_part1.json")
    assert answer.status == "error"
    assert answer.status_reason == "incomplete: pause_turn (turn still paused after 1 response)"
    assert answer.text == "I'll look up each supplier in turn."
    assert cited(answer) == []


def test_paused_turn_and_its_continuation_parse_as_one_answer() -> None:
    part1 = (FIXTURES / "hengda_pause_turn_part1.json").read_bytes()
    part2 = (FIXTURES / "hengda_pause_turn_part2.json").read_bytes()
    answer = parse(wrap(part1, part2))
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "claude-sonnet-4-5-20250929"
    assert (answer.input_tokens, answer.output_tokens) == (15480 + 18932, 210 + 341)
    assert answer.search_queries == ["Hengda Valve cryogenic ball valve", "Apex Flow Controls cryogenic valves",
                                     "NorthStar Valves BS 6364"]
    first = "I'll look up each supplier in turn."
    assert answer.text.startswith(first + "Here is how the three compare for LNG service:")
    # The Hengda page came from turn 1's search and is cited in turn 2; spans index the joined text.
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        ("https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf",
         ["Hengda Valve published a seat leakage study at −196 °C for its cryogenic ball valves"]),
        (NORTHSTAR, ["NorthStar Valves type tests every cryogenic ball valve to BS 6364"]),
    ]
    assert cited(answer)[0].spans[0][0] > len(first)
    assert [c.url for c in retrieved(answer)] == [
        "https://en.wikipedia.org/wiki/Ball_valve", APEX, "https://northstarvalves.de/en/news/2026-expansion"]


def test_continued_turn_as_parts_parses_as_the_older_wrapper_does() -> None:
    """Probes now return each body as a part; payloads stored in the older wrapper still parse the same."""
    part1 = (FIXTURES / "hengda_pause_turn_part1.json").read_bytes()
    part2 = (FIXTURES / "hengda_pause_turn_part2.json").read_bytes()
    parts = RawResult((RawPart("response", part1), RawPart("continuation-1", part2)))
    assert parse(parts) == parse(wrap(part1, part2))
    assert parse(parts).has_answer and len(cited(parse(parts))) == 2


def test_a_part_that_is_not_a_messages_body_is_unparseable() -> None:
    part1 = (FIXTURES / "hengda_pause_turn_part1.json").read_bytes()
    with pytest.raises(ParseError, match="continuation-1"):
        parse(RawResult((RawPart("response", part1), RawPart("continuation-1", b'{"type": "nonsense"}'))))


def test_wrapper_with_one_body_equals_the_body() -> None:
    raw = (FIXTURES / "hengda_ball_valve_dup_sources.json").read_bytes()
    assert parse(wrap(raw)) == parse(raw)


def test_wrapper_still_paused_after_all_continuations_is_an_error() -> None:
    part1 = (FIXTURES / "hengda_pause_turn_part1.json").read_bytes()
    answer = parse(wrap(part1, part1, part1, part1))
    assert answer.status == "error"
    assert answer.status_reason == "incomplete: pause_turn (turn still paused after 4 responses)"
    assert (answer.input_tokens, answer.output_tokens) == (4 * 15480, 4 * 210)


def test_wrapper_with_an_error_body_is_an_error() -> None:
    part1 = (FIXTURES / "hengda_pause_turn_part1.json").read_bytes()
    error = (FIXTURES / "hengda_error_overloaded.json").read_bytes()
    answer = parse(wrap(part1, error))
    assert answer.status == "error"
    assert answer.status_reason == ("overloaded_error: Overloaded (request_id req_011CVvY7hPq3nKcX2mB8sT4u) "
                                    "(response 2 of 2)")
    assert answer.model == "claude-sonnet-4-5-20250929"  # from the turn that answered
    assert answer.text == "" and answer.citations == []


# --- garbage -----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json at all", "not JSON"),
    (b"", "empty body"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "got a JSON list"),
    (b'"message"', "got a JSON str"),
    (b"<html><head><title>529 Overloaded</title></head><body>upstream connect error</body></html>", "not JSON"),
    (b'{"id": "msg_1", "type": "message", "role": "assistant"}', "no 'content' list"),
    (b'{"id": "msg_1", "type": "message", "content": "Hengda Valve"}', "no 'content' list"),
    (b'{"id": "resp_1", "object": "response", "output": []}', "'type' is None"),
    (b'{"id": "chatcmpl-1", "type": "chat.completion", "choices": []}', "'type' is 'chat.completion'"),
    (b'{"type": "error", "error": "Overloaded"}', "without an 'error' object"),
    (b'{"citewatch_multi_turn": []}', "non-empty list"),
    (b'{"citewatch_multi_turn": {"type": "message"}}', "non-empty list"),
    (b'{"citewatch_multi_turn": [{"type": "message", "content": []}, 7]}', r"citewatch_multi_turn\[1\] is a JSON int"),
    (b'{"citewatch_multi_turn": [{"type": "message", "content": null}]}', r"citewatch_multi_turn\[0\].*content"),
])
def test_garbage_raises_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(raw)


def test_malformed_blocks_are_skipped_not_fatal() -> None:
    body = load("hengda_ball_valve_dup_sources.json")
    body["content"] = [7, None, "text", {"type": "text"}, {"type": "text", "text": 5},
                       {"type": "server_tool_use", "name": "web_search", "input": {"query": "  "}},
                       {"type": "server_tool_use", "name": "web_search", "input": None},
                       {"type": "web_search_tool_result", "content": [None, {"type": "web_search_result"}]},
                       {"type": "text", "text": "Hengda Valve.",
                        "citations": [None, {"type": "web_search_result_location"}]},
                       ] + body["content"]
    answer = parse_obj(body)
    clean = parse_fixture("hengda_ball_valve_dup_sources.json")
    assert answer.text == "Hengda Valve." + clean.text
    assert answer.search_queries == clean.search_queries
    assert [c.url for c in answer.citations] == [c.url for c in clean.citations]


def test_usage_garbage_gives_no_tokens() -> None:
    body = load("hengda_no_citations.json")
    body["usage"] = {"input_tokens": True, "output_tokens": "187"}
    answer = parse_obj(body)
    assert (answer.input_tokens, answer.output_tokens) == (None, None)


# --- the simulator's rendering ----------------------------------------------------------


@pytest.mark.parametrize("prompt", ["api 6d ball valve supplier china", "球阀 制造商"])
@pytest.mark.parametrize("call", range(4))
def test_simulator_render_parses_back_into_its_segments(prompt: str, call: int) -> None:
    sim = simulated_answer(demo_scenario(), prompt, "claude-sonnet-4-5", call)
    body = sim_anthropic.render(sim)
    answer = parse(json.dumps(body, ensure_ascii=False).encode())
    assert answer.status == "ok" and answer.model == "claude-sonnet-4-5-20250929"
    assert answer.search_queries == [prompt]
    expected: list[str] = []
    for segment in sim.segments:
        for url, _ in segment.sources:
            if url not in expected:
                expected.append(url)
    assert [c.url for c in cited(answer)] == expected
    for c in cited(answer):
        sentences = [s.sentence for s in sim.segments if c.url in [u for u, _ in s.sources]]
        assert c.spans and all(any(answer.text[s:e] in sentence for sentence in sentences) for s, e in c.spans)
        assert c.title == next(t for s in sim.segments for u, t in s.sources if u == c.url)
    for c in retrieved(answer):
        assert c.url in [u for u, _ in demo_scenario().neutral_pages]


def test_simulator_mount() -> None:
    assert FORMATS["anthropic"] is sim_anthropic and sim_anthropic.BASE_SUFFIX == ""
    assert sim_anthropic.handles("/v1/messages") and not sim_anthropic.handles("/v1/responses")
    body = {"model": "claude-opus-4-1-20250805", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "ball valve"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "…"}]}]}
    assert sim_anthropic.prompt_of("/v1/messages", body) == "ball valve"
    assert sim_anthropic.model_of("/v1/messages", body) == "claude-opus-4-1-20250805"
    assert sim_anthropic.model_of("/v1/messages", {}) == "claude-sonnet-4-5"


# --- real public samples (read in place, never copied) ------------------------------

ACCU_SF = "https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629"
WU_SF = "https://www.wunderground.com/weather/us/ca/san-francisco"
WU_SF_HOURLY = "https://www.wunderground.com/hourly/us/ca/san-francisco"
ACCU_MX = "https://www.accuweather.com/en/mx/mexico-city/242560/weather-forecast/242560"
WEATHERCOM_MX = "https://weather.com/weather/tenday/l/6121681b2c5df01145b9723d497c595c53ae08104787aa1c26bafdf2fb875c07"
WU_MX = "https://www.wunderground.com/weather/mx/mexico-city"

# Facts read off each file by hand: model, tokens, queries, distinct cited URLs in order of first
# appearance with their number of spans (distinct cited blocks), number of retrieved-only results.
REAL_EXPECTED: dict[str, dict[str, Any]] = {
    "messages_web_search_sf_weather.json": {
        "model": "claude-sonnet-4-20250514", "tokens": (8984, 520), "queries": ["San Francisco weather today"],
        # 9 cited blocks: "Winds W at 10 to 20 mph" twice, at two places
        "cited": [(ACCU_SF, 3), (WU_SF, 5), (WU_SF_HOURLY, 1)], "retrieved": 7,
    },
    "messages_web_search_mexico_city_weather.json": {
        "model": "claude-sonnet-4-20250514", "tokens": (19859, 544), "queries": ["Mexico City weather today"],
        # 9 citations in 8 blocks: one block cites wunderground twice
        "cited": [(ACCU_MX, 5), (WEATHERCOM_MX, 2), (WU_MX, 1)], "retrieved": 7,
    },
    "messages_web_search_news_thinking.json": {
        "model": "claude-sonnet-4-5-20250929", "tokens": (7744, 353), "queries": ["top news today"],
        "cited": [
            ("https://www.cbsnews.com/live-updates/iran-war-trump-israel-strikes-ceasefire-lebanon-beirut/", 1),
            ("https://www.foxnews.com/politics/federal-judge-strikes-trumps-100k-h-1b-visa-fee-ruling-"
             "unconstitutional-tax", 1),
            ("https://www.foxnews.com/politics/la-mayoral-race-heads-november-runoff-karen-bass-faces-mamdani-style-"
             "socialist", 1),
        ],
        "retrieved": 7,
    },
    "messages_web_search_vercel_fixture.json": {
        "model": "claude-sonnet-4-20250514", "tokens": (27118, 600),
        # the second search returned an empty result list
        "queries": ["tech news today September 26 2024", '"September 26 2024" tech news breaking'],
        "cited": [("https://acecomments.mu.nu/?post=411647", 1),
                  ("https://www.crescendo.ai/news/latest-ai-news-and-updates", 2)],
        "retrieved": 8,
    },
    "messages_web_search_pause_turn_part2.json": {
        "model": "claude-sonnet-4-5-20250929", "tokens": (494549, 1245),
        "queries": ["latest news events San Francisco this week", "latest news ferry San Francisco",
                    "latest news quantum computing San Francisco", "latest news stock market San Francisco"],
        "cited_count": 15, "retrieved": 44,
    },
}


def test_every_real_message_sample_has_expected_facts() -> None:
    folder = realdata("anthropic_json")
    names = {p.name for p in folder.glob("messages_*.json")}
    assert names, f"no messages_*.json in {folder}"
    known = REAL_EXPECTED.keys() | {"messages_web_search_pause_turn_part1.json"}
    assert names <= known, f"new real samples need expected facts: {sorted(names - known)}"


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_sample(name: str) -> None:
    path = real_file("anthropic_json", name)
    facts = REAL_EXPECTED[name]
    answer = parse(path.read_bytes())

    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == facts["model"]
    assert (answer.input_tokens, answer.output_tokens) == facts["tokens"]
    assert answer.features == ["web_search"]
    assert answer.search_queries == facts["queries"]
    if "cited" in facts:
        assert [(c.url, len(c.spans)) for c in cited(answer)] == facts["cited"]
    else:
        assert len(cited(answer)) == facts["cited_count"]
    assert len(retrieved(answer)) == facts["retrieved"]
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))

    body = json.loads(path.read_bytes())
    assert answer.text == "".join(b["text"] for b in body["content"] if b["type"] == "text")
    block_texts = {b["text"] for b in body["content"] if b["type"] == "text" and b.get("citations")}
    for c in cited(answer):
        assert c.title and c.origin == "annotation" and c.spans
        for piece in span_texts(answer, c):
            assert piece in block_texts  # a span is exactly one cited block
    for c in retrieved(answer):
        assert c.origin == "search_result" and c.spans == [] and c.title


def test_real_repeated_sentence_gets_two_spans() -> None:
    path = realdata("anthropic_json") / "messages_web_search_sf_weather.json"
    answer = parse(path.read_bytes())
    wunderground = next(c for c in answer.citations if c.url == WU_SF)
    assert span_texts(answer, wunderground) == ["High: 78°F with partly cloudy skies", "Winds W at 10 to 20 mph",
                                                "8% chance of precipitation",
                                                "Low: 57°F with clear to partly cloudy conditions",
                                                "Winds W at 10 to 20 mph"]
    assert wunderground.spans[1] != wunderground.spans[4]
    # A non-ASCII "°" precedes later spans: the offsets are code points.
    start = wunderground.spans[3][0]
    assert "°" in answer.text[:start]


def test_real_paused_part1_alone_is_an_unfinished_turn() -> None:
    path = realdata("anthropic_json") / "messages_web_search_pause_turn_part1.json"
    answer = parse(path.read_bytes())
    assert answer.status == "error"
    assert answer.status_reason == "incomplete: pause_turn (turn still paused after 1 response)"
    assert answer.model == "claude-sonnet-4-5-20250929"
    assert len(answer.search_queries) == 11
    assert cited(answer) == [] and len(retrieved(answer)) == 91
    assert answer.text.startswith("I'll run these searches for you one at a time. Let me begin:")


def test_real_pause_turn_parts_wrapped_parse_into_one_answer() -> None:
    folder = realdata("anthropic_json")
    part1 = (folder / "messages_web_search_pause_turn_part1.json").read_bytes()
    part2 = (folder / "messages_web_search_pause_turn_part2.json").read_bytes()
    answer = parse(wrap(part1, part2))
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "claude-sonnet-4-5-20250929"
    assert (answer.input_tokens, answer.output_tokens) == (401468 + 494549, 792 + 1245)
    # "All 15 searches have been completed": 11 in the first turn, 4 in the second.
    assert len(answer.search_queries) == 15
    assert answer.search_queries[0] == "San Francisco weather today"
    assert answer.search_queries[-1] == "latest news stock market San Francisco"
    # 17 citations of 15 distinct pages; 132 distinct results in all, so 117 retrieved only.
    assert len(cited(answer)) == 15 and len(retrieved(answer)) == 117
    first = cited(answer)[0]
    assert first.url == WU_SF_HOURLY
    assert span_texts(answer, first) == ["San Francisco is experiencing sunny weather with a high of 68°F"]
    ferry = next(c for c in cited(answer) if c.url == "https://sanfranciscobayferry.com/")
    assert len(ferry.spans) == 1  # cited twice by one block
    assert span_texts(answer, ferry)[0].startswith("SF Bay Ferry will begin running an optimized")
    # The first turn's preamble comes first, then the continuation (which opens with the pending result).
    assert answer.text.startswith("I'll run these searches for you one at a time. Let me begin:")
    assert "skip ahead as some variations would return similar results:Let me complete the final searches:" \
        in answer.text
    # A page the first turn's search returned and the second turn cites is cited, not retrieved.
    assert ACCU_SF in [c.url for c in cited(answer)]
    assert ACCU_SF not in [c.url for c in retrieved(answer)]

