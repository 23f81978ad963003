"""The Doubao (Volcengine Ark Responses API) probe against local servers on 127.0.0.1.

The simulator has no Ark wire format, so it serves scripted responses under a /doubao root, and
`recording_server` records the headers it does not keep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.doubao import DEFAULT_BASE_URL, DEFAULT_MODEL, PATH, DoubaoProbe, endpoint_url, user_location
from probes.parsers.doubao import is_refusal_error, parse
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, body_of, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doubao"
KEY = "ark-4b7e1c9a-2d5f-4e83-9a61-0c3b8d7f5e24"
PROMPT = "温州有哪些API 6D球阀制造商？"
LOCALE = Locale(country="cn", language="zh", city="温州", region="浙江")
REQUEST = ProbeRequest("球阀 制造商", PROMPT, LOCALE)
NO_LOCALE = ProbeRequest("球阀 制造商", PROMPT)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def root_url(sim: Simulator) -> str:
    # `sim.base_url_for("doubao")` needs a registered wire format; scripted responses are served at any path.
    return f"http://127.0.0.1:{sim.port}/doubao"


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="db", kind="doubao", retries=retries)


def expected_body(location: dict[str, str] | None = None, model: str = DEFAULT_MODEL) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "web_search", "limit": 10}
    if location is not None:
        tool["user_location"] = {"type": "approximate", **location}
    return {"model": model, "input": [{"role": "user", "content": PROMPT}], "tools": [tool]}


async def fetch_once(probe: DoubaoProbe, request: ProbeRequest = REQUEST) -> bytes:
    try:
        return body_of(await probe.fetch(request))
    finally:
        await probe.aclose()


@pytest.fixture
def header_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with recording_server(200, fixture_bytes("hengda_web_search.json")) as server:
        yield server


# --- construction ------------------------------------------------------------------------------------


def test_defaults() -> None:
    probe = DoubaoProbe(ProbeSettings())
    assert probe.model == "doubao-seed-1-6-250615"
    assert probe.url == "https://ark.cn-beijing.volces.com/api/v3/responses"
    assert (DEFAULT_BASE_URL, DEFAULT_MODEL, PATH) == (
        "https://ark.cn-beijing.volces.com", "doubao-seed-1-6-250615", "/api/v3/responses")


def test_the_engine_config_accepts_the_kind() -> None:
    config = EngineConfig(id="db", kind="doubao", model="doubao-seed-1-6-251015", api_key_env="ARK_API_KEY")
    assert (config.kind, config.model, config.api_key_env) == ("doubao", "doubao-seed-1-6-251015", "ARK_API_KEY")


@pytest.mark.parametrize(("base_url", "url"), [
    (None, DEFAULT_BASE_URL + PATH),
    (DEFAULT_BASE_URL + "/", DEFAULT_BASE_URL + PATH),
    (DEFAULT_BASE_URL + "/api/v3", DEFAULT_BASE_URL + PATH),  # as the SDKs write it
    (DEFAULT_BASE_URL + "/api/v3/", DEFAULT_BASE_URL + PATH),
    ("http://127.0.0.1:8080/gateway", "http://127.0.0.1:8080/gateway" + PATH),
])
def test_endpoint_url(base_url: str | None, url: str) -> None:
    assert endpoint_url(base_url) == url
    assert DoubaoProbe(ProbeSettings(base_url=base_url)).url == url


@pytest.mark.parametrize(("locale", "location"), [
    (LOCALE, {"type": "approximate", "country": "中国", "city": "温州", "region": "浙江"}),
    (Locale(country="CN"), {"type": "approximate", "country": "中国"}),
    (Locale(country="sg", language="en", city="Singapore"), {"type": "approximate", "country": "SG",
                                                             "city": "Singapore"}),
    (Locale(city="杭州"), {"type": "approximate", "city": "杭州"}),
    (Locale(region="浙江", language="zh"), {"type": "approximate", "region": "浙江"}),
    (Locale(language="zh"), None),  # a language alone is no place: Ark refuses a location that is only a type
    (Locale(), None),
])
def test_user_location_sends_only_what_the_locale_has(locale: Locale, location: dict[str, str] | None) -> None:
    assert user_location(locale) == location


def test_request_body_with_and_without_a_locale() -> None:
    probe = DoubaoProbe(ProbeSettings(model="ep-20260701123456-abcde"))
    assert probe.request_body(REQUEST) == expected_body({"country": "中国", "city": "温州", "region": "浙江"},
                                                        model="ep-20260701123456-abcde")
    assert probe.request_body(NO_LOCALE) == expected_body(model="ep-20260701123456-abcde")


# --- the request --------------------------------------------------------------------------------------


async def test_success_returns_the_body_as_sent_and_sends_the_request() -> None:
    raw = fixture_bytes("hengda_web_search.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(DoubaoProbe(ProbeSettings(base_url=root_url(sim) + "/", api_key=KEY, timeout=5)))
        request = sim.requests[-1]
    assert got == raw  # byte for byte
    assert request["path"] == "/doubao/api/v3/responses"
    assert request["body"] == expected_body({"country": "中国", "city": "温州", "region": "浙江"})
    assert parse(got).citations[0].url == "https://www.hengdavalve.com/zh/products/api-6d-ball-valve"


async def test_without_a_locale_no_user_location_is_sent() -> None:
    raw = fixture_bytes("hengda_no_search.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(DoubaoProbe(ProbeSettings(base_url=root_url(sim) + "/api/v3", api_key=KEY,
                                                         timeout=5)), NO_LOCALE)
        request = sim.requests[-1]
    assert got == raw
    assert request["path"] == "/doubao/api/v3/responses"
    assert request["body"] == expected_body()


async def test_api_key_goes_in_a_bearer_header_only(header_server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = header_server
    await fetch_once(DoubaoProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5)))
    (request,) = seen
    headers, body = request["headers"], request["body"].decode("utf-8")
    assert request["path"] == PATH
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json" and headers["accept"] == "application/json"
    assert KEY not in request["path"] and KEY not in body
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
    assert json.loads(body)["model"] == DEFAULT_MODEL and "stream" not in json.loads(body)


async def test_no_key_sends_no_authorization_header(header_server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = header_server
    await fetch_once(DoubaoProbe(ProbeSettings(base_url=url, timeout=5)))
    assert "authorization" not in seen[0]["headers"]


# --- failures -----------------------------------------------------------------------------------------


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture_bytes("hengda_web_search.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(
            ScriptedResponse(status=429, body=fixture_bytes("error_rate_limit_429.json"),
                             headers=(("Content-Type", "application/json"), ("Retry-After", "7"))),
            ScriptedResponse(body=raw),
        )
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, REQUEST, engine(), sleep))
        assert len(sim.requests) == 2
        assert sim.requests[0]["body"] == sim.requests[1]["body"]  # the same request again
    assert got == raw
    assert sleep.waits == [7.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=fixture_bytes("error_internal_500.json"))] * 3)
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(retries=2), sleep)
        assert len(sim.requests) == 3  # retries + 1
    error = caught.value
    assert error.reason == ("HTTP 500: The service encountered an unexpected internal error. Request id: "
                            "021785110480f5a6b7c8d9e0f1a2b3c4 (InternalServiceError) (after 3 attempts)")
    assert error.retryable and len(sleep.waits) == 2
    assert KEY not in error.reason


async def test_invalid_key_is_not_retried_and_does_not_leak_the_key() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=fixture_bytes("error_authentication_401.json")))
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == ("HTTP 401: The API key or AK/SK in the request is missing or invalid. Request id: "
                                   "0217851104a0b7c8d9e0f1a2b3c4d5e6 (Unauthorized)")
    assert not caught.value.retryable and sleep.waits == []


async def test_content_filter_400_is_the_engines_refusal_not_a_failed_call() -> None:
    """The filter's HTTP 400 body is handed on as the payload, once, and the parser reads the refusal in it."""
    raw = fixture_bytes("error_sensitive_400.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=400, body=raw, headers=(("Content-Type", "application/json"),)))
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, REQUEST, engine(), sleep))
        assert len(sim.requests) == 1
    assert got == raw and sleep.waits == []  # byte for byte, not retried
    answer = parse(got)
    assert (answer.status, answer.status_reason) == (
        "no_answer", "refusal: InputTextSensitiveContentDetected: The request failed because the input text may "
                     "contain sensitive information.")
    assert answer.citations == []


async def test_other_400_is_a_final_error() -> None:
    body = (b'{"error": {"code": "InvalidParameter", "message": "One or more parameters specified in the request '
            b'are not valid. Request id: 0217851104b0", "param": "tools.limit", "type": "BadRequest"}}')
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=400, body=body)] * 3)
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == ("HTTP 400: One or more parameters specified in the request are not valid. "
                                   "Request id: 0217851104b0 (BadRequest)")
    assert not caught.value.retryable and sleep.waits == []


async def test_a_filter_body_on_a_5xx_is_still_a_failure() -> None:
    """Only a 4xx can be the engine's answer: a 5xx is retried, whatever its body says."""
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=fixture_bytes("error_sensitive_400.json"))] * 2)
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(retries=1), sleep)
        assert len(sim.requests) == 2
    assert caught.value.reason.startswith("HTTP 500: The request failed because the input text may contain")
    assert caught.value.retryable


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("hengda_no_search.json"), delay=1.5))
        probe = DoubaoProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=0.3))
        with pytest.raises(ProbeError) as caught:
            await fetch_once(probe)
    assert "timeout" in caught.value.reason and caught.value.retryable
    assert KEY not in caught.value.reason


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = DoubaoProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=2))
    with pytest.raises(ProbeError) as caught:
        await fetch_once(probe)
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


@pytest.mark.parametrize(("body", "refusal"), [
    (fixture_bytes("error_sensitive_400.json"), True),
    (b'{"error": {"code": "SensitiveContentDetected", "message": "The request failed because the input text may '
     b'contain sensitive information.", "param": "", "type": "BadRequest"}}', True),
    (b'{"error": {"code": "SensitiveContentDetected.SevereViolation", "message": "m", "type": "BadRequest"}}', True),
    (b'{"error": {"code": "OutputTextRiskDetection", "message": "m", "type": "BadRequest"}}', True),
    (fixture_bytes("hengda_filter_200.json"), True),  # a failed response carrying the filter's code
    (b'{"error": {"code": "InvalidParameter", "message": "bad", "type": "BadRequest"}}', False),
    (fixture_bytes("error_authentication_401.json"), False),
    (b'{"error": {"code": "SensitiveContentDetectedX", "message": "m"}}', False),
    (b'{"object": "chat.completion", "error": {"code": "SensitiveContentDetected"}}', False),  # `parse` refuses it
    (b'{"error": "SensitiveContentDetected"}', False),
    (b"<html>400 Bad Request</html>", False),
    (b"", False),
])
def test_the_refusal_rule_is_the_parsers(body: bytes, refusal: bool) -> None:
    assert is_refusal_error(body) is refusal
    if refusal:
        assert parse(body).status == "no_answer"
