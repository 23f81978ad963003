"""Tests for the Chat Completions parsers: `parse` (kind openai_chat) and `parse_compatible` (openai_compatible).

Our own fixtures (tests/fixtures/openai_chat/) are written in the real wire
formats (OpenAI search models, OpenRouter, DeepSeek, Qwen/DashScope, Ollama,
Kimi) for a B2B valve exporter (Hengda Valve / 恒达阀门 and competitors). The
real public samples in ../shared/realdata/openai_json/ are read in place,
never copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from citewatch.errors import ParseError
from probes.base import Answer
from probes.parsers.common import citation_key
from probes.parsers.openai_chat import (
    PARSER_VERSION,
    parse,
    parse_compatible,
    text_links,
)
from probes.simulator import demo_scenario
from probes.simulator import openai_chat as sim_chat
from probes.simulator import openai_compatible as sim_compatible
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.conftest import realdata
from tests.probes.support import load_json, raw_of, real_file, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openai_chat"
PARSERS = pytest.mark.parametrize("parser", [parse, parse_compatible], ids=["openai_chat", "openai_compatible"])


load = partial(load_json, FIXTURES)


def message(body: dict[str, Any]) -> dict[str, Any]:
    return body["choices"][0]["message"]


def urls(answer: Answer) -> list[str]:
    return [c.url for c in answer.citations]


# --- module contract ---------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 2


def test_fixtures_carry_every_top_level_key_of_a_real_response() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 12
    openai_keys = {"id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint"}
    compatible_keys = {"id", "object", "created", "model", "choices", "usage"}
    for name in names:
        body = load(name)
        if name == "chat_api_error_invalid_key.json":
            assert set(body) == {"error"}
            continue
        assert (openai_keys if name.startswith("chat_") else compatible_keys) <= body.keys(), name
        assert body["object"] == "chat.completion"
        choice = body["choices"][0]
        assert {"index", "message", "finish_reason"} <= choice.keys(), name
        if name.startswith("chat_"):
            assert set(message(body)) == {"role", "content", "refusal", "annotations"}, name


# --- openai_chat: annotations --------------------------------------------------


HENGDA_TOV = "https://www.hengdavalve.com/products/api-6d-trunnion-ball-valve"


def test_three_pages_hengda_cited_twice_with_and_without_utm() -> None:
    answer = parse((FIXTURES / "chat_hengda_3citations_dup_utm.json").read_bytes())
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "gpt-4o-search-preview-2025-03-11"
    assert (answer.input_tokens, answer.output_tokens) == (24, 271)
    assert answer.features == ["web_search"] and answer.search_queries == []
    assert answer.text.startswith("For API 6D trunnion-mounted ball valves")

    assert [c.position for c in answer.citations] == [1, 2, 3]
    hengda, apex, northstar = answer.citations
    # The URL as first seen, with OpenAI's utm tag; the later bare URL merges into it.
    assert hengda.url == HENGDA_TOV + "?utm_source=openai"
    assert hengda.title == "API 6D Trunnion Mounted Ball Valve | Hengda Valve"
    assert span_texts(answer, hengda) == [f"([hengdavalve.com]({HENGDA_TOV}?utm_source=openai))",
                                          f"([hengdavalve.com]({HENGDA_TOV}))"]
    assert urlsplit(apex.url).hostname == "www.apexflow.com"
    assert apex.title == "Trunnion Mounted Ball Valves – Apex Flow Controls"
    assert span_texts(answer, apex) == [
        "([apexflow.com](https://www.apexflow.com/products/ball-valves/trunnion-mounted?utm_source=openai))"]
    assert urlsplit(northstar.url).hostname == "northstarvalves.de" and len(northstar.spans) == 1
    # "–" and "−" (multi-byte in UTF-8) precede these spans: indices are code points.
    assert "−196 °C" in answer.text[: northstar.spans[0][0]]
    for c in answer.citations:
        assert (c.cited, c.visible, c.origin) == (True, True, "annotation")


def test_position_follows_the_text_not_the_annotation_list_order() -> None:
    body = load("chat_hengda_3citations_dup_utm.json")
    expected = parse(raw_of(body))
    message(body)["annotations"].reverse()
    shuffled = parse(raw_of(body))
    assert [(c.url, c.position, c.spans) for c in shuffled.citations] == \
           [(c.url, c.position, c.spans) for c in expected.citations]


def test_first_non_empty_title_wins() -> None:
    body = load("chat_hengda_3citations_dup_utm.json")
    anns = message(body)["annotations"]
    anns[0]["url_citation"]["title"] = ""
    answer = parse(raw_of(body))
    assert answer.citations[0].title == "Hengda Valve – API 6D Ball Valves"  # from the later, bare-URL annotation
    assert answer.citations[0].url.endswith("?utm_source=openai")  # the url stays the first seen


def test_cjk_and_emoji_before_annotations_slice_exactly() -> None:
    answer = parse((FIXTURES / "chat_hengda_zh_cjk_emoji.json").read_bytes())
    assert answer.status == "ok"
    text = answer.text
    first = answer.citations[0]
    prefix = text[: first.spans[0][0]]
    # Emoji outside the BMP (surrogate pairs in UTF-16, 4 UTF-8 bytes) and CJK precede the first span,
    # so byte or UTF-16 offsets would miss it.
    assert "🔧" in prefix and "🏭" in prefix and "恒达阀门" in prefix
    assert any(ord(ch) > 0xFFFF for ch in prefix)
    assert len(prefix.encode("utf-8")) > len(prefix.encode("utf-16-le")) // 2 > len(prefix)
    expected = {
        "https://www.hengdavalve.com/zh/about?utm_source=openai": [
            "([hengdavalve.com](https://www.hengdavalve.com/zh/about?utm_source=openai))",
            # the #certificates variant is the same page: it merges into position 1
            "([hengdavalve.com](https://www.hengdavalve.com/zh/about#certificates))",
        ],
        "https://www.apexflow.com/zh/company?utm_source=openai": [
            "([apexflow.com](https://www.apexflow.com/zh/company?utm_source=openai))"],
        "https://northstarvalves.de/zh/lng-valves?utm_source=openai": [
            "([northstarvalves.de](https://northstarvalves.de/zh/lng-valves?utm_source=openai))"],
    }
    assert urls(answer) == list(expected)
    for c in answer.citations:
        assert span_texts(answer, c) == expected[c.url]
    assert answer.citations[0].title == "关于我们 - 恒达阀门有限公司"
    # Flags are two code points each; the third citation sits after 🇨🇳➡️🇩🇪 and still slices exactly.
    assert "🇨🇳➡️🇩🇪" in text[: answer.citations[2].spans[0][0]]


def test_out_of_range_and_equal_indices() -> None:
    body = load("chat_hengda_no_annotations.json")
    n = len(message(body)["content"])
    message(body)["annotations"] = [
        {"type": "url_citation", "url_citation": {"start_index": n - 10, "end_index": n + 500,
                                                  "title": "Hengda Valve", "url": "https://www.hengdavalve.com/"}},
        {"type": "url_citation", "url_citation": {"start_index": 30, "end_index": 30, "title": "",
                                                  "url": "https://www.apexflow.com/"}},
        {"type": "url_citation", "url_citation": {"start_index": -5, "end_index": 12, "title": "NorthStar",
                                                  "url": "https://northstarvalves.de/"}},
        {"type": "url_citation", "url_citation": {"start_index": 40, "end_index": 20, "title": "Apex again",
                                                  "url": "https://www.apexflow.com/"}},
    ]
    answer = parse(raw_of(body))
    assert [(c.url, c.spans, c.position) for c in answer.citations] == [
        ("https://northstarvalves.de/", [(0, 12)], 1),      # clamped start 0 comes first
        ("https://www.hengdavalve.com/", [(n - 10, n)], 2),  # clamped end
        ("https://www.apexflow.com/", [], 3),                # equal or reversed indices: no span, last
    ]
    assert answer.citations[2].title == "Apex again"  # "" is no title


def test_other_annotation_types_urlless_ones_and_the_flat_shape() -> None:
    body = load("chat_hengda_no_annotations.json")
    message(body)["annotations"] = [
        {"type": "file_citation", "file_citation": {"file_id": "file-123", "filename": "catalogue.pdf"}},
        {"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 12, "title": "x", "url": " "}},
        "garbage",
        # a few gateways flatten the annotation like the Responses API does
        {"type": "url_citation", "start_index": 0, "end_index": 12, "title": "Hengda Valve",
         "url": "https://www.hengdavalve.com/"},
    ]
    answer = parse(raw_of(body))
    assert [(c.url, span_texts(answer, c)) for c in answer.citations] == [
        ("https://www.hengdavalve.com/", ["Hengda Valve"])]


def test_openai_chat_ignores_urls_written_without_annotation() -> None:
    """The decision: for OpenAI's search models only annotations are citations."""
    raw = (FIXTURES / "chat_hengda_no_annotations.json").read_bytes()
    answer = parse(raw)
    assert answer.status == "ok" and answer.has_answer and answer.citations == []
    assert "https://www.hengdavalve.com/catalogue.pdf" in answer.text
    assert "Hengda Valve (恒达阀门)" in answer.text
    assert answer.features == ["web_search"]  # a search model searches before every answer
    # The compatible parser reads the same URL as a text citation.
    (only,) = parse_compatible(raw).citations
    assert (only.url, only.origin, only.title) == ("https://www.hengdavalve.com/catalogue.pdf", "text", None)


def test_openrouter_annotations_without_indices_keep_list_order() -> None:
    answer = parse((FIXTURES / "openrouter_hengda_web_plugin.json").read_bytes())
    assert answer.status == "ok" and answer.model == "openai/gpt-4o-mini"
    assert (answer.input_tokens, answer.output_tokens) == (1683, 96)
    assert answer.features == ["web_search"]
    assert [(c.position, c.url, c.title, c.spans) for c in answer.citations] == [
        (1, HENGDA_TOV, "API 6D Trunnion Mounted Ball Valve | Hengda Valve", []),
        (2, "https://northstarvalves.de/en/products/cryogenic-ball-valves", None, []),
        (3, "https://www.apexflow.com/products/ball-valves", "Ball Valves – Apex Flow Controls", []),
        (4, "https://www.valvemagazine.com/articles/choosing-a-trunnion-ball-valve", None, []),
    ]


def test_features_need_evidence_of_a_search() -> None:
    body = load("chat_hengda_no_annotations.json")
    body["model"] = "gpt-4o-2024-08-06"  # not a search model, no annotation: nothing shows a search
    assert parse(raw_of(body)).features == []
    assert parse_compatible(raw_of(body)).features == []
    body = load("openrouter_hengda_web_plugin.json")
    message(body)["annotations"] = []
    assert parse_compatible(raw_of(body)).features == ["web_search"]  # OpenRouter counts its searches
    del body["usage"]["server_tool_use_details"]
    assert parse_compatible(raw_of(body)).features == []


# --- statuses ----------------------------------------------------------------


@PARSERS
def test_refusal_is_no_answer_not_an_error(parser: Any) -> None:
    answer = parser((FIXTURES / "chat_hengda_refusal.json").read_bytes())
    assert answer.status == "no_answer"
    assert answer.status_reason == ("refusal: I'm sorry, but I can't help with finding the personal phone numbers "
                                    "of Hengda Valve's purchasing staff.")
    assert answer.text == "" and not answer.has_answer and answer.citations == []
    assert answer.model == "gpt-4o-search-preview-2025-03-11"
    assert (answer.input_tokens, answer.output_tokens) == (28, 19)


@PARSERS
@pytest.mark.parametrize("content", ["", " \n\n ", None])
def test_empty_answer_is_no_answer(parser: Any, content: str | None) -> None:
    body = load("chat_hengda_empty_answer.json")
    message(body)["content"] = content
    answer = parser(raw_of(body))
    assert answer.status == "no_answer" and answer.status_reason == "empty answer text"
    assert answer.citations == [] and not answer.has_answer
    assert answer.model == "gpt-4o-search-preview-2025-03-11"


def test_empty_answer_fixture() -> None:
    answer = parse((FIXTURES / "chat_hengda_empty_answer.json").read_bytes())
    assert (answer.status, answer.text, answer.output_tokens) == ("no_answer", "", 0)


@PARSERS
def test_cut_off_by_length_keeps_text_and_says_why(parser: Any) -> None:
    answer = parser((FIXTURES / "chat_hengda_length_truncated.json").read_bytes())
    assert answer.status == "ok" and answer.has_answer
    assert answer.status_reason == "incomplete: length"
    assert answer.text.endswith("its main advantages are")
    (only,) = answer.citations
    assert span_texts(answer, only) == [
        "([hengdavalve.com](https://www.hengdavalve.com/products/cast-steel-gate-valve?utm_source=openai))"]


def test_cut_off_by_length_without_text_is_an_error() -> None:
    body = load("chat_hengda_length_truncated.json")
    message(body).update(content="", annotations=[])
    answer = parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("error", "incomplete: length")


def test_content_filter() -> None:
    body = load("chat_hengda_length_truncated.json")
    body["choices"][0]["finish_reason"] = "content_filter"
    answer = parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("ok", "incomplete: content_filter")
    message(body).update(content=None, annotations=[])
    answer = parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: content_filter")


@PARSERS
def test_api_error_envelope_is_an_error_with_the_api_message(parser: Any) -> None:
    answer = parser((FIXTURES / "chat_api_error_invalid_key.json").read_bytes())
    assert answer.status == "error"
    assert answer.status_reason.startswith("invalid_api_key: Incorrect API key provided: sk-proj-****")
    assert answer.text == "" and answer.citations == [] and answer.model is None


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "The server had an error while processing your request.", "type": "server_error",
      "param": None, "code": None}, "server_error: The server had an error while processing your request."),
    ({"code": 429, "message": "Rate limit exceeded: free-models-per-day"},
     "429: Rate limit exceeded: free-models-per-day"),
    ("upstream connect error", "upstream connect error"),
    ({"metadata": {"raw": "x"}}, '{"metadata": {"raw": "x"}}'),
    # a blank code names nothing: the type does (PARSER_VERSION 2)
    ({"code": " ", "type": "server_error", "message": "Upstream timed out"}, "server_error: Upstream timed out"),
])
def test_error_reasons(error: Any, reason: str) -> None:
    answer = parse_compatible(raw_of({"error": error}))
    assert (answer.status, answer.status_reason) == ("error", reason)


@pytest.mark.parametrize("empty", [None, "", {}, False])
def test_empty_error_field_is_no_error(empty: Any) -> None:
    body = load("chat_hengda_3citations_dup_utm.json")
    body["error"] = empty
    body["choices"][0]["error"] = empty
    assert parse(raw_of(body)).status == "ok"


@PARSERS
def test_openrouter_error_on_the_choice_is_an_error(parser: Any) -> None:
    answer = parser((FIXTURES / "openrouter_choice_error.json").read_bytes())
    assert answer.status == "error"
    assert answer.status_reason == "502: Upstream error from DeepInfra: model overloaded"
    assert answer.model == "deepseek/deepseek-chat-v3.1" and answer.citations == []
    body = load("openrouter_choice_error.json")
    del body["choices"][0]["error"]
    assert parser(raw_of(body)).status_reason == "finish_reason error"


def test_no_choices_is_an_error() -> None:
    body = load("chat_hengda_empty_answer.json")
    body["choices"] = []
    answer = parse(raw_of(body))
    assert (answer.status, answer.status_reason) == ("error", "no choices in response")


def test_usage_missing_or_garbage() -> None:
    body = load("kimi_no_links.json")
    del body["usage"]
    assert (parse_compatible(raw_of(body)).input_tokens, parse_compatible(raw_of(body)).output_tokens) == (None, None)
    body["usage"] = {"prompt_tokens": True, "completion_tokens": "45"}
    assert (parse_compatible(raw_of(body)).input_tokens, parse_compatible(raw_of(body)).output_tokens) == (None, None)


def test_object_may_be_missing_on_compatible_servers() -> None:
    body = load("kimi_no_links.json")
    del body["object"]
    assert parse_compatible(raw_of(body)).status == "ok"


def test_content_parts_are_joined() -> None:
    body = load("kimi_no_links.json")
    message(body)["content"] = [{"type": "thinking", "thinking": "…"},
                                {"type": "text", "text": "Hengda Valve: "},
                                {"type": "text", "text": "https://www.hengdavalve.com/"}]
    answer = parse_compatible(raw_of(body))
    assert answer.text == "Hengda Valve: https://www.hengdavalve.com/"
    assert urls(answer) == ["https://www.hengdavalve.com/"]


# --- garbage -------------------------------------------------------------------


@PARSERS
@pytest.mark.parametrize(("raw", "error"), [
    (b"not json at all", "not JSON"),
    (b"", "empty body"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2, 3]", "got a JSON list"),
    (b'"chat.completion"', "got a JSON str"),
    (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
     b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", "not JSON"),
    (b'{"id": "resp_1", "object": "response", "output": []}', "'object' is 'response'"),
    (b'{"id": "c1", "object": "chat.completion.chunk", "choices": []}', "streaming chunk"),
    (b'{"id": "c1", "object": "chat.completion"}', "no 'choices' list"),
    (b'{"id": "c1", "object": "chat.completion", "choices": {"message": {}}}', "no 'choices' list"),
    (b'{"id": "c1", "object": "chat.completion", "choices": ["hi"]}', "choices[0] is a JSON str"),
    (b'{"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop"}]}',
     "choices[0] has no 'message' object"),
    (b'{"object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": 42}}]}',
     "message 'content' is a JSON int"),
    # Ollama's native /api/chat body: base_url without /v1
    (b'{"model": "llama3.1:8b", "created_at": "2026-01-01T00:00:00Z", '
     b'"message": {"role": "assistant", "content": "hi"}, "done": true}', "no 'choices' list"),
])
def test_garbage_raises_parse_error(parser: Any, raw: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error.replace("(", r"\(").replace("[", r"\[")):
        parser(raw)


# --- openai_compatible: URLs in the text ------------------------------------------


def test_deepseek_markdown_and_bare_links_in_chinese_text() -> None:
    answer = parse_compatible((FIXTURES / "deepseek_chat_zh_links.json").read_bytes())
    assert answer.status == "ok" and answer.model == "deepseek-chat"
    assert (answer.input_tokens, answer.output_tokens) == (27, 212)
    assert answer.features == [] and answer.search_queries == []
    expected = {
        HENGDA_TOV: [f"[恒达阀门产品页]({HENGDA_TOV})", f"{HENGDA_TOV}?utm_source=deepseek"],
        "https://www.apexflow.com/products/ball-valves": ["https://www.apexflow.com/products/ball-valves"],
        "https://northstarvalves.de/en/cryogenic": ["https://northstarvalves.de/en/cryogenic"],
        "https://www.api.org/products-and-services/standards": [
            "[API 6D](https://www.api.org/products-and-services/standards)"],
        "https://en.wikipedia.org/wiki/Ball_valve": ["https://en.wikipedia.org/wiki/Ball_valve"],
    }
    assert urls(answer) == list(expected)
    assert [c.position for c in answer.citations] == [1, 2, 3, 4, 5]
    for c in answer.citations:
        assert span_texts(answer, c) == expected[c.url]
        assert (c.origin, c.title, c.cited, c.visible) == ("text", None, True, True)
    # Full-width punctuation right after a URL ends it: ，。） are never part of one.
    text = answer.text
    for c in answer.citations:
        for start, end in c.spans:
            assert text[end] in "，。）.\n" or text[start] == "["
    assert "🏭" in text[: answer.citations[0].spans[0][0]]


def test_qwen_bare_urls_lose_trailing_punctuation_but_keep_balanced_parentheses() -> None:
    answer = parse_compatible((FIXTURES / "qwen_plus_bare_urls.json").read_bytes())
    assert answer.model == "qwen-plus" and answer.status == "ok"
    assert [(c.url, span_texts(answer, c)) for c in answer.citations] == [
        ("https://www.hengdavalve.com/certificates/api-607",
         ["https://www.hengdavalve.com/certificates/api-607",    # the sentence's "." dropped
          "https://www.hengdavalve.com/certificates/api-607/"]),  # the **bold** markers dropped; same page
        ("https://www.apexflow.com/about", ["https://www.apexflow.com/about"]),  # the enclosing ")" dropped
        ("https://northstarvalves.de/en/about", ["https://northstarvalves.de/en/about"]),  # "!" dropped
        ("https://en.wikipedia.org/wiki/Valve_(disambiguation)",
         ["https://en.wikipedia.org/wiki/Valve_(disambiguation)"]),  # its own parentheses kept
    ]


def test_think_block_is_not_part_of_the_answer() -> None:
    answer = parse_compatible((FIXTURES / "ollama_deepseek_r1_think.json").read_bytes())
    assert answer.status == "ok" and answer.model == "deepseek-r1:8b"
    assert answer.text.startswith("Hengda Valve (https://") and "<think>" not in answer.text
    # apexflow.com appears only in the reasoning: not cited.
    (only,) = answer.citations
    assert span_texts(answer, only) == ["https://www.hengdavalve.com/products/butterfly-valve"]
    # openai_chat keeps the content as sent.
    assert parse((FIXTURES / "ollama_deepseek_r1_think.json").read_bytes()).text.startswith("<think>")


def test_think_block_shifts_annotation_indices() -> None:
    body = load("ollama_deepseek_r1_think.json")
    content = message(body)["content"]
    start = content.index("Hengda Valve (")
    message(body)["annotations"] = [
        {"type": "url_citation", "url_citation": {"start_index": start, "end_index": start + len("Hengda Valve"),
                                                  "title": "Hengda", "url": "https://www.hengdavalve.com/"}},
        {"type": "url_citation", "url_citation": {"start_index": 20, "end_index": 40, "title": "inside think",
                                                  "url": "https://www.apexflow.com/"}},
    ]
    answer = parse_compatible(raw_of(body))
    assert [(c.url, span_texts(answer, c)) for c in answer.citations] == [
        ("https://www.hengdavalve.com/", ["Hengda Valve"]),
        ("https://www.hengdavalve.com/products/butterfly-valve",
         ["https://www.hengdavalve.com/products/butterfly-valve"]),
        ("https://www.apexflow.com/", []),  # its span lay in the dropped reasoning
    ]


def test_unfinished_think_block_is_no_answer_yet() -> None:
    body = load("ollama_deepseek_r1_think.json")
    message(body)["content"] = "<think>\nHengda Valve, https://www.hengdavalve.com/ and"
    body["choices"][0]["finish_reason"] = "length"
    answer = parse_compatible(raw_of(body))
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == (
        "error", "incomplete: length", "", [])


def test_answer_without_links() -> None:
    answer = parse_compatible((FIXTURES / "kimi_no_links.json").read_bytes())
    assert answer.status == "ok" and answer.has_answer and answer.citations == []
    assert answer.model == "kimi-k2-0905-preview" and "恒达阀门（Hengda Valve）" in answer.text


def test_openrouter_annotations_are_placed_where_the_text_links_them() -> None:
    answer = parse_compatible((FIXTURES / "openrouter_hengda_web_plugin.json").read_bytes())
    assert answer.features == ["web_search"]
    assert [(c.position, c.url, c.origin, span_texts(answer, c)) for c in answer.citations] == [
        (1, "https://www.apexflow.com/products/ball-valves", "annotation",
         ["[apexflow.com](https://www.apexflow.com/products/ball-valves)"]),
        (2, HENGDA_TOV, "annotation", [f"[hengdavalve.com]({HENGDA_TOV})"]),
        (3, "https://northstarvalves.de/en/products/cryogenic-ball-valves", "annotation",
         ["[northstarvalves.de](https://northstarvalves.de/en/products/cryogenic-ball-valves)"]),
        # cited by the gateway but never linked in the text: no span, after the others
        (4, "https://www.valvemagazine.com/articles/choosing-a-trunnion-ball-valve", "annotation", []),
    ]
    # The annotation's title fills in even though the text link came first.
    assert answer.citations[0].title == "Ball Valves – Apex Flow Controls"
    assert answer.citations[2].title is None  # OpenRouter sent ""


def test_links_inside_annotations_of_the_same_page_are_not_counted_twice() -> None:
    raw = (FIXTURES / "chat_hengda_3citations_dup_utm.json").read_bytes()
    chat, compatible = parse(raw), parse_compatible(raw)
    assert [(c.url, c.spans, c.origin) for c in compatible.citations] == \
           [(c.url, c.spans, c.origin) for c in chat.citations]


def test_a_link_inside_an_annotation_of_another_page_counts() -> None:
    body = load("kimi_no_links.json")
    text = "NorthStar Valves (https://northstarvalves.de/en/) competes with Hengda Valve."
    message(body).update(content=text, annotations=[{"type": "url_citation", "url_citation": {
        "start_index": 0, "end_index": len(text), "title": "Hengda", "url": "https://www.hengdavalve.com/"}}])
    answer = parse_compatible(raw_of(body))
    assert [(c.url, c.origin, span_texts(answer, c)) for c in answer.citations] == [
        ("https://www.hengdavalve.com/", "annotation", [text]),
        ("https://northstarvalves.de/en/", "text", ["https://northstarvalves.de/en/"]),
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("See https://www.hengdavalve.com.", [("https://www.hengdavalve.com", "https://www.hengdavalve.com")]),
    ("Sites: https://a.com/x, https://b.com/y; https://c.com/z: ok? https://d.com/!",
     [("https://a.com/x", "https://a.com/x"), ("https://b.com/y", "https://b.com/y"),
      ("https://c.com/z", "https://c.com/z"), ("https://d.com/", "https://d.com/")]),
    ("访问https://www.hengdavalve.com了解更多", [("https://www.hengdavalve.com", "https://www.hengdavalve.com")]),
    ("官网：https://www.hengdavalve.com/zh/about。", [("https://www.hengdavalve.com/zh/about",
                                                   "https://www.hengdavalve.com/zh/about")]),
    ("（见 https://apexflow.com/a）和（https://northstarvalves.de）",
     [("https://apexflow.com/a", "https://apexflow.com/a"),
      ("https://northstarvalves.de", "https://northstarvalves.de")]),
    ("[Hengda](https://www.hengdavalve.com/a_(b)) then", [("https://www.hengdavalve.com/a_(b)",
                                                           "[Hengda](https://www.hengdavalve.com/a_(b))")]),
    ("[[1]](https://www.hengdavalve.com/) and [](https://apexflow.com/)",
     [("https://www.hengdavalve.com/", "[[1]](https://www.hengdavalve.com/)"),
      ("https://apexflow.com/", "[](https://apexflow.com/)")]),
    ('[Hengda](<https://www.hengdavalve.com/> "Hengda Valve")',
     [("https://www.hengdavalve.com/", '[Hengda](<https://www.hengdavalve.com/> "Hengda Valve")')]),
    ("[https://www.hengdavalve.com](https://www.hengdavalve.com/en)",
     [("https://www.hengdavalve.com/en", "[https://www.hengdavalve.com](https://www.hengdavalve.com/en)")]),
    ("<https://www.hengdavalve.com/?a=1&b=2#x>", [("https://www.hengdavalve.com/?a=1&b=2#x",
                                                  "https://www.hengdavalve.com/?a=1&b=2#x")]),
    ("HTTPS://WWW.HENGDAVALVE.COM/EN", [("HTTPS://WWW.HENGDAVALVE.COM/EN", "HTTPS://WWW.HENGDAVALVE.COM/EN")]),
    ("http://localhost:11434/v1 is Ollama", [("http://localhost:11434/v1", "http://localhost:11434/v1")]),
    # Markdown emphasis around a URL is not part of it
    ("**https://www.hengdavalve.com/** or ~~https://apexflow.com~~", [
        ("https://www.hengdavalve.com/", "https://www.hengdavalve.com/"),
        ("https://apexflow.com", "https://apexflow.com")]),
    ("no links: ftp://x.com, www.hengdavalve.com, https://, https://.", []),
])
def test_text_links(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(url, text[start:end]) for url, start, end in text_links(text)] == expected


# --- the simulator's renderings round-trip through the parsers -------------------


def _dedup(sources: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for url in sources:
        seen.setdefault(citation_key(url), url)
    return list(seen)


@pytest.mark.parametrize(("wire", "parser"), [(sim_chat, parse), (sim_compatible, parse_compatible)],
                         ids=["openai_chat", "openai_compatible"])
@pytest.mark.parametrize("prompt", ["industrial ball valve manufacturer", "api 6d ball valve supplier china?",
                                    "球阀 制造商"])
@pytest.mark.parametrize("call", [0, 1, 2, 3])
def test_rendered_answer_parses_to_its_segments(wire: Any, parser: Any, prompt: str, call: int) -> None:
    answer = simulated_answer(demo_scenario(), prompt, wire.model_of("/v1/chat/completions", {}), call)
    body = wire.render(answer)
    assert body["object"] == "chat.completion"
    parsed = parser(json.dumps(body, ensure_ascii=False).encode())
    assert parsed.status == "ok" and parsed.has_answer

    sources = [url for segment in answer.segments for url, _ in segment.sources]
    assert sources, "the demo scenario always cites at least one neutral page"
    assert [citation_key(c.url) for c in parsed.citations] == [citation_key(u) for u in _dedup(sources)]
    assert all(c.cited for c in parsed.citations)
    # Each span lies in the stretch of text that renders the segment citing it (its sentence and links).
    starts: list[int] = []
    for segment in answer.segments:  # a sentence can repeat: search after the previous one
        starts.append(parsed.text.index(segment.sentence, starts[-1] + 1 if starts else 0))
    starts.append(len(parsed.text))
    for c in parsed.citations:
        assert c.spans
        for start, end in c.spans:
            i = max(k for k in range(len(answer.segments)) if starts[k] <= start)
            assert end <= starts[i + 1]
            assert any(citation_key(u) == citation_key(c.url) for u, _ in answer.segments[i].sources)
            assert urlsplit(c.url).hostname in parsed.text[start:end]
    titles = {citation_key(u): t for segment in answer.segments for u, t in segment.sources}
    if wire is sim_chat:
        assert all(c.origin == "annotation" and c.title == titles[citation_key(c.url)] for c in parsed.citations)
        assert parsed.model == "gpt-4o-search-preview-2025-03-11" and parsed.features == ["web_search"]
    else:
        assert all(c.origin == "text" for c in parsed.citations)
        assert "annotations" not in body["choices"][0]["message"]
        assert parsed.model == "deepseek-chat" and parsed.features == []


def test_simulator_formats_read_the_request() -> None:
    body = {"model": "qwen-plus", "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "球阀 制造商"}]}
    for wire in (sim_chat, sim_compatible):
        assert wire.handles("/v1/chat/completions") and not wire.handles("/v1/responses")
        assert wire.prompt_of("/v1/chat/completions", body) == "球阀 制造商"
        assert wire.model_of("/v1/chat/completions", body) == "qwen-plus"
        assert wire.BASE_SUFFIX == "/v1"
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "ball valve"}]}]}
    assert sim_chat.prompt_of("/v1/chat/completions", parts) == "ball valve"
    assert (FORMATS["openai_chat"], FORMATS["openai_compatible"]) == (sim_chat, sim_compatible)
    assert sim_chat.model_of("/x", {}) == "gpt-4o-search-preview"


# --- real public samples (read in place, never copied) ------------------------------


def _real(name: str) -> bytes:
    return real_file("openai_json", name).read_bytes()


def test_every_real_chat_sample_has_expected_facts() -> None:
    folder = realdata("openai_json")
    names = {p.name for p in folder.glob("*.json") if "chat_completions" in p.name}
    assert names == {"chat_completions_gpt4o_search_preview_user_location.json",
                     "openrouter_chat_completions_web_plugin_url_citations.json"}, \
        f"new real Chat Completions samples need expected facts: {sorted(names)}"


@PARSERS
def test_real_gpt4o_search_preview_with_empty_annotations(parser: Any) -> None:
    answer = parser(_real("chat_completions_gpt4o_search_preview_user_location.json"))
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.model == "gpt-4o-search-preview-2025-03-11"
    assert (answer.input_tokens, answer.output_tokens) == (12, 293)
    assert answer.text.startswith("Het is momenteel zonnig in Utrecht met een temperatuur van 22°C.")
    assert "* dinsdag, mei 20: minimum: 49°F (10°C), maximum: 72°F (22°C)" in answer.text
    assert answer.citations == [] and answer.search_queries == []
    # Only the search-model reading infers that a search ran; the compatible one needs evidence.
    assert answer.features == (["web_search"] if parser is parse else [])


OPENROUTER_REAL = [
    ("https://github.com/pydantic/pydantic-ai", "AI Agent Framework, the Pydantic way"),
    ("https://pydantic.dev/pydantic-ai", None),  # title ""
    ("https://github.com/pydantic/pydantic-ai/releases/tag/v2.0.0", "v2.0.0 (2026-06-23)"),
    ("https://pydantic.dev/docs/ai/overview/", "Pydantic AI | Pydantic Docs"),
    ("https://github.com/pydantic/pydantic-ai/tree/refs/tags/v1.44.0",
     "GitHub - pydantic/pydantic-ai at refs/tags/v1.44.0 · GitHub"),
]


@PARSERS
def test_real_openrouter_web_plugin_zero_indices(parser: Any) -> None:
    answer = parser(_real("openrouter_chat_completions_web_plugin_url_citations.json"))
    assert answer.status == "ok" and answer.has_answer
    assert answer.model == "deepseek/deepseek-chat"
    assert (answer.input_tokens, answer.output_tokens) == (2315, 40)
    assert answer.features == ["web_search"]
    assert answer.text == "https://github.com/pydantic/pydantic-ai"
    # 5 annotations, 5 distinct pages, all with start_index == end_index == 0: listed in order.
    assert [(c.url, c.title) for c in answer.citations] == OPENROUTER_REAL
    assert [c.position for c in answer.citations] == [1, 2, 3, 4, 5]
    assert all(c.origin == "annotation" and c.cited for c in answer.citations)
    first_spans = [c.spans for c in answer.citations]
    if parser is parse:
        assert first_spans == [[], [], [], [], []]
    else:
        # The answer is the first page's URL itself: the compatible reading spans it.
        assert span_texts(answer, answer.citations[0]) == ["https://github.com/pydantic/pydantic-ai"]
        assert first_spans[1:] == [[], [], [], []]
