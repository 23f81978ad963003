"""Tests for the GLM (Zhipu) chat completions parser, web_search tool.

Our own fixtures (tests/fixtures/glm/) are written in the wire format Zhipu documents: the answer in
choices[0].message.content with [ref_n] markers, the search results in the top-level `web_search`
list (title, link, media, icon, refer, content, publish_date), errors as {"error": {"code", "message"}}.
The world is the B2B valve exporter the other parsers' fixtures use (Hengda Valve / 恒达阀门).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from citewatch.raw import RawPart, RawResult
from probes.base import Answer
from probes.parsers import perplexity
from probes.parsers.glm import PARSER_VERSION, parse, recognizes
from probes.registry import KINDS, available_names
from tests.probes.support import cited, load_json, parse_body, parse_file, raw_of, retrieved, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "glm"
OTHER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

HENGDA_ABOUT = "https://www.hengdavalve.com/zh/about"
HENGDA_6D = "https://www.hengdavalve.com/products/api-6d-ball-valve"
BAIKE_6D = "https://baike.baidu.com/item/API%206D"
APEX_BALL = "https://www.apexflow.com/products/ball-valves"
NORTHSTAR_CRYO = "https://northstarvalves.de/en/cryogenic"
MIC_BALL = "https://www.made-in-china.com/manufacturers/ball-valve.html"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026"

load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def with_content(name: str, content: Any, finish_reason: str = "stop") -> dict[str, Any]:
    body = load(name)
    body["choices"][0]["message"]["content"] = content
    body["choices"][0]["finish_reason"] = finish_reason
    return body


def answer_to(content: Any, finish_reason: str = "stop", name: str = "hengda_zh_ref_markers.json") -> Answer:
    """The Answer of a fixture whose content (and finish_reason) is replaced, its six results kept."""
    return parse_obj(with_content(name, content, finish_reason))


# --- module contract -----------------------------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 1


def test_answer_fixtures_carry_the_documented_keys() -> None:
    names = sorted(p.name for p in FIXTURES.glob("hengda_*.json"))
    assert len(names) == 5
    for name in names:
        body = load(name)
        assert {"id", "request_id", "created", "model", "choices", "usage"} <= body.keys(), name
        assert {"index", "message", "finish_reason"} <= body["choices"][0].keys()
        assert body["choices"][0]["message"]["role"] == "assistant"
        assert {"prompt_tokens", "completion_tokens", "total_tokens"} <= body["usage"].keys()
        for result in body.get("web_search", []):
            assert set(result) == {"title", "link", "media", "icon", "refer", "content", "publish_date"}, name


def test_recognizes_its_own_bodies_only() -> None:
    for name in ("hengda_zh_ref_markers.json", "hengda_duplicate_and_odd_markers.json", "hengda_sensitive.json",
                 "hengda_truncated_length.json"):
        assert recognizes(load(name)), name
    assert not recognizes(load("hengda_no_web_search.json"))  # a plain chat completion: anybody's
    assert not recognizes(load("error_1301_unsafe.json"))
    assert not recognizes({**load("hengda_zh_ref_markers.json"), "web_search": {"link": HENGDA_6D}})
    for folder, name in (("perplexity", "hengda_ball_valve_dup_markers.json"),
                         ("openai_chat", "chat_hengda_3citations_dup_utm.json"),
                         ("openai_chat", "deepseek_chat_zh_links.json")):
        assert not recognizes(load_json(OTHER_FIXTURES / folder, name)), name


def test_no_other_kind_claims_a_glm_body() -> None:
    assert not perplexity.recognizes(load("hengda_zh_ref_markers.json"))
    assert {kind for kind in available_names() if KINDS[kind].recognizes(load("hengda_zh_ref_markers.json"))} == {
        "glm"}


def test_bytes_and_a_raw_result_parse_alike() -> None:
    data = (FIXTURES / "hengda_zh_ref_markers.json").read_bytes()
    assert parse(RawResult((RawPart("response", data),))) == parse(data) == parse(bytearray(data))


# --- markers, positions and spans --------------------------------------------------------------------


def test_chinese_answer_gives_positions_spans_and_titles() -> None:
    answer = parse_fixture("hengda_zh_ref_markers.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert answer.model == "glm-4.6"
    assert (answer.input_tokens, answer.output_tokens) == (3412, 168)
    assert answer.features == ["web_search"]
    assert answer.search_queries == []  # chat completions report no queries

    assert [(c.position, c.url, c.cited) for c in answer.citations] == [
        (1, HENGDA_ABOUT, True), (2, HENGDA_6D, True), (3, BAIKE_6D, True), (4, APEX_BALL, True),
        (5, NORTHSTAR_CRYO, True), (6, MIC_BALL, False)]  # ref_7 has no link: no page
    about, hengda_6d, baike, apex, northstar, mic = answer.citations
    # full-width punctuation inside a sentence ends nothing; "。" before the next sentence does
    assert span_texts(answer, about) == [
        "恒达阀门（Hengda Valve）是温州的 API 6D 球阀制造商，产品通过了 API 6D 与 CE 认证"]
    assert about.spans == [(0, 56)]
    # [ref_2][ref_3]: one group, one span for both
    assert span_texts(answer, hengda_6d) == span_texts(answer, baike) == [
        "其固定球阀口径覆盖 DN50–DN1200，压力等级至 Class 2500"]
    assert hengda_6d.spans == baike.spans == [(64, 102)]
    # a marker after the full stop takes the sentence, "。" included; the list bullet is off
    assert span_texts(answer, apex) == ["Apex Flow Controls：美国品牌，以浮动球阀见长。"]
    assert span_texts(answer, northstar) == ["Northstar Valves：德国低温阀门专家"]

    assert [c.title for c in answer.citations] == [
        "关于我们 - 恒达阀门", "API 6D 固定球阀_恒达阀门", "API 6D_百度百科", "Ball Valves | Apex Flow Controls",
        "Cryogenic Valves – Northstar Valves", "球阀制造商_中国制造网"]
    for citation in cited(answer):
        assert (citation.visible, citation.origin) == (True, "annotation")
    assert (mic.spans, mic.origin) == ([], "search_result")
    assert "[ref_1]" in answer.text  # markers stay in the text, as the engine wrote it


def test_duplicate_page_is_one_citation_and_odd_markers_stay_text() -> None:
    answer = parse_fixture("hengda_duplicate_and_odd_markers.json")
    assert answer.status == "ok"
    # ref_1 and ref_3 are the same page: one source, at ref_1's place, whatever the text order
    assert [(c.position, c.url, c.cited) for c in answer.citations] == [
        (1, HENGDA_6D, True), (2, VALVEMAG, True), (3, APEX_BALL, False), (4, NORTHSTAR_CRYO, False)]
    hengda, valvemag, apex, northstar = answer.citations
    assert span_texts(answer, hengda) == ["Its trunnion range is on the API composite list"]
    assert hengda.title == "API 6D Trunnion Ball Valves | Hengda Valve"  # the first listing's title
    assert span_texts(answer, valvemag) == ["Hengda Valve is a Wenzhou maker of API 6D ball valves"]
    # [ref_9] past the list, [ref_x] not numeric, [ref_0] naming nothing: no citation, text unchanged
    assert (apex.spans, northstar.spans) == ([], [])
    assert answer.text.endswith("rival [ref_9]. Northstar Valves focuses on cryogenic service [ref_x]. "
                                "Trade directories list dozens more [ref_0].")


def test_position_follows_the_list_not_the_first_marker() -> None:
    answer = answer_to("Northstar 专注低温阀门[ref_5]。恒达阀门价格更低[ref_1]。"
                       "两家都有 Class 2500 产品[ref_4][ref_5]。")
    assert [c.url for c in cited(answer)] == [HENGDA_ABOUT, APEX_BALL, NORTHSTAR_CRYO]
    assert [c.position for c in answer.citations] == [1, 2, 3, 4, 5, 6]
    assert span_texts(answer, cited(answer)[2]) == ["Northstar 专注低温阀门", "两家都有 Class 2500 产品"]
    assert [c.url for c in retrieved(answer)] == [HENGDA_6D, BAIKE_6D, MIC_BALL]


def test_markers_separated_by_spaces_form_one_group() -> None:
    answer = answer_to("Hengda and Apex both ship in six weeks. [ref_1] [ref_4]")
    sentence = ["Hengda and Apex both ship in six weeks."]
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [(HENGDA_ABOUT, sentence), (APEX_BALL, sentence)]


def test_refer_not_in_list_order_names_its_own_result() -> None:
    body = load("hengda_zh_ref_markers.json")
    body["web_search"][0]["refer"], body["web_search"][3]["refer"] = "ref_4", "ref_1"
    body["choices"][0]["message"]["content"] = "Apex 以浮动球阀见长[ref_1]。"
    answer = parse_obj(body)
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [(APEX_BALL, ["Apex 以浮动球阀见长"])]


def test_answer_without_markers_cites_nobody() -> None:
    answer = answer_to("恒达阀门是温州的球阀制造商。")
    assert answer.status == "ok" and cited(answer) == []
    assert [(c.position, c.url) for c in retrieved(answer)] == [
        (1, HENGDA_ABOUT), (2, HENGDA_6D), (3, BAIKE_6D), (4, APEX_BALL), (5, NORTHSTAR_CRYO), (6, MIC_BALL)]


def test_missing_web_search_leaves_markers_as_text() -> None:
    answer = parse_fixture("hengda_no_web_search.json")
    assert (answer.status, answer.citations, answer.features) == ("ok", [], [])
    assert answer.text == "恒达阀门是温州的 API 6D 球阀制造商[ref_1]。"
    assert (answer.input_tokens, answer.output_tokens) == (18, 21)


@pytest.mark.parametrize("listed", [[], None])
def test_empty_or_null_web_search_is_no_search(listed: Any) -> None:
    answer = parse_obj({**load("hengda_zh_ref_markers.json"), "web_search": listed})
    assert (answer.status, answer.citations, answer.features) == ("ok", [], [])


def test_odd_results_are_skipped_and_never_crash() -> None:
    body = load("hengda_zh_ref_markers.json")
    body["web_search"] = [
        "https://not-an-object.example.com", None, 7, [HENGDA_ABOUT],
        {"link": 42, "refer": "ref_1", "title": "a number for a link"},
        {"link": HENGDA_ABOUT, "refer": 1, "title": ["not", "text"]},  # no usable refer, no title
        {"link": "  ", "refer": "ref_2"},
        {"link": APEX_BALL, "refer": "ref_4", "title": "  "},
        {"link": NORTHSTAR_CRYO, "refer": "REF 5", "title": None},
    ]
    answer = parse_obj(body)
    assert answer.features == ["web_search"]
    assert [(c.position, c.url, c.cited, c.title, span_texts(answer, c)) for c in answer.citations] == [
        (1, APEX_BALL, True, None, ["Apex Flow Controls：美国品牌，以浮动球阀见长。"]),
        (2, HENGDA_ABOUT, False, None, []),
        (3, NORTHSTAR_CRYO, False, None, []),
    ]


def test_a_refer_given_twice_names_its_first_result() -> None:
    body = load("hengda_zh_ref_markers.json")
    body["web_search"][5]["refer"] = "ref_1"
    body["choices"][0]["message"]["content"] = "恒达阀门成立于1998年[ref_1]。"
    answer = parse_obj(body)
    assert [c.url for c in cited(answer)] == [HENGDA_ABOUT]


def test_every_span_is_text_before_its_marker() -> None:
    for name in ("hengda_zh_ref_markers.json", "hengda_duplicate_and_odd_markers.json"):
        answer = parse_fixture(name)
        for citation in cited(answer):
            for start, end in citation.spans:
                assert 0 <= start < end <= len(answer.text)
                words = answer.text[start:end]
                assert "[ref_" not in words and words.strip() == words


# --- refusals, truncation, empty answers ---------------------------------------------------------------


def test_error_1301_is_a_refusal() -> None:
    answer = parse_fixture("error_1301_unsafe.json")
    assert (answer.status, answer.text, answer.citations, answer.has_answer) == ("no_answer", "", [], False)
    assert answer.status_reason == ("refusal: 1301: 系统检测到输入或生成内容可能包含不安全或敏感内容，"
                                    "请您避免输入易产生敏感内容的提示语，感谢您的配合。")


def test_error_1301_as_a_number_is_a_refusal_too() -> None:
    answer = parse_obj({"error": {"code": 1301, "message": "unsafe"}})
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: 1301: unsafe")


@pytest.mark.parametrize(("name", "reason"), [
    ("error_1113_no_balance.json", "1113: 余额不足或无可用资源包,请充值。"),
    ("error_1302_concurrency.json", "1302: 您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"),
])
def test_other_error_bodies_are_errors(name: str, reason: str) -> None:
    answer = parse_fixture(name)
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == ("error", reason, "", [])


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "Internal Error"}, "Internal Error"),
    ({"code": "500"}, "500"),
    ({"code": True, "message": "odd"}, "odd"),
    ("upstream timeout", "upstream timeout"),
    (["a", "list"], '["a", "list"]'),
])
def test_error_shapes(error: Any, reason: str) -> None:
    answer = parse_obj({"error": error})
    assert (answer.status, answer.status_reason) == ("error", reason)


def test_blank_error_beside_choices_is_no_error() -> None:
    assert parse_obj({**load("hengda_zh_ref_markers.json"), "error": ""}).status == "ok"


def test_sensitive_finish_is_a_refusal_that_cites_nobody() -> None:
    answer = parse_fixture("hengda_sensitive.json")
    assert answer.status == "no_answer" and not answer.has_answer
    assert answer.status_reason == "refusal: finish_reason sensitive (content filter: assistant level 1)"
    assert answer.text == "恒达阀门的出口认证包括"
    assert [(c.position, c.url, c.cited, c.title) for c in answer.citations] == [
        (1, HENGDA_ABOUT, False, "关于我们 - 恒达阀门"), (2, BAIKE_6D, False, "API 6D_百度百科")]
    assert answer.features == ["web_search"]


def test_sensitive_finish_keeps_markers_uncited() -> None:
    body = with_content("hengda_zh_ref_markers.json", "恒达阀门通过了 API 6D 认证[ref_1]。", finish_reason="sensitive")
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: finish_reason sensitive")
    assert cited(answer) == [] and len(retrieved(answer)) == 6


@pytest.mark.parametrize("content", ["抱歉，我无法提供该公司的认证信息。",
                                     "I'm sorry, but I can't help with that request."])
def test_apology_is_a_refusal(content: str) -> None:
    answer = answer_to(content)
    assert (answer.status, answer.status_reason) == ("no_answer", f"refusal: {content}")
    assert cited(answer) == []


def test_apology_with_markers_is_an_answer() -> None:
    answer = answer_to("抱歉，我无法确认交期，但恒达阀门通过了 API 6D 认证[ref_1]。")
    assert answer.status == "ok" and [c.url for c in cited(answer)] == [HENGDA_ABOUT]


def test_truncated_answer_keeps_text_and_says_why() -> None:
    answer = parse_fixture("hengda_truncated_length.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", "incomplete: length", True)
    assert [(c.url, span_texts(answer, c)) for c in cited(answer)] == [
        (HENGDA_6D, ["恒达阀门生产 API 6D 固定球阀，口径至 DN1200"])]


def test_truncated_before_any_text_is_an_error() -> None:
    answer = answer_to("", "model_context_window_exceeded", name="hengda_truncated_length.json")
    assert (answer.status, answer.status_reason) == ("error", "incomplete: model_context_window_exceeded")


def test_network_error_finish_is_an_error() -> None:
    answer = answer_to("恒达阀门", "network_error")
    assert (answer.status, answer.status_reason) == ("error", "inference failed (finish_reason network_error)")


@pytest.mark.parametrize(("content", "finish", "reason"), [
    ("", "stop", "empty answer text"),
    (None, "stop", "empty answer text"),
    ("  \n", "tool_calls", "empty answer text (finish_reason tool_calls)"),
    ("<think>先搜索恒达阀门的认证", "stop", "no answer after reasoning (unclosed <think> block)"),
])
def test_empty_answers_are_no_answer_and_keep_results_retrieved(content: Any, finish: str, reason: str) -> None:
    answer = answer_to(content, finish)
    assert (answer.status, answer.status_reason) == ("no_answer", reason)
    assert cited(answer) == [] and len(retrieved(answer)) == 6


def test_leading_think_block_is_dropped() -> None:
    answer = answer_to("<think>用户问认证。</think>\n恒达阀门通过了 CE 认证[ref_1]。")
    assert answer.text == "恒达阀门通过了 CE 认证[ref_1]。"
    assert span_texts(answer, cited(answer)[0]) == ["恒达阀门通过了 CE 认证"]


def test_content_parts_are_joined() -> None:
    parts = [{"type": "text", "text": "恒达阀门通过了 CE 认证"}, {"type": "image_url"},
             {"type": "text", "text": "[ref_1]。"}]
    answer = answer_to(parts)
    assert answer.text == "恒达阀门通过了 CE 认证[ref_1]。" and [c.url for c in cited(answer)] == [HENGDA_ABOUT]


def test_no_choice_is_no_answer_with_results_retrieved() -> None:
    answer = parse_obj({**load("hengda_zh_ref_markers.json"), "choices": []})
    assert (answer.status, answer.status_reason) == ("no_answer", "no choices in response")
    assert cited(answer) == [] and len(retrieved(answer)) == 6


@pytest.mark.parametrize("usage", [None, "lots", {"prompt_tokens": "12", "completion_tokens": True},
                                   {"prompt_tokens": -1, "completion_tokens": 2**40}])
def test_missing_or_odd_usage_gives_no_tokens(usage: Any) -> None:
    answer = parse_obj({**load("hengda_zh_ref_markers.json"), "usage": usage})
    assert (answer.status, answer.input_tokens, answer.output_tokens) == ("ok", None, None)


@pytest.mark.parametrize("content_filter", [None, "assistant", [None, {"level": 2}], [{"role": "user"}]])
def test_odd_content_filter_still_reads_as_sensitive(content_filter: Any) -> None:
    body = {**load("hengda_sensitive.json"), "content_filter": content_filter}
    reason = parse_obj(body).status_reason
    expected = " (content filter: user)" if content_filter == [{"role": "user"}] else ""
    assert reason == f"refusal: finish_reason sensitive{expected}"


# --- garbage -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty body"),
    (b"<html>502 Bad Gateway</html>", "body is not JSON"),
    (b"[1, 2]", "got a JSON list"),
    (b'{"choices": {"0": {}}}', "no 'choices' list"),
    (b'{"choices": ["text"]}', "choices[0] is a JSON str"),
    (b'{"choices": [{"delta": {"content": "x"}}]}', "no 'message' object"),
    (b'{"choices": [{"message": {"content": 42}}]}', "content is a JSON int"),
    (b'{"object": "chat.completion.chunk", "choices": []}', "a streaming chunk"),
    (b'{"object": "response", "choices": []}', "not a chat completion"),
    (raw_of({"choices": [{"message": {"content": "x"}}], "web_search": {"link": HENGDA_ABOUT}}),
     "'web_search' is a JSON dict"),
])
def test_garbage_raises_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse(raw)


def test_non_bytes_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected the raw response body as bytes"):
        parse("{}")  # type: ignore[arg-type]

