"""The ERNIE (Qianfan AI Search) probe against local servers on 127.0.0.1.

The simulator has no `ernie` wire format yet, so its scripted responses are
served at its root (a script answers whatever the path) and base_url points at
http://127.0.0.1:PORT/v2, as the real one is https://qianfan.baidubce.com/v2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.ernie import DEFAULT_BASE_URL, DEFAULT_MODEL, ErnieProbe
from probes.parsers.ernie import is_refusal_error, parse
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, body_of, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ernie"
KEY = "bce-v3/ALTAK-t3stK3y9x2/5f0c8e1d7a6b4c2e9d3f1a0b8c7e6d5f"
PROMPT = "恒达阀门 API 6D 球阀 出口认证？"
PATH = "/v2/ai_search/chat/completions"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def base_url(sim: Simulator) -> str:
    return f"http://127.0.0.1:{sim.port}/v2"


def engine(retries: int = 2) -> EngineConfig:
    # Config refuses kind "ernie" until probes/registry.py lists it; only `retries` is read here.
    return EngineConfig(id="ernie", kind="perplexity", retries=retries)


def expected_body(prompt: str = PROMPT, model: str = DEFAULT_MODEL) -> dict:
    return {"messages": [{"role": "user", "content": prompt}], "model": model,
            "search_source": "baidu_search_v2", "enable_corner_markers": True, "stream": False}


@pytest.fixture
def header_server() -> Iterator[tuple[str, list[dict]]]:
    with recording_server(200, fixture_bytes("hengda_corner_markers.json"), suffix="/v2") as server:
        yield server


# --- the probe ------------------------------------------------------------------------------------


def test_defaults() -> None:
    probe = ErnieProbe(ProbeSettings())
    assert (probe.model, probe.url) == ("ernie-4.5-turbo-32k",
                                        "https://qianfan.baidubce.com/v2/ai_search/chat/completions")
    assert (DEFAULT_BASE_URL, DEFAULT_MODEL) == ("https://qianfan.baidubce.com/v2", "ernie-4.5-turbo-32k")


def test_request_body_takes_no_locale() -> None:
    probe = ErnieProbe(ProbeSettings(model="deepseek-v3.2"))
    request = ProbeRequest("球阀", "球阀 制造商", Locale(country="cn", language="zh", city="Wenzhou"))
    assert probe.request_body(request) == expected_body("球阀 制造商", "deepseek-v3.2")


async def test_success_returns_the_body_as_sent_and_sends_path_and_body() -> None:
    raw = fixture_bytes("hengda_corner_markers.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim) + "/", api_key=KEY, timeout=5))
        try:
            got = await probe.fetch(ProbeRequest("球阀 制造商", PROMPT, Locale(country="cn", language="zh")))
        finally:
            await probe.aclose()
        (request,) = sim.requests
    assert body_of(got) == raw  # byte for byte
    assert request == {"path": PATH, "body": expected_body()}
    assert parse(got).citations[0].url == "https://www.hengdavalve.com/zh/about"


async def test_api_key_goes_in_a_bearer_header_only(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = ErnieProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5))
    try:
        await probe.fetch(ProbeRequest("球阀", PROMPT))
    finally:
        await probe.aclose()
    (request,) = seen
    headers, sent = request["headers"], request["body"]
    assert request["path"] == PATH
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert KEY not in request["path"] and KEY.encode() not in sent
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
    assert json.loads(sent) == expected_body()


async def test_no_key_sends_no_authorization_header(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = ErnieProbe(ProbeSettings(base_url=url, timeout=5))
    try:
        body_of(await probe.fetch(ProbeRequest("球阀", PROMPT)))
    finally:
        await probe.aclose()
    assert "authorization" not in seen[0]["headers"]


async def test_an_error_sent_with_http_200_comes_back_as_sent() -> None:
    raw = fixture_bytes("error_rate_limit_http200.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        try:
            got = await probe.fetch(ProbeRequest("k", PROMPT))
        finally:
            await probe.aclose()
    assert body_of(got) == raw
    answer = parse(got)  # the parser, not the probe, reads Baidu's verdict
    assert (answer.status, answer.status_reason) == ("error", "RATE_LIMIT_SEARCH_QPS: AI Search QPS limit exceeded")


@pytest.mark.parametrize(("body", "reason"), [
    (fixture_bytes("error_unsafe_request.json"),
     "refusal: query_unsafe (unsafe_request): the content of the query is unsafe"),
    # AppBuilder's shape with a code that says sensitive (the code itself is made up: the parser reads the word)
    ('{"requestId": "r-400", "code": "SENSITIVE_CONTENT", "message": "输入内容包含敏感信息"}'.encode(),
     "refusal: SENSITIVE_CONTENT: 输入内容包含敏感信息"),
])
async def test_a_safety_refusal_sent_with_http_400_is_the_engines_answer(body: bytes, reason: str) -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=400, body=body, headers=(("Content-Type", "application/json"),))] * 3)
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(), sleep))
        assert len(sim.requests) == 1
    assert got == body and sleep.waits == []  # byte for byte, not retried
    answer = parse(got)
    assert (answer.status, answer.status_reason, answer.citations) == ("no_answer", reason, [])


async def test_other_400_is_a_final_error() -> None:
    body = (b'{"error": {"code": "invalid_argument", "message": "model ernie-9 is not supported", '
            b'"type": "invalid_request_error"}, "id": "as-400"}')
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=400, body=body)] * 3)
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(), sleep))
        assert len(sim.requests) == 1
    assert caught.value.reason == "HTTP 400: model ernie-9 is not supported (invalid_request_error)"
    assert not caught.value.retryable and sleep.waits == []
    assert KEY not in caught.value.reason


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture_bytes("hengda_corner_markers.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(
            ScriptedResponse(status=429, body=b'{"requestId": "r-429", "code": "RATE_LIMIT_TOTAL_QPS", '
                                              b'"message": "Total API QPS limit exceeded"}',
                             headers=(("Content-Type", "application/json"), ("Retry-After", "7"))),
            ScriptedResponse(body=raw),
        )
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(), sleep))
        assert [r["path"] for r in sim.requests] == [PATH, PATH]
    assert got == raw
    assert sleep.waits == [7.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=b'{"error": {"code": "internal_error", "message": '
                                                        b'"Internal error", "type": "server_error"}, '
                                                        b'"id": "as-5xx"}')] * 3)
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(retries=2), sleep))
        assert len(sim.requests) == 3  # retries + 1
    error = caught.value
    assert error.reason == "HTTP 500: Internal error (server_error) (after 3 attempts)"
    assert error.retryable and len(sleep.waits) == 2
    assert KEY not in error.reason


async def test_401_is_not_retried_and_does_not_leak_the_key() -> None:
    sleep = RecordingSleep()
    echoed = json.dumps({"error": {"code": "invalid_iam_token", "type": "invalid_request_error",
                                   "message": f"IAM Certification failed for Bearer {KEY}"}}).encode()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=echoed))
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(), sleep))
    assert caught.value.reason.startswith("HTTP 401: IAM Certification failed for Bearer ")
    assert not caught.value.retryable and sleep.waits == []
    assert KEY not in caught.value.reason and "t3stK3y9x2" not in caught.value.reason


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("hengda_no_search.json"), delay=1.5))
        probe = ErnieProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=0.3))
        try:
            with pytest.raises(ProbeError) as caught:
                body_of(await probe.fetch(ProbeRequest("k", PROMPT)))
        finally:
            await probe.aclose()
    assert "timeout" in caught.value.reason and caught.value.retryable
    assert KEY not in caught.value.reason


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = ErnieProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}/v2", api_key=KEY, timeout=2))
    try:
        with pytest.raises(ProbeError) as caught:
            body_of(await probe.fetch(ProbeRequest("k", PROMPT)))
    finally:
        await probe.aclose()
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable
    assert KEY not in caught.value.reason


@pytest.mark.parametrize(("body", "refusal"), [
    (fixture_bytes("error_unsafe_request.json"), True),
    (b'{"code": "CONTENT_SAFETY_FAILED", "message": "blocked", "requestId": "r"}', True),
    (fixture_bytes("error_invalid_iam_token.json"), False),
    (fixture_bytes("error_rate_limit_http200.json"), False),
    (fixture_bytes("hengda_is_safe_false.json"), False),  # an answer, not an error body: sent with HTTP 200
    (b'{"code": 0, "message": "ok"}', False),
    (b"<html>400 Bad Request</html>", False),
])
def test_the_refusal_rule_is_the_parsers(body: bytes, refusal: bool) -> None:
    assert is_refusal_error(body) is refusal
    if refusal:
        assert parse(body).status == "no_answer"
