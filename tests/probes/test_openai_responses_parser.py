"""Tests for the OpenAI Responses API (web_search) parser.

Our own fixtures (tests/fixtures/openai/) are written in the real wire format
for a B2B valve exporter (Hengda Valve / 恒达阀门 and competitors). The real
public samples in ../shared/realdata/openai_json/ are read in place, never
copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from citewatch.errors import ParseError
from probes.parsers import openai_responses
from probes.parsers.openai_responses import PARSER_VERSION, parse
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

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openai"


load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def message_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for item in body["output"] if item["type"] == "message" for p in item["content"]]


# --- module contract ---------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 2


def test_fixtures_carry_every_top_level_key_of_a_real_response() -> None:
    keys = {"id", "object", "created_at", "status", "background", "error", "incomplete_details",
            "instructions", "max_output_tokens", "max_tool_calls", "model", "output",
            "parallel_tool_calls", "previous_response_id", "prompt_cache_key", "reasoning",
            "safety_identifier", "service_tier", "store", "temperature", "text", "tool_choice",
            "tools", "top_logprobs", "top_p", "truncation", "usage", "user", "metadata"}
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 8
    for name in names:
        body = load(name)
        assert keys <= body.keys(), (name, keys - body.keys())
        assert body["object"] == "response"


# --- normal answer with a duplicate citation -----------------------------------


def test_three_sources_one_cited_twice_with_and_without_utm() -> None:
    answer = parse_fixture("hengda_butterfly_3citations_dup_utm.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "gpt-5-2025-08-07"
    assert (answer.input_tokens, answer.output_tokens) == (21544, 1187)
    assert answer.features == ["web_search"]
    assert answer.search_queries == ["API 609 butterfly valve manufacturers China export",
                                     "Hengda Valve triple offset butterfly valve API 607"]
    assert answer.text.startswith("Several established Chinese manufacturers")

    assert [c.position for c in answer.citations] == [1, 2, 3]
    hengda, neway, mic = answer.citations
    # The URL as first seen, with OpenAI's utm tag; the later bare URL merges into it.
    assert hengda.url == "https://www.hengdavalve.com/products/triple-offset-butterfly-valve?utm_source=openai"
    assert hengda.title == "Triple Offset Butterfly Valve | Hengda Valve"
    assert len(hengda.spans) == 2
    assert span_texts(answer, hengda) == [
        "([hengdavalve.com](https://www.hengdavalve.com/products/triple-offset-butterfly-valve?utm_source=openai))",
        "([hengdavalve.com](https://www.hengdavalve.com/products/triple-offset-butterfly-valve))",
    ]
    assert neway.url.startswith("https://www.newayvalve.com/en/products/butterfly-valve/")
    assert span_texts(answer, neway) == [
        "([newayvalve.com](https://www.newayvalve.com/en/products/butterfly-valve/?utm_source=openai))"]
    assert "made-in-china.com" in mic.url and len(mic.spans) == 1
    for c in answer.citations:
        assert (c.cited, c.visible, c.origin) == (True, True, "annotation")
    assert retrieved(answer) == []


def test_position_follows_the_text_not_the_annotation_list_order() -> None:
    body = load("hengda_butterfly_3citations_dup_utm.json")
    expected = parse_obj(body)
    for part in message_parts(body):
        part["annotations"].reverse()
    shuffled = parse_obj(body)
    assert [(c.url, c.position, c.spans) for c in shuffled.citations] == \
           [(c.url, c.position, c.spans) for c in expected.citations]


def test_first_non_empty_title_wins() -> None:
    body = load("hengda_butterfly_3citations_dup_utm.json")
    anns = message_parts(body)[0]["annotations"]
    anns[0]["title"] = ""
    anns[3]["title"] = "Hengda Valve - TOV"
    answer = parse_obj(body)
    assert answer.citations[0].title == "Hengda Valve - TOV"
    assert answer.citations[0].url.endswith("?utm_source=openai")  # url stays the first seen


# --- no annotations / refusal / empty / failed / incomplete -------------------


def test_search_ran_but_answer_has_no_annotations() -> None:
    answer = parse_fixture("hengda_no_annotations.json")
    assert answer.status == "ok" and answer.has_answer
    assert answer.citations == []
    assert "Hengda Valve (恒达阀门)" in answer.text
    assert answer.features == ["web_search"]
    assert answer.search_queries == ["DN300 PN16 ductile iron gate valve manufacturer China"]


def test_refusal_is_no_answer_not_an_error() -> None:
    answer = parse_fixture("hengda_refusal.json")
    assert answer.status == "no_answer"
    assert answer.status_reason == ("refusal: I'm sorry, but I can't help with finding the personal "
                                    "mobile numbers of Hengda Valve's purchasing staff.")
    assert answer.text == "" and not answer.has_answer
    assert answer.citations == [] and answer.features == [] and answer.search_queries == []
    assert answer.model == "gpt-5-2025-08-07"


def test_empty_answer_text_is_no_answer() -> None:
    answer = parse_fixture("hengda_empty_answer.json")
    assert answer.status == "no_answer"
    assert answer.status_reason == "empty answer text"
    assert answer.text == "" and answer.citations == []
    assert answer.search_queries == ["恒达阀门 出口 认证"]  # the search still happened
    assert answer.features == ["web_search"]


def test_whitespace_only_answer_is_no_answer() -> None:
    body = load("hengda_empty_answer.json")
    message_parts(body)[0]["text"] = " \n\n "
    assert parse_obj(body).status == "no_answer"


def test_no_message_item_is_no_answer() -> None:
    body = load("hengda_empty_answer.json")
    body["output"] = [item for item in body["output"] if item["type"] != "message"]
    answer = parse_obj(body)
    assert answer.status == "no_answer"
    assert answer.status_reason == "no message in output"


def test_failed_response_is_an_error_with_the_api_message() -> None:
    answer = parse_fixture("hengda_failed_server_error.json")
    assert answer.status == "error"
    assert answer.status_reason.startswith("server_error: An error occurred while processing your request.")
    assert "req_8f2c61d0a4b94e7f9c3d5e1b2a7f6c08" in answer.status_reason
    assert answer.text == "" and answer.citations == []
    assert answer.model == "gpt-5-2025-08-07"
    assert (answer.input_tokens, answer.output_tokens) == (None, None)  # usage is null


def test_status_failed_without_error_object_is_still_an_error() -> None:
    body = load("hengda_failed_server_error.json")
    body["error"] = None
    answer = parse_obj(body)
    assert answer.status == "error" and answer.status_reason


def test_error_object_wins_over_text() -> None:
    body = load("hengda_butterfly_3citations_dup_utm.json")
    body["error"] = {"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-5"}
    answer = parse_obj(body)
    assert answer.status == "error"
    assert answer.status_reason == "rate_limit_exceeded: Rate limit reached for gpt-5"
    assert answer.citations == [] and answer.text == ""


@pytest.mark.parametrize("empty", [{}, ""])
def test_empty_error_beside_a_completed_response_is_no_failure(empty: Any) -> None:  # PARSER_VERSION 2
    body = load("hengda_butterfly_3citations_dup_utm.json")
    body["error"] = empty
    assert parse_obj(body).status == "ok"


def test_incomplete_with_text_keeps_text_and_says_why() -> None:
    answer = parse_fixture("hengda_incomplete_max_output_tokens.json")
    assert answer.status == "ok" and answer.has_answer
    assert answer.status_reason == "incomplete: max_output_tokens"
    assert answer.text.endswith("its main competitors in Wenzhou are")
    assert len(answer.citations) == 1
    assert span_texts(answer, answer.citations[0])[0].startswith("([hengdavalve.com](")


def test_blank_incomplete_reason_is_unknown() -> None:  # PARSER_VERSION 2
    body = load("hengda_incomplete_max_output_tokens.json")
    body["incomplete_details"] = {"reason": " "}
    assert parse_obj(body).status_reason == "incomplete: unknown reason"


def test_incomplete_without_text_is_an_error() -> None:
    body = load("hengda_incomplete_max_output_tokens.json")
    body["output"] = [item for item in body["output"] if item["type"] != "message"]
    answer = parse_obj(body)
    assert answer.status == "error"
    assert answer.status_reason == "incomplete: max_output_tokens"


@pytest.mark.parametrize("status", ["queued", "in_progress", "cancelled"])
def test_unfinished_background_response_without_text_is_an_error(status: str) -> None:
    body = load("hengda_failed_server_error.json")
    body.update(status=status, error=None)
    answer = parse_obj(body)
    assert answer.status == "error" and status in answer.status_reason


# --- indices into multi-byte text ----------------------------------------------


def test_cjk_and_emoji_before_annotations_slice_exactly() -> None:
    answer = parse_fixture("hengda_zh_cjk_emoji.json")
    assert answer.status == "ok"
    text = answer.text
    first = answer.citations[0]
    prefix = text[: first.spans[0][0]]
    # The trap: emoji outside the BMP (UTF-16 surrogate pairs, 4 UTF-8 bytes) and
    # CJK (3 UTF-8 bytes) precede the annotation, so byte or UTF-16 offsets would miss.
    assert "🔧" in prefix and "🏭" in prefix and "恒达阀门" in prefix
    assert any(ord(ch) > 0xFFFF for ch in prefix)
    assert len(prefix.encode("utf-8")) > len(prefix.encode("utf-16-le")) // 2 > len(prefix)

    expected = {
        "https://www.hengdavalve.com/zh/about?utm_source=openai": [
            "([hengdavalve.com](https://www.hengdavalve.com/zh/about?utm_source=openai))",
            # the fragment variant is the same page: it merges into position 1
            "([hengdavalve.com](https://www.hengdavalve.com/zh/about#certificates))",
        ],
        "https://www.newayvalve.com/cn/about.html?utm_source=openai": [
            "([newayvalve.com](https://www.newayvalve.com/cn/about.html?utm_source=openai))"],
        "http://www.sufa.com.cn/?utm_source=openai": [
            "([sufa.com.cn](http://www.sufa.com.cn/?utm_source=openai))"],
    }
    assert [c.url for c in answer.citations] == list(expected)
    assert [c.position for c in answer.citations] == [1, 2, 3]
    for c in answer.citations:
        assert span_texts(answer, c) == expected[c.url]
    assert answer.citations[0].title == "关于我们 - 恒达阀门有限公司"
    # 🇨🇳 is two code points: the third citation sits after it and still slices exactly.
    assert "🇨🇳" in text[: answer.citations[2].spans[0][0]]


def test_indices_are_relative_to_their_part_and_shifted_in_joined_text() -> None:
    body = load("hengda_zh_cjk_emoji.json")
    msg = next(item for item in body["output"] if item["type"] == "message")
    original = msg["content"][0]
    second = copy.deepcopy(original)
    # A second message with two parts, each annotated relative to itself.
    extra = {"id": "msg_extra", "type": "message", "status": "completed", "role": "assistant",
             "content": [
                 {"type": "output_text", "annotations": [], "logprobs": [], "text": "📦 补充说明："},
                 second,
             ]}
    body["output"].append(extra)
    answer = parse_obj(body)
    sep = openai_responses.PART_SEPARATOR
    assert sep == "\n\n"
    assert answer.text == original["text"] + sep + "📦 补充说明：" + sep + second["text"]
    shift = len(original["text"] + sep + "📦 补充说明：" + sep)
    hengda = answer.citations[0]
    # Same page cited in both copies: one citation, four spans, the later two shifted.
    assert len(answer.citations) == 3 and len(hengda.spans) == 4
    assert hengda.spans[2] == (original["annotations"][0]["start_index"] + shift,
                               original["annotations"][0]["end_index"] + shift)
    for c in answer.citations:
        for piece in span_texts(answer, c):
            assert piece.startswith("([") and piece.endswith("))")


def test_out_of_range_indices_are_clamped() -> None:
    body = load("hengda_no_annotations.json")
    part = message_parts(body)[0]
    n = len(part["text"])
    part["annotations"] = [
        {"type": "url_citation", "start_index": n - 10, "end_index": n + 500,
         "title": "Hengda Valve", "url": "https://www.hengdavalve.com/"},
        {"type": "url_citation", "start_index": -5, "end_index": 12,
         "title": "Neway", "url": "https://www.newayvalve.com/"},
    ]
    answer = parse_obj(body)
    by_host = {urlsplit(c.url).hostname: c for c in answer.citations}
    assert by_host["www.hengdavalve.com"].spans == [(n - 10, n)]
    assert by_host["www.newayvalve.com"].spans == [(0, 12)]
    # Ordered by first appearance: the clamped start 0 comes first.
    assert [urlsplit(c.url).hostname for c in answer.citations] == ["www.newayvalve.com", "www.hengdavalve.com"]


def test_annotation_without_indices_is_cited_without_span_and_other_types_ignored() -> None:
    body = load("hengda_no_annotations.json")
    part = message_parts(body)[0]
    part["annotations"] = [
        {"type": "file_citation", "file_id": "file-123", "filename": "catalogue.pdf", "index": 3},
        {"type": "url_citation", "title": "Hengda Valve", "url": "https://www.hengdavalve.com/"},
        {"type": "url_citation", "start_index": 20, "end_index": 20, "title": "",
         "url": "https://www.newayvalve.com/"},
    ]
    answer = parse_obj(body)
    assert [(c.url, c.spans, c.position) for c in answer.citations] == [
        ("https://www.newayvalve.com/", [], 1),   # indexed ones first, empty span dropped
        ("https://www.hengdavalve.com/", [], 2),
    ]
    assert answer.citations[0].title is None  # "" is no title


# --- retrieved but not cited ---------------------------------------------------


def test_sources_open_page_and_find_in_page_are_retrieved_not_cited() -> None:
    answer = parse_fixture("hengda_sources_not_cited.json")
    assert [c.url for c in cited(answer)] == [
        "https://www.hengdavalve.com/products/api-600-cast-steel-gate-valve?utm_source=openai",
        "https://www.newayvalve.com/en/products/gate-valve/?utm_source=openai",
    ]
    # The cited pages also appear bare in sources and open_page: never repeated.
    # Neway's slash-less twin and valvemagazine's #fragment twin are the same pages.
    assert [(c.position, c.url) for c in retrieved(answer)] == [
        (3, "https://www.made-in-china.com/products-search/hot-china-products/API_600_Gate_Valve.html"),
        (4, "https://www.alibaba.com/product-detail/API-600-Cast-Steel-Gate-Valve_1600512873461.html"
            "?spm=a2700.galleryofferlist.normal_offer.d_title.4c2a13a0"),
        (5, "https://www.valvemagazine.com/articles/understanding-api-600-gate-valves"),
        (6, "https://www.api.org/products-and-services/standards/important-standards-announcements/standard-600"),
    ]
    for c in retrieved(answer):
        assert (c.cited, c.origin, c.spans, c.title) == (False, "search_result", [], None)
    assert answer.search_queries == ["API 600 cast steel gate valve manufacturer China"]
    assert answer.features == ["web_search"]


def test_non_url_sources_are_skipped() -> None:
    body = load("hengda_sources_not_cited.json")
    search = next(i for i in body["output"] if i["type"] == "web_search_call")
    search["action"]["sources"].insert(0, {"type": "api", "name": "oai-weather"})
    assert [c.url for c in retrieved(parse_obj(body))] == \
           [c.url for c in retrieved(parse_fixture("hengda_sources_not_cited.json"))]


# --- queries ---------------------------------------------------------------------


def test_queries_plural_deduplicated_in_order_without_blanks() -> None:
    answer = parse_fixture("hengda_queries_plural.json")
    assert answer.model == "gpt-5.2-2025-12-11"
    assert answer.search_queries == [
        "Hengda Valve API 607 fire safe ball valve",
        "恒达阀门 API 607 防火试验 球阀",
        "Hengda Valve API 607 certificate 2024",
    ]
    (only,) = answer.citations
    assert only.title == "Hengda ball valves pass API 607 fire-safe test | Hengda Valve"  # first non-empty
    assert len(only.spans) == 2


def test_no_web_search_call_means_no_feature() -> None:
    body = load("hengda_queries_plural.json")
    body["output"] = [i for i in body["output"] if i["type"] != "web_search_call"]
    answer = parse_obj(body)
    assert answer.features == [] and answer.search_queries == []


# --- garbage -----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json at all", "not JSON"),
    (b"", "empty body"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "got a JSON list"),
    (b'"response"', "got a JSON str"),
    (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
     b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>",
     "not JSON"),
    (b'{"id": "resp_1", "object": "response", "status": "completed"}', "no 'output' list"),
    (b'{"id": "resp_1", "object": "response", "output": {"type": "message"}}', "no 'output' list"),
    (b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [], "output": []}',
     "'object' is 'chat.completion'"),
    (b'{"output": []}', "'object' is None"),
])
def test_garbage_raises_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("(", r"\(")):
        parse(raw)


def test_bare_http_error_envelope_is_a_parse_error_naming_the_api_error() -> None:
    raw = json.dumps({"error": {"message": "Incorrect API key provided: sk-****.", "type": "invalid_request_error",
                                "param": None, "code": "invalid_api_key"}}).encode()
    with pytest.raises(ParseError, match="invalid_api_key: Incorrect API key provided"):
        parse(raw)


def test_parse_error_is_in_the_error_tree() -> None:
    from citewatch.errors import CitewatchError

    assert issubclass(ParseError, CitewatchError)


# --- real public samples (read in place, never copied) ------------------------------

# Facts read off each file by hand: model, tokens, distinct cited URLs in order
# of first appearance with their number of spans, retrieved-not-cited URLs, queries.
REAL_EXPECTED: dict[str, dict[str, Any]] = {
    "responses_web_search_gpt5.2_one_citation.json": {
        "model": "gpt-5.2-2025-12-11", "tokens": (8530, 98),
        "cited": [("https://www.britannica.com/place/Mount-Columbia?utm_source=openai", 1)],
        "retrieved": [],
        "queries": ["tallest mountain in Alberta", "Mount Columbia tallest mountain in Alberta elevation"],
    },
    "responses_web_search_gpt5_allowed_domains_open_page.json": {
        "model": "gpt-5-2025-08-07", "tokens": (22013, 1737), "text": "14195730",
        "cited": [],
        "retrieved": ["https://en.wikipedia.org/wiki/List_of_Japanese_prefectures_by_population",
                      "https://en.wikipedia.org/wiki/Demographics_of_Tokyo"],
        "queries": ["Tokyo population prefecture current site:wikipedia.org",
                    "Tokyo Metropolis population site:wikipedia.org",
                    "Demographics of Tokyo population site:wikipedia.org",
                    "Tokyo Metropolis population 2025 site:wikipedia.org",
                    "Tokyo Prefecture population site:wikipedia.org"],
    },
    "responses_web_search_gpt5_news_3citations.json": {
        "model": "gpt-5-2025-08-07", "tokens": (115886, 1720),
        "cited": [
            ("https://www.reuters.com/world/middle-east/un-overwhelmingly-endorses-two-state-solution-"
             "declaration-that-condemns-hamas-2025-09-12/?utm_source=openai", 1),
            ("https://apnews.com/article/aad7af5ddfb56b7484fa9db591297c9e?utm_source=openai", 1),
            ("https://www.reuters.com/world/middle-east/death-toll-rises-46-israeli-raids-yemen-2025-09-11/"
             "?utm_source=openai", 1),
        ],
        "retrieved": [],
        "queries": ["top world news September 12, 2025 Reuters",
                    "Nepal protests September 12 2025 Reuters",
                    "UN Security Council condemns attack in Doha September 12 2025 Reuters",
                    "Israel airstrikes Yemen Sanaa September 10 2025 Reuters death toll",
                    "typhoon September 12 2025",
                    "Nepal protests September 12 2025 BBC"],
    },
    "responses_web_search_gpt5_news_open_page_4citations.json": {
        "model": "gpt-5-2025-08-07", "tokens": (43902, 4474),
        "cited": [
            ("https://www.cbsnews.com/live-updates/iran-war-trump-israel-strikes-ceasefire-lebanon-beirut/", 1),
            ("https://apnews.com/article/08910db86998036adf022230b22d19c7", 1),
            ("https://www.marketscreener.com/news/gsk-boosts-lung-cancer-portfolio-with-10-6-billion-nuvalent-"
             "takeover-ce7f5dd3df8ff525?utm_source=openai", 1),
            ("https://www.cbsnews.com/news/us-flooding-severe-storms-midwest-plains/?utm_source=openai", 1),
        ],
        "retrieved": [],  # both open_page URLs are cited
        "queries_count": 24,
        "queries_first_last": ("June 9, 2026 top news", "BBC June 9 2026 Iran Israel attacks halted"),
    },
    "responses_web_search_gpt5_weather_no_annotations.json": {
        "model": "gpt-5-2025-08-07", "tokens": (9299, 577),
        "cited": [], "retrieved": [], "queries": ["weather: San Francisco, CA"],
    },
    "responses_web_search_gpt5mini_sources_find_in_page_10citations.json": {
        "model": "gpt-5-mini-2025-08-07", "tokens": (19681, 3773),
        # 10 annotations, 7 distinct pages
        "cited": [
            ("https://www.theverge.com/podcast/838932/openai-chatgpt-code-red-vergecast", 2),
            ("https://techstartups.com/2025/12/05/technology-news-today-the-latest-in-tech-ai-startup-news-"
             "december-5-2025/", 2),
            ("https://www.investopedia.com/5-things-to-know-before-the-stock-market-opens-december-5-2025-"
             "11862701?utm_source=openai", 1),
            ("https://vercel.com/blog/series-f", 2),
            ("https://www.sentinelone.com/vulnerability-database/cve-2025-49826/?utm_source=openai", 1),
            ("https://www.wired.com/story/the-big-interview-2025-recap", 1),
            ("https://www.bloomberg.com/news/articles/2025-09-30/vercel-notches-9-3-billion-valuation-in-"
             "latest-ai-funding-round", 1),
        ],
        # 16 sources minus the 7 cited (investopedia and sentinelone appear there without utm)
        "retrieved": [
            "https://www.barrons.com/articles/stock-movers-7c77880d",
            "https://www.investors.com/market-trend/stock-market-today/dow-jones-sp500-nasdaq-inflation-data-ai-stock/",
            "https://www.investing.com/news/stock-market-news/ai-coding-startup-vercel-raises-300-million-"
            "valued-at-93-billion-4264199",
            "https://www.finsmes.com/2025/10/vercel-closes-300m-series-f-funding-at-9-3-billion-valuation.html",
            "https://www.nasdaq.com/press-release/vercel-announces-%24150m-in-series-d-funding-at-a-%242.5b-"
            "valuation-to-further-fuel",
            "https://www.mexc.com/en-NG/news/77540",
            "https://www.theinformation.com/briefings/vercel-lands-unsolicited-investment-offers-9-billion",
            "https://www.mexc.com/en-NG/news/us-cloud-platform-vercel-achieves-9-billion-valuation-amid-rapid-"
            "growth-in-ai-integration/77540",
            "https://www.aol.com/exclusive-vercel-completes-250-million-144101876.html",
        ],
        "queries": ["tech news today December 5 2025"],
    },
    "azure_responses_web_search_preview.json": {
        "model": "gpt-4.1-mini", "tokens": (10188, 405),
        "cited": [("https://www.straitstimes.com/world/while-you-were-sleeping-5-stories-you-might-have-missed-"
                   "nov-19-2025", 1)],
        "retrieved": [],
        "queries": ["top news stories November 19, 2025", "major news stories November 19, 2025"],
    },
}


def _real_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json")
                  if p.name.startswith(("responses_", "azure_responses_")))


def test_every_real_responses_sample_has_expected_facts() -> None:
    folder = realdata("openai_json")
    names = {p.name for p in _real_files(folder)}
    assert names, f"no responses_*.json / azure_responses_*.json in {folder}"
    assert names <= REAL_EXPECTED.keys(), f"new real samples need expected facts: {sorted(names - REAL_EXPECTED.keys())}"


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_sample(name: str) -> None:
    path = real_file("openai_json", name)
    facts = REAL_EXPECTED[name]
    answer = parse(path.read_bytes())

    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == facts["model"]
    assert (answer.input_tokens, answer.output_tokens) == facts["tokens"]
    assert answer.features == ["web_search"]
    if "text" in facts:
        assert answer.text == facts["text"]

    assert [(c.url, len(c.spans)) for c in cited(answer)] == facts["cited"]
    assert [c.url for c in retrieved(answer)] == facts["retrieved"]
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in cited(answer):
        assert c.origin == "annotation" and c.visible and c.title
        for piece in span_texts(answer, c):
            # Every span is a non-empty slice of the text, covering the link to its own host.
            assert piece and piece in answer.text
            assert urlsplit(c.url).hostname in piece
    for c in retrieved(answer):
        assert c.origin == "search_result" and c.spans == []

    if "queries" in facts:
        assert answer.search_queries == facts["queries"]
    else:
        assert len(answer.search_queries) == facts["queries_count"]
        assert (answer.search_queries[0], answer.search_queries[-1]) == facts["queries_first_last"]
        assert len(set(answer.search_queries)) == len(answer.search_queries)


def test_real_indices_are_characters_not_utf8_bytes() -> None:
    """Non-ASCII punctuation (‑ – — ’) precedes the first annotation: byte offsets would miss."""
    path = real_file("openai_json", "responses_web_search_gpt5_news_3citations.json")
    answer = parse(path.read_bytes())
    start, end = answer.citations[0].spans[0]
    assert any(ord(ch) > 127 for ch in answer.text[:start])
    assert answer.text[start:end] == (
        "([reuters.com](https://www.reuters.com/world/middle-east/un-overwhelmingly-endorses-two-state-"
        "solution-declaration-that-condemns-hamas-2025-09-12/?utm_source=openai))")
