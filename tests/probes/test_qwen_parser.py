"""Tests for the DashScope (Qwen) native generation parser.

Our own fixtures (tests/fixtures/qwen/) are written in the real wire format for a B2B valve exporter
(Hengda Valve / 恒达阀门). The real public samples in ../shared/realdata/qwen_json/ are read in place,
never copied, and those tests skip where the folder is absent.
"""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citewatch.errors import ParseError
from citewatch.raw import RawResult
from probes.base import Answer
from probes.parsers.qwen import PARSER_VERSION, parse, recognizes
from probes.registry import recognizing
from tests.probes.support import (
    cited,
    load_json,
    parse_body,
    parse_file,
    raw_of,
    real_file,
    retrieved,
    span_texts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qwen"
REAL = "qwen_json"
REAL_TEXT = "dashscope_single-generation-message-search-nosse.response.txt"
REAL_SSE = "dashscope_single-generation-message-search-sse.response.txt"
REAL_MULTIMODAL = "dashscope_multimodal-generation-with-websearch-nosse.response.txt"
TOOL_BRACKET = "[根据权威渠道的实时信息]"

HENGDA_6D = "https://www.hengdavalve.com/zh/products/api-6d-ball-valve"
BAIKE = "https://baike.baidu.com/item/温州恒达阀门有限公司"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026"
API_LIST = "https://www.api.org/products-and-services/api-monogram-and-apiqr/composite-list"
MIC_6D = "https://www.made-in-china.com/manufacturers/api-6d-ball-valve.html"
HENGDA_ABOUT_UTM = "https://www.hengdavalve.com/zh/about?utm_source=qwen"
QCC = "https://www.qcc.com/firm/hengda-valve.html"
MIC_SHOWROOM = "https://www.made-in-china.com/showroom/hengdavalve"

load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def with_content(name: str, content: Any) -> dict[str, Any]:
    body = load(name)
    body["output"]["choices"][0]["message"]["content"] = content
    return body


def content_of(name: str) -> str:
    return str(load(name)["output"]["choices"][0]["message"]["content"])


def summary(answer: Answer) -> list[tuple[int, bool, str, str | None, list[str]]]:
    """(position, cited, url, title, span texts) of every citation, in order."""
    return [(c.position, c.cited, c.url, c.title, span_texts(answer, c)) for c in answer.citations]


# --- module contract ---------------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 1


def test_fixtures_carry_the_keys_of_a_real_response() -> None:
    for name in sorted(p.name for p in FIXTURES.glob("hengda_*.json")):
        body = load(name)
        if body.get("output") is None:  # the content filter's 200 body
            assert {"request_id", "code", "message"} <= body.keys(), name
            continue
        choice = body["output"]["choices"][0]
        assert {"message", "finish_reason"} <= choice.keys() and choice["message"]["role"] == "assistant", name
        assert {"input_tokens", "output_tokens", "total_tokens"} <= body["usage"].keys(), name
        for result in body["output"].get("search_info", {}).get("search_results", []):
            assert set(result) == {"icon", "site_name", "index", "title", "url"}, name


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_recognizes_every_fixture_and_no_other_kind_does(name: str) -> None:
    body = load(name)
    assert recognizes(body)
    assert recognizing(body) == ["qwen"]  # no other kind claims a DashScope body


@pytest.mark.parametrize("body", [
    {"object": "chat.completion", "choices": [{"message": {"content": "hi"}}]},
    {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]},
    {"type": "message", "content": []},
    {"error": {"code": "invalid_api_key", "message": "bad key"}},
    {"output": [{"type": "message"}]},
    {},
])
def test_does_not_recognize_other_formats(body: dict[str, Any]) -> None:
    assert not recognizes(body)


# --- real public samples --------------------------------------------------------------


def test_real_text_sample_ref_markers_and_the_tool_bracket() -> None:
    raw = real_file(REAL, REAL_TEXT).read_bytes()
    answer = parse(raw)
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert (answer.model, answer.input_tokens, answer.output_tokens) == (None, 2707, 266)
    assert answer.features == ["web_search"] and answer.search_queries == []
    assert answer.text == json.loads(raw)["output"]["choices"][0]["message"]["content"]
    assert [(c.position, c.cited, c.url) for c in answer.citations] == [
        (1, True, "https://xueqiu.com/1692213155/355441155"),
        (2, True, "https://gushitong.baidu.com/stock/hk-09988?code=09988&financeType=stock&market=hk"
                  "&name=阿里巴巴-SW&subTab=2"),
        (3, True, "https://xueqiu.com/9216592857/355356488"),
        (4, False, "https://www.alibabagroup.com/redirect?path=/cn/ir/home"),
        (5, False, "https://www.alibabagroup.com/zh-HK/investor-relations"),
    ]
    first, second, third, _, _ = answer.citations
    assert span_texts(answer, first) == [
        "其中，摩根大通在2025年10月1日将阿里巴巴美股的目标价由170美元大幅上调至245美元，这是目前外资机构中的最高预测",
        "此外，大和证券、瑞银、花旗、高盛、摩根士丹利等也纷纷上调目标价并维持“买入”或类似评级",
    ]
    assert span_texts(answer, second) == [
        "与此同时，港股方面，截至2025年10月3日收盘，阿里巴巴-SW（09988）报185.100港元，上涨2.000港元，涨幅1.09%"]
    assert span_texts(answer, third) == span_texts(answer, first)[:1]  # [ref_1][ref_3]: one group, one span
    assert first.title.endswith("- 雪球") and third.title == "截至目前为止,外资机构对"
    # The tool bracket cites no page and lies in no span; "无" (no site name) is never a title.
    assert all(TOOL_BRACKET not in text for c in answer.citations for text in span_texts(answer, c))
    assert all(c.title and c.title != "无" for c in answer.citations)


def test_real_multimodal_sample_joins_the_parts_and_keeps_unmarked_sources_as_retrieved() -> None:
    raw = real_file(REAL, REAL_MULTIMODAL).read_bytes()
    answer = parse(raw)
    parts = json.loads(raw)["output"]["choices"][0]["message"]["content"]
    assert answer.text == "".join(part["text"] for part in parts)
    assert answer.text.startswith("结合当前杭州西湖风景名胜区管委会")
    assert "用户希望了解" not in answer.text  # the reasoning_content is not the answer
    assert (answer.status, answer.input_tokens, answer.output_tokens) == ("ok", 619, 1379)
    assert answer.features == ["web_search"]
    # Asked without enable_citation, this answer has no marker: its three sources were only retrieved.
    assert [(c.position, c.cited, c.spans, c.title) for c in answer.citations] == [
        (1, False, [], "杭州西湖风景名胜区管委会"),
        (2, False, [], "杭州西湖博物馆总馆(西湖学研究院、杭州南宋官窑博物馆、唐云艺术馆)2026年单位预算"),
        (3, False, [], "杭州西湖风景名胜区岳庙管理处(连横纪念馆)2026年度单位预算"),
    ]
    assert answer.citations[0].url == "https://westlake.hangzhou.gov.cn/"


def test_real_event_stream_is_not_a_whole_response() -> None:
    raw = real_file(REAL, REAL_SSE).read_bytes()
    with pytest.raises(ParseError, match="server-sent event stream"):
        parse(raw)


# --- our fixtures: a normal answer ----------------------------------------------------------


def test_ref_markers_give_positions_in_list_order_spans_and_titles() -> None:
    answer = parse_fixture("hengda_ref_markers.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert (answer.input_tokens, answer.output_tokens, answer.features) == (1873, 212, ["web_search"])
    assert answer.text == content_of("hengda_ref_markers.json")  # as sent, markers included
    claim = "温州恒达阀门有限公司是国内知名的API 6D球阀制造商，产品通过了API 6D和CE认证"
    # [ref_2][ref_4] come first in the text, yet positions follow the list's index (as for Perplexity).
    assert summary(answer) == [
        (1, True, HENGDA_6D, "API 6D 固定球球阀 - 恒达阀门",
         ["该公司的固定球球阀口径覆盖2至48英寸，压力等级最高为Class 2500"]),
        (2, True, BAIKE, "温州恒达阀门有限公司_百度百科", [claim]),
        (3, True, VALVEMAG, "Sourcing Ball Valves from China in 2026 | Valve Magazine",
         ["与之相比，Apex Flow Controls更侧重于北美市场", "NorthStar Valves则以低温球阀见长"]),  # "；" left out
        (4, True, API_LIST, "API Composite List", [claim]),
        (5, False, MIC_6D, "API 6D球阀_中国制造网", []),
    ]
    assert all(c.origin == "annotation" and c.visible for c in cited(answer))
    assert [c.origin for c in retrieved(answer)] == ["search_result"]


def test_the_default_citation_format_reads_the_same() -> None:
    body = load("hengda_ref_markers.json")
    message = body["output"]["choices"][0]["message"]
    message["content"] = message["content"].replace("[ref_", "[")
    default, ref = parse_obj(body), parse_fixture("hengda_ref_markers.json")
    assert summary(default) == summary(ref)


def test_spaced_markers_form_one_group() -> None:
    answer = parse_obj(with_content("hengda_ref_markers.json", "恒达阀门通过了API 6D认证 [ref_2] [ref_4]。"))
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (BAIKE, ["恒达阀门通过了API 6D认证"]), (API_LIST, ["恒达阀门通过了API 6D认证"])]


def test_english_answer_spans_keep_abbreviations_whole() -> None:
    text = "Hengda Valve Co. Ltd. makes API 6D ball valves [ref_1]. Apex Inc. sells in the U.S. market [ref_3]."
    answer = parse_obj(with_content("hengda_ref_markers.json", text))
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_6D, ["Hengda Valve Co. Ltd. makes API 6D ball valves"]),
        (VALVEMAG, ["Apex Inc. sells in the U.S. market"]),
    ]


# --- no sources -----------------------------------------------------------------------------------


def test_no_search_info_is_an_answer_without_citations() -> None:
    answer = parse_fixture("hengda_no_search.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert answer.citations == [] and answer.features == []
    assert (answer.input_tokens, answer.output_tokens) == (33, 31)


def test_markers_without_a_source_list_cite_nothing() -> None:
    body = load("hengda_no_search.json")
    body["output"]["choices"][0]["message"]["content"] = "球阀常用于天然气管线[ref_1][1]。"
    answer = parse_obj(body)
    assert answer.status == "ok" and answer.citations == []


def test_a_billed_search_or_a_tool_answer_alone_is_a_web_search() -> None:
    body = load("hengda_no_search.json")
    body["usage"]["plugins"] = {"search": {"count": 1, "strategy": "turbo"}}
    assert parse_obj(body).features == ["web_search"]
    body = load("hengda_no_search.json")
    body["output"]["search_info"] = {"extra_tool_info": [{"tool": "weather", "result": "晴"}], "search_results": []}
    assert parse_obj(body).features == ["web_search"]
    body["output"]["search_info"]["extra_tool_info"] = []
    assert parse_obj(body).features == []


# --- refusals and errors ------------------------------------------------------------------------------


def test_content_filter_400_body_is_a_refusal() -> None:
    answer = parse_fixture("error_data_inspection_400.json")
    assert (answer.status, answer.text, answer.citations, answer.has_answer) == ("no_answer", "", [], False)
    assert answer.status_reason == "refusal: DataInspectionFailed: Input data may contain inappropriate content."


def test_content_filter_200_body_without_output_is_a_refusal() -> None:
    answer = parse_fixture("hengda_filter_200.json")
    assert (answer.status, answer.text, answer.citations) == ("no_answer", "", [])
    assert answer.status_reason == "refusal: DataInspectionFailed: Output data may contain inappropriate content."
    assert (answer.input_tokens, answer.output_tokens) == (None, None)


def test_content_filter_code_beside_an_output_keeps_the_sources_as_retrieved() -> None:
    body = load("hengda_ref_markers.json")
    body.update(code="DataInspectionFailed", message="Output data may contain inappropriate content.")
    answer = parse_obj(body)
    assert answer.status == "no_answer" and answer.status_reason.startswith("refusal: DataInspectionFailed")
    assert cited(answer) == [] and [c.url for c in retrieved(answer)] == [HENGDA_6D, BAIKE, VALVEMAG, API_LIST,
                                                                           MIC_6D]


def test_sensitive_finish_reason_is_a_refusal_that_cites_no_one() -> None:
    answer = parse_fixture("hengda_finish_sensitive.json")
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: finish_reason sensitive")
    assert answer.text == "关于恒达阀门创始人的传闻" and not answer.has_answer
    assert [(c.position, c.cited, c.url) for c in answer.citations] == [
        (1, False, "https://www.hengdavalve.com/zh/about"),
        (2, False, "https://www.valvemagazine.com/interviews/hengda-founder"),
    ]
    assert answer.features == ["web_search"]


def test_content_filter_finish_reason_with_markers_still_cites_no_one() -> None:
    body = load("hengda_ref_markers.json")
    body["output"]["choices"][0]["finish_reason"] = "content_filter"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: finish_reason content_filter")
    assert cited(answer) == [] and len(retrieved(answer)) == 5


def test_apology_without_markers_is_a_refusal() -> None:
    answer = parse_obj(with_content("hengda_ref_markers.json", "抱歉，我无法提供该公司的内部财务信息。"))
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: 抱歉，我无法提供该公司的内部财务信息。")
    assert cited(answer) == []


@pytest.mark.parametrize(("name", "reason"), [
    ("error_invalid_api_key.json",
     "InvalidApiKey: Invalid API-key provided. (request_id 1b6e3f9a-7c0d-9e24-a8b5-2d4f6c1e9a03)"),
    ("error_throttling.json", "Throttling.RateQuota: Requests rate limit exceeded, please try again later. "
                              "(request_id 4c8a2e6f-0b3d-9f71-c2a9-7e5b1d3f8a26)"),
    ("error_internal.json", "InternalError: An internal error has occured, please try again later or contact "
                            "service support. (request_id 8e2d5b1a-9f4c-9d07-b3e6-4a1c7f0e2b85)"),
])
def test_error_envelopes_are_failures(name: str, reason: str) -> None:
    answer = parse_fixture(name)
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == ("error", reason, "", [])


def test_an_error_code_beside_an_output_is_a_failure() -> None:
    body = load("hengda_ref_markers.json")
    body.update(code="InternalError", message="")
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "InternalError (request_id 7f3c2a9e-41d8-9b6a-8c2e-"
                                                               "5d1f0a4b7e13)")
    assert answer.citations == [] and answer.input_tokens == 1873


def test_blank_code_is_no_error() -> None:
    body = load("hengda_ref_markers.json")
    body.update(code="", message="")
    assert parse_obj(body).status == "ok"


def test_length_cut_answer_is_incomplete_but_counts() -> None:
    body = load("hengda_ref_markers.json")
    body["output"]["choices"][0]["finish_reason"] = "length"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, len(cited(answer))) == ("ok", "incomplete: length", 4)
    body["output"]["choices"][0]["message"]["content"] = ""
    assert (parse_obj(body).status, parse_obj(body).status_reason) == ("error", "incomplete: length")


def test_empty_text_and_no_choices_are_no_answer() -> None:
    answer = parse_obj(with_content("hengda_ref_markers.json", "  "))
    assert (answer.status, answer.status_reason, len(retrieved(answer))) == ("no_answer", "empty answer text", 5)
    body = load("hengda_ref_markers.json")
    body["output"]["choices"] = []
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, len(retrieved(answer))) == ("no_answer", "no choices in response", 5)


# --- markers that are not citations -----------------------------------------------------------------


def test_markers_past_the_list_non_numeric_markers_duplicates_and_the_tool_bracket() -> None:
    answer = parse_fixture("hengda_markers_edge.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert answer.text == content_of("hengda_markers_edge.json")  # brackets stay in the text as sent
    assert summary(answer) == [
        # [ref_1] and [ref_4] list the same page (one with a tracking parameter): one source, at index 1,
        # with its first URL and title, and the spans of both markers.
        (1, True, HENGDA_ABOUT_UTM, "关于我们 - 恒达阀门",
         ["恒达阀门的API 6D球阀出口至40多个国家", "但这一说法缺乏佐证"]),
        # The tool bracket ends the span: what it vouches for is not given to [ref_2]. No title: the site name.
        (2, True, QCC, "企查查", ["较上年增长12%"]),
        # No title and the placeholder site name "无": no title at all.
        (3, False, MIC_SHOWROOM, None, []),
    ]
    # [ref_99] (no such source), [ref_x] and the bare [2025] cite nothing; the entry without a URL is dropped.
    assert (answer.input_tokens, answer.output_tokens, answer.features) == (1512, 118, ["web_search"])


def test_tool_bracket_next_to_a_marker_keeps_the_markers_span() -> None:
    text = "恒达阀门2025年营收约为3.2亿元[根据权威渠道的实时信息][ref_2]。"
    answer = parse_obj(with_content("hengda_markers_edge.json", text))
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [(QCC, ["恒达阀门2025年营收约为3.2亿元"])]


def test_a_tool_bracket_alone_cites_nothing() -> None:
    answer = parse_obj(with_content("hengda_markers_edge.json", "阿里巴巴美股报167.05美元[根据权威渠道的实时信息]。"))
    assert answer.status == "ok" and cited(answer) == [] and len(retrieved(answer)) == 3


@pytest.mark.parametrize("marker", ["[ref_0]", "[ref_99]", "[ref_x]", "[ref_]", "[ref_1.5]", "[ref_１]", "[0]",
                                    "[99]", "[ref_99999999999999999999]"])
def test_markers_naming_no_source_cite_nothing(marker: str) -> None:
    answer = parse_obj(with_content("hengda_ref_markers.json", f"恒达阀门生产球阀{marker}。"))
    assert answer.status == "ok" and cited(answer) == [] and len(retrieved(answer)) == 5


def test_search_result_index_rules() -> None:
    """A result without a usable index takes its place in the list; an index listed twice names its first page
    (the second was still retrieved)."""
    body = load("hengda_ref_markers.json")
    results = body["output"]["search_info"]["search_results"]
    results[2]["index"] = "3"  # a string: not an index, so its place (3)
    results[4]["index"] = 1  # index 1 again: the first page listed under it keeps it
    body["output"]["choices"][0]["message"]["content"] = "恒达阀门[ref_1]。Valve Magazine[ref_3]。"
    answer = parse_obj(body)
    assert [(c.position, c.cited, c.url) for c in answer.citations] == [
        (1, True, HENGDA_6D), (2, True, VALVEMAG), (3, False, MIC_6D), (4, False, BAIKE), (5, False, API_LIST)]


# --- multimodal content ------------------------------------------------------------------------------


def test_multimodal_parts_are_joined_and_cited() -> None:
    answer = parse_fixture("hengda_multimodal_parts.json")
    parts = load("hengda_multimodal_parts.json")["output"]["choices"][0]["message"]["content"]
    assert answer.text == parts[0]["text"] + parts[1]["text"]
    assert (answer.status, answer.input_tokens, answer.output_tokens) == ("ok", 702, 486)
    assert summary(answer) == [
        (1, True, HENGDA_6D, "API 6D 固定球球阀 - 恒达阀门",
         ["恒达阀门专注于API 6D固定球球阀，可提供Class 2500的高压产品"]),
        # a list bullet and a full-width colon's lead-in stay out; "！" ends the sentence
        (2, True, API_LIST, "API Composite List", ["出口认证：API 6D与CE齐全"]),
        (3, False, "https://www.valve.com.cn/guide/ball-valve-selection", "球阀选型指南 - 阀门网", []),
    ]


def test_non_text_parts_are_skipped() -> None:
    content = [{"image": "http://img.example.cn/valve.png"}, "junk", {"text": 5}, {"text": "恒达阀门[ref_1]。"}]
    answer = parse_obj(with_content("hengda_multimodal_parts.json", content))
    assert answer.text == "恒达阀门[ref_1]。" and [c.url for c in cited(answer)] == [HENGDA_6D]


def test_text_result_format_is_read_too() -> None:
    body = load("hengda_ref_markers.json")
    choice = body["output"].pop("choices")[0]
    body["output"].update(text=choice["message"]["content"], finish_reason="stop")
    assert summary(parse_obj(body)) == summary(parse_fixture("hengda_ref_markers.json"))


def test_raw_result_and_bytes_read_the_same() -> None:
    raw = (FIXTURES / "hengda_ref_markers.json").read_bytes()
    assert parse(RawResult.single(raw)) == parse(raw) == parse(bytearray(raw))


# --- garbage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty body"),
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    (b"[]", "got a JSON list"),
    (b"{}", "no 'output' object"),
    (b'{"output": []}', "no 'output' object"),
    (b'{"output": {"choices": {}}}', "'choices' is a JSON dict"),
    (b'{"output": {"choices": ["x"]}}', "choices[0] is a JSON str"),
    (b'{"output": {"choices": [{"finish_reason": "stop"}]}}', "no 'message' object"),
    (b'{"output": {"choices": [{"message": {"content": 5}}]}}', "'content' is a JSON int"),
    (b'\xef\xbb\xbfid:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output": {}}\n\n', "server-sent event stream"),
    (b'data:{"output": {}}\n\n', "server-sent event stream"),
])
def test_garbage_is_a_parse_error_with_a_reason(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(raw)


def test_a_non_bytes_raw_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected the raw response body as bytes"):
        parse("not bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("search_info", [
    None, [], "x", {"search_results": {}}, {"search_results": ["junk", 5, None]},
    {"search_results": [{"url": 5, "index": 1}, {"url": "  ", "index": 2}, {"index": True, "url": "https://a.example/",
                                                                            "title": ["t"], "site_name": 7}]},
    {"search_results": [{"url": "https://a.example/", "index": -3}], "extra_tool_info": "stock"},
])
def test_odd_search_info_never_crashes(search_info: Any) -> None:
    body = load("hengda_ref_markers.json")
    body["output"]["search_info"] = search_info
    answer = parse_obj(body)
    assert answer.status == "ok" and all(c.url.startswith("https://a.example/") for c in answer.citations)


@pytest.mark.parametrize("usage", [None, "x", [], {"input_tokens": True, "output_tokens": -1},
                                   {"input_tokens": "12", "plugins": []}, {"plugins": {"search": {"count": True}}},
                                   {"plugins": {"search": []}}, {"input_tokens": 2**40}])
def test_odd_usage_never_crashes(usage: Any) -> None:
    body = load("hengda_no_search.json")
    body["usage"] = usage
    answer = parse_obj(body)
    assert (answer.status, answer.input_tokens, answer.output_tokens, answer.features) == ("ok", None, None, [])


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=3), max_leaves=8)
_PATHS = [("output",), ("output", "choices"), ("output", "choices", 0), ("output", "choices", 0, "message"),
          ("output", "choices", 0, "message", "content"), ("output", "choices", 0, "finish_reason"),
          ("output", "search_info"), ("output", "search_info", "search_results"),
          ("output", "search_info", "search_results", 0), ("output", "search_info", "search_results", 0, "url"),
          ("output", "search_info", "search_results", 0, "index"), ("usage",), ("usage", "plugins"), ("code",),
          ("message",), ("request_id",)]


def _replace(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    body[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replacements=st.dictionaries(st.sampled_from(range(len(_PATHS))), _JSON, max_size=3))
def test_any_value_anywhere_is_an_answer_or_a_parse_error(replacements: dict[int, Any]) -> None:
    body = load("hengda_markers_edge.json")
    for index in sorted(replacements):
        try:
            _replace(body, _PATHS[index], replacements[index])
        except (KeyError, IndexError, TypeError):
            pass  # an earlier replacement removed the path
    try:
        answer = parse(raw_of(body))
    except ParseError:
        return
    assert answer.status in ("ok", "no_answer", "error")
    for citation in answer.citations:
        assert all(0 <= start < end <= len(answer.text) for start, end in citation.spans)
