"""Tests for the Kimi (Moonshot) parser: the legs of a `$web_search` round trip, or one body.

Our own fixtures (tests/fixtures/kimi/) are written in Moonshot's wire format: a leg asking for the
search (`finish_reason: tool_calls`, empty content, a `builtin_function` call to `$web_search` whose
`arguments` string holds `search_result.search_id` and the search's `usage.total_tokens`), the final
chat completion, and error envelopes `{"error": {"message", "type"}}`. The world is the B2B valve
exporter the other parsers' fixtures use (Hengda Valve / 恒达阀门).
"""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ParseError
from citewatch.raw import RawPart, RawResult
from probes.base import Answer
from probes.parsers.kimi import PARSER_VERSION, is_refusal_error, parse, recognizes
from probes.parsers.openai_chat import parse_compatible
from probes.registry import recognizing
from tests.probes.support import load_json, raw_of, span_texts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kimi"

HENGDA_6D = "https://www.hengdavalve.com/products/api-6d-ball-valve"
APEX_BALL = "https://www.apexflow.com/products/ball-valves"
NORTHSTAR_CRYO = "https://northstarvalves.de/en/cryogenic"
API_STANDARDS = "https://www.api.org/products-and-services/standards"
REFUSED = "The request was rejected because it was considered high risk"

load = partial(load_json, FIXTURES)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def legs(*bodies: bytes) -> RawResult:
    """A round trip as the probe returns it: parts response, response-2, ..."""
    names = ["response", *(f"response-{n}" for n in range(2, len(bodies) + 1))]
    return RawResult(tuple(RawPart(name, body) for name, body in zip(names, bodies, strict=True)))


def searched_answer() -> Answer:
    return parse(legs(fixture("hengda_search_leg1.json"), fixture("hengda_search_leg2.json")))


def with_final(**changes: Any) -> RawResult:
    """The two-leg round trip with the final leg's first choice changed."""
    body = load("hengda_search_leg2.json")
    message = body["choices"][0]["message"]
    for key, value in changes.items():
        (body["choices"][0] if key == "finish_reason" else message)[key] = value
    return legs(fixture("hengda_search_leg1.json"), raw_of(body))


# --- module contract -----------------------------------------------------------------------------


def test_parser_version_is_an_int() -> None:
    assert isinstance(PARSER_VERSION, int) and not isinstance(PARSER_VERSION, bool)
    assert PARSER_VERSION == 1


def test_search_legs_carry_moonshots_tool_call() -> None:
    for name in ("hengda_search_leg1.json", "hengda_search_again.json"):
        body = load(name)
        assert {"id", "object", "created", "model", "choices", "usage"} <= body.keys()
        choice = body["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == ""
        (call,) = choice["message"]["tool_calls"]
        assert call["id"].startswith("t-web_search-") and call["type"] == "builtin_function"
        assert call["function"]["name"] == "$web_search"
        arguments = json.loads(call["function"]["arguments"])  # a JSON string, not an object
        assert set(arguments) == {"search_result", "usage"} and set(arguments["usage"]) == {"total_tokens"}
        assert isinstance(arguments["search_result"]["search_id"], str)


# --- a round trip with search ----------------------------------------------------------------------


def test_two_legs_answer_with_the_urls_written_in_the_chinese_prose() -> None:
    answer = searched_answer()
    assert (answer.status, answer.status_reason) == ("ok", None)
    assert answer.text == load("hengda_search_leg2.json")["choices"][0]["message"]["content"]
    assert answer.text.startswith("根据搜索结果，温州生产 API 6D 球阀的主要厂家有：")
    assert [(c.position, c.url, c.origin, c.cited, c.title) for c in answer.citations] == [
        (1, HENGDA_6D, "text", True, None),
        (2, APEX_BALL, "text", True, None),
        (3, NORTHSTAR_CRYO, "text", True, None),
        (4, API_STANDARDS, "text", True, None),
    ]
    # The same page linked twice (once with utm_source) is one source with two spans; CJK punctuation
    # ends a bare URL.
    assert span_texts(answer, answer.citations[0]) == [f"[恒达阀门产品页]({HENGDA_6D})", f"{HENGDA_6D}?utm_source=kimi"]
    assert [span_texts(answer, c) for c in answer.citations[1:]] == [[APEX_BALL], [NORTHSTAR_CRYO], [API_STANDARDS]]
    assert [c.spans for c in answer.citations] == [[(95, 160), (365, 435)], [(205, 250)], [(293, 332)], [(452, 503)]]


def test_tokens_are_summed_over_the_legs_and_the_search_is_a_feature() -> None:
    answer = searched_answer()
    # 186 + 8263 prompt tokens (the second leg's already hold the search's 8015), 1 + 412 completion tokens
    assert (answer.input_tokens, answer.output_tokens) == (8449, 413)
    assert answer.features == ["web_search"]
    assert answer.search_queries == []  # the arguments carry a search_id, no query
    assert answer.model == "moonshot-v1-auto"


def test_the_answer_is_what_kind_openai_compatible_reads_in_the_last_leg() -> None:
    final = parse_compatible(fixture("hengda_search_leg2.json"))
    answer = searched_answer()
    assert (answer.text, answer.citations) == (final.text, final.citations)


def test_kimi_lists_no_sources_so_nothing_is_retrieved_only() -> None:
    assert all(c.cited and c.origin == "text" for c in searched_answer().citations)
    answer = parse(with_final(content="温州的恒达阀门生产 API 6D 固定球阀，NorthStar Valves 以低温球阀见长。"))
    assert (answer.status, answer.citations, answer.features) == ("ok", [], ["web_search"])


def test_model_comes_from_the_last_leg() -> None:
    first = load("hengda_search_leg1.json") | {"model": "moonshot-v1-8k"}
    final = load("hengda_search_leg2.json") | {"model": "moonshot-v1-32k"}
    assert parse(legs(raw_of(first), raw_of(final))).model == "moonshot-v1-32k"
    del final["model"]
    assert parse(legs(raw_of(first), raw_of(final))).model == "moonshot-v1-8k"


def test_a_second_search_before_the_answer() -> None:
    answer = parse(legs(fixture("hengda_search_leg1.json"), fixture("hengda_search_again.json"),
                        fixture("hengda_search_leg2.json")))
    assert answer.status == "ok" and [c.url for c in answer.citations][:1] == [HENGDA_6D]
    assert (answer.input_tokens, answer.output_tokens) == (186 + 8263 + 8263, 1 + 1 + 412)


def test_a_leading_think_block_is_not_the_answer() -> None:
    answer = parse(with_final(content="<think>先看搜索结果。https://example.com/x</think>\n\n恒达阀门：https://www.hengdavalve.com"))
    assert answer.text == "恒达阀门：https://www.hengdavalve.com"
    assert [c.url for c in answer.citations] == ["https://www.hengdavalve.com"]


# --- one body --------------------------------------------------------------------------------------


def test_a_single_leg_answer_without_search() -> None:
    raw = fixture("hengda_no_search.json")
    for answer in (parse(raw), parse(RawResult.single(raw))):
        assert (answer.status, answer.status_reason, answer.features) == ("ok", None, [])
        assert answer.text == ("恒达阀门（Hengda Valve）是浙江温州的阀门制造商，生产 API 6D 固定球阀和浮动球阀，"
                               "官网为 https://www.hengdavalve.com 。NorthStar Valves 则以低温球阀见长。")
        assert [(c.url, c.origin, c.spans) for c in answer.citations] == [
            ("https://www.hengdavalve.com", "text", [(54, 81)])]
        assert (answer.model, answer.input_tokens, answer.output_tokens) == ("moonshot-v1-auto", 24, 58)


# --- refusals and failures ---------------------------------------------------------------------------


def test_the_content_filter_envelope_is_a_refusal() -> None:
    answer = parse(fixture("error_content_filter.json"))
    assert (answer.status, answer.status_reason) == ("no_answer", f"refusal: content_filter: {REFUSED}")
    assert (answer.text, answer.citations, answer.features, answer.model) == ("", [], [], None)
    assert (answer.input_tokens, answer.output_tokens) == (None, None)


def test_the_content_filter_envelope_after_a_search() -> None:
    answer = parse(legs(fixture("hengda_search_leg1.json"), fixture("error_content_filter.json")))
    assert (answer.status, answer.status_reason) == ("no_answer", f"refusal: content_filter: {REFUSED}")
    assert (answer.features, answer.model) == (["web_search"], "moonshot-v1-auto")
    assert (answer.input_tokens, answer.output_tokens) == (186, 1)


def test_finish_reason_content_filter_is_a_refusal() -> None:
    answer = parse(legs(fixture("hengda_search_leg1.json"), fixture("hengda_finish_content_filter.json")))
    assert (answer.status, answer.status_reason, answer.text) == ("no_answer", "refusal: content_filter", "")
    assert (answer.input_tokens, answer.output_tokens) == (186 + 8240, 1 + 0)
    # Cut off by the filter after some text: what was said still counts.
    cut = parse(with_final(finish_reason="content_filter", content="恒达阀门：https://www.hengdavalve.com"))
    assert (cut.status, cut.status_reason) == ("ok", "incomplete: content_filter")
    assert [c.url for c in cut.citations] == ["https://www.hengdavalve.com"]


def test_length_is_an_incomplete_answer() -> None:
    answer = parse(with_final(finish_reason="length"))
    assert (answer.status, answer.status_reason, len(answer.citations)) == ("ok", "incomplete: length", 4)


def test_a_chain_stopped_at_the_bound_is_an_error_never_not_cited() -> None:
    again = fixture("hengda_search_again.json")
    answer = parse(legs(fixture("hengda_search_leg1.json"), again, again, again))
    assert (answer.status, answer.status_reason) == (
        "error", "incomplete: tool_calls (the $web_search round trip was still asking for tools after 4 responses)")
    assert (answer.text, answer.citations, answer.features) == ("", [], ["web_search"])
    assert (answer.input_tokens, answer.output_tokens) == (186 + 3 * 8263, 4)


def test_a_lone_search_leg_is_an_incomplete_answer() -> None:
    answer = parse(fixture("hengda_search_leg1.json"))
    assert (answer.status, answer.status_reason) == (
        "error", "incomplete: tool_calls (the $web_search round trip was still asking for tools after 1 response)")
    assert answer.features == ["web_search"]


@pytest.mark.parametrize(("name", "reason"), [
    ("error_rate_limit.json", "rate_limit_reached_error: Your account org-3c9e2b7d<ak-6a1f3c9e> request reached "
                              "organization max RPM: 3, please try again after 20 seconds"),
    ("error_invalid_authentication.json", "invalid_authentication_error: Invalid Authentication"),
    ("error_server.json", "server_error: The server had an error while processing your request, please retry"),
])
def test_other_error_envelopes_are_failures(name: str, reason: str) -> None:
    answer = parse(fixture(name))
    assert (answer.status, answer.status_reason, answer.text, answer.citations) == ("error", reason, "", [])


# --- odd bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty body"),
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    (b"[1, 2]", "got a JSON list"),
    (b'{"choices": "none"}', "no 'choices' list"),
    (b'{"object": "chat.completion.chunk", "choices": []}', "streaming chunk"),
    (b'{"choices": [42]}', "choices[0] is a JSON int"),
    (b'{"choices": [{"message": "hi", "finish_reason": "stop"}]}', "no 'message' object"),
    (b'{"choices": [{"message": {"content": 42}, "finish_reason": "stop"}]}', "'content' is a JSON int"),
])
def test_garbage_bodies_raise_parse_error(raw: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(raw)


@pytest.mark.parametrize("raw", ["a str", None, 42, ["response"]])
def test_what_is_not_bytes_raises_parse_error(raw: Any) -> None:
    with pytest.raises(ParseError, match="expected the raw result"):
        parse(raw)


def test_a_garbage_part_is_named() -> None:
    with pytest.raises(ParseError, match="part 'response-2': body is not JSON"):
        parse(legs(fixture("hengda_search_leg1.json"), b"<html>oops</html>", fixture("hengda_search_leg2.json")))


def test_a_leg_before_the_last_must_have_asked_for_tools() -> None:
    with pytest.raises(ParseError, match="part 'response' is not a leg that asked for tools"):
        parse(legs(fixture("hengda_no_search.json"), fixture("hengda_search_leg2.json")))
    with pytest.raises(ParseError, match="part 'response' is not a leg"):
        parse(legs(fixture("error_content_filter.json"), fixture("hengda_search_leg2.json")))


def test_no_choices_is_an_error() -> None:
    answer = parse(raw_of({"id": "chatcmpl-1", "object": "chat.completion", "model": "moonshot-v1-auto",
                           "choices": []}))
    assert (answer.status, answer.status_reason) == ("error", "no choices in response")


@pytest.mark.parametrize(("calls", "features"), [
    ("none", []),
    ([42], []),
    ([{"function": None}], []),
    ([{"function": {"name": 7}}], []),
    ([{"type": "builtin_function", "function": {"name": "$web_search", "arguments": {}}}], ["web_search"]),
])
def test_odd_tool_calls_never_crash(calls: Any, features: list[str]) -> None:
    body = load("hengda_search_leg1.json")
    body["choices"][0]["message"]["tool_calls"] = calls
    answer = parse(legs(raw_of(body), fixture("hengda_search_leg2.json")))
    assert (answer.status, len(answer.citations), answer.features) == ("ok", 4, features)


@pytest.mark.parametrize("usage", [None, "8", {"prompt_tokens": True, "completion_tokens": -1},
                                   {"prompt_tokens": 2**40}])
def test_odd_usage_counts_as_unreported(usage: Any) -> None:
    first = load("hengda_search_leg1.json") | {"usage": usage}
    answer = parse(legs(raw_of(first), fixture("hengda_search_leg2.json")))
    assert (answer.input_tokens, answer.output_tokens) == (8263, 412)  # the final leg's alone


# --- recognizing ---------------------------------------------------------------------------------


def test_recognizes_a_web_search_leg_alone_and_a_plain_chat_completion_with_the_compatible_kinds() -> None:
    for name in ("hengda_search_leg1.json", "hengda_search_again.json"):
        assert recognizing(load(name)) == ["kimi"], name
    # a plain chat completion is anybody's: parse without --kind asks, and --kind kimi reads it
    for name in ("hengda_search_leg2.json", "hengda_no_search.json", "hengda_finish_content_filter.json"):
        assert recognizing(load(name)) == ["openai_chat", "openai_compatible", "kimi"], name
    assert not recognizes(load("error_content_filter.json"))
    other_tool = load("hengda_search_leg1.json")
    other_tool["choices"][0]["message"]["tool_calls"][0]["function"]["name"] = "get_weather"
    assert not recognizes(other_tool) or recognizing(other_tool) != ["kimi"]
    for odd in ({}, {"choices": "x"}, {"error": None}):
        assert not recognizes(odd)


@pytest.mark.parametrize(("raw", "refusal"), [
    (fixture("error_content_filter.json"), True),
    (b'{"error": {"type": " content_filter ", "message": ""}}', True),
    (fixture("error_rate_limit.json"), False),
    (fixture("error_invalid_authentication.json"), False),
    (fixture("hengda_finish_content_filter.json"), False),  # a 200 body: read by `parse` as it comes
    (b'{"error": "content_filter"}', False),
    (b"<html>400 Bad Request</html>", False),
    (b"", False),
])
def test_the_refusal_rule(raw: bytes, refusal: bool) -> None:
    assert is_refusal_error(raw) is refusal
