"""The SerpApi parsers (engine=google with its AI Overview, and google_ai_mode) on our own fixtures in the
real wire format, on the real public sample, and on the simulator's payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from citewatch.raw import RawPart, RawResult
from probes import registry
from probes.base import (
    ADS,
    AI_MODE,
    AI_OVERVIEW,
    AI_OVERVIEW_QUESTION,
    LOCAL_PACK,
    PEOPLE_ALSO_ASK,
    SHOPPING,
    VIDEO,
)
from probes.parsers import serpapi, serpapi_ai_mode
from probes.simulator import demo_scenario
from probes.simulator import serpapi as wire
from probes.simulator import serpapi_ai_mode as mode_wire
from probes.simulator.scenario import simulated_answer
from tests.probes.support import load_json, raw_of, real_file, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "serpapi"
COFFEE = "google_how_do_you_brew_coffee_ai_overview_2025-10-28.json"


def fixture(name: str) -> dict[str, Any]:
    return load_json(FIXTURES, name)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def two_parts(first: bytes, overview: bytes) -> RawResult:
    return RawResult((RawPart("response", first), RawPart("ai_overview", overview)))


# --- the real sample ----------------------------------------------------------------------------


@pytest.fixture
def coffee() -> bytes:
    return real_file("serpapi_json", COFFEE).read_bytes()


def test_real_sample_sources_keep_googles_order(coffee: bytes) -> None:
    answer = serpapi.parse(coffee)
    body = json.loads(coffee)
    references = body["ai_overview"]["references"]
    assert answer.status == "ok" and answer.has_answer
    assert len(references) == 10 and len(answer.citations) == 10  # ten distinct pages
    # index 0..9 -> positions 1..10, in the order of the references
    assert [c.url for c in answer.citations] == [r["link"] for r in sorted(references, key=lambda r: r["index"])]
    assert [c.position for c in answer.citations] == list(range(1, 11))
    assert answer.citations[0].url == "https://www.youtube.com/watch?v=igOW_6br668"
    assert answer.citations[0].title == "How to Make Coffee (Easy Guide)"
    assert all(c.cited and c.visible for c in answer.citations)


def test_real_sample_text_reads_paragraphs_lists_and_titled_items(coffee: bytes) -> None:
    text = serpapi.parse(coffee).text
    assert text.startswith("To brew coffee, you need to grind your beans")
    assert "\n\nStep 1: Grind your coffee\n\n" in text
    # list items are lines of one block; titled items read "title snippet"
    assert ("Grind your coffee beans fresh just before brewing for the best flavor.\n"
            "The grind size will depend on your brewing method.") in text
    assert "\nFor a drip coffee maker: Place a filter in the basket" in text
    # LaTeX keeps its source without the $ delimiters
    assert "(between 195-205^{\\circ }F, and then" in text and "$" not in text
    # the video block's words are there, the video itself is no source
    assert "This video demonstrates how to grind coffee beans" in text
    assert text.endswith("Remove from heat and serve.")


def test_real_sample_spans_follow_reference_indexes(coffee: bytes) -> None:
    answer = serpapi.parse(coffee)
    by_url = {c.url: c for c in answer.citations}
    youtube = by_url["https://www.youtube.com/watch?v=igOW_6br668"]  # index 0: the drip coffee maker item only
    assert span_texts(answer, youtube) == [
        ("For a drip coffee maker: Place a filter in the basket, add the coffee grounds, and pour the water into "
         "the reservoir. Press the brew button to start.")]
    moka = by_url["https://athome.starbucks.com/brewing-guide/how-brew-coffee-moka-pot"]  # index 4: three items
    texts = span_texts(answer, moka)
    assert len(texts) == 3 and texts[0].startswith("The grind size will depend")
    assert texts[2].startswith("For a moka pot:")
    kitchn = answer.citations[1]  # index 1: the first paragraph and the water temperature item
    assert span_texts(answer, kitchn)[0].startswith("To brew coffee") and len(kitchn.spans) == 2


def test_real_sample_organic_ranks_and_features(coffee: bytes) -> None:
    answer = serpapi.parse(coffee)
    assert [o.rank for o in answer.organic] == [1, 2, 3, 4, 5, 6]
    assert answer.organic[0].url == "https://www.thekitchn.com/how-to-make-coffee-23716786"
    assert answer.organic[0].title == "How to Make Coffee (6 Methods)"
    assert answer.organic[1].snippet and answer.organic[1].snippet.startswith("An automatic drip coffee maker")
    # the overview first (Google shows it on top), then People also ask with an AI-overview answer
    assert answer.features == [AI_OVERVIEW, PEOPLE_ALSO_ASK, AI_OVERVIEW_QUESTION]


def test_real_sample_is_recognized_by_its_kind_only(coffee: bytes) -> None:
    body = json.loads(coffee)
    assert serpapi.recognizes(body) and not serpapi_ai_mode.recognizes(body)
    assert "serpapi" in registry.recognizing(body) and "serpapi_ai_mode" not in registry.recognizing(body)


@pytest.mark.parametrize(("folder", "name"), [
    ("other_serp_json", "brightdata_google_serp_ai_overview_best_pizza.json"),
    ("dataforseo_json", "serp_google_organic_live_advanced_ai_overview_water_pressure.json"),
    ("dataforseo_json", "serp_google_ai_mode_live_advanced_best_plumber_berkeley.json"),
])
def test_other_vendors_payloads_are_not_recognized(folder: str, name: str) -> None:
    body = json.loads(real_file(folder, name).read_bytes())
    assert not serpapi.recognizes(body) and not serpapi_ai_mode.recognizes(body)


def test_other_kinds_bodies_are_not_recognized() -> None:
    chat = {"object": "chat.completion", "choices": [{"message": {"content": "x"}}], "citations": []}
    responses = {"object": "response", "output": []}
    for body in (chat, responses, {}, {"error": "Invalid API key."}):
        assert not serpapi.recognizes(body) and not serpapi_ai_mode.recognizes(body)
    assert serpapi_ai_mode.recognizes(fixture("google_ai_mode.json"))
    assert not serpapi.recognizes(fixture("google_ai_mode.json"))
    assert serpapi.recognizes(fixture("google_ai_overview_deferred.json"))  # the follow-up alone
    # without search_parameters: blocks at the top level are AI Mode's
    bare_mode = {k: v for k, v in fixture("google_ai_mode.json").items() if k != "search_parameters"}
    bare_google = {k: v for k, v in fixture("google_no_overview.json").items() if k != "search_parameters"}
    assert serpapi_ai_mode.recognizes(bare_mode) and not serpapi.recognizes(bare_mode)
    assert serpapi.recognizes(bare_google) and not serpapi_ai_mode.recognizes(bare_google)


# --- our fixtures: the inline overview ------------------------------------------------------------


def test_inline_overview_block_types_read_in_order() -> None:
    answer = serpapi.parse(fixture_bytes("google_inline_overview.json"))
    blocks = answer.text.split("\n\n")
    assert blocks == [
        ("Several Chinese manufacturers supply API 6D ball valves for export; Hengda Valve and NorthStar Valves "
         "are often shortlisted."),
        "What to check before ordering",  # heading
        ("Certification: ask for the API 6D monogram licence and EN 10204 3.1 certificates.\n"
         "Testing: seat leakage to API 598, with shell tests at 1.5\\times the rated pressure.\n"
         "Cryogenic service adds a test at -196 °C."),  # titled items, then the nested list
        "Supplier | Base | Lead time\nHengda Valve | Wenzhou | 6-8 weeks\nNorthStar Valves | Hamburg | 10 weeks",
        "See the Valve Selection Guide and the ISO 17292 standard for details.",
        "Video: inside a ball valve factory",
        "Export markets",  # an expandable's title, then its blocks
        "Hengda exports to over 60 countries, mainly through distributors.",
    ]


def test_inline_overview_positions_merge_a_page_listed_twice() -> None:
    answer = serpapi.parse(fixture_bytes("google_inline_overview.json"))
    assert [(c.position, c.url) for c in answer.citations] == [
        (1, "https://www.hengdavalve.com/products/api-6d-ball-valve#:~:text=API%206D%20certified"),
        (2, "https://blog.apexflow.com/valve-selection-guide"),
        (3, "https://www.api.org/products-and-services/standards"),
        (4, "https://northstarvalves.de/en/cryogenic"),
        (5, "https://www.valvemagazine.com/news/market-outlook-2026"),
        (6, "https://www.iso.org/standard/58962.html"),  # a link in the text, outside the references
    ]
    hengda = answer.citations[0]
    # index 0 (first paragraph, expandable paragraph) and index 3, the same page (the certification item)
    assert [t[:30] for t in span_texts(answer, hengda)] == [
        "Several Chinese manufacturers ", "Certification: ask for the API", "Hengda exports to over 60 coun"]


def test_inline_overview_spans_of_items_tables_and_links() -> None:
    answer = serpapi.parse(fixture_bytes("google_inline_overview.json"))
    apex, api, northstar, magazine, iso = answer.citations[1:]
    # a list item's own range; a snippet link's words, found in its line
    assert span_texts(answer, apex) == [
        "Testing: seat leakage to API 598, with shell tests at 1.5\\times the rated pressure.", "Valve Selection Guide"]
    assert span_texts(answer, api) == [
        "Certification: ask for the API 6D monogram licence and EN 10204 3.1 certificates."]
    assert span_texts(answer, northstar)[1] == "Cryogenic service adds a test at -196 °C."
    assert span_texts(answer, magazine) == [
        "Supplier | Base | Lead time\nHengda Valve | Wenzhou | 6-8 weeks\nNorthStar Valves | Hamburg | 10 weeks"]
    assert iso.origin == "text" and span_texts(answer, iso) == ["distributors"]
    # a link to a Google search is no source
    assert not any("google.com" in c.url for c in answer.citations)
    assert all(c.origin == "annotation" for c in answer.citations[:5])


def test_inline_overview_features_in_page_order_and_organic() -> None:
    answer = serpapi.parse(fixture_bytes("google_inline_overview.json"))
    assert answer.features == [ADS, AI_OVERVIEW, PEOPLE_ALSO_ASK, AI_OVERVIEW_QUESTION, VIDEO, LOCAL_PACK]
    assert [(o.rank, o.url) for o in answer.organic][:2] == [
        (1, "https://www.hengdavalve.com/products/api-6d-ball-valve"), (2, "https://blog.apexflow.com/valve-selection-guide")]
    assert len(answer.organic) == 4  # the ad is not counted


# --- deferred, failed, absent overviews; errors -------------------------------------------------------


def test_deferred_overview_is_read_from_the_second_part() -> None:
    raw = two_parts(fixture_bytes("google_deferred_first.json"), fixture_bytes("google_ai_overview_deferred.json"))
    answer = serpapi.parse(raw)
    assert answer.status == "ok" and answer.has_answer
    assert answer.text == ("API 6D ball valve suppliers in China include Hengda Valve in Wenzhou.\n\n"
                           "Ask for the API 6D licence number.\nCompare lead times and test reports.")
    # the follow-up's own references order the sources
    assert [c.url for c in answer.citations] == [
        "https://www.api.org/products-and-services/standards",
        "https://www.hengdavalve.com/products/api-6d-ball-valve",
        "https://blog.apexflow.com/valve-selection-guide"]
    assert span_texts(answer, answer.citations[0]) == [
        "API 6D ball valve suppliers in China include Hengda Valve in Wenzhou.", "Compare lead times and test reports."]
    assert answer.features == [AI_OVERVIEW, PEOPLE_ALSO_ASK]
    assert [o.rank for o in answer.organic] == [1, 2, 3, 4]


def test_deferred_overview_without_its_part_is_a_failure_not_no_overview() -> None:
    answer = serpapi.parse(fixture_bytes("google_deferred_first.json"))
    assert answer.status == "error" and "page_token" in (answer.status_reason or "")
    assert AI_OVERVIEW not in answer.features and len(answer.organic) == 4


def test_deferred_overview_whose_request_failed_is_a_failure() -> None:
    failed = raw_of({"search_metadata": {"status": "Error"}, "error": "The page_token has expired."})
    answer = serpapi.parse(two_parts(fixture_bytes("google_deferred_first.json"), failed))
    assert answer.status == "error"
    assert answer.status_reason == "deferred AI Overview request failed: The page_token has expired."
    empty = raw_of({"search_metadata": {"status": "Success"}, "search_parameters": {"engine": "google_ai_overview"}})
    answer = serpapi.parse(two_parts(fixture_bytes("google_deferred_first.json"), empty))
    assert answer.status == "error" and answer.status_reason == "deferred AI Overview came back empty"


def test_deferred_overview_that_google_could_not_write_is_no_answer() -> None:
    notice = raw_of({"search_metadata": {"status": "Success"},
                     "ai_overview": {"error": "An AI Overview is not available for this search"}})
    answer = serpapi.parse(two_parts(fixture_bytes("google_deferred_first.json"), notice))
    assert answer.status == "no_answer" and answer.text == ""
    assert answer.status_reason == "AI Overview: An AI Overview is not available for this search"


def test_failed_overview_is_no_answer_with_the_page_still_read() -> None:
    answer = serpapi.parse(fixture_bytes("google_overview_error.json"))
    assert answer.status == "no_answer" and answer.text == "" and answer.citations == []
    assert answer.status_reason == "AI Overview: An AI Overview is not available for this search"
    assert len(answer.organic) == 4 and AI_OVERVIEW not in answer.features


def test_page_without_overview_is_ok_with_no_text() -> None:
    answer = serpapi.parse(fixture_bytes("google_no_overview.json"))
    assert answer.status == "ok" and answer.text == "" and not answer.has_answer
    assert answer.citations == [] and answer.features == [SHOPPING]
    assert [o.rank for o in answer.organic] == [2, 3, 4]  # Google's positions as given


def test_no_results_message_is_a_successful_observation() -> None:
    answer = serpapi.parse(fixture_bytes("google_no_results.json"))
    assert answer.status == "ok" and answer.text == "" and answer.organic == [] and answer.features == []


def test_service_error_is_an_error_with_its_reason() -> None:
    answer = serpapi.parse(fixture_bytes("google_error.json"))
    assert answer.status == "error"
    assert answer.status_reason == "Unsupported `Austin, Texas, Atlantis` location - location parameter."


@pytest.mark.parametrize(("body", "reason"), [
    ({"search_metadata": {"status": "Error"}}, "SerpApi search failed (search_metadata.status Error)"),
    ({"search_metadata": {"status": "Processing"}}, "SerpApi search not finished (status Processing)"),
    ({"error": "Your account has run out of searches."}, "Your account has run out of searches."),
])
def test_unfinished_or_failed_searches_are_errors(body: dict[str, Any], reason: str) -> None:
    answer = serpapi.parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("error", reason)


def test_fully_empty_result_is_a_failure_never_no_overview() -> None:
    answer = serpapi.parse(fixture_bytes("google_empty_result.json"))
    assert answer.status == "error" and answer.status_reason == "empty result"
    # an overview block that holds no text is no overview either
    body = {**fixture("google_empty_result.json"), "ai_overview": {"text_blocks": [{"type": "paragraph"}]}}
    assert serpapi.parse(raw_of(body)).status_reason == "empty result"


# --- odd and garbage payloads ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   ", b"<html>Bad gateway</html>", b"[1, 2]", b'"text"', b"{"])
def test_garbage_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        serpapi.parse(raw)
    with pytest.raises(ParseError):
        serpapi_ai_mode.parse(raw)


def test_overview_of_the_wrong_type_raises_parse_error() -> None:
    with pytest.raises(ParseError, match="ai_overview"):
        serpapi.parse(raw_of({**fixture("google_no_overview.json"), "ai_overview": "An overview"}))


def test_odd_types_inside_the_payload_never_crash() -> None:
    body = fixture("google_no_overview.json")
    body["ai_overview"] = {
        "text_blocks": [
            None, 3, "A bare string block.",
            {"type": "paragraph", "snippet": "Cited by odd indexes.", "reference_indexes": ["0", True, None, 0, 99]},
            {"type": "list", "list": "not a list"},
            {"type": "list", "list": [None, 5, "Plain item.", {"title": 7, "snippet": ["x"]},
                                      {"snippet": "Item.", "reference_indexes": "0", "list": {"a": 1}}]},
            {"type": "table", "table": [["a", None, {"snippet": "b"}, 2.5, True], "row", None]},
            {"type": "paragraph", "snippet": "Links.", "snippet_links": [None, {"text": None, "link": 5},
                                                                          {"text": "Links", "link": "not a url"}]},
            {"type": "expandable", "title": None, "text_blocks": "nope"},
            {"type": "paragraph", "snippet": "LaTeX $x$.", "snippet_latex": [None, 3, "x"]},
        ],
        "references": [None, "x", {"link": None}, {"title": "A page", "link": "https://example.com/a", "index": 0},
                       {"title": "No index", "link": "https://example.com/b", "index": "4"}],
    }
    body["organic_results"] = [None, {"position": True, "link": "https://example.com/o", "title": 3},
                               {"position": 1, "link": None}, {"position": "2", "link": "https://example.com/p"}]
    body["related_questions"] = "not a list"
    answer = serpapi.parse(raw_of(body))
    assert answer.status == "ok"
    assert answer.text.split("\n\n")[:3] == ["A bare string block.", "Cited by odd indexes.", "Plain item.\nItem."]
    assert "a | b | 2.5\nrow" in answer.text and "LaTeX x." in answer.text
    assert [c.url for c in answer.citations][:2] == ["https://example.com/a", "https://example.com/b"]
    assert span_texts(answer, answer.citations[0]) == ["Cited by odd indexes."]
    # a position that is not a number takes the item's place in the list
    assert [(o.rank, o.url) for o in answer.organic] == [(2, "https://example.com/o"), (4, "https://example.com/p")]


def test_null_members_read_as_absent() -> None:
    body = {**fixture("google_no_overview.json"), "ai_overview": None, "organic_results": None, "ads": None,
            "shopping_results": None}
    answer = serpapi.parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("error", "empty result")
    body = {**fixture("google_inline_overview.json")}
    body["ai_overview"] = {"text_blocks": body["ai_overview"]["text_blocks"], "references": None}
    answer = serpapi.parse(raw_of(body))
    assert answer.has_answer and [c.origin for c in answer.citations] == ["text"]  # only the written link


# --- AI Mode ------------------------------------------------------------------------------------


def test_ai_mode_answer_text_sources_and_features() -> None:
    answer = serpapi_ai_mode.parse(fixture_bytes("google_ai_mode.json"))
    assert answer.status == "ok" and answer.has_answer
    assert answer.text.split("\n\n") == [
        "Reliable API 6D ball valve suppliers in China include Hengda Valve and several state-owned groups.",
        "Shortlist",
        ("Hengda Valve: API 6D licensed, exports to over 60 countries.\n"
         "Apex Flow Controls: a broad catalogue of gate and ball valves."),
        "Supplier | Licence\nHengda Valve | API 6D-1234",
    ]
    assert [(c.position, c.url) for c in answer.citations] == [
        (1, "https://www.hengdavalve.com/products/api-6d-ball-valve"),
        (2, "https://www.api.org/products-and-services/standards"),
        (3, "https://www.apexflow.com/products/gate-valves"),
        (4, "https://www.reddit.com/r/engineering/comments/valves"),  # listed, named by no block
    ]
    assert len(answer.citations[0].spans) == 3 and answer.citations[3].spans == []
    assert span_texts(answer, answer.citations[2]) == ["Apex Flow Controls: a broad catalogue of gate and ball valves."]
    assert answer.features == [AI_MODE, LOCAL_PACK] and answer.organic == []


def test_ai_mode_markdown_stands_in_for_missing_blocks() -> None:
    body = {**fixture("google_ai_mode.json"), "text_blocks": None}
    answer = serpapi_ai_mode.parse(raw_of(body))
    assert answer.status == "ok" and answer.text.startswith("Reliable API 6D ball valve suppliers")
    assert "### Shortlist" in answer.text
    assert len(answer.citations) == 4 and all(c.spans == [] for c in answer.citations)


@pytest.mark.parametrize(("change", "status", "reason"), [
    ({"text_blocks": [], "reconstructed_markdown": "", "references": []}, "error", "empty result"),
    ({"text_blocks": None, "reconstructed_markdown": None, "error": "Google hasn't returned any results for this query."},
     "ok", "no results for this query"),
    ({"search_metadata": {"status": "Error"}, "error": "Invalid API key. Your API key should be here: "
                                                       "https://serpapi.com/manage-api-key"}, "error",
     "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"),
])
def test_ai_mode_statuses(change: dict[str, Any], status: str, reason: str) -> None:
    answer = serpapi_ai_mode.parse(raw_of({**fixture("google_ai_mode.json"), **change}))
    assert (answer.status, answer.status_reason, answer.text) == (status, reason, "")


# --- the simulator's payloads ------------------------------------------------------------------------


def _expected_urls(simulated: Any) -> list[str]:
    urls: list[str] = []
    for segment in simulated.segments:
        for url, _ in segment.sources:
            if url not in urls:
                urls.append(url)
    return urls


@pytest.mark.parametrize("prompt", ["industrial ball valve manufacturer", "cryogenic valve brands", "球阀 制造商"])
@pytest.mark.parametrize("call", range(3))
def test_simulated_pages_parse_back_to_their_segments(prompt: str, call: int) -> None:
    simulated = simulated_answer(demo_scenario(), prompt, "google", call, "serpapi")
    answer = serpapi.parse(raw_of(wire.render(simulated)))
    assert answer.status == "ok" and answer.has_answer
    assert answer.text.startswith(simulated.segments[0].sentence)
    assert [c.url for c in answer.citations] == _expected_urls(simulated)
    for citation in answer.citations:
        assert citation.spans and all(text in {s.sentence for s in simulated.segments}
                                      for text in span_texts(answer, citation))
    assert [o.rank for o in answer.organic] == list(range(1, 8))
    assert answer.features == [AI_OVERVIEW, PEOPLE_ALSO_ASK]


def test_simulated_deferred_page_and_follow_up_parse_together() -> None:
    scenario = demo_scenario()
    prompt = next(p for p in (f"valve query {n}" for n in range(50)) if wire.deferred(p))
    simulated = next(a for a in (simulated_answer(scenario, prompt, "google", n, "serpapi") for n in range(20))
                     if wire.shows_overview(a))
    first = wire.render_request(simulated, "/search.json", {"engine": "google", "q": prompt})
    token = first["ai_overview"]["page_token"]
    assert wire.earlier_call("/search.json", {"engine": "google_ai_overview", "page_token": token}) == (
        prompt, simulated.call_index)
    follow = wire.render_request(simulated, "/search.json", {"engine": "google_ai_overview", "page_token": token})
    answer = serpapi.parse(two_parts(raw_of(first), raw_of(follow)))
    assert answer.has_answer and [c.url for c in answer.citations] == _expected_urls(simulated)
    assert serpapi.parse(raw_of(first)).status == "error"  # the first part alone promises an unread overview


def test_simulated_page_without_overview_is_ok_and_empty() -> None:
    scenario = demo_scenario()
    simulated = next(a for a in (simulated_answer(scenario, "ball valve", "google", n, "serpapi") for n in range(50))
                     if not wire.shows_overview(a))
    answer = serpapi.parse(raw_of(wire.render_request(simulated, "/search.json", {"q": "ball valve"})))
    assert answer.status == "ok" and answer.text == "" and len(answer.organic) == 7


@pytest.mark.parametrize("call", range(3))
def test_simulated_ai_mode_parses_back(call: int) -> None:
    simulated = simulated_answer(demo_scenario(), "Who makes API 6D ball valves?", "google_ai_mode", call,
                                 "serpapi_ai_mode")
    body = mode_wire.render(simulated)
    answer = serpapi_ai_mode.parse(raw_of(body))
    assert serpapi_ai_mode.recognizes(body) and not serpapi.recognizes(body)
    assert answer.status == "ok" and answer.features == [AI_MODE]
    assert [c.url for c in answer.citations] == _expected_urls(simulated)


def test_a_rank_no_column_could_hold_takes_the_results_place() -> None:
    body = json.loads((FIXTURES / "google_inline_overview.json").read_bytes())
    body["organic_results"][0]["position"] = 10**30
    answer = serpapi.parse(raw_of(body))
    assert answer.organic[0].rank == 1 and all(o.rank < 2**31 for o in answer.organic)
