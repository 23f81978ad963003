"""Tests for the Gemini generateContent (google_search grounding) parser.

Our own fixtures (tests/fixtures/gemini/) are written in the real wire format
for a B2B valve exporter (Hengda Valve / 恒达阀门 and competitors). The real
public samples in ../shared/realdata/gemini_json/ are read in place, never
copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from monitor.analysis.ownership import EntitySpec, owner_of, source_url
from probes.parsers.gemini import PARSER_VERSION, parse
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

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gemini"
REDIRECT = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"

ENTITIES = (
    EntitySpec("Hengda Valve", "brand", ("Hengda", "恒达阀门"), ("hengdavalve.com",)),
    EntitySpec("Apex Flow Controls", "competitor", ("Apex Flow",), ("apexflow.com",)),
    EntitySpec("NorthStar Valves", "competitor", ("NorthStar",), ("northstarvalves.de",)),
)


load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def grounding(body: dict[str, Any]) -> dict[str, Any]:
    return body["candidates"][0]["groundingMetadata"]


def chunk_uri(body: dict[str, Any], index: int) -> str:
    return grounding(body)["groundingChunks"][index]["web"]["uri"]


# --- module contract ---------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 3


def test_fixtures_carry_every_top_level_key_of_a_real_response() -> None:
    answers = sorted(p.name for p in FIXTURES.glob("hengda_*.json"))
    assert len(answers) >= 8
    for name in answers:
        body = load(name)
        assert {"modelVersion", "responseId", "usageMetadata"} <= body.keys(), name
        assert ("candidates" in body) != ("promptFeedback" in body), name  # a blocked prompt has no candidates
        for candidate in body.get("candidates", []):
            assert {"finishReason", "index"} <= candidate.keys(), name
            if "groundingMetadata" in candidate:
                assert {"searchEntryPoint", "webSearchQueries"} <= candidate["groundingMetadata"].keys(), name
    for name in sorted(p.name for p in FIXTURES.glob("api_error_*.json")):
        assert load(name).keys() == {"error"}
        assert {"code", "message", "status", "details"} <= load(name)["error"].keys()


# --- a grounded answer with duplicates, thoughts and non-ASCII ---------------------


def test_grounded_answer_sources_positions_and_spans() -> None:
    body = load("hengda_api6d_grounded.json")
    answer = parse_fixture("hengda_api6d_grounded.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "gemini-2.5-flash"
    assert (answer.input_tokens, answer.output_tokens) == (24, 187 + 412)  # answer + thinking tokens
    assert answer.features == ["web_search"]
    # deduplicated, the empty string skipped
    assert answer.search_queries == ["API 6D trunnion ball valve manufacturers", "Hengda Valve API 607 fire safe"]
    assert answer.text.startswith("Several Chinese and European manufacturers")
    assert "Finding API 6D ball valve makers" not in answer.text  # the thought part is not the answer

    # Positions follow the chunk list (issue 3 and DESIGN.md), though the first sentence's support names
    # chunk 3 (NorthStar) before chunk 0 (Hengda); chunk 6 repeats chunk 0's URI; chunk 7 is never used.
    assert [(c.position, c.cited, c.title) for c in answer.citations] == [
        (1, True, "hengdavalve.com"), (2, True, "hengdavalve.com"), (3, True, "apexflow.com"),
        (4, True, "northstarvalves.de"), (5, True, "northstarvalves.de"), (6, True, "google.com"),
        (7, False, "valvemagazine.com")]
    urls = [c.url for c in answer.citations]
    assert urls == [chunk_uri(body, i) for i in (0, 1, 2, 3, 4, 5, 7)]
    assert all(u.startswith(REDIRECT) for i, u in enumerate(urls) if i != 5)
    assert urls[5] == "https://www.google.com/search?q=API+6D+ball+valve+lead+time"

    first = "Several Chinese and European manufacturers supply API 6D trunnion-mounted ball valves for pipeline service."
    hengda, hengda_news, apex, northstar, northstar_news, google, magazine = answer.citations
    assert northstar.spans[0] == (0, len(first))  # startIndex omitted: 0
    assert span_texts(answer, northstar) == [first, "**NorthStar Valves** focuses on cryogenic service down to −196 °C."]
    assert span_texts(answer, hengda) == [
        first,
        "**Hengda Valve (恒达阀门)** makes API 6D trunnion ball valves from DN50 to DN1200, rated for –46 °C to 200 °C.",
        "Its fire-safe design is certified to API 607.",
        "Always request EN 10204 3.1 material certificates with every shipment.",  # via chunk 6, same URI
    ]
    assert span_texts(answer, hengda_news) == ["Its fire-safe design is certified to API 607."]
    assert span_texts(answer, apex) == [
        "**Apex Flow Controls** offers forged-steel ball valves with a 36‑month warranty."]
    assert span_texts(answer, northstar_news) == [
        "**NorthStar Valves** focuses on cryogenic service down to −196 °C."]
    assert span_texts(answer, google) == ["Lead times for standard sizes are typically 4–6 weeks."]
    assert (magazine.spans, magazine.origin) == ([], "search_result")
    for c in cited(answer):
        assert (c.visible, c.origin) == (True, "annotation")


def test_spans_are_code_points_after_multibyte_text_not_bytes() -> None:
    answer = parse_fixture("hengda_api6d_grounded.json")
    apex = answer.citations[2]
    start, end = apex.spans[0]
    prefix = answer.text[:start]
    assert "恒达阀门" in prefix and "°" in prefix and "–" in prefix
    assert len(prefix.encode("utf-8")) > len(prefix)  # a byte offset would land elsewhere
    assert answer.text[start:end].startswith("**Apex Flow Controls**")


def test_redirect_chunk_is_owned_through_its_domain_title() -> None:
    answer = parse_fixture("hengda_api6d_grounded.json")
    owners = [owner_of(source_url(c.url, c.title), ENTITIES) for c in answer.citations]
    assert owners == ["Hengda Valve", "Hengda Valve", "Apex Flow Controls", "NorthStar Valves", "NorthStar Valves",
                      None, None]
    hengda = answer.citations[0]
    assert hengda.url.startswith(REDIRECT) and hengda.title == "hengdavalve.com"
    assert owner_of(source_url(hengda.url, hengda.title), ENTITIES) == "Hengda Valve"


def test_position_follows_the_chunk_list_not_the_support_order() -> None:
    body = load("hengda_api6d_grounded.json")
    expected = parse_obj(body)
    grounding(body)["groundingSupports"].reverse()
    shuffled = parse_obj(body)
    assert [(c.url, c.position, sorted(c.spans)) for c in shuffled.citations] == \
           [(c.url, c.position, sorted(c.spans)) for c in expected.citations]

    body = load("hengda_api6d_grounded.json")
    chunks = grounding(body)["groundingChunks"]
    order = list(reversed(range(len(chunks))))  # new list position -> old index
    grounding(body)["groundingChunks"] = [chunks[i] for i in order]
    for support in grounding(body)["groundingSupports"]:
        support["groundingChunkIndices"] = [order.index(i) for i in support["groundingChunkIndices"]]
    remapped = parse_obj(body)
    # the reversed list: chunk 6 (Hengda's URI again) now comes first among the cited, chunk 7 is unused
    assert [c.url for c in cited(remapped)] == [chunk_uri(body, i) for i in (1, 2, 3, 4, 5, 6)]
    assert {c.url: c.spans for c in remapped.citations} == {c.url: c.spans for c in expected.citations}


def test_first_non_empty_title_wins_for_a_repeated_uri() -> None:
    body = load("hengda_api6d_grounded.json")
    grounding(body)["groundingChunks"][0]["web"]["title"] = ""
    answer = parse_obj(body)
    assert answer.citations[0].title == "hengdavalve.com"  # from chunk 6, the same URI
    assert answer.citations[0].url == chunk_uri(body, 0)


def test_offsets_alone_give_the_same_spans_when_segment_text_is_missing() -> None:
    body = load("hengda_api6d_grounded.json")
    for support in grounding(body)["groundingSupports"]:
        del support["segment"]["text"]
    assert [(c.url, c.spans) for c in parse_obj(body).citations] == \
           [(c.url, c.spans) for c in parse_fixture("hengda_api6d_grounded.json").citations]


def test_several_answer_parts_are_concatenated_without_separator() -> None:
    body = load("hengda_api6d_grounded.json")
    parts = body["candidates"][0]["content"]["parts"]
    text = parts[1]["text"]
    cut = text.index("恒达") + 1  # split inside the CJK name
    parts[1:] = [{"text": text[:cut]}, {"text": "thinking again", "thought": True}, {"text": text[cut:]}]
    for support in grounding(body)["groundingSupports"]:
        del support["segment"]["text"]  # rely on the byte offsets into the concatenation
    answer = parse_obj(body)
    assert answer.text == text
    assert [(c.url, c.spans) for c in answer.citations] == \
           [(c.url, c.spans) for c in parse_fixture("hengda_api6d_grounded.json").citations]


def test_segment_text_not_found_falls_back_to_offsets() -> None:
    body = load("hengda_api6d_grounded.json")
    support = grounding(body)["groundingSupports"][3]  # Apex
    support["segment"]["text"] = "**Apex Flow Controls** offers forged steel ball valves"  # differs from the text
    answer = parse_obj(body)
    assert span_texts(answer, answer.citations[2]) == [
        "**Apex Flow Controls** offers forged-steel ball valves with a 36‑month warranty."]


def test_repeated_sentence_takes_the_occurrence_nearest_the_offset() -> None:
    sentence = "Hengda Valve (恒达阀门) ships API 6D ball valves."
    text = f"{sentence} Apex Flow Controls is an alternative. {sentence}"
    second = text.rindex(sentence)
    start_b = len(text[:second].encode("utf-8"))
    body = load("hengda_no_search.json")
    body["candidates"][0]["content"]["parts"] = [{"text": text}]
    body["candidates"][0]["groundingMetadata"] = {
        "groundingChunks": [{"web": {"uri": REDIRECT + "AUZIYQx", "title": "hengdavalve.com"}}],
        "groundingSupports": [{"groundingChunkIndices": [0], "segment": {
            "startIndex": start_b + 1, "endIndex": start_b + len(sentence.encode("utf-8")) + 1, "text": sentence}}],
        "webSearchQueries": ["hengda valve"],
    }
    (only,) = parse_obj(body).citations
    assert only.spans == [(second, second + len(sentence))]


def test_unusable_support_indices_and_segments_are_skipped() -> None:
    body = load("hengda_api6d_grounded.json")
    supports = grounding(body)["groundingSupports"]
    supports.insert(0, {"groundingChunkIndices": [99, -1, "2", True], "segment": {"endIndex": 10, "text": "Several"}})
    supports.append({"groundingChunkIndices": [7], "segment": "garbage"})
    supports.append("garbage")
    answer = parse_obj(body)
    magazine = answer.citations[-1]
    assert magazine.title == "valvemagazine.com" and magazine.cited and magazine.spans == []
    assert magazine.position == 7


# --- Gemini 3: thoughts, tool calls, drifting byte offsets -------------------------------


def test_gemini3_drifting_offsets_are_resolved_by_segment_text() -> None:
    body = load("hengda_zh_gemini3_drift.json")
    answer = parse_fixture("hengda_zh_gemini3_drift.json")
    assert answer.status == "ok" and answer.model == "gemini-3-flash-preview"
    assert (answer.input_tokens, answer.output_tokens) == (19, 924)
    assert answer.text.startswith("🔧 **恒达阀门（Hengda Valve）**")
    assert "梳理球阀供应商" not in answer.text and "比较结果" not in answer.text
    # webSearchQueries first, then the tool call's extra query; blanks and repeats skipped
    assert answer.search_queries == ["恒达阀门 球阀 API 6D 认证", "球阀 品牌 对比 Apex Flow NorthStar", "恒达阀门 年产能"]

    expected = {
        chunk_uri(body, 0): ["🔧 **恒达阀门（Hengda Valve）** 是温州的球阀制造商，产品通过 API 6D 和 API 607 认证。",
                             "🏭 其工厂年产能约 12 万台，出口到 60 多个国家。"],
        chunk_uri(body, 1): ["🏭 其工厂年产能约 12 万台，出口到 60 多个国家。"],  # startIndex points inside the emoji
        chunk_uri(body, 2): ["### 主要竞争对手\n* **Apex Flow Controls**：美国品牌，锻钢球阀价格较高。"],  # 2 bytes early
        chunk_uri(body, 3): ["* **NorthStar Valves**：德国品牌，擅长 −196 °C 低温阀门 ❄️。"],  # no segment text: offsets
        chunk_uri(body, 4): ["采购建议：索取 EN 10204 3.1 材质证书 ✅。"],  # endIndex past the end of the text
    }
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == list(expected.items())
    assert [c.title for c in answer.citations] == [
        "hengdavalve.com", "hengdavalve.com", "apexflow.com", "northstarvalves.de", "zhihu.com", "made-in-china.com"]
    assert [(c.position, c.cited) for c in retrieved(answer)] == [(6, False)]

    # emoji outside the BMP (4 UTF-8 bytes, 2 UTF-16 units) and CJK precede the later spans
    start = cited(answer)[3].spans[0][0]
    prefix = answer.text[:start]
    assert any(ord(ch) > 0xFFFF for ch in prefix) and "恒达阀门" in prefix
    assert len(prefix.encode("utf-8")) > len(prefix.encode("utf-16-le")) // 2 > len(prefix)


def test_drifting_offsets_without_segment_text_still_give_spans_inside_the_text() -> None:
    body = load("hengda_zh_gemini3_drift.json")
    for support in grounding(body)["groundingSupports"]:
        support["segment"].pop("text", None)
    answer = parse_obj(body)
    assert [c.title for c in cited(answer)] == [
        "hengdavalve.com", "hengdavalve.com", "apexflow.com", "northstarvalves.de", "zhihu.com"]
    for c in cited(answer):
        for start, end in c.spans:
            assert 0 <= start < end <= len(answer.text)
    # A start inside the 🏭 emoji (or inside 采) moves back to the character's start, an end inside a
    # character forward to its end: a character is never split. Drift shows as whitespace at the edges.
    assert span_texts(answer, cited(answer)[1]) == ["🏭 其工厂年产能约 12 万台，出口到 60 多个国家。\n"]
    assert span_texts(answer, cited(answer)[2]) == ["\n\n### 主要竞争对手\n* **Apex Flow Controls**：美国品牌，锻钢球阀价格较高。"]
    assert span_texts(answer, cited(answer)[4]) == ["采购建议：索取 EN 10204 3.1 材质证书 ✅。"]  # end clamped to the text


# --- no citations / no search / empty / refusals / truncation / API errors -------------------


def test_search_without_supports_keeps_chunks_as_retrieved_only() -> None:
    answer = parse_fixture("hengda_search_no_supports.json")
    assert answer.status == "ok" and answer.has_answer
    assert cited(answer) == []
    assert [(c.position, c.title, c.cited, c.origin) for c in answer.citations] == [
        (1, "hengdavalve.com", False, "search_result"), (2, "apexflow.com", False, "search_result")]
    assert answer.features == ["web_search"]
    assert answer.search_queries == ["DN300 PN16 ductile iron gate valve manufacturer China"]


def test_answer_without_search_has_no_citations_or_feature() -> None:
    answer = parse_fixture("hengda_no_search.json")
    assert answer.status == "ok" and answer.has_answer
    assert answer.citations == [] and answer.features == [] and answer.search_queries == []
    assert (answer.input_tokens, answer.output_tokens) == (15, 195)


def test_empty_grounding_metadata_is_no_search() -> None:
    body = load("hengda_no_search.json")
    body["candidates"][0]["groundingMetadata"] = {}
    assert parse_obj(body).features == []


def test_empty_answer_text_is_no_answer() -> None:
    answer = parse_fixture("hengda_empty_answer.json")
    assert (answer.status, answer.status_reason) == ("no_answer", "empty answer text")
    assert answer.text == "" and answer.citations == []
    assert answer.search_queries == ["恒达阀门 出口 认证"] and answer.features == ["web_search"]


def test_whitespace_only_or_missing_content_is_no_answer() -> None:
    body = load("hengda_empty_answer.json")
    body["candidates"][0]["content"]["parts"] = [{"text": " \n\n "}]
    assert parse_obj(body).status == "no_answer"
    del body["candidates"][0]["content"]
    body["candidates"][0]["finishReason"] = "OTHER"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "empty answer text (finishReason OTHER)")


def test_no_candidates_is_no_answer() -> None:
    body = load("hengda_empty_answer.json")
    body["candidates"] = []
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "no candidates in response")
    assert answer.model == "gemini-2.5-flash"


def test_safety_block_is_a_refusal() -> None:
    answer = parse_fixture("hengda_refusal_safety.json")
    assert answer.status == "no_answer" and not answer.has_answer
    assert answer.status_reason == "refusal: finishReason SAFETY (HARM_CATEGORY_HARASSMENT)"
    assert answer.text == "" and answer.citations == []
    assert answer.model == "gemini-2.5-flash" and (answer.input_tokens, answer.output_tokens) == (31, None)


@pytest.mark.parametrize("reason", ["RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"])
def test_refusal_finish_reasons_with_partial_text(reason: str) -> None:
    body = load("hengda_api6d_grounded.json")
    body["candidates"][0]["finishReason"] = reason
    body["candidates"][0]["finishMessage"] = "The response was blocked."
    answer = parse_obj(body)
    assert answer.status == "no_answer" and not answer.has_answer
    assert answer.status_reason == f"refusal: finishReason {reason}: The response was blocked."


def test_blocked_prompt_is_a_refusal() -> None:
    answer = parse_fixture("hengda_prompt_blocked.json")
    assert answer.status == "no_answer"
    assert answer.status_reason == "refusal: prompt blocked (PROHIBITED_CONTENT)"
    assert answer.text == "" and answer.citations == [] and answer.features == []
    assert (answer.model, answer.input_tokens) == ("gemini-2.5-flash", 27)


def test_blocked_prompt_message_is_kept() -> None:
    body = load("hengda_prompt_blocked.json")
    body["promptFeedback"] = {"blockReason": "OTHER", "blockReasonMessage": "Blocked by policy."}
    assert parse_obj(body).status_reason == "refusal: prompt blocked (OTHER: Blocked by policy.)"


def test_max_tokens_spent_on_thoughts_is_an_error() -> None:
    answer = parse_fixture("hengda_max_tokens_only_thoughts.json")
    assert (answer.status, answer.status_reason) == ("error", "incomplete: MAX_TOKENS")
    assert answer.text == "" and answer.model == "gemini-2.5-pro"


def test_max_tokens_with_text_keeps_the_answer() -> None:
    body = load("hengda_api6d_grounded.json")
    body["candidates"][0]["finishReason"] = "MAX_TOKENS"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("ok", "incomplete: MAX_TOKENS")
    assert len(cited(answer)) == 6


def test_api_error_body_is_an_error_answer() -> None:
    answer = parse_fixture("api_error_invalid_key.json")
    assert answer.status == "error"
    assert answer.status_reason == "INVALID_ARGUMENT (400): API key not valid. Please pass a valid API key."
    assert answer.text == "" and answer.citations == [] and answer.model is None

    answer = parse_fixture("api_error_429_retry_info.json")
    assert answer.status == "error" and answer.status_reason.startswith("RESOURCE_EXHAUSTED (429): You exceeded")


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "Internal error encountered."}, "Internal error encountered."),
    ({"code": 503, "status": "UNAVAILABLE"}, "UNAVAILABLE (503)"),
    ({}, "API error (no details)"),  # PARSER_VERSION 3: as null
    ({"code": 500, "status": "INTERNAL", "message": "Internal error encountered.\n"},
     "INTERNAL (500): Internal error encountered."),  # PARSER_VERSION 3: the message trimmed
    ("backend unavailable", "backend unavailable"),
    (None, "API error (no details)"),
])
def test_api_error_variants(error: Any, reason: str) -> None:
    answer = parse_obj({"error": error})
    assert (answer.status, answer.status_reason) == ("error", reason)


# --- garbage -----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json at all", "not JSON"),
    (b"", "empty body"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "got a JSON list"),
    (b'"candidates"', "got a JSON str"),
    (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>",
     "not JSON"),
    (b'{"id": "resp_1", "object": "response", "output": []}', "not a Gemini generateContent response"),
    (b"{}", "not a Gemini generateContent response"),
    (b'{"candidates": {"content": {}}, "modelVersion": "gemini-2.5-flash"}', "'candidates' is a dict"),
    (b'{"candidates": ["text"], "modelVersion": "gemini-2.5-flash"}', r"candidates\[0\] is a str"),
])
def test_garbage_raises_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(raw)


def test_odd_but_valid_shapes_do_not_crash() -> None:
    body = load("hengda_api6d_grounded.json")
    candidate = body["candidates"][0]
    candidate["content"]["parts"].insert(0, "not a part")
    candidate["groundingMetadata"]["groundingChunks"].append({"web": {"title": "no uri"}})
    candidate["groundingMetadata"]["webSearchQueries"].append(7)
    body["usageMetadata"] = {"promptTokenCount": True, "candidatesTokenCount": "12"}
    answer = parse_obj(copy.deepcopy(body))
    assert answer.status == "ok" and len(answer.citations) == 7
    assert (answer.input_tokens, answer.output_tokens) == (None, None)


# --- real public samples (read in place, never copied) ------------------------------

# Facts read off each file by hand: model, tokens, queries, distinct cited chunks in order
# (title, number of spans), the first span's text, and the character span of the first citation.
REAL_EXPECTED: dict[str, dict[str, Any]] = {
    "generate_content_grounding_gemini2.5flash_two_queries.json": {
        "model": "gemini-2.5-flash", "tokens": (11, 236),
        "queries": ["current time in San Francisco", "weather in San Francisco right now"],
        "cited": [("Current time information in San Francisco, CA, US.", 1),
                  ("Weather information for San Francisco, CA, US", 1)],
        "first_span": (167, 229),  # bytes 171-233: four "°" (2 bytes each) come before
        "first_text": "There is a 19% chance of rain, and the humidity is around 94%.",
    },
    "generate_content_grounding_gemini2.5pro_mexico_city.json": {
        "model": "gemini-2.5-pro", "tokens": (209, 337),
        "queries": ["current weather in Mexico City"],
        "cited": [("theweathernetwork.com", 1), ("wunderground.com", 2), ("wunderground.com", 2)],
        "first_span": (383, 539),  # bytes 386-542
        "first_text": "There is a significant chance of rain, with forecasts indicating a 60% to 100% probability "
                      "of precipitation, especially from mid-afternoon into the evening.",
    },
    "generate_content_grounding_gemini2.5pro_sf_weather.json": {
        "model": "gemini-2.5-pro", "tokens": (17, 414),
        "queries": ["weather in San Francisco today"],
        "cited": [("Weather information for San Francisco, CA, US", 3), ("weather.gov", 2), ("wunderground.com", 1)],
        "first_span": (55, 215),
        "first_text": "**San Francisco, CA** - Residents and visitors in San Francisco are experiencing a mild "
                      "Tuesday, with partly cloudy skies and temperatures hovering around 69°F.",
    },
    "generate_content_grounding_gemini3flash_thoughts_toolcall.json": {
        "model": "gemini-3-flash-preview", "tokens": (13, 573 + 554),
        "queries": ["top news stories today June 9 2026", "breaking news June 9 2026",
                    "world news headlines June 9 2026"],
        "cited": [("wng.org", 2), ("bernama.com", 1), ("euneighbourseast.eu", 2), ("aa.com", 1), ("news.az", 2),
                  ("straitstimes.com", 1)],
        "first_span": (200, 341),
        "first_text": "Israel and Iran Move Toward De-escalation\nThe most prominent global headline involves a "
                      "significant step back from the brink of regional war.",
        # supports 8 and 9 drift: bytes 2546-2764 run past the 2762-byte text
        "last_span": (2544, 2762),
    },
    "vertex_generate_content_grounding_gemini3flash.json": {
        "model": "gemini-3-flash-preview", "tokens": (125, 706),
        "queries": ["weather San Francisco July 28 2026"],
        "cited": [("google.com", 5), ("wunderground.com", 9), ("weather25.com", 1), ("youtube.com", 1)],
        "first_span": (114, 178),
        "first_text": "*   **Condition:** Sunny and clear throughout the day and night.",
        "last_span": (776, 853),  # bytes 786-863 given, the segment starts at byte 784
    },
}


def _real_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if p.name.startswith(("generate_content_", "vertex_")))


def test_every_real_generate_content_sample_has_expected_facts() -> None:
    folder = realdata("gemini_json")
    names = {p.name for p in _real_files(folder)}
    assert names, f"no generate_content_*.json / vertex_*.json in {folder}"
    assert names <= REAL_EXPECTED.keys(), f"new real samples need expected facts: {sorted(names - REAL_EXPECTED.keys())}"


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_sample(name: str) -> None:
    path = real_file("gemini_json", name)
    facts = REAL_EXPECTED[name]
    raw = path.read_bytes()
    answer = parse(raw)

    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == facts["model"]
    assert (answer.input_tokens, answer.output_tokens) == facts["tokens"]
    assert answer.features == ["web_search"]
    assert answer.search_queries == facts["queries"]
    assert [(c.title, len(c.spans)) for c in cited(answer)] == facts["cited"]
    assert retrieved(answer) == []  # every chunk in these samples is used by a support
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    first = answer.citations[0]
    assert first.spans[0] == facts["first_span"]
    assert answer.text[slice(*first.spans[0])] == facts["first_text"]
    if "last_span" in facts:
        assert max(s for c in answer.citations for s in c.spans) == facts["last_span"]

    # every support's segment text is exactly what its citations' spans cut out of the answer
    body = json.loads(raw)
    candidate = body["candidates"][0]
    chunks = candidate["groundingMetadata"]["groundingChunks"]
    by_url = {c.url: c for c in answer.citations}
    for support in candidate["groundingMetadata"]["groundingSupports"]:
        for index in support["groundingChunkIndices"]:
            citation = by_url[chunks[index]["web"]["uri"]]
            assert support["segment"]["text"] in span_texts(answer, citation)
    thoughts = [p["text"] for p in candidate["content"]["parts"] if p.get("thought")]
    assert all(t not in answer.text for t in thoughts)


def test_real_redirect_chunks_keep_the_redirect_url_and_the_domain_title() -> None:
    path = real_file("gemini_json", "generate_content_grounding_gemini3flash_thoughts_toolcall.json")
    answer = parse(path.read_bytes())
    assert all(c.url.startswith(REDIRECT) for c in answer.citations)
    assert len({c.url for c in answer.citations}) == 6
    news = EntitySpec("Straits Times", "competitor", (), ("straitstimes.com",))
    owners = [owner_of(source_url(c.url, c.title), (news,)) for c in answer.citations]
    assert owners == [None, None, None, None, None, "Straits Times"]
