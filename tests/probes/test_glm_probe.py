"""The GLM probe against local servers on 127.0.0.1 (the simulator's scripted replies, a header-recording
server): request path and body, the key in the Bearer header only, bytes as sent, Zhipu's error codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings, SearchOptions
from probes.glm import DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_SEARCH_ENGINE, GlmProbe, zhipu_error_text
from probes.parsers.glm import is_refusal_error, parse
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, body_of, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "glm"
KEY = "3f9c2e7d6a4b58e1.Zk7QpR2sT4uV6wX8"
PROMPT = "恒达阀门 API 6D 球阀 出口认证？"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def base_url(sim: Simulator) -> str:
    """The kind has no simulator wire format yet: its scripted replies answer any path, so mount it by hand."""
    return f"http://127.0.0.1:{sim.port}/glm"


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="g", kind="glm", retries=retries)


def json_reply(status: int, name: str, *headers: tuple[str, str]) -> ScriptedResponse:
    return ScriptedResponse(status=status, body=fixture_bytes(name),
                            headers=(("Content-Type", "application/json"), *headers))


@pytest.fixture
def header_server() -> Iterator[tuple[str, list[dict]]]:
    with recording_server(200, fixture_bytes("hengda_zh_ref_markers.json")) as server:
        yield server


# --- the probe --------------------------------------------------------------------------------------


def test_config_accepts_the_kind() -> None:
    assert (engine().id, engine().kind) == ("g", "glm")


def test_defaults() -> None:
    probe = GlmProbe(ProbeSettings())
    assert (probe.model, probe.url, probe.search_engine) == (
        "glm-4.6", "https://open.bigmodel.cn/api/paas/v4/chat/completions", "search_std")
    assert (DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_SEARCH_ENGINE) == (
        "https://open.bigmodel.cn/api/paas/v4", "glm-4.6", "search_std")


@pytest.mark.parametrize(("search", "engine_name"), [
    (SearchOptions(), "search_std"),  # nothing set: the kind's default
    (SearchOptions(engine="search_pro_quark"), "search_pro_quark"),
    (SearchOptions(engine=" search_pro "), "search_pro"),
    (SearchOptions(forced=True, strategy="max"), "search_std"),  # qwen's options: not read here
])
def test_search_engine_comes_from_the_settings(search: SearchOptions, engine_name: str) -> None:
    probe = GlmProbe(ProbeSettings(search=search))
    assert probe.search_engine == engine_name
    assert probe.request_body(ProbeRequest("k", "p"))["tools"][0]["web_search"]["search_engine"] == engine_name


def test_a_blank_search_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="search.engine must be a name"):
        GlmProbe(ProbeSettings(search=SearchOptions(engine=" ")))


def test_request_body_asks_for_the_search_results_and_sends_no_locale() -> None:
    probe = GlmProbe(ProbeSettings(model="glm-4-plus", search=SearchOptions(engine="search_pro")))
    body = probe.request_body(ProbeRequest("球阀", PROMPT, Locale(country="cn", language="zh", city="Wenzhou")))
    assert body == {
        "model": "glm-4-plus",
        "messages": [{"role": "user", "content": PROMPT}],
        "tools": [{"type": "web_search",
                   "web_search": {"enable": True, "search_engine": "search_pro", "search_result": True}}],
    }


async def test_success_returns_the_body_as_sent_and_posts_prompt_model_and_tool() -> None:
    raw = fixture_bytes("hengda_zh_ref_markers.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim) + "/", api_key=KEY, timeout=5))
        try:
            got = await probe.fetch(ProbeRequest("球阀 制造商", PROMPT, Locale(country="cn", language="zh")))
        finally:
            await probe.aclose()
        request = sim.requests[-1]
    assert body_of(got) == raw  # byte for byte
    assert request["path"] == "/glm/chat/completions"
    assert request["body"] == {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": PROMPT}],
        "tools": [{"type": "web_search",
                   "web_search": {"enable": True, "search_engine": "search_std", "search_result": True}}],
    }
    assert parse(got).citations[0].url == "https://www.hengdavalve.com/zh/about"


async def test_api_key_goes_in_a_bearer_header_only(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = GlmProbe(ProbeSettings(base_url=url, api_key=KEY, timeout=5))
    try:
        await probe.fetch(ProbeRequest("ball valve", "API 6D ball valve suppliers"))
    finally:
        await probe.aclose()
    (request,) = seen
    headers = request["headers"]
    assert request["path"] == "/chat/completions"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert KEY not in request["path"] and KEY.encode() not in request["body"]
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
    assert json.loads(request["body"])["model"] == "glm-4.6"


async def test_no_key_sends_no_authorization_header(header_server: tuple[str, list[dict]]) -> None:
    url, seen = header_server
    probe = GlmProbe(ProbeSettings(base_url=url, timeout=5))
    try:
        await probe.fetch(ProbeRequest("ball valve", "API 6D ball valve suppliers"))
    finally:
        await probe.aclose()
    assert "authorization" not in seen[0]["headers"]


async def test_429_with_retry_after_then_success() -> None:
    raw = fixture_bytes("hengda_duplicate_and_odd_markers.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(json_reply(429, "error_1302_concurrency.json", ("Retry-After", "7")), ScriptedResponse(body=raw))
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", "API 6D ball valve suppliers"), engine(), sleep))
        assert len(sim.requests) == 2
    assert got == raw
    assert sleep.waits == [7.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=b'{"error":{"code":"500","message":"Internal Error"}}')] * 3)
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, ProbeRequest("k", "API 6D ball valve suppliers"), engine(retries=2), sleep)
        assert len(sim.requests) == 3  # retries + 1
    error = caught.value
    assert error.reason.startswith("HTTP 500: 500: Internal Error") and "(after 3 attempts)" in error.reason
    assert error.retryable and len(sleep.waits) == 2
    assert KEY not in error.reason


async def test_no_balance_on_a_429_is_not_retried() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[json_reply(429, "error_1113_no_balance.json")] * 3)
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, ProbeRequest("k", "p"), engine(retries=2), sleep)
        assert len(sim.requests) == 1
    assert caught.value.reason == "HTTP 429: 1113: 余额不足或无可用资源包,请充值。"
    assert not caught.value.retryable and sleep.waits == []


async def test_unsafe_content_1301_is_handed_on_as_the_payload() -> None:
    raw = fixture_bytes("error_1301_unsafe.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[json_reply(400, "error_1301_unsafe.json")] * 3)
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        got = body_of(await fetch_retrying(probe, ProbeRequest("k", PROMPT), engine(), sleep))
        assert len(sim.requests) == 1
    assert got == raw and sleep.waits == []
    answer = parse(got)
    assert answer.status == "no_answer" and answer.status_reason.startswith("refusal: 1301: 系统检测到输入或生成内容")


async def test_other_400_is_a_final_error_with_zhipus_code() -> None:
    body = '{"error":{"code":"1214","message":"search_engine 参数非法，请检查文档。"}}'.encode()
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=400, body=body)] * 3)
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5,
                                       search=SearchOptions(engine="bing")))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, ProbeRequest("k", "p"), engine(), sleep)
        assert len(sim.requests) == 1
        assert sim.requests[-1]["body"]["tools"][0]["web_search"]["search_engine"] == "bing"
    assert caught.value.reason == "HTTP 400: 1214: search_engine 参数非法，请检查文档。"
    assert not caught.value.retryable and sleep.waits == []


async def test_code_1301_on_a_5xx_is_still_a_failure() -> None:
    """Only a 4xx can be the engine's answer: a 5xx is retried, whatever its body says."""
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[json_reply(500, "error_1301_unsafe.json")] * 2)
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, ProbeRequest("k", "p"), engine(retries=1), sleep)
        assert len(sim.requests) == 2
    assert caught.value.reason.startswith("HTTP 500: 1301: ") and caught.value.retryable


async def test_401_echoing_the_key_does_not_leak_it() -> None:
    body = json.dumps({"error": {"code": "1002", "message": f"Authorization Token非法: Bearer {KEY}"}}).encode()
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=body))
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=5))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, ProbeRequest("k", "p"), engine(), sleep)
    assert caught.value.reason.startswith("HTTP 401: 1002: Authorization Token非法")
    assert KEY not in caught.value.reason and not caught.value.retryable and sleep.waits == []


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("hengda_no_web_search.json"), delay=1.5))
        probe = GlmProbe(ProbeSettings(base_url=base_url(sim), api_key=KEY, timeout=0.3))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(ProbeRequest("k", "API 6D ball valve suppliers"))
        finally:
            await probe.aclose()
    assert "timeout" in caught.value.reason and caught.value.retryable


async def test_connection_refused_is_a_retryable_probe_error() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = GlmProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=2))
    try:
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(ProbeRequest("k", "p"))
    finally:
        await probe.aclose()
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


# --- error texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "reason"), [
    ('{"error":{"code":"1302","message":" 并发数过高 "}}', "1302: 并发数过高"),
    ('{"error":{"code":1303}}', "1303"),
    ('{"error":{"message":"Rate limit", "type":"rate_limit"}}', "Rate limit (rate_limit)"),
    ("<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
    ('["not", "an", "envelope"]', '["not", "an", "envelope"]'),
])
def test_zhipu_error_text(text: str, reason: str) -> None:
    assert zhipu_error_text(text) == reason


@pytest.mark.parametrize(("body", "refusal"), [
    (fixture_bytes("error_1301_unsafe.json"), True),
    (b'{"error": {"code": 1301, "message": "unsafe"}}', True),
    (fixture_bytes("error_1113_no_balance.json"), False),
    (b'{"error": {"code": "1214", "message": "bad"}}', False),
    (b'{"error": "1301"}', False),
    (b"<html>400 Bad Request</html>", False),
])
def test_the_refusal_rule_is_the_parsers(body: bytes, refusal: bool) -> None:
    assert is_refusal_error(body) is refusal
    if refusal:
        assert parse(body).status == "no_answer"
