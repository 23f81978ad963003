"""Tests for the DataForSEO Google parsers (`dataforseo`: organic live advanced with its AI Overview;
`dataforseo_ai_mode`: AI Mode live advanced).

Our own fixtures (tests/fixtures/dataforseo/) are written in the real wire format for a tankless water
heater maker (Brightwell Heaters) and its competitors. The real public samples in
../shared/realdata/dataforseo_json/ are read in place, never copied, and those tests skip where absent.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from citewatch.raw import RawResult
from probes.base import (
    ADS,
    AI_MODE,
    AI_OVERVIEW,
    AI_OVERVIEW_QUESTION,
    FEATURED_SNIPPET,
    IMAGES,
    KNOWLEDGE_PANEL,
    LOCAL_PACK,
    PEOPLE_ALSO_ASK,
    SHOPPING,
    TOP_STORIES,
    VIDEO,
)
from probes.parsers import dataforseo, dataforseo_ai_mode
from probes.registry import kind, recognizing
from tests.probes.support import (
    load_json,
    parse_body,
    parse_file,
    raw_of,
    real_file,
    span_texts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dataforseo"
REAL = "dataforseo_json"
REAL_ORGANIC = "serp_google_organic_live_advanced_ai_overview_water_pressure.json"
REAL_AI_MODE = "serp_google_ai_mode_live_advanced_best_plumber_berkeley.json"

BRIGHT = "https://www.brightwellheaters.com/tankless/ultra-series"
HOMEFLOW = "https://www.homeflowreview.com/best-tankless-water-heaters-2026"
REDDIT = "https://www.reddit.com/r/Plumbing/comments/1k9x2a/tankless_brand_recs/"
NORTHLINE = "https://northlinewater.com/products/nx-240"
ENERGY = "https://www.energy.gov/energysaver/tankless-or-demand-type-water-heaters"
CASCADIA = "https://cascadiaheat.com/blog/sizing-a-tankless-heater"
SV_ATP = "https://www.google.com/searchviewer/10?svid=CAwSHRIbCgNwdnESFENnMHZaeTh4T3BxcjFrR0tBGAo"
SV_HCP = "https://www.google.com/searchviewer/10?svid=CAwSGxIZCgNwdnESEkNnc3ZaeTh4Y2t0bE1XUXdOURgK"
YELP = "https://www.yelp.com/search?cflt=waterheaterinstallrepair&find_loc=Austin%2C+TX"

load = partial(load_json, FIXTURES)
organic_fixture = partial(parse_file, dataforseo.parse, FIXTURES)
ai_mode_fixture = partial(parse_file, dataforseo_ai_mode.parse, FIXTURES)
parse_obj = partial(parse_body, dataforseo.parse)
parse_ai_mode_obj = partial(parse_body, dataforseo_ai_mode.parse)


def overview_item(body: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in body["tasks"][0]["result"][0]["items"] if i["type"] == "ai_overview")


# --- module contract ------------------------------------------------------------------------------


def test_module_contract() -> None:
    for module in (dataforseo, dataforseo_ai_mode):
        assert module.PARSER_VERSION == 1 and not isinstance(module.PARSER_VERSION, bool)
    assert kind("dataforseo").parser_module is dataforseo
    assert kind("dataforseo_ai_mode").parser_module is dataforseo_ai_mode


def test_fixtures_carry_the_keys_of_a_real_response() -> None:
    real = json.loads(real_file(REAL, REAL_ORGANIC).read_text(encoding="utf-8"))
    envelope_keys, task_keys = set(real), set(real["tasks"][0])
    result_keys = set(real["tasks"][0]["result"][0]) - {"pages_count"}  # AI Mode's result has none
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 10
    for name in names:
        body = load(name)
        assert envelope_keys <= body.keys(), (name, envelope_keys - body.keys())
        if body["tasks"]:
            assert task_keys <= body["tasks"][0].keys(), name
            for result in body["tasks"][0]["result"] or []:
                assert result_keys <= result.keys(), (name, result_keys - result.keys())


def test_recognizes_its_own_endpoint_only() -> None:
    organic, ai_mode = load("organic_ai_overview_tankless.json"), load("ai_mode_austin_installers.json")
    assert dataforseo.recognizes(organic) and not dataforseo_ai_mode.recognizes(organic)
    assert dataforseo_ai_mode.recognizes(ai_mode) and not dataforseo.recognizes(ai_mode)
    # a task-level error still names its endpoint in `path`
    assert dataforseo.recognizes(load("task_error_invalid_location.json"))
    assert recognizing(organic) == ["dataforseo"] and recognizing(ai_mode) == ["dataforseo_ai_mode"]
    for other in ({"object": "chat.completion", "choices": []}, {"search_metadata": {}, "organic_results": []},
                  {"tasks": "x", "status_code": 20000}, {"tasks": [{"path": ["v3", "serp", "bing", "organic"]}]},
                  {"status_code": 20000, "tasks": [{"path": ["v3", "dataforseo_labs", "google", "x"]}]}):
        assert not dataforseo.recognizes(other) and not dataforseo_ai_mode.recognizes(other)


def test_recognizes_the_real_samples() -> None:
    organic = json.loads(real_file(REAL, REAL_ORGANIC).read_bytes())
    ai_mode = json.loads(real_file(REAL, REAL_AI_MODE).read_bytes())
    assert recognizing(organic) == ["dataforseo"] and recognizing(ai_mode) == ["dataforseo_ai_mode"]


# --- the overview: text, positions, spans -----------------------------------------------------------


def test_overview_text_is_the_elements_markdown_without_links() -> None:
    answer = organic_fixture("organic_ai_overview_tankless.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.text.startswith("The best tankless water heater brands for most homes are Brightwell, Northline "
                                  "and Cascadia, chosen for reliability and efficiency.\n\nTop brands\n\nBrightwell: "
                                  "Known for its Ultra series")
    # table rows as lines, cells joined; the separator row dropped
    assert "\n\nBrand | Best for | Warranty\nBrightwell | Whole-home | 15 years\n" in answer.text
    # a link with words keeps its words
    assert "which the U.S. Department of Energy explains step by step." in answer.text
    # a media card keeps its title line, not the channel label
    assert answer.text.endswith("To see how a unit is installed:\nInstalling a Brightwell Ultra in 10 minutes 12K "
                                "views · 8 months ago")
    for leftover in ("](", "[[", "**", "http", "|---", "YouTube", "HomeFlow Review +1", "8:12", "\ue000"):
        assert leftover not in answer.text, leftover
    # never the block's own markdown on top of the elements': each sentence appears once
    assert answer.text.count("chosen for reliability and efficiency") == 1


def test_positions_follow_the_tray_then_first_citation() -> None:
    answer = organic_fixture("organic_ai_overview_tankless.json")
    assert [(c.position, c.url) for c in answer.citations] == [
        (1, ENERGY), (2, HOMEFLOW), (3, BRIGHT), (4, CASCADIA),  # the block's references, in Google's order
        (5, REDDIT), (6, NORTHLINE)]  # cited by elements only, in the order first cited
    assert all(c.cited and c.visible for c in answer.citations)
    titles = {c.url: c.title for c in answer.citations}
    assert titles[ENERGY] == "Tankless or Demand-Type Water Heaters | Department of Energy"
    assert titles[REDDIT] == "Tankless brand recommendations? : r/Plumbing"


def test_spans_tie_each_source_to_the_words_it_supports() -> None:
    answer = organic_fixture("organic_ai_overview_tankless.json")
    by_url = {c.url: c for c in answer.citations}
    first = ("The best tankless water heater brands for most homes are Brightwell, Northline and Cascadia, chosen "
             "for reliability and efficiency.")
    assert span_texts(answer, by_url[HOMEFLOW]) == [first]
    assert span_texts(answer, by_url[REDDIT]) == [first]
    # a list item's marker supports that item only
    assert span_texts(answer, by_url[BRIGHT]) == [("Brightwell: Known for its Ultra series with a 15-year heat "
                                                   "exchanger warranty.")]
    assert span_texts(answer, by_url[NORTHLINE]) == ["Northline: A condensing design that reaches 0.96 UEF."]
    # an element with references null cites through its empty [](url) link
    assert span_texts(answer, by_url[ENERGY]) == [
        ("Size the unit by flow rate: a family of four usually needs 8 to 10 GPM, which the U.S. Department of "
        "Energy explains step by step.")]
    # in the tray, cited by no element: a source without spans
    assert by_url[CASCADIA].spans == []


def test_element_references_without_markers_support_the_whole_element() -> None:
    body = load("organic_ai_overview_tankless.json")
    element = overview_item(body)["items"][1]
    element["markdown"] = element["markdown"].replace(f"[[1]]({BRIGHT})", "").replace(
        f"[]({NORTHLINE}) [[1]]({NORTHLINE})", "")
    answer = parse_obj(body)
    by_url = {c.url: c for c in answer.citations}
    whole = ("Top brands\n\nBrightwell: Known for its Ultra series with a 15-year heat exchanger warranty.\n"
             "Northline: A condensing design that reaches 0.96 UEF.")
    assert span_texts(answer, by_url[BRIGHT]) == [whole]
    assert span_texts(answer, by_url[NORTHLINE]) == [whole]


def test_markers_restart_in_each_element_and_name_urls_not_numbers() -> None:
    # [[1]] is a different page in each element: the URL decides, not the number
    answer = organic_fixture("organic_ai_overview_tankless.json")
    ones = {c.url for c in answer.citations if c.spans}
    assert {HOMEFLOW, BRIGHT, NORTHLINE} <= ones


def test_only_the_block_markdown_stands_for_the_text_when_no_element_has_any() -> None:
    body = load("organic_ai_overview_tankless.json")
    item = overview_item(body)
    for element in item["items"]:
        element["markdown"] = None
        element.pop("table", None)
    answer = parse_obj(body)
    assert answer.status == "ok"
    assert answer.text.startswith("The best tankless water heater brands for most homes are Brightwell")
    assert answer.text.count("chosen for reliability") == 1
    assert [c.url for c in answer.citations] == [ENERGY, HOMEFLOW, BRIGHT, CASCADIA]
    assert all(c.spans == [] for c in answer.citations)


def test_table_element_without_markdown_reads_its_table() -> None:
    body = load("organic_ai_overview_tankless.json")
    overview_item(body)["items"][2]["markdown"] = None
    answer = parse_obj(body)
    assert "\n\nBrand | Best for | Warranty\nBrightwell | Whole-home | 15 years\nNorthline | Efficiency | 12 years\n" \
        "Cascadia | Small homes | 10 years\n\n" in answer.text


def test_the_text_field_is_never_read() -> None:
    body = load("organic_ai_overview_tankless.json")
    for element in overview_item(body)["items"]:
        element["text"] = "SHOULD NOT APPEAR Brightwell Heaters · Northline"
    assert "SHOULD NOT APPEAR" not in parse_obj(body).text


# --- the page: organic results, features, cost ------------------------------------------------------


def test_organic_results_use_rank_group_and_skip_ads() -> None:
    answer = organic_fixture("organic_ai_overview_tankless.json")
    assert [(o.rank, o.url) for o in answer.organic] == [(1, HOMEFLOW), (2, BRIGHT), (3, REDDIT)]
    assert answer.organic[0].title == "The Best Tankless Water Heaters of 2026 - HomeFlow Review"
    assert answer.organic[0].snippet == "We tested 14 tankless water heaters…"
    assert all("gclid" not in o.url for o in answer.organic)


def test_features_in_page_order_each_once() -> None:
    answer = organic_fixture("organic_ai_overview_tankless.json")
    assert answer.features == [ADS, AI_OVERVIEW, PEOPLE_ALSO_ASK, AI_OVERVIEW_QUESTION, VIDEO, LOCAL_PACK]


@pytest.mark.parametrize(("item_type", "feature"), [
    ("featured_snippet", FEATURED_SNIPPET), ("people_also_ask", PEOPLE_ALSO_ASK), ("video", VIDEO),
    ("images", IMAGES), ("top_stories", TOP_STORIES), ("local_pack", LOCAL_PACK),
    ("knowledge_graph", KNOWLEDGE_PANEL), ("shopping", SHOPPING), ("popular_products", SHOPPING), ("paid", ADS),
    ("ai_overview", AI_OVERVIEW)])
def test_each_item_type_maps_to_its_feature(item_type: str, feature: str) -> None:
    body = load("organic_no_overview.json")
    page = body["tasks"][0]["result"][0]
    page["item_types"] = None
    page["items"] = [{"type": item_type, "rank_group": 1, "rank_absolute": 1}]
    assert parse_obj(body).features == [feature]


def test_page_without_overview_is_ok_with_no_text() -> None:
    answer = organic_fixture("organic_no_overview.json")
    assert answer.status == "ok" and answer.text == "" and not answer.has_answer
    assert answer.citations == []
    assert answer.features == [ADS, FEATURED_SNIPPET, KNOWLEDGE_PANEL]
    assert [(o.rank, o.url) for o in answer.organic] == [(1, BRIGHT), (2, NORTHLINE)]
    assert answer.organic[1].snippet is None
    assert answer.cost == pytest.approx(0.0035)


def test_cost_is_the_envelopes_else_the_tasks() -> None:
    assert organic_fixture("organic_ai_overview_tankless.json").cost == pytest.approx(0.002)
    body = load("organic_ai_overview_tankless.json")
    del body["cost"]
    body["tasks"][0]["cost"] = 0.0025
    assert parse_obj(body).cost == pytest.approx(0.0025)
    for odd in (True, "0.002", -1, None):
        body["cost"] = odd
        body["tasks"][0]["cost"] = odd
        assert parse_obj(body).cost is None


def test_async_overview_not_loaded_is_a_failure_never_no_overview() -> None:
    answer = organic_fixture("organic_async_overview_not_loaded.json")
    assert answer.status == "error" and "asynchronous" in (answer.status_reason or "")
    assert answer.features == [AI_OVERVIEW] and [o.rank for o in answer.organic] == [1]


def test_asynchronous_false_with_a_full_block_is_an_answer() -> None:
    body = load("organic_ai_overview_tankless.json")
    assert overview_item(body)["asynchronous_ai_overview"] is False
    assert parse_obj(body).has_answer


def test_items_null_is_a_page_without_overview() -> None:
    body = load("organic_no_overview.json")
    body["tasks"][0]["result"][0]["items"] = None
    answer = parse_obj(body)
    assert (answer.status, answer.text, answer.organic) == ("ok", "", [])


# --- failures -----------------------------------------------------------------------------------------


def test_task_error_inside_http_200_is_an_error_with_its_message() -> None:
    answer = organic_fixture("task_error_invalid_location.json")
    assert answer.status == "error"
    assert answer.status_reason == "DataForSEO 40501: Invalid Field: 'location_name'."
    assert answer.text == "" and answer.cost == 0.0


def test_no_search_results_is_a_page_without_an_overview_and_keeps_its_cost() -> None:
    """Google found nothing: a successful observation with no answer, as SerpApi's "no results" is."""
    answer = organic_fixture("task_error_no_search_results.json")
    assert (answer.status, answer.status_reason) == ("ok", "no results for this query")
    assert not answer.has_answer and answer.organic == [] and answer.cost == pytest.approx(0.002)


def test_ranks_and_costs_no_column_could_hold_are_garbage() -> None:
    body = load("organic_ai_overview_tankless.json")
    organic = [item for item in body["tasks"][0]["result"][0]["items"] if item["type"] == "organic"]
    organic[0]["rank_group"] = 10**30
    body["cost"] = 1e308
    answer = parse_obj(body)
    assert answer.organic[0].rank == 1 and all(o.rank < 2**31 for o in answer.organic)
    assert answer.cost == pytest.approx(0.002)  # the task's own cost, the envelope's being garbage


def test_envelope_error_is_an_error() -> None:
    answer = organic_fixture("envelope_error_unauthorized.json")
    assert answer.status == "error" and answer.status_reason.startswith("DataForSEO 40100: You are not authorized")
    rate = organic_fixture("envelope_error_rate_limited.json")
    assert rate.status == "error" and "40202" in rate.status_reason


def test_envelope_error_wins_over_an_ok_task() -> None:
    body = load("organic_ai_overview_tankless.json")
    body["status_code"], body["status_message"] = 50000, "Internal Error."
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "DataForSEO 50000: Internal Error.")


def test_result_null_with_status_ok_is_an_empty_result_error() -> None:
    answer = organic_fixture("task_ok_result_null.json")
    assert answer.status == "error" and answer.status_reason.startswith("empty result")
    body = load("task_ok_result_null.json")
    body["tasks"][0]["result"] = []
    assert parse_obj(body).status_reason.startswith("empty result")
    body["tasks"] = []
    assert parse_obj(body).status_reason.startswith("empty result")


@pytest.mark.parametrize("raw", [b"", b"   ", b"not json", b"[1, 2]", b'"tasks"', b"{}", b'{"foo": 1}'])
def test_garbage_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        dataforseo.parse(raw)
    with pytest.raises(ParseError):
        dataforseo_ai_mode.parse(raw)


@pytest.mark.parametrize("mutate", [
    lambda b: b.__setitem__("tasks", "oops"),
    lambda b: b["tasks"].__setitem__(0, "oops"),
    lambda b: b["tasks"][0].__setitem__("result", "oops"),
    lambda b: b["tasks"][0].__setitem__("result", ["oops"]),
    lambda b: b["tasks"][0]["result"][0].__setitem__("items", "oops"),
])
def test_wrong_envelope_shapes_raise_parse_error(mutate) -> None:  # type: ignore[no-untyped-def]
    body = load("organic_ai_overview_tankless.json")
    mutate(body)
    with pytest.raises(ParseError):
        parse_obj(body)


@pytest.mark.parametrize("mutate", [
    lambda o: o.__setitem__("items", "oops"),
    lambda o: o.__setitem__("references", "oops"),
    lambda o: o.__setitem__("references", [None, 3, {"url": None}, {"url": 5}, {"title": "no url"}]),
    lambda o: o["items"].__setitem__(0, "oops"),
    lambda o: o["items"][0].__setitem__("markdown", ["a list"]),
    lambda o: o["items"][0].__setitem__("references", {"url": "https://x.example"}),
    lambda o: o["items"][0].__setitem__("title", 42),
    lambda o: o["items"][2].__setitem__("table", {"table_header": "x", "table_content": [None, [1, None]]}),
    lambda o: o.__setitem__("markdown", 7),
    lambda o: o["items"][1].__setitem__("markdown", "[[1]](" + "(" * 50 + ") ]][[ ![](x) [](" + "a" * 5000),
])
def test_odd_types_inside_the_overview_never_crash(mutate) -> None:  # type: ignore[no-untyped-def]
    body = load("organic_ai_overview_tankless.json")
    mutate(overview_item(body))
    answer = parse_obj(body)
    assert answer.status in ("ok", "no_answer")
    for citation in answer.citations:
        assert citation.url.startswith("http")
        for start, end in citation.spans:
            assert 0 <= start < end <= len(answer.text)


@pytest.mark.parametrize("odd", [None, "x", 3, [None], [{"type": 5}], [{"type": "organic", "rank_group": True}]])
def test_odd_items_never_crash(odd: Any) -> None:
    body = load("organic_no_overview.json")
    page = body["tasks"][0]["result"][0]
    page["items"] = [*page["items"], *(odd if isinstance(odd, list) else [odd])]
    page["item_types"] = odd
    answer = parse_obj(body)
    assert answer.status == "ok" and [o.rank for o in answer.organic] == [1, 2]


def test_missing_or_repeated_rank_group_counts_on() -> None:
    body = load("organic_no_overview.json")
    items = body["tasks"][0]["result"][0]["items"]
    organic = [i for i in items if i["type"] == "organic"]
    organic[0]["rank_group"] = None
    organic[1]["rank_group"] = "2"
    assert [o.rank for o in parse_obj(body).organic] == [1, 2]


def test_a_rank_given_after_the_fallback_took_it_is_never_stored_twice() -> None:
    # ranks 1, 3, 2, missing: the fallback after 2 would be 3, which is taken; ranks key a page's results
    body = load("organic_no_overview.json")
    page = body["tasks"][0]["result"][0]
    page["items"] = [{"type": "organic", "url": f"https://example.com/{n}", "rank_group": rank}
                     for n, rank in enumerate((1, 3, 2, None))]
    assert [o.rank for o in parse_obj(body).organic] == [1, 3, 2, 4]


def test_parse_takes_a_raw_result() -> None:
    raw = (FIXTURES / "organic_ai_overview_tankless.json").read_bytes()
    assert dataforseo.parse(RawResult.single(raw)).text == dataforseo.parse(raw).text


# --- AI Mode ----------------------------------------------------------------------------------------


def test_ai_mode_answer() -> None:
    answer = ai_mode_fixture("ai_mode_austin_installers.json")
    assert answer.status == "ok" and answer.features == [AI_MODE] and answer.organic == []
    assert answer.cost == pytest.approx(0.004)
    assert answer.text == (
        "Several Austin installers are rated highly for tankless work, based on reviews on Google Maps.\n\n"
        "Top-rated installers\n\n"
        "Austin Tankless Pros (4.9): Certified Brightwell installers with same-week service.\n"
        "Hill Country Plumbing (4.8): Known for Northline condensing units.\n\n"
        "Would you like installers who also service older tank heaters?")
    # searchviewer links (local businesses) are sources, titled by their reference
    assert [(c.position, c.url, c.title) for c in answer.citations] == [
        (1, YELP, "THE BEST 10 Water Heater Installation in AUSTIN, TX - Yelp"),
        (2, SV_HCP, "Hill Country Plumbing"), (3, SV_ATP, "Austin Tankless Pros"),
        (4, BRIGHT, "Find a Certified Installer | Brightwell")]
    by_url = {c.url: c for c in answer.citations}
    assert span_texts(answer, by_url[SV_ATP]) == [("Austin Tankless Pros (4.9): Certified Brightwell installers "
                                                   "with same-week service.")]
    assert span_texts(answer, by_url[SV_HCP]) == [("Hill Country Plumbing (4.8): Known for Northline condensing "
                                                   "units.")]
    # the inline [Google Maps](url) link is words, not a source
    assert "https://www.google.com/maps" not in by_url


def test_ai_mode_without_answer_is_no_answer() -> None:
    answer = ai_mode_fixture("ai_mode_no_answer.json")
    assert answer.status == "no_answer" and answer.features == [] and answer.cost == pytest.approx(0.004)


def test_ai_mode_task_error() -> None:
    body = load("ai_mode_austin_installers.json")
    body["tasks"][0]["status_code"], body["tasks"][0]["status_message"] = 40501, "Invalid Field: 'keyword'."
    answer = parse_ai_mode_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "DataForSEO 40501: Invalid Field: 'keyword'.")


# --- real samples (read in place) --------------------------------------------------------------------

REAL_SOURCE_LABELS = ("Facebook · Plumbing Pals", "www.berico.com +1", "www.berico.com +2", "Roto-Rooter +1",
                      "United HVAC")


def test_real_organic_overview() -> None:
    answer = parse_file(dataforseo.parse, real_file(REAL, REAL_ORGANIC).parent, REAL_ORGANIC)
    assert answer.status == "ok" and answer.has_answer
    assert answer.cost == pytest.approx(0.002)
    assert answer.features == [AI_OVERVIEW, VIDEO, PEOPLE_ALSO_ASK]  # from item_types: items holds one
    assert answer.organic == []  # the sample's author kept only the ai_overview item
    assert answer.text.startswith("A sudden drop in water pressure is usually caused by a partially closed main "
                                  "valve, a broken pressure regulator, or a hidden leak.\n\nLocal and Municipal "
                                  "Issues\n\nCity work or main breaks:")
    for label in REAL_SOURCE_LABELS:
        assert label not in answer.text
    for leftover in ("](", "[[", "**", "http"):
        assert leftover not in answer.text
    assert answer.text.count("A sudden drop in water pressure") == 1  # the block's markdown is not added
    urls = [c.url for c in answer.citations]
    assert urls == [
        "https://www.berico.com/why-is-my-water-pressure-suddenly-low-throughout-the-house/",
        "https://www.youtube.com/watch?v=bqwStAIZ4es&t=66",
        ("https://www.facebook.com/plumbingpals/videos/do-you-have-low-water-pressurehere-are-the-top-5-reasons-it-"
        "happens-and-what-cau/844552675069604/"),
        "https://www.parkerandsons.com/blog/why-is-my-shower-pressure-suddenly-low"]
    assert [c.position for c in answer.citations] == [1, 2, 3, 4]
    facebook = answer.citations[2]
    assert facebook.title == "Do You Have Low Water Pressure? Here are the Top 5 Reasons it ..."
    # the first sentence, and the element whose references are null but whose empty link names it
    assert span_texts(answer, facebook) == [
        ("A sudden drop in water pressure is usually caused by a partially closed main valve, a broken pressure "
        "regulator, or a hidden leak."),
        "Peak usage times: High demand in your area during morning or evening hours can cause a temporary drop."]
    berico = answer.citations[0]
    assert [t.split(":")[0] for t in span_texts(answer, berico)] == ["Pressure-reducing valve (PRV)", "Hot water only"]
    # the video card inside the overview is not a source
    assert "https://www.youtube.com/watch?v=uxGtikQTgxo" not in urls


def test_real_ai_mode_answer() -> None:
    answer = parse_file(dataforseo_ai_mode.parse, real_file(REAL, REAL_AI_MODE).parent, REAL_AI_MODE)
    assert answer.status == "ok" and answer.features == [AI_MODE] and answer.cost == pytest.approx(0.004)
    assert "Plumber | Rating | Reviews | Key Specialties\nLemonTree Plumbing | 5.0 | ~30 |" in answer.text
    assert answer.text.count("Top-Rated Berkeley Plumbers (Sorted by Rating/Reviews)") == 1
    for leftover in ("](", "[[", "**", "http", "Roto-Rooter +1"):
        assert leftover not in answer.text
    body = json.loads(real_file(REAL, REAL_AI_MODE).read_bytes())
    tray = [r["url"] for r in overview_item(body)["references"]]
    assert len(tray) == 22
    urls = [c.url for c in answer.citations]
    assert urls[:22] == tray  # the tray's order first
    assert len(urls) == 27 and len(set(urls)) == 27  # then the five pages only the elements cite
    assert urls[22:] == ["https://www.facebook.com/L.J.KruseCo/", "https://ljkruse.com/areas-served/san-leandro/",
                         "https://downtobid.com/contractors/hvac/oakland",
                         "https://ljkruse.com/areas-served/walnut-creek/",
                         "https://albertnahmanplumbing.com/commercial/plumbing/"]
    searchviewer = [c for c in answer.citations if "google.com/searchviewer" in c.url]
    assert len(searchviewer) == 20
    assert answer.citations[2].title == "Albert Nahman Plumbing, Heating, and Cooling"
    assert span_texts(answer, answer.citations[2])[0].startswith("Best Emergency/Quick Response (Albert Nahman):")
    assert "https://www.cslb.ca.gov/" not in urls  # an inline link with words


def test_real_samples_are_errors_when_their_task_failed() -> None:
    body = json.loads(real_file(REAL, REAL_ORGANIC).read_bytes())
    body["tasks"][0]["status_code"], body["tasks"][0]["status_message"] = 40101, "Internal SE Server Error."
    body["tasks"][0]["result"] = None
    answer = dataforseo.parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("error", "DataForSEO 40101: Internal SE Server Error.")
    assert answer.cost == pytest.approx(0.002)
