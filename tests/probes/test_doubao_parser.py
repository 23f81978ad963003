"""Tests for the Volcengine Ark Responses API (Doubao) parser.

Our own fixtures (tests/fixtures/doubao/) are written in Ark's wire format (the response object of Ark's
Responses API reference and SDK types, the error envelopes of its error code list) for a B2B valve exporter
(Hengda Valve / 恒达阀门). Ark's annotations carry no start_index/end_index; the span tests add them the way
a gateway in OpenAI's shape would.
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
from probes.parsers import openai_responses
from probes.parsers.doubao import PARSER_VERSION, parse, recognizes
from probes.registry import recognizing
from tests.probes.support import cited, load_json, parse_body, parse_file, raw_of, real_file, retrieved, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doubao"
OTHER_FIXTURES = sorted(path for path in FIXTURES.parent.glob("*/*.json") if path.parent.name != "doubao")

HENGDA_6D = "https://www.hengdavalve.com/zh/products/api-6d-ball-valve"
BAIKE = "https://baike.baidu.com/item/温州恒达阀门有限公司"
VALVEMAG = "https://www.valvemagazine.com/articles/sourcing-ball-valves-from-china-2026"
TOUTIAO = "https://www.toutiao.com/article/7482913650218435123/"
HENGDA_ABOUT = "https://www.hengdavalve.com/zh/about"
HENGDA_6D_TITLE = "API 6D 固定球球阀 - 恒达阀门"
BAIKE_TITLE = "温州恒达阀门有限公司_百度百科"
VALVEMAG_TITLE = "Sourcing Ball Valves from China in 2026 | Valve Magazine"

load = partial(load_json, FIXTURES)
parse_fixture = partial(parse_file, parse, FIXTURES)
parse_obj = partial(parse_body, parse)


def message_part(body: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """The first output_text part of the `index`-th message item."""
    messages = [item for item in body["output"] if item["type"] == "message"]
    return messages[index]["content"][0]


def text_of(name: str) -> str:
    return str(message_part(load(name))["text"])


def with_text(name: str, text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = load(name)
    part = message_part(body)
    part["text"] = text
    if annotations is not None:
        part["annotations"] = annotations
    return body


def index_annotations(body: dict[str, Any], phrases: list[str]) -> dict[str, Any]:
    """Give each annotation the indices of its phrase in the part, as a gateway in OpenAI's shape would."""
    part = message_part(body)
    for note, phrase in zip(part["annotations"], phrases, strict=True):
        start = part["text"].index(phrase)
        note.update(start_index=start, end_index=start + len(phrase))
    return body


def summary(answer: Answer) -> list[tuple[int, bool, str, str | None, list[str]]]:
    """(position, cited, url, title, span texts) of every citation, in order."""
    return [(c.position, c.cited, c.url, c.title, span_texts(answer, c)) for c in answer.citations]


# --- module contract ------------------------------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 1


def test_fixtures_carry_the_members_of_a_real_response() -> None:
    for name in sorted(p.name for p in FIXTURES.glob("hengda_*.json")):
        body = load(name)
        assert body["object"] == "response" and body["id"].startswith("resp_021"), name
        assert {"caching", "expire_at", "store", "service_tier", "status", "usage"} <= body.keys(), name
        assert {"input_tokens", "output_tokens", "total_tokens"} <= body["usage"].keys(), name
        for item in body["output"]:
            assert item["type"] in ("reasoning", "web_search_call", "message"), name
            if item["type"] == "web_search_call":
                assert item["id"].startswith("ws_") and item["action"]["type"] == "search", name
    for name in sorted(p.name for p in FIXTURES.glob("error_*.json")):
        assert set(load(name)["error"]) == {"code", "message", "param", "type"}, name


# --- recognizing a Doubao body ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_recognizes_every_fixture(name: str) -> None:
    assert recognizes(load(name))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("hengda_*.json")))
def test_only_openai_also_claims_a_doubao_body_and_the_proposed_check_leaves_it_to_doubao(name: str) -> None:
    """openai_responses.recognizes takes any Responses-shaped body: the one other claimer. With the check
    proposed for it (`... and not doubao.recognizes(body)`), a Doubao body is doubao's alone."""
    body = load(name)
    assert set(recognizing(body)) - {"doubao"} <= {"openai"}
    assert not (openai_responses.recognizes(body) and not recognizes(body))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("error_*.json")))
def test_no_other_kind_claims_an_ark_error_envelope(name: str) -> None:
    assert set(recognizing(load(name))) <= {"doubao"}


@pytest.mark.parametrize("path", OTHER_FIXTURES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_does_not_recognize_other_kinds_fixtures(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    assert not (isinstance(body, dict) and recognizes(body))


@pytest.mark.parametrize("name", ["responses_web_search_gpt5_news_3citations.json",
                                  "responses_web_search_gpt5mini_sources_find_in_page_10citations.json",
                                  "azure_responses_web_search_preview.json"])
def test_does_not_recognize_real_openai_responses(name: str) -> None:
    body = json.loads(real_file("openai_json", name).read_text(encoding="utf-8"))
    assert openai_responses.recognizes(body) and not recognizes(body)


@pytest.mark.parametrize("body", [
    {"object": "response", "output": [], "model": "gpt-5-mini-2025-08-07", "usage": {"input_tokens": 1}},
    {"object": "response", "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi",
                                       "annotations": [{"type": "url_citation", "url": "https://a.example/",
                                                        "title": "A", "start_index": 0, "end_index": 2}]}]}]},
    {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}},
    {"error": {"message": "content filtered", "type": "content_filter"}},
    {"error": {"code": "1301", "message": "系统检测到输入或生成内容可能包含不安全或敏感内容"}},
    {"request_id": "x", "code": "DataInspectionFailed", "message": "bad"},
    {"object": "chat.completion", "choices": [], "error": {"type": "BadRequest"}},
    {},
])
def test_does_not_recognize_other_formats(body: dict[str, Any]) -> None:
    assert not recognizes(body)


@pytest.mark.parametrize("body", [
    {"object": "response", "output": [], "caching": {"type": "disabled"}},
    {"object": "response", "output": [], "expire_at": 1785369600},
    {"object": "response", "output": [], "usage": {"input_tokens": 1, "tool_usage": {"web_search": 1}}},
    {"object": "response", "output": [{"type": "message", "content": [
        {"type": "output_text", "text": "x", "annotations": [{"type": "url_citation", "url": "https://a.example/",
                                                               "site_name": "A"}]}]}]},
    {"object": "response", "output": [{"type": "message", "content": [
        {"type": "output_text", "text": "x", "annotations": [{"type": "annotation", "url": "https://a.example/"}]}]}]},
    {"error": {"code": "SensitiveContentDetected", "message": "The request failed because ..."}},
])
def test_recognizes_each_ark_marker_alone(body: dict[str, Any]) -> None:
    assert recognizes(body)


# --- a Chinese answer --------------------------------------------------------------------------------


def test_chinese_answer_with_searches_and_annotations() -> None:
    answer = parse_fixture("hengda_web_search.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert answer.text == text_of("hengda_web_search.json")
    assert answer.text.startswith("温州恒达阀门有限公司是国内较早通过API 6D认证的球阀制造商")
    assert "用户想找" not in answer.text  # the reasoning summary is not the answer
    assert (answer.model, answer.input_tokens, answer.output_tokens) == ("doubao-seed-1-6-250615", 5326, 612)
    assert answer.search_queries == ["温州 API 6D 球阀 制造商", "恒达阀门 API 6D 认证"]
    assert answer.features == ["web_search"]
    # Four annotations, one page twice: three sources in the order of their first annotation, no spans.
    assert summary(answer) == [
        (1, True, HENGDA_6D, HENGDA_6D_TITLE, []),
        (2, True, BAIKE, BAIKE_TITLE, []),
        (3, True, VALVEMAG, VALVEMAG_TITLE, []),
    ]
    assert all(c.origin == "annotation" and c.visible for c in answer.citations)
    assert retrieved(answer) == []


def test_the_first_sdk_releases_annotation_type_reads_the_same() -> None:
    answer = parse_fixture("hengda_annotation_type.json")
    assert (answer.status, answer.status_reason) == ("ok", None)
    assert answer.text == "恒达阀门的API 6D球阀已出口至中东和南美，2025年出口额同比增长约12%。"
    assert summary(answer) == [
        (1, True, TOUTIAO, "温州阀门企业出海记：恒达阀门的API 6D之路", []),
        (2, True, HENGDA_6D, HENGDA_6D_TITLE, []),
    ]
    assert (answer.search_queries, answer.features) == (["恒达阀门 出口"], ["web_search"])
    assert (answer.input_tokens, answer.output_tokens) == (2710, 158)


def test_both_annotation_types_in_one_answer() -> None:
    body = load("hengda_web_search.json")
    message_part(body)["annotations"][1]["type"] = "annotation"
    assert summary(parse_obj(body)) == summary(parse_fixture("hengda_web_search.json"))


def test_spans_where_annotations_carry_indices_and_a_page_twice_keeps_both() -> None:
    phrases = ["压力等级最高为Class 2500", "温州恒达阀门有限公司", "产品通过API 6D、API 607防火及CE认证",
               "侧重北美油气市场"]
    answer = parse_obj(index_annotations(load("hengda_web_search.json"), phrases))
    assert summary(answer) == [
        (1, True, HENGDA_6D, HENGDA_6D_TITLE, ["压力等级最高为Class 2500", "产品通过API 6D、API 607防火及CE认证"]),
        (2, True, BAIKE, BAIKE_TITLE, ["温州恒达阀门有限公司"]),
        (3, True, VALVEMAG, VALVEMAG_TITLE, ["侧重北美油气市场"]),
    ]
    assert answer.citations[0].spans == [(49, 66), (114, 139)]


def test_spans_shift_across_parts_and_messages_and_clamp() -> None:
    body = load("hengda_annotation_type.json")
    note = {"type": "url_citation", "url": VALVEMAG, "title": VALVEMAG_TITLE, "start_index": 0, "end_index": 99}
    second = {"type": "message", "role": "assistant", "status": "completed", "id": "msg_2",
              "content": [{"type": "output_text", "text": "", "annotations": []},
                          {"type": "output_text", "text": "Apex侧重北美。", "annotations": [note]}]}
    body["output"].append(second)
    answer = parse_obj(body)
    first_text = text_of("hengda_annotation_type.json")
    assert answer.text == first_text + "\n\nApex侧重北美。"  # the empty part adds no separator
    assert summary(answer)[-1] == (3, True, VALVEMAG, VALVEMAG_TITLE, ["Apex侧重北美。"])


@pytest.mark.parametrize(("start", "end"), [(5, 5), (9, 2), ("0", 4), (None, 4), (True, 4)])
def test_unusable_indices_give_no_span(start: Any, end: Any) -> None:
    body = load("hengda_annotation_type.json")
    message_part(body)["annotations"][0].update(start_index=start, end_index=end)
    assert parse_obj(body).citations[0].spans == []


def test_title_falls_back_to_the_site_name_and_odd_annotations_are_skipped() -> None:
    notes = [
        {"type": "url_citation", "url": VALVEMAG, "title": " ", "site_name": "Valve Magazine"},
        {"type": "doc_citation", "doc_id": "d1", "doc_name": "恒达产品手册.pdf", "chunk_id": 3, "title": "手册",
         "url": "", "chunk_attachment": []},  # a knowledge-base document, no web page
        {"type": "file_citation", "url": "https://files.example/1"},
        {"type": "url_citation", "title": "no url"},
        {"type": "url_citation", "url": 7},
        {"type": ["url_citation"], "url": "https://list-type.example/"},
        "junk", None,
        {"type": "url_citation", "url": HENGDA_6D},
    ]
    answer = parse_obj(with_text("hengda_web_search.json", "恒达阀门生产API 6D球阀。", notes))
    assert summary(answer) == [(1, True, VALVEMAG, "Valve Magazine", []), (2, True, HENGDA_6D, None, [])]


def test_a_tracking_parameter_does_not_make_another_page() -> None:
    notes = [{"type": "url_citation", "url": HENGDA_6D, "title": HENGDA_6D_TITLE},
             {"type": "url_citation", "url": HENGDA_6D + "?utm_source=doubao", "title": "other title"}]
    answer = parse_obj(with_text("hengda_web_search.json", "恒达阀门。", notes))
    assert summary(answer) == [(1, True, HENGDA_6D, HENGDA_6D_TITLE, [])]


# --- no search -----------------------------------------------------------------------------------------


def test_no_web_search_is_an_answer_without_citations() -> None:
    answer = parse_fixture("hengda_no_search.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", None, True)
    assert answer.text.startswith("API 6D是美国石油学会制定的管道阀门规范")
    assert (answer.citations, answer.search_queries, answer.features) == ([], [], [])
    assert (answer.input_tokens, answer.output_tokens) == (1204, 96)


def test_a_billed_search_alone_is_a_web_search() -> None:
    body = load("hengda_no_search.json")
    body["usage"]["tool_usage"] = {"web_search": 1}
    assert parse_obj(body).features == ["web_search"]
    body["usage"]["tool_usage"] = {"web_search": 0, "mcp": 2}
    assert parse_obj(body).features == []


# --- refusals -------------------------------------------------------------------------------------------


def test_content_filter_400_envelope_is_a_refusal() -> None:
    answer = parse_fixture("error_sensitive_400.json")
    assert (answer.status, answer.text, answer.citations, answer.has_answer) == ("no_answer", "", [], False)
    # The request id is left out: the same refusal always reads the same.
    assert answer.status_reason == ("refusal: InputTextSensitiveContentDetected: The request failed because the "
                                    "input text may contain sensitive information.")
    assert (answer.model, answer.input_tokens, answer.features) == (None, None, [])


def test_content_filter_code_in_a_200_response_is_a_refusal() -> None:
    answer = parse_fixture("hengda_filter_200.json")
    assert (answer.status, answer.text, answer.citations) == ("no_answer", "", [])
    assert answer.status_reason == ("refusal: OutputTextSensitiveContentDetected: The request failed because the "
                                    "output text may contain sensitive information.")
    assert (answer.search_queries, answer.features) == (["恒达阀门 创始人 传闻"], ["web_search"])
    assert (answer.input_tokens, answer.output_tokens) == (1893, 0)


def test_a_filter_code_beside_an_answer_cites_no_one() -> None:
    body = load("hengda_web_search.json")
    body["error"] = {"code": "SensitiveContentDetected.Violence", "message": "The request failed because the "
                     "input text may contain violence information."}
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: SensitiveContentDetected.Violence: The "
                                                     "request failed because the input text may contain violence "
                                                     "information.")
    assert cited(answer) == [] and [(c.url, c.origin) for c in retrieved(answer)] == [
        (HENGDA_6D, "annotation"), (BAIKE, "annotation"), (VALVEMAG, "annotation")]


def test_incomplete_by_the_content_filter_is_a_refusal() -> None:
    answer = parse_fixture("hengda_incomplete_content_filter.json")
    assert (answer.status, answer.status_reason) == (
        "no_answer", "refusal: content_filter: output OutputTextSensitiveContentDetected")
    assert answer.text == "关于恒达阀门创始人的传闻" and not answer.has_answer
    assert summary(answer) == [(1, False, HENGDA_ABOUT, "关于我们 - 恒达阀门", [])]


@pytest.mark.parametrize(("details", "reason"), [
    ({"reason": "content_filter", "content_filter": "sensitive output"}, "refusal: content_filter: sensitive output"),
    ({"reason": "content_filter"}, "refusal: content_filter"),
    ({"reason": "content_filter", "content_filter": {"type": ""}}, "refusal: content_filter"),
    ({"content_filter": {"type": "output"}}, "refusal: content_filter: output"),
])
def test_content_filter_details_in_either_shape(details: dict[str, Any], reason: str) -> None:
    body = load("hengda_incomplete_content_filter.json")
    body["incomplete_details"] = details
    assert (parse_obj(body).status, parse_obj(body).status_reason) == ("no_answer", reason)


def test_apology_without_annotations_is_a_refusal() -> None:
    answer = parse_obj(with_text("hengda_no_search.json", "抱歉，我无法提供该公司创始人的个人信息。"))
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: 抱歉，我无法提供该公司创始人的个人信息。")


def test_apology_with_annotations_is_an_answer() -> None:
    body = with_text("hengda_web_search.json", "抱歉，我无法确认最新报价，但恒达阀门官网列出了API 6D球阀。")
    answer = parse_obj(body)
    assert answer.status == "ok" and len(cited(answer)) == 3


def test_a_refusal_part_is_a_refusal() -> None:
    body = load("hengda_no_search.json")
    body["output"][-1]["content"] = [{"type": "refusal", "refusal": "我不能回答这个问题。"}, {"type": "refusal"}]
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("no_answer", "refusal: 我不能回答这个问题。 (no reason given)")


# --- incomplete, failed and error envelopes -----------------------------------------------------------------


def test_incomplete_answer_counts_with_its_reason() -> None:
    answer = parse_fixture("hengda_incomplete.json")
    assert (answer.status, answer.status_reason, answer.has_answer) == ("ok", "incomplete: max_output_tokens", True)
    assert answer.text.endswith("压力等级最高")
    assert summary(answer) == [(1, True, HENGDA_6D, HENGDA_6D_TITLE, [])]
    assert (answer.input_tokens, answer.output_tokens) == (3410, 512)


def test_incomplete_without_text_is_an_error() -> None:
    body = with_text("hengda_incomplete.json", "", [])
    body["incomplete_details"] = {"reason": " "}
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason) == ("error", "incomplete: unknown reason")


def test_failed_response_is_an_error_without_citations() -> None:
    answer = parse_fixture("hengda_failed.json")
    assert (answer.status, answer.text, answer.citations) == ("error", "", [])
    assert answer.status_reason == ("InternalServiceError: The service encountered an unexpected internal error. "
                                    "Request id: 021785110470e4f5a6b7c8d9e0f1a2b3c4d5e6f7")
    assert answer.model == "doubao-seed-1-6-250615"


def test_failed_status_without_an_error_and_an_error_beside_an_answer() -> None:
    body = load("hengda_failed.json")
    body["error"] = None
    assert (parse_obj(body).status, parse_obj(body).status_reason) == ("error", "response status failed")
    body = load("hengda_web_search.json")
    body["error"] = {"code": "InternalServiceError", "message": ""}
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, answer.citations) == ("error", "InternalServiceError", [])


def test_an_empty_error_beside_a_completed_answer_is_no_failure() -> None:
    body = load("hengda_web_search.json")
    body["error"] = {}
    assert parse_obj(body).status == "ok"


@pytest.mark.parametrize(("name", "reason"), [
    ("error_internal_500.json", "InternalServiceError: The service encountered an unexpected internal error. "
                                "Request id: 021785110480f5a6b7c8d9e0f1a2b3c4"),
    ("error_rate_limit_429.json", "RateLimitExceeded.EndpointRPMExceeded: The Requests Per Minute (RPM) limit of "
                                  "the associated endpoint for your account has been exceeded. Request id: "
                                  "021785110490a6b7c8d9e0f1a2b3c4d5"),
    ("error_authentication_401.json", "AuthenticationError: The API key or AK/SK in the request is missing or "
                                      "invalid. Request id: 0217851104a0b7c8d9e0f1a2b3c4d5e6"),
])
def test_error_envelopes_are_failures(name: str, reason: str) -> None:
    answer = parse_fixture(name)
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == ("error", reason, "", [])


@pytest.mark.parametrize(("error", "reason"), [
    ({"message": "upstream timed out", "type": "GatewayTimeout"}, "GatewayTimeout: upstream timed out"),
    ({"code": 503}, "503"),
    ("service unavailable", "service unavailable"),
])
def test_error_envelopes_of_other_shapes(error: Any, reason: str) -> None:
    assert (parse_obj({"error": error}).status, parse_obj({"error": error}).status_reason) == ("error", reason)


@pytest.mark.parametrize(("status", "reason"), [("in_progress", "response status in_progress"),
                                                ("queued", "response status queued")])
def test_unfinished_responses_are_errors(status: str, reason: str) -> None:
    body = with_text("hengda_no_search.json", "")
    body["status"] = status
    assert (parse_obj(body).status, parse_obj(body).status_reason) == ("error", reason)


def test_empty_text_and_no_message_are_no_answer() -> None:
    answer = parse_obj(with_text("hengda_web_search.json", "  "))
    assert (answer.status, answer.status_reason, len(cited(answer))) == ("no_answer", "empty answer text", 3)
    body = load("hengda_web_search.json")
    body["output"] = [item for item in body["output"] if item["type"] != "message"]
    answer = parse_obj(body)
    assert (answer.status, answer.status_reason, answer.citations) == ("no_answer", "no message in output", [])
    assert answer.search_queries == ["温州 API 6D 球阀 制造商", "恒达阀门 API 6D 认证"]


def test_queries_are_deduplicated_and_odd_actions_skipped() -> None:
    body = load("hengda_no_search.json")
    body["output"][:0] = [
        {"type": "web_search_call", "action": {"type": "search", "query": " 恒达阀门 "}},
        {"type": "web_search_call", "action": {"type": "search", "query": "恒达阀门", "queries": ["API 6D", 5, ""]}},
        {"type": "web_search_call", "action": "search"},
        {"type": "web_search_call"},
    ]
    answer = parse_obj(body)
    assert (answer.search_queries, answer.features) == (["恒达阀门", "API 6D"], ["web_search"])


def test_raw_result_and_bytes_read_the_same() -> None:
    raw = (FIXTURES / "hengda_web_search.json").read_bytes()
    assert parse(RawResult.single(raw)) == parse(raw) == parse(bytearray(raw))


# --- garbage and odd types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty body"),
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    (b"[]", "got a JSON list"),
    (b"{}", "not a Volcengine Ark Responses API object: 'object' is None"),
    (b'{"object": "response", "output": {}}', "'object' is 'response', expected 'response' with an 'output' list"),
    (b'{"object": "chat.completion", "choices": []}', "'object' is 'chat.completion'"),
    (b'{"object": "list", "output": [], "error": {"code": "X", "message": "m"}}', "(API error: X: m)"),
    (b'{"object": "chat.completion", "error": {"code": "SensitiveContentDetected", "message": "m"}}',
     "(API error: SensitiveContentDetected: m)"),  # a filter code in another format's body is not Ark's refusal
    (b'{"error": null}', "not a Volcengine Ark Responses API object"),
    (b'{"error": {}}', "not a Volcengine Ark Responses API object"),
    (b'data: {"type": "response.created"}\n\n', "not JSON"),
])
def test_garbage_is_a_parse_error_with_a_reason(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(raw)


def test_a_non_bytes_raw_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected the raw response body as bytes"):
        parse("not bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("usage", [None, "x", [], {"input_tokens": True, "output_tokens": -1},
                                   {"input_tokens": "12", "tool_usage": []}, {"tool_usage": {"web_search": True}},
                                   {"tool_usage": {"web_search": "3"}}, {"input_tokens": 2**40}])
def test_odd_usage_never_crashes(usage: Any) -> None:
    body = load("hengda_no_search.json")
    body["usage"] = usage
    answer = parse_obj(body)
    assert (answer.status, answer.input_tokens, answer.output_tokens, answer.features) == ("ok", None, None, [])


@pytest.mark.parametrize("output", [[None, 5, "x", []], [{"type": "message", "content": "text"}],
                                    [{"type": "message", "content": [None, {"type": "output_text", "text": 5}]}],
                                    [{"type": "message", "content": [{"type": "output_text", "text": "x",
                                                                      "annotations": {"url": "u"}}]}]])
def test_odd_output_items_never_crash(output: list[Any]) -> None:
    body = load("hengda_no_search.json")
    body["output"] = output
    answer = parse_obj(body)
    assert answer.status in ("ok", "no_answer") and answer.citations == []


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=3), max_leaves=8)
_PATHS = [("object",), ("output",), ("status",), ("model",), ("error",), ("incomplete_details",),
          ("incomplete_details", "reason"), ("usage",), ("usage", "tool_usage"), ("output", 1), ("output", 1, "action"),
          ("output", 4), ("output", 4, "content"), ("output", 4, "content", 0), ("output", 4, "content", 0, "text"),
          ("output", 4, "content", 0, "annotations"), ("output", 4, "content", 0, "annotations", 0),
          ("output", 4, "content", 0, "annotations", 0, "url"), ("output", 4, "content", 0, "annotations", 0, "type"),
          ("output", 4, "content", 0, "annotations", 0, "start_index"),
          ("output", 4, "content", 0, "annotations", 0, "end_index")]


def _replace(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    body[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replacements=st.dictionaries(st.sampled_from(range(len(_PATHS))), _JSON, max_size=3))
def test_any_value_anywhere_is_an_answer_or_a_parse_error(replacements: dict[int, Any]) -> None:
    body = load("hengda_web_search.json")
    message_part(body)["annotations"][0].update(start_index=0, end_index=10)
    for index in sorted(replacements):
        try:
            _replace(body, _PATHS[index], replacements[index])
        except (KeyError, IndexError, TypeError):
            pass  # an earlier replacement removed the path
    assert isinstance(recognizes(body), bool)
    try:
        answer = parse(raw_of(body))
    except ParseError:
        return
    assert answer.status in ("ok", "no_answer", "error")
    for citation in answer.citations:
        assert all(0 <= start < end <= len(answer.text) for start, end in citation.spans)
