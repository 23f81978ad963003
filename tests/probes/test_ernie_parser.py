"""Tests for the Baidu Qianfan AI Search (ERNIE) parser.

Our own fixtures (tests/fixtures/ernie/) follow the wire format of
``POST /v2/ai_search/chat/completions`` as Baidu documents it and as its SDK
(baidubce/app-builder, ``AISearchResponse``) reads it: ``request_id``,
``choices``, ``usage``, ``references`` (id, url, title, date, content, icon,
web_anchor, website, type, image, video, is_aladdin), ``is_safe``,
``followup_queries``; failures as ``{"code", "message", "requestId"}`` or
``{"error": {"code", "message", "type"}, "id"}``. No real sample was at hand:
the code of error_unsafe_request.json is assumed (its type, ``unsafe_request``,
is documented).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citewatch.errors import ParseError
from citewatch.raw import RawResult
from probes.base import Answer
from probes.parsers.ernie import PARSER_VERSION, parse, recognizes
from probes.registry import KINDS, available_names
from tests.probes.support import cited, load_json, parse_body, parse_file, raw_of, retrieved, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ernie"

HENGDA_ABOUT = "https://www.hengdavalve.com/zh/about"
API_LIST = "https://www.api.org/products-and-services/api-monogram-and-apiqr/composite-list"
MIC_HENGDA = "https://hengdavalve.en.made-in-china.com/"
APEX_BALL = "https://www.apexflow.com/products/ball-valves"
NORTHSTAR_CRYO = "https://northstarvalves.de/en/cryogenic"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026"
HENGDA_6D = "https://www.hengdavalve.com/products/api-6d-ball-valve"
MIC_6D = "https://www.made-in-china.com/manufacturers/api-6d-ball-valve.html"
VALVEMAG_TITLE = "Sourcing Ball Valves from China in 2026"

load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def with_content(name: str, content: Any) -> dict[str, Any]:
    body = load(name)
    body["choices"][0]["message"]["content"] = content
    return body


def urls_and_flags(answer: Answer) -> list[tuple[int, str, bool]]:
    return [(c.position, c.url, c.cited) for c in answer.citations]


# --- module contract ---------------------------------------------------------------------------


def test_parser_version_is_one() -> None:
    assert PARSER_VERSION == 1 and not isinstance(PARSER_VERSION, bool)


def test_answer_fixtures_carry_the_documented_keys() -> None:
    reference_keys = {"id", "url", "title", "date", "content", "icon", "web_anchor", "website", "type", "image",
                      "video", "is_aladdin"}
    for name in sorted(p.name for p in FIXTURES.glob("hengda_*.json")):
        body = load(name)
        assert {"request_id", "choices", "usage", "is_safe"} <= body.keys(), name
        assert {"prompt_tokens", "completion_tokens", "total_tokens"} == body["usage"].keys()
        assert {"index", "message", "finish_reason"} <= body["choices"][0].keys()
        for reference in body.get("references", []):
            assert reference.keys() == reference_keys, name


def test_recognizes_answers_not_error_bodies() -> None:
    for name in ("hengda_corner_markers.json", "hengda_plain_markers_reasoning.json", "hengda_no_search.json",
                 "hengda_is_safe_false.json", "hengda_truncated_length.json"):
        assert recognizes(load(name)), name
    for name in ("error_rate_limit_http200.json", "error_invalid_iam_token.json", "error_unsafe_request.json"):
        assert not recognizes(load(name)), name
    # Baidu's plain web search answers with references and no answer: another endpoint.
    assert not recognizes({"request_id": "r", "references": [{"id": 1, "url": "https://a.example/"}]})


def test_claims_no_other_kinds_fixture() -> None:
    others = [p for p in FIXTURES.parent.rglob("*.json") if p.parent != FIXTURES]
    assert others
    for path in others:
        body = json.loads(path.read_bytes())
        assert not (isinstance(body, dict) and recognizes(body)), path


def test_no_other_kind_claims_an_ernie_body() -> None:
    # shaped like a chat completion: the chat kinds step aside for its references list
    for name in ("hengda_corner_markers.json", "hengda_no_search.json"):
        assert {kind for kind in available_names() if KINDS[kind].recognizes(load(name))} == {"ernie"}, name


# --- corner markers, positions and spans -----------------------------------------------------------


def test_corner_markers_give_positions_spans_and_titles() -> None:
    answer = parse_fixture("hengda_corner_markers.json")
    assert answer.status == "ok" and answer.status_reason is None and answer.has_answer
    assert answer.text == load("hengda_corner_markers.json")["choices"][0]["message"]["content"]  # as sent
    assert (answer.input_tokens, answer.output_tokens) == (2817, 196)
    assert answer.features == ["web_search"]
    assert answer.search_queries == [] and answer.model is None  # AI Search returns neither

    # Positions follow the references list (ids 1..5), not the first marker ([2] is cited last).
    assert urls_and_flags(answer) == [(1, HENGDA_ABOUT, True), (2, API_LIST, True), (3, MIC_HENGDA, True),
                                      (4, APEX_BALL, True), (5, NORTHSTAR_CRYO, True), (6, VALVEMAG, False)]
    hengda, api, mic, apex, northstar, valvemag = answer.citations
    # ids 1 and 7 are the same page: one citation, with the spans of both ids' markers, and id 1's title.
    assert span_texts(answer, hengda) == ["恒达阀门（Hengda Valve）是浙江温州的球阀制造商，主营API 6D管线球阀",
                                          "该公司产品通过API 6D和CE认证", "出口中东和东南亚市场"]
    assert hengda.title == "关于我们 - 恒达阀门"
    assert span_texts(answer, mic) == ["出口中东和东南亚市场"]  # ^[3][7]^: one span, two sources
    # A list bullet is not part of the span; "：" and "，" end no sentence.
    assert span_texts(answer, apex) == ["Apex Flow Controls：美国品牌，擅长高压耐磨球阀"]
    assert span_texts(answer, northstar) == ["NorthStar Valves：德国低温球阀供应商"]  # ^[6]^ names an image
    assert span_texts(answer, api) == ["选择供应商时，建议核实API会标证书"]
    assert (valvemag.spans, valvemag.title, valvemag.origin) == ([], VALVEMAG_TITLE, "search_result")
    for citation in cited(answer):
        assert (citation.visible, citation.origin) == (True, "annotation")


def test_image_and_past_the_list_markers_stay_in_the_text() -> None:
    answer = parse_fixture("hengda_corner_markers.json")
    assert "供应商^[5]^^[6]^。" in answer.text and answer.text.endswith("并参考行业报告^[9]^。")
    # The image reference (id 6) is neither a citation nor a retrieved page.
    assert "https://northstarvalves.de/en/gallery" not in [c.url for c in answer.citations]


@pytest.mark.parametrize("marker", ["^[1][2]^", "^[1]^^[2]^", "^[1]^ ^[2]^", "^[1,2]^", "^[1，2]^", "[1][2]",
                                    "[1] [2]", "^[1][2]"])
def test_one_marker_group_naming_two_references_gives_two_citations_one_span(marker: str) -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", f"恒达阀门持有API 6D会标{marker}。"))
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_ABOUT, ["恒达阀门持有API 6D会标"]), (API_LIST, ["恒达阀门持有API 6D会标"])]


def test_full_width_sentence_ends_bound_the_spans() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json",
                                    "恒达阀门成立于1998年！它是否出口？是的^[3]^。它的证书在API名录中^[2]^；"
                                    "价格适中^[4]^……"))
    api, mic, apex = cited(answer)
    assert span_texts(answer, mic) == ["是的"]
    assert span_texts(answer, api) == ["它的证书在API名录中"]
    assert span_texts(answer, apex) == ["价格适中"]  # after "；" the span starts at the next word


def test_marker_before_the_full_stop_and_after_it() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", "恒达阀门位于温州。^[1]^恒达阀门出口中东^[3]^。"))
    hengda, mic = cited(answer)
    assert span_texts(answer, hengda) == ["恒达阀门位于温州。"]
    assert span_texts(answer, mic) == ["恒达阀门出口中东"]


@pytest.mark.parametrize("marker", ["^[a]^", "^[]^", "^[1a]^", "^[0]^", "^[99]^", "^[6]^", "【1】"])
def test_markers_naming_no_page_are_plain_text(marker: str) -> None:
    content = f"恒达阀门生产球阀{marker}。"
    answer = parse_obj(with_content("hengda_corner_markers.json", content))
    assert answer.text == content and cited(answer) == []
    assert [c.url for c in retrieved(answer)] == [HENGDA_ABOUT, API_LIST, MIC_HENGDA, APEX_BALL, NORTHSTAR_CRYO,
                                                  VALVEMAG]


def test_an_answer_without_markers_cites_nothing_and_retrieves_every_page() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", "恒达阀门是温州的球阀制造商。"))
    assert answer.status == "ok" and cited(answer) == []
    assert [(c.position, c.url) for c in retrieved(answer)] == [
        (1, HENGDA_ABOUT), (2, API_LIST), (3, MIC_HENGDA), (4, APEX_BALL), (5, NORTHSTAR_CRYO), (6, VALVEMAG)]


def test_plain_markers_and_reasoning_content() -> None:
    answer = parse_fixture("hengda_plain_markers_reasoning.json")
    assert answer.status == "ok" and "用户想了解" not in answer.text  # reasoning_content is not the answer
    assert urls_and_flags(answer) == [(1, HENGDA_6D, True), (2, API_LIST, True), (3, APEX_BALL, True),
                                      (4, MIC_6D, False)]  # the video (id 4) is not a page
    hengda, api, apex, _ = answer.citations
    assert span_texts(answer, hengda) == ["Hengda Valve (恒达阀门) makes API 6D trunnion ball valves in Wenzhou",
                                          "Its valves are certified to API 6D and API 607 fire-safe"]
    assert span_texts(answer, api) == ["Its valves are certified to API 6D and API 607 fire-safe"]
    assert span_texts(answer, apex) == ["Apex Flow Controls is a US competitor"]
    assert answer.search_queries == []  # followup_queries are suggestions, not searches


def test_leading_think_block_is_dropped() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", "<think>先查证书。</think>\n恒达阀门持有会标^[2]^。"))
    assert answer.text == "恒达阀门持有会标^[2]^。"
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [(API_LIST, ["恒达阀门持有会标"])]
    unclosed = parse_obj(with_content("hengda_corner_markers.json", "<think>先查证书，再"))
    assert (unclosed.status, unclosed.status_reason) == ("no_answer",
                                                         "no answer after reasoning (unclosed <think> block)")


def test_content_parts_are_joined() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json",
                                    [{"type": "text", "text": "恒达阀门"}, {"type": "image_url"},
                                     {"type": "text", "text": "生产球阀^[1]^。"}]))
    assert answer.text == "恒达阀门生产球阀^[1]^。"
    assert [c.url for c in cited(answer)] == [HENGDA_ABOUT]


def test_raw_result_input() -> None:
    raw = (FIXTURES / "hengda_corner_markers.json").read_bytes()
    assert parse(RawResult.single(raw)).citations == parse(raw).citations


# --- references: odd entries ---------------------------------------------------------------------


def test_string_ids_and_missing_ids() -> None:
    body = with_content("hengda_corner_markers.json", "恒达阀门^[1]^，Apex^[4]^，NorthStar^[5]^。")
    body["references"][3]["id"] = "4"  # digits as a string
    del body["references"][4]["id"]  # no id: its place in the list (5) names it
    answer = parse_obj(body)
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_ABOUT, ["恒达阀门"]), (APEX_BALL, ["Apex"]), (NORTHSTAR_CRYO, ["NorthStar"])]


@pytest.mark.parametrize("odd_id", ["²", "9" * 5000, "-4", "4.0", 4.0, True, None, [4], {"n": 4}])
def test_odd_ids_fall_back_to_the_list_place(odd_id: Any) -> None:
    body = with_content("hengda_corner_markers.json", "Apex^[4]^。")
    body["references"][3]["id"] = odd_id  # its place in the list is 4 as well
    assert [c.url for c in cited(parse_obj(body))] == [APEX_BALL]


def test_garbage_entries_are_skipped_never_crash() -> None:
    body = with_content("hengda_corner_markers.json", "恒达阀门^[1]^，API^[2]^，中国制造网^[3]^，Apex^[4]^。")
    body["references"][1:4] = [
        "not an object", 7, None,
        {"id": True, "url": ["https://x.example/"], "type": "web"},  # url not a string
    ]
    body["references"].append({"id": 2, "url": "https://tieba.baidu.com/p/1", "type": 5})  # type not a string
    body["references"].append({"id": 3, "url": "https://zhidao.baidu.com/q/2", "type": None, "title": ""})
    answer = parse_obj(body)
    # [2] names a page of unknown type (not a page), [4] names nothing; an entry with no type is a page.
    assert [(c.position, c.url, c.cited, c.title) for c in answer.citations] == [
        (1, HENGDA_ABOUT, True, "关于我们 - 恒达阀门"), (2, "https://zhidao.baidu.com/q/2", True, None),
        (3, NORTHSTAR_CRYO, False, "Cryogenic Ball Valves – NorthStar Valves"), (4, VALVEMAG, False, VALVEMAG_TITLE)]
    # "^[2]^" is plain text, so the span reaches back over it to the previous group.
    assert span_texts(answer, answer.citations[1]) == ["API^[2]^，中国制造网"]


def test_web_anchor_stands_in_for_a_missing_title() -> None:
    body = with_content("hengda_corner_markers.json", "恒达阀门^[1]^。")
    body["references"][0]["title"] = None
    body["references"][0]["web_anchor"] = "恒达阀门官网"
    answer = parse_obj(body)
    assert cited(answer)[0].title == "恒达阀门官网"  # id 1's web_anchor, before id 7's title


def test_missing_or_null_references() -> None:
    answer = parse_fixture("hengda_no_search.json")
    assert answer.status == "ok" and answer.citations == [] and answer.features == []
    assert answer.text.startswith("球阀是利用带孔球体")
    body = with_content("hengda_corner_markers.json", "恒达阀门^[1]^。")
    body["references"] = None
    nothing = parse_obj(body)
    assert (nothing.status, nothing.citations, nothing.features, nothing.text) == ("ok", [], [], "恒达阀门^[1]^。")
    body["references"] = []
    assert parse_obj(body).citations == [] and parse_obj(body).features == []


# --- refusals, truncation, empty answers -------------------------------------------------------------


def test_is_safe_false_is_a_refusal_and_cites_nobody() -> None:
    answer = parse_fixture("hengda_is_safe_false.json")
    assert (answer.status, answer.status_reason) == (
        "no_answer", "refusal: content safety (is_safe false): 抱歉，我无法回答这个问题，请换个话题试试。")
    assert not answer.has_answer
    assert urls_and_flags(answer) == [(1, HENGDA_ABOUT, False), (2, "https://tieba.baidu.com/p/9081726354", False)]


def test_is_safe_false_beats_markers() -> None:
    body = with_content("hengda_is_safe_false.json", "恒达阀门的贴吧评价^[2]^。")
    answer = parse_obj(body)
    assert answer.status == "no_answer" and cited(answer) == []
    assert answer.status_reason == "refusal: content safety (is_safe false): 恒达阀门的贴吧评价^[2]^。"


def test_is_safe_false_without_choices() -> None:
    body = load("hengda_is_safe_false.json")
    del body["choices"]
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, answer.text) == (
        "no_answer", "refusal: content safety (is_safe false)", "")
    assert [c.cited for c in answer.citations] == [False, False]


def test_content_filter_finish_is_a_refusal() -> None:
    body = with_content("hengda_corner_markers.json", "恒达阀门^[1]^**")
    body["choices"][0]["finish_reason"] = "content_filter"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: content_filter: 恒达阀门^[1]^**")
    assert cited(answer) == []


def test_unflagged_chinese_apology_is_a_refusal() -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", "很抱歉，我无法提供关于该公司的信息。"))
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: 很抱歉，我无法提供关于该公司的信息。")
    assert cited(answer) == [] and len(retrieved(answer)) == 6


def test_truncated_answer_keeps_its_citations() -> None:
    answer = parse_fixture("hengda_truncated_length.json")
    assert (answer.status, answer.status_reason) == ("ok", "incomplete: length")
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_ABOUT, ["恒达阀门是浙江温州的API 6D球阀制造商"])]
    empty = parse_obj(with_content("hengda_truncated_length.json", ""))
    assert (empty.status, empty.status_reason) == ("error", "incomplete: length")


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_empty_answer_is_no_answer(content: Any) -> None:
    answer = parse_obj(with_content("hengda_corner_markers.json", content))
    assert (answer.status, answer.status_reason) == ("no_answer", "empty answer text")
    assert cited(answer) == [] and len(retrieved(answer)) == 6


def test_no_choices_is_no_answer() -> None:
    body = load("hengda_corner_markers.json")
    body["choices"] = []
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, answer.citations) == ("no_answer", "no choices in response", [])


# --- errors -----------------------------------------------------------------------------------


def test_appbuilder_error_inside_http_200() -> None:
    answer = parse_fixture("error_rate_limit_http200.json")
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == (
        "error", "RATE_LIMIT_SEARCH_QPS: AI Search QPS limit exceeded", "", [])


def test_quota_and_balance_codes_are_errors() -> None:
    for code, message in (("QUOTA_USER_DAILY_FREE", "Daily free quota per user for AI Search exceeded"),
                          ("BILLING_INSUFFICIENT_BALANCE", "Your account has insufficient balance")):
        answer = parse_obj({"requestId": "r-1", "code": code, "message": message})
        assert (answer.status, answer.status_reason) == ("error", f"{code}: {message}")


def test_modelbuilder_error_envelope() -> None:
    answer = parse_fixture("error_invalid_iam_token.json")
    assert (answer.status, answer.status_reason) == (
        "error", "invalid_iam_token (invalid_request_error): IAM Certification failed")
    limited = parse_obj({"error": {"code": "rpm_rate_limit_exceeded", "message": "Rate limit reached for RPM",
                                   "type": "rate_limit_exceeded"}, "id": "as-wbx23eriqh"})
    assert limited.status_reason == "rpm_rate_limit_exceeded (rate_limit_exceeded): Rate limit reached for RPM"


def test_unsafe_request_error_is_a_refusal() -> None:
    answer = parse_fixture("error_unsafe_request.json")
    assert (answer.status, answer.status_reason) == (
        "no_answer", "refusal: query_unsafe (unsafe_request): the content of the query is unsafe")
    assert not answer.has_answer


def test_error_beside_choices_wins_and_keeps_usage() -> None:
    body = load("hengda_corner_markers.json")
    body["code"] = "RATE_LIMIT_TOTAL_QPS"
    body["message"] = "Total API QPS limit exceeded"
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, answer.citations) == (
        "error", "RATE_LIMIT_TOTAL_QPS: Total API QPS limit exceeded", [])
    assert (answer.input_tokens, answer.output_tokens) == (2817, 196)


@pytest.mark.parametrize("code", [0, "0", "", None])
def test_a_zero_code_is_no_error(code: Any) -> None:
    body = load("hengda_corner_markers.json")
    body["code"], body["message"] = code, "success"
    assert parse_obj(body).status == "ok"


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "  only a message  "}, "only a message"),
    ({"type": "invalid_request_error"}, "invalid_request_error"),
    ({"code": 500}, "500"),
    ("plain text failure", "plain text failure"),
    (["odd"], '["odd"]'),
])
def test_odd_error_members_still_read_as_errors(error: Any, reason: str) -> None:
    answer = parse_obj({"error": error})
    assert (answer.status, answer.status_reason) == ("error", reason)


def test_legacy_error_code_shape() -> None:
    answer = parse_obj({"error_code": 18, "error_msg": "Open api qps request limit reached"})
    assert (answer.status, answer.status_reason) == ("error", "code 18: Open api qps request limit reached")


def test_blank_error_members_are_no_error() -> None:
    body = load("hengda_corner_markers.json")
    body["error"] = {}
    assert parse_obj(body).status == "ok"


# --- garbage never crashes -------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty body"),
    (b"data: {\"choices\": []}\n\n", "body is not JSON"),
    (b"[1, 2]", "got a JSON list"),
    (raw_of({"request_id": "r"}), "no 'choices' list"),
    (raw_of({"choices": "no"}), "no 'choices' list"),
    (raw_of({"choices": ["no"]}), "choices[0] is a JSON str"),
    (raw_of({"choices": [{"delta": {"content": "流式"}}]}), "no 'message' object"),
    (raw_of({"object": "chat.completion.chunk", "choices": []}), "a streaming chunk"),
    (raw_of({"choices": [{"message": {"content": 5}}]}), "content is a JSON int"),
    (raw_of({"choices": [{"message": {"content": "x"}}], "references": {"1": "a"}}), "'references' is a JSON dict"),
])
def test_garbage_is_a_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("[", r"\[")):
        parse(raw)


def test_bad_usage_types_give_no_tokens() -> None:
    body = load("hengda_corner_markers.json")
    body["usage"] = {"prompt_tokens": "2817", "completion_tokens": True}
    answer = parse_obj(body)
    assert (answer.input_tokens, answer.output_tokens) == (None, None) and answer.status == "ok"
    body["usage"] = [1, 2]
    assert parse_obj(body).input_tokens is None


_SCALARS = st.none() | st.booleans() | st.integers(-3, 12) | st.text(max_size=8)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_KEYS = ["choices", "references", "usage", "is_safe", "code", "message", "error", "error_code", "model", "object"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replacements=st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=4),
       reference=st.dictionaries(st.sampled_from(["id", "url", "title", "type", "web_anchor"]), _JSON, max_size=4),
       content=st.text(alphabet="^[]1234567,，。！a 恒达", max_size=30))
def test_any_odd_body_is_an_answer_or_a_parse_error(replacements: dict[str, Any], reference: dict[str, Any],
                                                      content: str) -> None:
    body = with_content("hengda_corner_markers.json", content)
    body["references"].append(reference)
    body.update(replacements)
    try:
        answer = parse(raw_of(body))
    except ParseError:
        return
    for citation in answer.citations:
        assert all(0 <= start < end <= len(answer.text) for start, end in citation.spans)
    assert [c.position for c in answer.citations] == list(range(1, len(answer.citations) + 1))
