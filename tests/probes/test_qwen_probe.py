"""The Qwen (DashScope native) probe against local servers on 127.0.0.1.

The simulator has no DashScope wire format yet, so it serves scripted responses under a /qwen root, and
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
from probes.base import Locale, ProbeRequest, ProbeSettings, SearchOptions
from probes.parsers.qwen import is_refusal_error, parse
from probes.qwen import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    INTERNATIONAL_BASE_URL,
    MULTIMODAL_PATH,
    TEXT_PATH,
    QwenProbe,
    endpoint_url,
    uses_multimodal_endpoint,
)
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, body_of, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qwen"
KEY = "sk-qwen-test-5c1d8e2f9a7b4036"
PROMPT = "温州有哪些API 6D球阀制造商？"
REQUEST = ProbeRequest("球阀 制造商", PROMPT, Locale(country="cn", language="zh", city="Wenzhou", region="Zhejiang"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def root_url(sim: Simulator) -> str:
    # `sim.base_url_for("qwen")` needs a registered wire format; scripted responses are served at any path.
    return f"http://127.0.0.1:{sim.port}/qwen"


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="q", kind="qwen", retries=retries)


def search_options(forced_search: bool = True, search_strategy: str = "turbo") -> dict[str, Any]:
    return {"enable_source": True, "enable_citation": True, "citation_format": "[ref_<number>]",
            "forced_search": forced_search, "search_strategy": search_strategy}


async def fetch_once(probe: QwenProbe, request: ProbeRequest = REQUEST) -> bytes:
    try:
        return body_of(await probe.fetch(request))
    finally:
        await probe.aclose()


@pytest.fixture
def header_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with recording_server(200, fixture_bytes("hengda_ref_markers.json")) as server:
        yield server


# --- construction ----------------------------------------------------------------------------


def test_defaults() -> None:
    probe = QwenProbe(ProbeSettings())
    assert (probe.model, probe.forced_search, probe.search_strategy, probe.multimodal) == (
        "qwen-plus", True, "turbo", False)
    assert probe.url == "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
    assert (DEFAULT_BASE_URL, INTERNATIONAL_BASE_URL, DEFAULT_MODEL) == (
        "https://dashscope.aliyuncs.com", "https://dashscope-intl.aliyuncs.com", "qwen-plus")
    assert (TEXT_PATH, MULTIMODAL_PATH) == ("/api/v1/services/aigc/text-generation/generation",
                                            "/api/v1/services/aigc/multimodal-generation/generation")


def test_the_engine_config_accepts_the_kind() -> None:
    config = EngineConfig(id="q", kind="qwen", model="qwen-max", base_url=INTERNATIONAL_BASE_URL)
    assert (config.kind, config.model, config.base_url) == ("qwen", "qwen-max", INTERNATIONAL_BASE_URL)


@pytest.mark.parametrize(("base_url", "url"), [
    (None, DEFAULT_BASE_URL + TEXT_PATH),
    (INTERNATIONAL_BASE_URL, INTERNATIONAL_BASE_URL + TEXT_PATH),
    (INTERNATIONAL_BASE_URL + "/", INTERNATIONAL_BASE_URL + TEXT_PATH),
    (INTERNATIONAL_BASE_URL + "/api/v1", INTERNATIONAL_BASE_URL + TEXT_PATH),  # as the SDKs write it
    (INTERNATIONAL_BASE_URL + "/api/v1/", INTERNATIONAL_BASE_URL + TEXT_PATH),
    ("http://127.0.0.1:8080/gateway", "http://127.0.0.1:8080/gateway" + TEXT_PATH),
])
def test_endpoint_url(base_url: str | None, url: str) -> None:
    assert endpoint_url(base_url, multimodal=False) == url
    assert QwenProbe(ProbeSettings(base_url=base_url)).url == url


@pytest.mark.parametrize("model", ["qwen-vl-max", "qwen-vl-plus-latest", "qwen2.5-vl-72b-instruct", "qwen3-vl-plus",
                                   "qvq-max", "qwen-omni-turbo", "qwen3-omni-flash", "qwen3.5-plus", "qwen3.5-flash",
                                   "qwen3.6-plus", "qwen4-max", " Qwen3-VL-Plus "])
def test_multimodal_models(model: str) -> None:
    assert uses_multimodal_endpoint(model)


@pytest.mark.parametrize("model", ["qwen-plus", "qwen-max", "qwen-turbo", "qwen-flash", "qwen3-max",
                                   "qwen3-coder-plus", "qwq-plus", "qwen2.5-72b-instruct", "qwen3-235b-a22b",
                                   "qwen-plus-latest", "deepseek-v3"])
def test_text_models(model: str) -> None:
    assert not uses_multimodal_endpoint(model)


def test_the_model_name_alone_picks_the_endpoint() -> None:
    assert QwenProbe(ProbeSettings(model="qwen-plus")).url.endswith(TEXT_PATH)
    assert QwenProbe(ProbeSettings(model="qwen3-vl-plus")).url.endswith(MULTIMODAL_PATH)


@pytest.mark.parametrize(("search", "forced", "strategy"), [
    (SearchOptions(), True, "turbo"),  # nothing set: the kind's defaults
    (SearchOptions(forced=False), False, "turbo"),
    (SearchOptions(strategy="max"), True, "max"),
    (SearchOptions(forced=True, strategy=" agent "), True, "agent"),
    (SearchOptions(engine="search_pro"), True, "turbo"),  # glm's option: not read here
])
def test_search_options_come_from_the_settings(search: SearchOptions, forced: bool, strategy: str) -> None:
    probe = QwenProbe(ProbeSettings(search=search))
    assert (probe.forced_search, probe.search_strategy) == (forced, strategy)
    assert probe.request_body(REQUEST)["parameters"]["search_options"] == search_options(forced, strategy)


@pytest.mark.parametrize(("search", "message"), [
    (SearchOptions(forced="yes"), "search.forced must be true or false"),  # type: ignore[arg-type]
    (SearchOptions(strategy=""), "search.strategy must be a name"),
    (SearchOptions(strategy="  "), "search.strategy must be a name"),
])
def test_bad_search_settings_are_refused(search: SearchOptions, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QwenProbe(ProbeSettings(search=search))


# --- the request ------------------------------------------------------------------------------


async def test_success_returns_the_body_as_sent_and_sends_the_text_request() -> None:
    raw = fixture_bytes("hengda_ref_markers.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(QwenProbe(ProbeSettings(base_url=root_url(sim) + "/", api_key=KEY, timeout=5)))
        request = sim.requests[-1]
    assert got == raw  # byte for byte
    assert request["path"] == "/qwen/api/v1/services/aigc/text-generation/generation"
    # The locale is not a DashScope field: nothing of it is sent.
    assert request["body"] == {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": PROMPT}]},
        "parameters": {"result_format": "message", "enable_search": True, "search_options": search_options()},
    }
    assert parse(got).citations[0].url == "https://www.hengdavalve.com/zh/products/api-6d-ball-valve"


async def test_multimodal_request_sends_content_parts_to_the_multimodal_endpoint() -> None:
    raw = fixture_bytes("hengda_multimodal_parts.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = QwenProbe(ProbeSettings(model="qwen3-vl-plus", base_url=root_url(sim), api_key=KEY, timeout=5,
                                        search=SearchOptions(forced=False, strategy="max")))
        got = await fetch_once(probe)
        request = sim.requests[-1]
    assert got == raw
    assert request["path"] == "/qwen/api/v1/services/aigc/multimodal-generation/generation"
    assert request["body"] == {
        "model": "qwen3-vl-plus",
        "input": {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]},
        "parameters": {"result_format": "message", "enable_search": True,
                       "search_options": search_options(forced_search=False, search_strategy="max")},
    }
    assert probe.request_body(REQUEST) == request["body"]


async def test_api_key_goes_in_a_bearer_header_only(header_server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = header_server
    await fetch_once(QwenProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5)))
    (request,) = seen
    headers, body = request["headers"], request["body"].decode("utf-8")
    assert request["path"] == TEXT_PATH
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json" and headers["accept"] == "application/json"
    assert "x-dashscope-sse" not in headers  # no stream: the parser reads whole bodies
    assert KEY not in request["path"] and KEY not in body
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
    assert json.loads(body)["model"] == "qwen-plus"


async def test_no_key_sends_no_authorization_header(header_server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = header_server
    await fetch_once(QwenProbe(ProbeSettings(base_url=url, timeout=5)))
    assert "authorization" not in seen[0]["headers"]


# --- failures -----------------------------------------------------------------------------------


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture_bytes("hengda_ref_markers.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(
            ScriptedResponse(status=429, body=fixture_bytes("error_throttling.json"),
                             headers=(("Content-Type", "application/json"), ("Retry-After", "7"))),
            ScriptedResponse(body=raw),
        )
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, REQUEST, engine(), sleep))
        assert len(sim.requests) == 2
        assert sim.requests[0]["body"] == sim.requests[1]["body"]  # the same request again
    assert got == raw
    assert sleep.waits == [7.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=fixture_bytes("error_internal.json"))] * 3)
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(retries=2), sleep)
        assert len(sim.requests) == 3  # retries + 1
    error = caught.value
    assert error.reason == ("HTTP 500: An internal error has occured, please try again later or contact service "
                            "support. (InternalError) (after 3 attempts)")
    assert error.retryable and len(sleep.waits) == 2
    assert KEY not in error.reason


async def test_invalid_key_is_not_retried_and_does_not_leak_the_key() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=fixture_bytes("error_invalid_api_key.json")))
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == "HTTP 401: Invalid API-key provided. (InvalidApiKey)"
    assert not caught.value.retryable and sleep.waits == []


async def test_content_filter_400_is_the_engines_refusal_not_a_failed_call() -> None:
    """The filter's HTTP 400 body is handed on as the payload, once, and the parser reads the refusal in it."""
    raw = fixture_bytes("error_data_inspection_400.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=400, body=raw, headers=(("Content-Type", "application/json"),)))
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, REQUEST, engine(), sleep))
        assert len(sim.requests) == 1
    assert got == raw and sleep.waits == []  # byte for byte, not retried
    answer = parse(got)
    assert (answer.status, answer.status_reason) == (
        "no_answer", "refusal: DataInspectionFailed: Input data may contain inappropriate content.")
    assert answer.citations == []


async def test_other_400_is_a_final_error() -> None:
    body = (b'{"request_id": "4b1c9e2a-7d3f-9c1e-a5b8-2f6d0e8c7a91", "code": "InvalidParameter", '
            b'"message": "Range of input length should be [1, 30720]"}')
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=400, body=body)] * 3)
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == "HTTP 400: Range of input length should be [1, 30720] (InvalidParameter)"
    assert not caught.value.retryable and sleep.waits == []
    assert KEY not in caught.value.reason


async def test_a_filter_body_on_a_5xx_is_still_a_failure() -> None:
    """Only a 4xx can be the engine's answer: a 5xx is retried, whatever its body says."""
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=fixture_bytes("error_data_inspection_400.json"))] * 2)
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(retries=1), sleep)
        assert len(sim.requests) == 2
    assert caught.value.reason.startswith("HTTP 500: Input data may contain inappropriate content.")
    assert caught.value.retryable


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("hengda_no_search.json"), delay=1.5))
        probe = QwenProbe(ProbeSettings(base_url=root_url(sim), api_key=KEY, timeout=0.3))
        with pytest.raises(ProbeError) as caught:
            await fetch_once(probe)
    assert "timeout" in caught.value.reason and caught.value.retryable
    assert KEY not in caught.value.reason


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = QwenProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=2))
    with pytest.raises(ProbeError) as caught:
        await fetch_once(probe)
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


@pytest.mark.parametrize(("body", "refusal"), [
    (fixture_bytes("error_data_inspection_400.json"), True),
    (b'{"code": "data_inspection_failed", "message": "Output data may contain inappropriate content."}', True),
    (b'{"code": "InvalidParameter", "message": "bad"}', False),
    (fixture_bytes("error_invalid_api_key.json"), False),
    (b'{"code": "DataInspectionFailed", "output": "garbage"}', False),  # not a body `parse` reads as a refusal
    (b"<html>400 Bad Request</html>", False),
    (b"", False),
])
def test_the_refusal_rule_is_the_parsers(body: bytes, refusal: bool) -> None:
    assert is_refusal_error(body) is refusal
