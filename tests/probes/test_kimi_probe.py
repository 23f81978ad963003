"""The Kimi (Moonshot) probe against local servers on 127.0.0.1.

The simulator has no Moonshot wire format yet, so it serves scripted responses (in order, whatever the
path) under a /kimi root and records each request's body; `recording_server` records the headers it
does not keep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ProbeError
from citewatch.raw import RawPart, RawResult
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.kimi import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    INTERNATIONAL_BASE_URL,
    MAX_LEGS,
    KimiProbe,
    part_name,
    search_follow_up,
)
from probes.parsers.kimi import parse
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, body_of, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kimi"
KEY = "sk-moonshot-test-3c9e2b7d6a1f4e58"
PROMPT = "温州有哪些 API 6D 球阀制造商？"
REQUEST = ProbeRequest("球阀 制造商", PROMPT, Locale(country="cn", language="zh", city="Wenzhou"))
SEARCH_TOOL = {"type": "builtin_function", "function": {"name": "$web_search"}}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ok(name: str) -> ScriptedResponse:
    return ScriptedResponse(body=fixture(name))


def error(status: int, name: str, *headers: tuple[str, str]) -> ScriptedResponse:
    return ScriptedResponse(status=status, body=fixture(name),
                            headers=(("Content-Type", "application/json"), *headers))


def assistant_of(name: str) -> dict[str, Any]:
    return json.loads(fixture(name))["choices"][0]["message"]


def arguments_of(name: str) -> str:
    return assistant_of(name)["tool_calls"][0]["function"]["arguments"]


def make_probe(sim: Simulator, timeout: float = 5.0, **settings: Any) -> KimiProbe:
    # `sim.base_url_for("kimi")` needs a registered wire format; scripted responses are served at any path.
    return KimiProbe(ProbeSettings(base_url=f"http://127.0.0.1:{sim.port}/kimi/v1", api_key=KEY, timeout=timeout,
                                   **settings))


async def fetch_once(probe: KimiProbe, request: ProbeRequest = REQUEST) -> RawResult:
    try:
        return await probe.fetch(request)
    finally:
        await probe.aclose()


def engine(retries: int = 2) -> EngineConfig:
    # Kind kimi is not registered yet, so EngineConfig would refuse it: any known kind gives the retry count,
    # the only field `fetch_retrying` reads.
    return EngineConfig(id="kimi", kind="perplexity", retries=retries)


# --- construction and the request --------------------------------------------------------------------


def test_defaults() -> None:
    assert (DEFAULT_BASE_URL, INTERNATIONAL_BASE_URL) == ("https://api.moonshot.cn/v1", "https://api.moonshot.ai/v1")
    assert (DEFAULT_MODEL, MAX_LEGS) == ("moonshot-v1-auto", 4)
    probe = KimiProbe(ProbeSettings())
    assert (probe.model, probe.url) == ("moonshot-v1-auto", "https://api.moonshot.cn/v1/chat/completions")
    assert [part_name(i) for i in range(4)] == ["response", "response-2", "response-3", "response-4"]


@pytest.mark.parametrize(("base_url", "url"), [
    (INTERNATIONAL_BASE_URL, "https://api.moonshot.ai/v1/chat/completions"),
    (INTERNATIONAL_BASE_URL + "/", "https://api.moonshot.ai/v1/chat/completions"),
    ("http://127.0.0.1:8080/gateway/v1", "http://127.0.0.1:8080/gateway/v1/chat/completions"),
])
def test_base_url(base_url: str, url: str) -> None:
    assert KimiProbe(ProbeSettings(base_url=base_url)).url == url


def test_request_body_asks_for_the_builtin_search_and_sends_no_locale() -> None:
    body = KimiProbe(ProbeSettings(model="kimi-k2-turbo-preview")).request_body(REQUEST)
    assert body == {"model": "kimi-k2-turbo-preview", "messages": [{"role": "user", "content": PROMPT}],
                    "tools": [SEARCH_TOOL]}


# --- the round trip ----------------------------------------------------------------------------------


async def test_the_two_leg_round_trip_sends_the_arguments_back_and_keeps_both_legs() -> None:
    leg1, leg2 = fixture("hengda_search_leg1.json"), fixture("hengda_search_leg2.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=leg1), ScriptedResponse(body=leg2))
        raw = await fetch_once(make_probe(sim))
        first, second = sim.requests
    assert first["path"] == second["path"] == "/kimi/v1/chat/completions"
    assert first["body"] == {"model": "moonshot-v1-auto", "messages": [{"role": "user", "content": PROMPT}],
                             "tools": [SEARCH_TOOL]}
    # The same request again, with the assistant's tool call and its echo appended.
    assert {k: v for k, v in second["body"].items() if k != "messages"} == {"model": "moonshot-v1-auto",
                                                                           "tools": [SEARCH_TOOL]}
    assert second["body"]["messages"] == [
        {"role": "user", "content": PROMPT},
        assistant_of("hengda_search_leg1.json"),  # as received
        {"role": "tool", "tool_call_id": "t-web_search-6a1f3c9e2b7d", "name": "$web_search",
         "content": arguments_of("hengda_search_leg1.json")},
    ]
    # The arguments go back as the very string received, not re-serialized.
    assert second["body"]["messages"][2]["content"] == (
        '{"search_result":{"search_id":"d41c8e2a9b7f4c0e8a6d2b1f9e3c7a50"},"usage":{"total_tokens":8015}}')
    assert raw == RawResult((RawPart("response", leg1), RawPart("response-2", leg2)))  # byte for byte, in order
    answer = parse(raw)
    assert (answer.status, answer.features, answer.input_tokens) == ("ok", ["web_search"], 186 + 8263)
    assert [c.url for c in answer.citations][0] == "https://www.hengdavalve.com/products/api-6d-ball-valve"


async def test_an_answer_without_search_is_one_request_and_one_part() -> None:
    with Simulator() as sim:
        sim.enqueue(ok("hengda_no_search.json"))
        raw = await fetch_once(make_probe(sim))
        assert len(sim.requests) == 1
    assert body_of(raw) == fixture("hengda_no_search.json")


async def test_a_second_search_is_answered_with_the_whole_conversation() -> None:
    with Simulator() as sim:
        sim.enqueue(ok("hengda_search_leg1.json"), ok("hengda_search_again.json"), ok("hengda_search_leg2.json"))
        raw = await fetch_once(make_probe(sim))
        third = sim.requests[2]["body"]["messages"]
    assert [part.name for part in raw.parts] == ["response", "response-2", "response-3"]
    assert [m["role"] for m in third] == ["user", "assistant", "tool", "assistant", "tool"]
    assert [m["tool_call_id"] for m in third if m["role"] == "tool"] == [
        "t-web_search-6a1f3c9e2b7d", "t-web_search-6a1f3ca47c2e"]
    assert third[4]["content"] == arguments_of("hengda_search_again.json")
    assert parse(raw).status == "ok"


async def test_every_call_of_a_leg_gets_its_echo_in_order() -> None:
    leg = json.loads(fixture("hengda_search_leg1.json"))
    call = leg["choices"][0]["message"]["tool_calls"][0]
    twin = {**call, "id": "t-web_search-twin", "function": {**call["function"], "arguments": '{"search_result":{}}'}}
    leg["choices"][0]["message"]["tool_calls"].append(twin)
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=json.dumps(leg).encode()), ok("hengda_search_leg2.json"))
        await fetch_once(make_probe(sim))
        messages = sim.requests[1]["body"]["messages"]
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": call["id"], "name": "$web_search", "content": call["function"]["arguments"]},
        {"role": "tool", "tool_call_id": "t-web_search-twin", "name": "$web_search", "content": '{"search_result":{}}'},
    ]


async def test_the_bound_stops_a_service_that_always_asks_for_tools() -> None:
    with Simulator() as sim:
        sim.enqueue(*[ok("hengda_search_leg1.json")] * (MAX_LEGS + 1))
        raw = await fetch_once(make_probe(sim))
        requests, left = sim.requests, len(sim.script)
    assert len(requests) == MAX_LEGS and left == 1
    # Each request carries everything so far: the user turn, then one assistant turn and one echo per leg.
    assert [len(r["body"]["messages"]) for r in requests] == [1, 3, 5, 7]
    assert [part.name for part in raw.parts] == ["response", "response-2", "response-3", "response-4"]
    answer = parse(raw)
    assert (answer.status, answer.status_reason) == (
        "error", "incomplete: tool_calls (the $web_search round trip was still asking for tools after 4 responses)")


async def test_a_call_to_another_tool_ends_the_round_trip() -> None:
    leg = json.loads(fixture("hengda_search_leg1.json"))
    leg["choices"][0]["message"]["tool_calls"][0]["function"]["name"] = "get_weather"
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=json.dumps(leg).encode()), ok("hengda_search_leg2.json"))
        raw = await fetch_once(make_probe(sim))
        assert len(sim.requests) == 1  # nothing it can answer: the parser reports the open round trip
    assert parse(raw).status == "error"


@pytest.mark.parametrize("raw", [
    b"<html>502</html>", b"[]", b'{"choices": [{"finish_reason": "tool_calls"}]}',
    b'{"choices": [{"finish_reason": "tool_calls", "message": {"tool_calls": []}}]}',
    # a $web_search call without the id and arguments its echo needs
    b'{"choices": [{"finish_reason": "tool_calls", "message": {"tool_calls": [{"function": {"name": "$web_search"}}]}}'
    b']}',
    b'{"choices": [{"finish_reason": "stop", "message": {"content": "hi"}}]}',
])
def test_odd_legs_end_the_round_trip(raw: bytes) -> None:
    assert search_follow_up(raw) is None


# --- headers -----------------------------------------------------------------------------------------


async def test_the_key_goes_in_a_bearer_header_only() -> None:
    with recording_server(200, fixture("hengda_no_search.json"), "/v1") as (url, seen):
        await fetch_once(KimiProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5)))
    (request,) = seen
    headers, body = request["headers"], request["body"].decode("utf-8")
    assert request["path"] == "/v1/chat/completions"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json" and headers["accept"] == "application/json"
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
    assert KEY not in request["path"] and KEY not in body
    assert json.loads(body)["tools"] == [SEARCH_TOOL]


async def test_no_key_sends_no_authorization_header() -> None:
    with recording_server(200, fixture("hengda_no_search.json")) as (url, seen):
        await fetch_once(KimiProbe(ProbeSettings(base_url=url, timeout=5)))
    assert "authorization" not in seen[0]["headers"]


# --- failures and the shared retry policy --------------------------------------------------------------


async def test_429_with_retry_after_then_success() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(error(429, "error_rate_limit.json", ("Retry-After", "7")), ok("hengda_no_search.json"))
        raw = body_of(await fetch_retrying(make_probe(sim), REQUEST, engine(), sleep))
        assert len(sim.requests) == 2 and sim.requests[0]["body"] == sim.requests[1]["body"]
    assert raw == fixture("hengda_no_search.json")
    assert sleep.waits == [7.0]


async def test_a_429_on_the_second_leg_starts_the_round_trip_again() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ok("hengda_search_leg1.json"), error(429, "error_rate_limit.json", ("Retry-After", "3")),
                    ok("hengda_search_leg1.json"), ok("hengda_search_leg2.json"))
        raw = await fetch_retrying(make_probe(sim), REQUEST, engine(), sleep)
        bodies = [r["body"] for r in sim.requests]
    assert len(bodies) == 4 and bodies[2] == bodies[0] and bodies[3] == bodies[1]
    assert [part.name for part in raw.parts] == ["response", "response-2"]
    assert sleep.waits == [3.0] and parse(raw).status == "ok"


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[error(500, "error_server.json")] * 3)
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(make_probe(sim), REQUEST, engine(retries=2), sleep)
        assert len(sim.requests) == 3  # retries + 1
    assert caught.value.reason == ("HTTP 500: The server had an error while processing your request, please retry "
                                   "(server_error) (after 3 attempts)")
    assert caught.value.retryable and len(sleep.waits) == 2
    assert KEY not in caught.value.reason


async def test_a_failed_later_leg_says_which_request_it_was() -> None:
    with Simulator() as sim:
        sim.enqueue(ok("hengda_search_leg1.json"), error(500, "error_server.json"))
        with pytest.raises(ProbeError) as caught:
            await fetch_once(make_probe(sim))
    assert caught.value.reason.startswith("HTTP 500: ")
    assert caught.value.reason.endswith("(continuing the $web_search round trip, request 2)")
    assert caught.value.retryable


async def test_invalid_key_is_not_retried() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(error(401, "error_invalid_authentication.json"))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(make_probe(sim), REQUEST, engine(), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == "HTTP 401: Invalid Authentication (invalid_authentication_error)"
    assert not caught.value.retryable and sleep.waits == []


async def test_a_key_echoed_in_an_error_is_masked() -> None:
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}", "type": "incorrect_api_key_error"}})
    with recording_server(401, echo.encode()) as (url, _):
        with pytest.raises(ProbeError) as caught:
            await fetch_once(KimiProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5)))
    assert caught.value.reason.startswith("HTTP 401: Incorrect API key provided: ")
    assert KEY not in caught.value.reason


async def test_the_content_filter_400_after_a_search_is_the_last_part_and_a_refusal() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ok("hengda_search_leg1.json"), error(400, "error_content_filter.json"))
        raw = await fetch_retrying(make_probe(sim), REQUEST, engine(), sleep)
        assert len(sim.requests) == 2  # handed on, not retried
    assert raw == RawResult((RawPart("response", fixture("hengda_search_leg1.json")),
                             RawPart("response-2", fixture("error_content_filter.json"))))
    answer = parse(raw)
    assert (answer.status, answer.status_reason, answer.features) == (
        "no_answer", "refusal: content_filter: The request was rejected because it was considered high risk",
        ["web_search"])
    assert sleep.waits == []


async def test_the_content_filter_400_on_the_first_request() -> None:
    with Simulator() as sim:
        sim.enqueue(error(400, "error_content_filter.json"))
        raw = body_of(await fetch_once(make_probe(sim)))
    assert raw == fixture("error_content_filter.json") and parse(raw).status == "no_answer"


async def test_a_filter_body_on_a_5xx_is_still_a_failure() -> None:
    with Simulator() as sim:
        sim.enqueue(error(500, "error_content_filter.json"))
        with pytest.raises(ProbeError) as caught:
            await fetch_once(make_probe(sim))
    assert caught.value.retryable and caught.value.reason.startswith("HTTP 500: The request was rejected")


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture("hengda_no_search.json"), delay=1.5))
        with pytest.raises(ProbeError) as caught:
            await fetch_once(make_probe(sim, timeout=0.3))
    assert "timeout" in caught.value.reason and caught.value.retryable
    assert KEY not in caught.value.reason


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = KimiProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout=2))
    with pytest.raises(ProbeError) as caught:
        await fetch_once(probe)
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable
