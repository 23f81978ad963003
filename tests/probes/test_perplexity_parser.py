"""Tests for the Perplexity Sonar chat completions parser.

Our own fixtures (tests/fixtures/perplexity/) are written in the real wire
format for a B2B valve exporter (Hengda Valve / 恒达阀门 and competitors). The
real public samples in ../shared/realdata/perplexity_json/ are read in place,
never copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from probes.parsers.perplexity import PARSER_VERSION, parse
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

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perplexity"

HENGDA_6D = "https://www.hengdavalve.com/products/api-6d-ball-valve"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026"
APEX_BALL = "https://www.apexflow.com/products/ball-valves"
NORTHSTAR_CRYO = "https://northstarvalves.de/en/cryogenic"
API_LIST = "https://www.api.org/products-and-services/api-monogram-and-apiqr/composite-list"
MIC_6D = "https://www.made-in-china.com/manufacturers/api-6d-ball-valve.html"


load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def with_content(name: str, content: Any) -> dict[str, Any]:
    body = load(name)
    body["choices"][0]["message"]["content"] = content
    return body


# --- module contract ---------------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 3


def test_fixtures_carry_every_top_level_key_of_a_real_response() -> None:
    # The keys of the real samples; newer responses add search_results.
    keys = {"id", "model", "created", "usage", "citations", "object", "choices"}
    names = sorted(p.name for p in FIXTURES.glob("hengda_*.json"))
    assert len(names) >= 7
    for name in names:
        body = load(name)
        assert keys <= body.keys(), (name, keys - body.keys())
        assert body["object"] == "chat.completion"
        assert {"prompt_tokens", "completion_tokens", "total_tokens"} <= body["usage"].keys()
        assert {"index", "message", "finish_reason"} <= body["choices"][0].keys()
        assert body["choices"][0]["message"]["role"] == "assistant"
        for result in body.get("search_results", []):
            assert {"title", "url", "date"} <= result.keys()


# --- markers, positions and spans -------------------------------------------------------


def test_markers_give_positions_spans_and_titles() -> None:
    answer = parse_fixture("hengda_ball_valve_dup_markers.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "sonar-pro"
    assert (answer.input_tokens, answer.output_tokens) == (24, 231)
    assert answer.features == ["web_search"]
    assert answer.search_queries == []  # plain Sonar reports no queries

    assert [(c.position, c.url, c.cited) for c in answer.citations] == [
        (1, HENGDA_6D, True), (2, VALVEMAG, True), (3, APEX_BALL, True), (4, NORTHSTAR_CRYO, True),
        (5, API_LIST, True), (6, MIC_6D, False)]
    hengda, valvemag, apex, northstar, api, mic = answer.citations
    # [1] and [5] are the same page (the second with ?utm_source=perplexity): one citation, every span.
    assert span_texts(answer, hengda) == [
        "For API 6D trunnion ball valves exported from China, three suppliers come up most often in 2026 buyer "
        "guides.",
        "**Hengda Valve (恒达阀门)**: API 6D and API 607 fire-safe certified, sizes DN50–DN1200, and typical lead "
        "times of 6–8 weeks.",
        "Hengda also publishes its hydrostatic and seat-leakage test reports online, which procurement teams at EPC "
        "contractors value.",
    ]
    assert span_texts(answer, valvemag) == [
        span_texts(answer, hengda)[0],  # [1][2]: one span, two sources
        "Ask every supplier for EN 10204 3.1 material certificates",  # a marker inside the sentence
    ]
    # "U.S." ends no sentence; the list bullet is not part of the span.
    assert span_texts(answer, apex) == [
        "**Apex Flow Controls**: a broad U.S. catalogue of gate and ball valves, strongest on Class 900–2500."]
    assert span_texts(answer, northstar) == [
        "**NorthStar Valves**: German-made cryogenic ball valves down to −196 °C, at a higher price point."]
    # After "[2], " the span starts at the next word; "[9]" (only 7 sources) is ignored.
    assert span_texts(answer, api) == [
        "and check the API monogram licence number on the API Composite List before ordering."]
    assert answer.text.endswith("before ordering.[6][9]")

    assert hengda.title == "API 6D Trunnion Ball Valve | Hengda Valve"  # titles from search_results
    assert api.title == "API Composite List"
    assert mic.title == "China API 6D Ball Valve Manufacturers, Suppliers | Made-in-China.com"
    for c in cited(answer):
        assert (c.visible, c.origin) == (True, "annotation")
    assert (mic.spans, mic.origin) == ([], "search_result")


def test_position_follows_the_source_list_not_the_first_marker() -> None:
    body = with_content("hengda_ball_valve_dup_markers.json",
                        "NorthStar Valves leads on cryogenic service.[4] Hengda Valve is cheaper.[1] "
                        "Apex Flow Controls and NorthStar both stock Class 2500.[3][4]")
    answer = parse_obj(body)
    # DESIGN.md: "in the order the engine lists its sources" ([1] Hengda, [3] Apex, [4] NorthStar)
    assert [c.url for c in cited(answer)] == [HENGDA_6D, APEX_BALL, NORTHSTAR_CRYO]
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    northstar = answer.citations[2]
    assert span_texts(answer, northstar) == ["NorthStar Valves leads on cryogenic service.",
                                             "Apex Flow Controls and NorthStar both stock Class 2500."]
    # the four other listed sources stay retrieved-only, in list order
    assert [c.url for c in retrieved(answer)] == [VALVEMAG, API_LIST, MIC_6D]


def test_markers_separated_by_spaces_form_one_group() -> None:
    answer = parse_obj(with_content("hengda_ball_valve_dup_markers.json",
                                    "Hengda Valve and Apex Flow Controls both ship in six weeks. [1] [3]"))
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_6D, ["Hengda Valve and Apex Flow Controls both ship in six weeks."]),
        (APEX_BALL, ["Hengda Valve and Apex Flow Controls both ship in six weeks."]),
    ]


def test_abbreviations_the_analysis_knows_end_no_sentence() -> None:  # PARSER_VERSION 3
    text = "Hengda Valve opened its Wenzhou plant in Jan. 2020 with the Dept. of Commerce."
    answer = parse_obj(with_content("hengda_ball_valve_dup_markers.json", text + "[1]"))
    assert [span_texts(answer, c) for c in cited(answer)] == [[text]]


def test_marker_right_after_another_group_has_no_span_but_is_cited() -> None:
    answer = parse_obj(with_content("hengda_ball_valve_dup_markers.json", "[1] Hengda Valve.[3]"))
    hengda, apex = cited(answer)
    assert (hengda.url, hengda.spans) == (HENGDA_6D, [])
    assert span_texts(answer, apex) == ["Hengda Valve."]


def test_out_of_range_markers_are_ignored() -> None:
    answer = parse_obj(with_content("hengda_ball_valve_dup_markers.json",
                                    "Hengda Valve[0] is listed[12] in the API Composite List.[6]"))
    (api,) = cited(answer)
    # [0] and [12] are plain text: the span reaches back over them to the sentence start.
    assert api.url == API_LIST
    assert span_texts(answer, api) == ["Hengda Valve[0] is listed[12] in the API Composite List."]


def test_only_out_of_range_markers_count_as_no_marker() -> None:
    answer = parse_obj(with_content("hengda_no_markers.json", "Hengda Valve exports widely.[7]"))
    assert [(c.url, c.spans) for c in cited(answer)] == [
        ("https://www.hengdavalve.com/about", []), ("https://www.apexflow.com/", [])]


def test_numbering_is_kept_when_an_entry_is_not_a_url() -> None:
    body = load("hengda_ball_valve_dup_markers.json")
    body["citations"][1] = None
    del body["search_results"]
    answer = parse_obj(body)
    # [2] names nothing, every other marker still points at its own entry.
    assert [c.url for c in cited(answer)] == [HENGDA_6D, APEX_BALL, NORTHSTAR_CRYO, API_LIST]
    assert all(c.title is None for c in answer.citations)


def test_search_results_alone_number_the_sources() -> None:
    expected = parse_fixture("hengda_ball_valve_dup_markers.json")
    body = load("hengda_ball_valve_dup_markers.json")
    del body["citations"]
    answer = parse_obj(body)
    assert [(c.url, c.position, c.cited, c.spans, c.title) for c in answer.citations] == \
           [(c.url, c.position, c.cited, c.spans, c.title) for c in expected.citations]


def test_search_results_outside_citations_are_retrieved() -> None:
    body = load("hengda_ball_valve_dup_markers.json")
    body["citations"] = body["citations"][:6]  # made-in-china only in search_results
    answer = parse_obj(body)
    assert [c.url for c in retrieved(answer)] == [MIC_6D]
    assert retrieved(answer)[0].title.startswith("China API 6D Ball Valve")


def test_cjk_and_emoji_before_markers_slice_exactly() -> None:
    answer = parse_fixture("hengda_zh_cjk_emoji.json")
    assert answer.status == "ok"
    text = answer.text
    expected = {
        "https://www.hengdavalve.com/zh/about": [
            "🔧 **恒达阀门（Hengda Valve）**是温州的球阀制造商，产品通过 API 6D 和 API 607 防火认证。",
            "🏭 工厂年产能约 12 万台，出口到 60 多个国家和地区 🇨🇳→🌍。",
        ],
        "https://baike.baidu.com/item/API%206D": [
            "🔧 **恒达阀门（Hengda Valve）**是温州的球阀制造商，产品通过 API 6D 和 API 607 防火认证。",
            "采购时请索取 EN 10204 3.1 材质证书。",
        ],
        "https://www.apexflow.com/products/ball-valves": ["竞争对手 Apex Flow Controls 在高压等级上更有优势"],
        "https://northstarvalves.de/en/cryogenic": ["NorthStar Valves 则专注于 −196 °C 低温阀门。"],
    }
    assert [c.url for c in cited(answer)] == list(expected)
    for c in cited(answer):
        assert span_texts(answer, c) == expected[c.url]
    assert [c.url for c in retrieved(answer)] == ["https://www.made-in-china.com/manufacturers/ball-valve.html"]
    assert answer.citations[0].title == "关于我们 - 恒达阀门"

    # The trap: astral emoji (surrogate pairs in UTF-16, 4 bytes in UTF-8) and CJK precede the spans.
    apex = answer.citations[2]
    prefix = text[: apex.spans[0][0]]
    assert "🔧" in prefix and "🏭" in prefix and "🇨🇳" in prefix and "恒达阀门" in prefix
    assert any(ord(ch) > 0xFFFF for ch in prefix)
    assert len(prefix.encode("utf-8")) > len(prefix.encode("utf-16-le")) // 2 > len(prefix)
    # The "，" before NorthStar is left out of its span.
    northstar = answer.citations[3]
    assert text[northstar.spans[0][0] - 1] == "，"


# --- no markers / empty / refusal / truncated --------------------------------------------


def test_no_markers_cites_the_list_in_order_without_spans() -> None:
    answer = parse_fixture("hengda_no_markers.json")
    assert answer.status == "ok" and answer.has_answer
    assert (answer.model, answer.input_tokens, answer.output_tokens) == ("sonar", 12, 58)  # usage without cost
    assert answer.features == ["web_search"]
    # The utm twin at [3] is the same page as [1]: two citations, positions in list order.
    assert [(c.position, c.url, c.cited, c.spans, c.title) for c in answer.citations] == [
        (1, "https://www.hengdavalve.com/about", True, [], None),
        (2, "https://www.apexflow.com/", True, [], None),
    ]


def test_empty_answer_is_no_answer_and_keeps_sources_as_retrieved() -> None:
    answer = parse_fixture("hengda_empty_answer.json")
    assert answer.status == "no_answer" and answer.status_reason == "empty answer text"
    assert answer.text == "" and not answer.has_answer
    assert answer.features == ["web_search"]  # the search still happened
    assert [(c.url, c.cited) for c in answer.citations] == [
        ("https://www.hengdavalve.com/zh/certificates", False), ("https://baike.baidu.com/item/API%206D", False)]
    assert answer.citations[0].title == "资质证书 - 恒达阀门"


@pytest.mark.parametrize("content", [" \n\n ", None])
def test_blank_or_null_content_is_no_answer(content: Any) -> None:
    answer = parse_obj(with_content("hengda_empty_answer.json", content))
    assert answer.status == "no_answer" and not cited(answer)


def test_no_choice_is_no_answer() -> None:
    body = load("hengda_empty_answer.json")
    body["choices"] = []
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "no choices in response")
    assert answer.model == "sonar" and answer.input_tokens == 15


def test_refusal_is_no_answer_and_cites_nobody() -> None:
    answer = parse_fixture("hengda_refusal.json")
    assert answer.status == "no_answer" and not answer.has_answer
    assert answer.status_reason == (
        "refusal: I’m sorry, but I can’t help with finding the personal mobile numbers of Hengda Valve’s "
        "purchasing staff. You can reach the company through the official inquiry form on hengdavalve.com instead.")
    assert answer.text.startswith("I’m sorry, but I can’t help")  # what the engine said is kept
    # No marker and a source list would normally mean "all cited"; a refusal cites nobody.
    assert [(c.url, c.cited) for c in answer.citations] == [
        ("https://www.hengdavalve.com/contact", False), ("https://www.linkedin.com/company/hengda-valve", False)]
    assert answer.model == "sonar" and (answer.input_tokens, answer.output_tokens) == (21, 38)


@pytest.mark.parametrize("content", [
    "I cannot assist with collecting private data about Hengda Valve employees.",
    "Sorry, I can't share internal price lists of Apex Flow Controls.",
    "很抱歉，我无法提供恒达阀门员工的私人联系方式。",
])
def test_refusal_wordings(content: str) -> None:
    answer = parse_obj(with_content("hengda_refusal.json", content))
    assert answer.status == "no_answer" and answer.status_reason == f"refusal: {content}"


@pytest.mark.parametrize("content", [
    # a no-information answer is still an answer
    "I can't find public prices for Hengda Valve's DN300 ball valves; ask the export team for a quotation.",
    # an apology with cited content is an answer
    "Sorry, I can't list every supplier, but Hengda Valve is the best known.[1]",
])
def test_answers_that_are_not_refusals(content: str) -> None:
    answer = parse_obj(with_content("hengda_refusal.json", content))
    assert answer.status == "ok" and answer.status_reason is None
    assert cited(answer)[0].url == "https://www.hengdavalve.com/contact"


def test_refusal_field_and_content_filter_are_refusals() -> None:
    body = load("hengda_no_markers.json")
    body["choices"][0]["message"]["refusal"] = "I can't help with that request."
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: I can't help with that request.")
    assert not cited(answer)

    body = with_content("hengda_no_markers.json", "")
    body["choices"][0]["finish_reason"] = "content_filter"
    assert parse_obj(body).status_reason == "refusal: content_filter"


def test_truncated_answer_keeps_text_and_says_why() -> None:
    answer = parse_fixture("hengda_truncated_length.json")
    assert (answer.status, answer.status_reason) == ("ok", "incomplete: length")
    assert answer.text.endswith("but Apex")
    (blog,) = cited(answer)
    assert span_texts(answer, blog) == ["Triple offset butterfly valves give zero leakage in high-temperature service."]

    empty = parse_obj(with_content("hengda_truncated_length.json", ""))
    assert (empty.status, empty.status_reason) == ("error", "incomplete: length")


# --- reasoning models --------------------------------------------------------------------


def test_think_block_is_dropped_and_reasoning_steps_give_queries() -> None:
    answer = parse_fixture("hengda_reasoning_think.json")
    assert answer.status == "ok" and answer.model == "sonar-reasoning-pro"
    assert answer.text.startswith("For LNG terminals, Hengda Valve")
    assert "<think>" not in answer.text and "</think>" not in answer.text
    # fan-out queries, deduplicated in order, blanks skipped
    assert answer.search_queries == ["API 6D ball valve manufacturer LNG", "Hengda Valve cryogenic",
                                     "NorthStar Valves 2026 expansion"]
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_6D, ["For LNG terminals, Hengda Valve is the strongest value option for API 6D trunnion ball valves."]),
        ("https://www.apexflow.com/products/gate-valves",
         ["Apex Flow Controls is better known for API 600 gate valves than for cryogenic ball valves."]),
        ("https://northstarvalves.de/en/news/2026-expansion",
         ["NorthStar Valves added a second cryogenic test bay in 2026, which shortens its lead times."]),
    ]
    # a page a reasoning step found but the answer never marked
    assert [(c.url, c.cited, c.title) for c in retrieved(answer)] == [
        ("https://www.reddit.com/r/engineering/comments/1q2w3e4/which_valve_brands_do_you_trust/", False,
         "Which valve brands do you trust? : r/engineering")]


def test_unclosed_think_block_is_no_answer() -> None:
    body = with_content("hengda_reasoning_think.json", "<think>\nThe user wants API 6D makers. Hengda [1]")
    answer = parse_obj(body)
    assert answer.status == "no_answer" and "unclosed <think>" in answer.status_reason
    assert answer.text == "" and not cited(answer)


def test_features_follow_search_evidence() -> None:
    body = with_content("hengda_no_markers.json", "Hengda Valve makes ball valves.")
    body["citations"] = []
    assert parse_obj(body).features == []
    body["usage"]["num_search_queries"] = 1
    assert parse_obj(body).features == ["web_search"]


# --- usage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("usage", [None, {}, {"prompt_tokens": True, "completion_tokens": "12"}])
def test_missing_or_odd_usage_gives_no_tokens(usage: Any) -> None:
    body = load("hengda_no_markers.json")
    body["usage"] = usage
    answer = parse_obj(body)
    assert (answer.input_tokens, answer.output_tokens) == (None, None)
    assert answer.status == "ok"


# --- API errors and garbage -------------------------------------------------------------------


def test_api_error_body_is_an_error_answer() -> None:
    answer = parse_fixture("error_invalid_model.json")
    assert answer.status == "error" and not answer.has_answer
    assert answer.status_reason == (
        "invalid_model (code 400): Invalid model 'sonar-ultra'. Permitted models can be found in the "
        "documentation at https://docs.perplexity.ai/getting-started/models.")
    assert answer.text == "" and answer.citations == []


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "Rate limit exceeded", "code": 429}, "code 429: Rate limit exceeded"),
    ({"type": "internal_server_error"}, "internal_server_error"),
    ("upstream timeout", "upstream timeout"),
    ({"detail": "x"}, '{"detail": "x"}'),
    ({"message": "Rate limit exceeded", "code": " 429 "}, "code 429: Rate limit exceeded"),  # PARSER_VERSION 3
])
def test_error_shapes(error: Any, reason: str) -> None:
    assert parse_obj({"error": error}).status_reason == reason


def test_blank_error_string_beside_choices_is_no_error() -> None:  # PARSER_VERSION 3, as "" always was
    body = load("hengda_ball_valve_dup_markers.json")
    body["error"] = "  "
    assert parse_obj(body).status == "ok"


def test_error_object_beside_choices_wins() -> None:
    body = load("hengda_ball_valve_dup_markers.json")
    body["error"] = {"message": "Search backend unavailable", "type": "server_error", "code": 503}
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "server_error (code 503): Search backend unavailable")
    assert answer.citations == [] and answer.model == "sonar-pro"


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json at all", "not JSON"),
    (b"", "empty body"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "got a JSON list"),
    (b'"chat.completion"', "got a JSON str"),
    (b"<html><head><title>401 Authorization Required</title></head><body><center><h1>401 Authorization "
     b"Required</h1></center><hr><center>openresty/1.25.3.1</center></body></html>", "not JSON"),
    (b'{"id": "x", "object": "chat.completion", "model": "sonar"}', "no 'choices' list"),
    (b'{"object": "chat.completion", "choices": {"index": 0}}', "no 'choices' list"),
    (b'{"id": "resp_1", "object": "response", "output": []}', "'object' is 'response'"),
    (b'{"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "The"}}]}',
     "streaming chunk"),
    (b'{"object": "chat.completion", "choices": [1]}', "choices\\[0\\] is a JSON int"),
    (b'{"object": "chat.completion", "choices": [{"index": 0, "delta": {"content": "x"}}]}', "no 'message'"),
    (b'{"object": "chat.completion", "choices": [{"message": {"content": 42}}]}', "content is a JSON int"),
])
def test_garbage_raises_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(raw)


def test_non_bytes_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected the raw response body as bytes"):
        parse("{}")  # type: ignore[arg-type]


# --- real public samples (read in place, never copied) ------------------------------------------

# Facts read off each file by hand: the markers in the text, in order, and the 1-based citations they name.
REAL_EXPECTED: dict[str, dict[str, Any]] = {
    "sonar_citations_sf_population.json": {
        # markers: [2][3][5][7] [2][3][5] [7] [6] [1] [1][2] [5]; [4] never used
        "tokens": (10, 251),
        "cited": [
            # in the order of `citations` (wfin.com, [4], is never marked)
            ("https://populationstat.com/united-states/san-francisco", 2),
            ("https://en.wikipedia.org/wiki/San_Francisco", 3),
            ("https://www.california-demographics.com/cities_by_population", 2),
            ("https://fred.stlouisfed.org/series/CASANF0POP", 3),
            ("https://worldpopulationreview.com/us-cities/california/san-francisco", 1),
            ("https://worldpopulationreview.com/us-counties/california/san-francisco-county", 2),
        ],
        "retrieved": ["https://wfin.com/fox-sports/pat-mcafee-says-san-francisco-wasnt-the-s-hole-he-thought-it-"
                      "may-be-during-super-bowl-week/"],
        "spans": {
            "https://populationstat.com/united-states/san-francisco": [
                "893,000 (2026 city estimate from populationstat.com).",
                "These reflect post-2020 Census trends (873,965 in 2020), with population declining due to factors "
                "like high costs and migration, though some sources project modest metro-area growth to 3.3-4.7 "
                "million.",
            ],
            "https://www.california-demographics.com/cities_by_population": [
                "The most recent estimates for San Francisco's city population (as of 2024-2026) range from "
                "**803,000 to 893,000**, with a consensus around **827,000-844,000** from authoritative U.S. data "
                "sources.",
                # "St. Louis" does not end the sentence; the "- " bullet is left out
                "827,526 (2024 estimate, consistent across Wikipedia, California Demographics, and FRED/St. Louis "
                "Fed data).",
            ],
        },
    },
    "sonar_citations_new_holiday.json": {
        # markers: [1][2] [1][3] [1][2][3] [1][4] [2][3] [5]; [6] never used
        "tokens": (11, 392),
        "cited": [
            ("https://www.modernchristmastrees.com/innovative-approaches-holiday-decor-modern-interior-design/", 4),
            ("https://camillestyles.com/design/modern-christmas-decorating-ideas/", 3),
            ("https://www.elledecor.com/design-decorate/interior-designers/advice/g2833/"
             "christmas-decorating-ideas/", 3),
            ("https://www.youtube.com/watch?v=GVxMMHAwzIU", 1),
            ("https://www.jjonesdesignco.com/blogs/modern-industrial-christmas-decor-joshuas-must-have-holiday-picks",
             1),
        ],
        "retrieved": ["https://www.bhsusa.com/blog/5-decorations-for-a-mid-century-modern-inspired-holiday"],
        "spans": {
            "https://www.youtube.com/watch?v=GVxMMHAwzIU": [
                'Families host "vista stations" where guests add personal touches, like tying velvet bows or '
                "stacking book-tree alternatives, fostering shared creativity."],
            "https://www.jjonesdesignco.com/blogs/modern-industrial-christmas-decor-joshuas-must-have-holiday-picks": [
                "This holiday scales for individuals (home setups) or communities (pop-up parks), using affordable, "
                "repurposable items to make festivity accessible and forward-thinking."],
        },
    },
}


def test_every_real_sample_has_expected_facts() -> None:
    folder = realdata("perplexity_json")
    names = {p.name for p in folder.glob("*.json")}
    assert names, f"no *.json in {folder}"
    missing = sorted(names - REAL_EXPECTED.keys())
    assert not missing, f"new real samples need expected facts: {missing}"


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_sample(name: str) -> None:
    path = real_file("perplexity_json", name)
    facts = REAL_EXPECTED[name]
    answer = parse(path.read_bytes())

    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "sonar"
    assert (answer.input_tokens, answer.output_tokens) == facts["tokens"]
    assert answer.features == ["web_search"] and answer.search_queries == []
    assert [(c.url, len(c.spans)) for c in cited(answer)] == facts["cited"]
    assert [c.url for c in retrieved(answer)] == facts["retrieved"]
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(c.title is None for c in answer.citations)  # no search_results in these responses
    for url, texts in facts["spans"].items():
        (citation,) = [c for c in answer.citations if c.url == url]
        assert span_texts(answer, citation) == texts
    for c in cited(answer):
        for piece in span_texts(answer, c):
            assert piece and piece == piece.strip() and "[" not in piece[-3:]


def test_real_stream_chunk_is_refused_as_not_a_whole_completion() -> None:
    path = realdata("perplexity_json") / "sonar_citations_sf_population_stream.chunks.jsonl"
    if not path.is_file():
        pytest.skip(f"real stream sample {path.name} is absent")
    first_chunk = path.read_bytes().splitlines()[0]
    with pytest.raises(ParseError, match="streaming chunk"):
        parse(first_chunk)
