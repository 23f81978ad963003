"""The DataForSEO probes against local servers on 127.0.0.1: the request they send, basic authentication,
HTTP and in-band failures, retries and timeouts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from probes.base import Locale, ProbeRequest, ProbeSettings
from probes.dataforseo import (
    AI_MODE_PATH,
    DEFAULT_BASE_URL,
    ORGANIC_PATH,
    DataForSeoAiModeProbe,
    DataForSeoProbe,
    credentials,
    language_code,
    location_name,
)
from probes.parsers import dataforseo as organic_parser
from probes.parsers import dataforseo_ai_mode as ai_mode_parser
from probes.registry import kind
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import RecordingSleep, fetch_retrying, recording_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dataforseo"
LOGIN = "seo-team@brightwellheaters.com"
PASSWORD = "9f3c1a7e52b84d06"
KEY = f"{LOGIN}:{PASSWORD}"
TOKEN = base64.b64encode(KEY.encode()).decode()
AUSTIN = Locale(country="us", language="en", city="Austin", region="Texas")
REQUEST = ProbeRequest("best tankless water heater brand", "Which tankless water heater brand is best?", AUSTIN)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def engine(kind_name: str = "dataforseo", retries: int = 2) -> EngineConfig:
    return EngineConfig(id="dfs", kind=kind_name, retries=retries)


def settings(base_url: str, timeout: float = 5) -> ProbeSettings:
    return ProbeSettings(base_url=base_url, api_key=KEY, timeout=timeout)


def assert_no_secret(text: str) -> None:
    for secret in (KEY, PASSWORD, TOKEN, TOKEN[:12]):
        assert secret not in text, secret


# --- what the probe sends --------------------------------------------------------------------------


def test_registry_entries() -> None:
    organic, ai_mode = kind("dataforseo"), kind("dataforseo_ai_mode")
    assert organic.available and ai_mode.available and organic.serp and ai_mode.serp
    assert organic.simulator is None and ai_mode.simulator is None
    assert isinstance(organic.make_probe(ProbeSettings(api_key=KEY)), DataForSeoProbe)
    assert isinstance(ai_mode.make_probe(ProbeSettings(api_key=KEY)), DataForSeoAiModeProbe)


def test_defaults() -> None:
    assert DataForSeoProbe(ProbeSettings()).url == "https://api.dataforseo.com/v3/serp/google/organic/live/advanced"
    assert DataForSeoAiModeProbe(ProbeSettings()).url == "https://api.dataforseo.com/v3/serp/google/ai_mode/live/advanced"
    assert DEFAULT_BASE_URL == "https://api.dataforseo.com"


@pytest.mark.parametrize(("locale", "location", "language"), [
    (AUSTIN, "Austin,Texas,United States", "en"),
    (Locale(country="DE", language="de", city="München"), "München,Germany", "de"),
    (Locale(country="gb"), "United Kingdom", "en"),
    (Locale(), "United States", "en"),
    (Locale(country="cn", language="zh"), "China", "zh-CN"),
    (Locale(country="tw", language="zh"), "Taiwan", "zh-TW"),
    (Locale(country="br", language="pt-BR"), "Brazil", "pt"),
    # a country the table lacks is sent as written: by name it works, an unknown code fails loudly
    (Locale(country="Luxembourg", language="fr"), "Luxembourg", "fr"),
    (Locale(country="lu"), "lu", "en"),
])
def test_location_and_language(locale: Locale, location: str, language: str) -> None:
    assert location_name(locale) == location
    assert language_code(locale) == language


def test_credentials_split_at_the_first_colon() -> None:
    assert credentials("me@x.com:pa:ss") == ("me@x.com", "pa:ss")
    assert credentials(None) is None and credentials("") is None


async def test_request_path_basic_auth_and_task_list() -> None:
    raw = fixture_bytes("organic_ai_overview_tankless.json")
    with recording_server(200, raw) as (url, seen):
        probe = DataForSeoProbe(settings(url + "/"))
        try:
            got = await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    assert got.first.data == raw  # byte for byte
    (request,) = seen
    assert request["path"] == ORGANIC_PATH
    assert request["headers"]["authorization"] == f"Basic {TOKEN}"
    assert request["headers"]["content-type"] == "application/json"
    body = json.loads(request["body"])
    assert body == [{"keyword": "best tankless water heater brand", "location_name": "Austin,Texas,United States",
                     "language_code": "en", "device": "desktop", "load_async_ai_overview": True,
                     "expand_ai_overview": True}]
    assert body == probe.request_body(REQUEST)
    assert_no_secret(request["path"] + request["body"].decode())
    answer = organic_parser.parse(got)
    assert answer.has_answer and answer.citations[0].position == 1


async def test_ai_mode_request_asks_the_prompt_without_overview_flags() -> None:
    raw = fixture_bytes("ai_mode_austin_installers.json")
    with recording_server(200, raw) as (url, seen):
        probe = DataForSeoAiModeProbe(settings(url))
        try:
            got = await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    (request,) = seen
    assert request["path"] == AI_MODE_PATH
    assert request["headers"]["authorization"] == f"Basic {TOKEN}"
    assert json.loads(request["body"]) == [{"keyword": "Which tankless water heater brand is best?",
                                           "location_name": "Austin,Texas,United States", "language_code": "en",
                                           "device": "desktop"}]
    assert ai_mode_parser.parse(got).features == ["ai_mode"]


async def test_no_key_sends_no_authorization_header() -> None:
    with recording_server(200, fixture_bytes("organic_no_overview.json")) as (url, seen):
        probe = DataForSeoProbe(ProbeSettings(base_url=url, timeout=5))
        try:
            await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    assert "authorization" not in seen[0]["headers"]


# --- answers ---------------------------------------------------------------------------------------


async def test_page_without_overview() -> None:
    with recording_server(200, fixture_bytes("organic_no_overview.json")) as (url, _):
        probe = DataForSeoProbe(settings(url))
        raw = await fetch_retrying(probe, REQUEST, engine())
    answer = organic_parser.parse(raw)
    assert answer.status == "ok" and answer.text == "" and [o.rank for o in answer.organic] == [1, 2]


async def test_task_error_inside_http_200_is_returned_for_the_parser() -> None:
    """A failed task is not a transport failure: the body (with its cost) is kept, and parsed as ERROR."""
    sleep = RecordingSleep()
    with recording_server(200, fixture_bytes("task_error_invalid_location.json")) as (url, seen):
        probe = DataForSeoProbe(settings(url))
        raw = await fetch_retrying(probe, REQUEST, engine(), sleep)
    assert len(seen) == 1 and sleep.waits == []
    answer = organic_parser.parse(raw)
    assert (answer.status, answer.status_reason) == ("error", "DataForSEO 40501: Invalid Field: 'location_name'.")


async def test_in_band_rate_limit_is_retried_then_succeeds() -> None:
    raw = fixture_bytes("organic_ai_overview_tankless.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("envelope_error_rate_limited.json")), ScriptedResponse(body=raw))
        probe = DataForSeoProbe(settings(f"http://127.0.0.1:{sim.port}/dataforseo"))
        got = await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert [r["path"] for r in sim.requests] == ["/dataforseo" + ORGANIC_PATH] * 2
    assert got.first.data == raw and len(sleep.waits) == 1


async def test_in_band_internal_error_is_retryable() -> None:
    body = json.loads(fixture_bytes("task_error_invalid_location.json"))
    body["tasks"][0]["status_code"], body["tasks"][0]["status_message"] = 50000, "Internal Error."
    with recording_server(200, json.dumps(body).encode()) as (url, _):
        probe = DataForSeoProbe(settings(url))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    assert caught.value.retryable and caught.value.reason == "DataForSEO 50000: Internal Error."


# --- HTTP failures -----------------------------------------------------------------------------------


async def test_401_is_not_retried_and_names_the_reason() -> None:
    sleep = RecordingSleep()
    with recording_server(401, fixture_bytes("envelope_error_unauthorized.json")) as (url, seen):
        probe = DataForSeoProbe(settings(url))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(), sleep)
    error = caught.value
    assert error.reason.startswith("HTTP 401: You are not authorized to access this resource.")
    assert "(40100)" in error.reason
    assert not error.retryable and sleep.waits == [] and len(seen) == 1
    assert_no_secret(error.reason)


async def test_429_then_success() -> None:
    raw = fixture_bytes("organic_ai_overview_tankless.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, body=b'{"status_code": 40202, "status_message": "Too many requests."}',
                                     headers=(("Content-Type", "application/json"), ("Retry-After", "4"))),
                    ScriptedResponse(body=raw))
        probe = DataForSeoProbe(settings(f"http://127.0.0.1:{sim.port}"))
        got = await fetch_retrying(probe, REQUEST, engine(), sleep)
        assert len(sim.requests) == 2
    assert got.first.data == raw
    assert sleep.waits == [4.0]


async def test_500_until_failure() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=500, body=b"Internal Server Error")] * 3)
        probe = DataForSeoProbe(settings(f"http://127.0.0.1:{sim.port}"))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe, REQUEST, engine(retries=2), sleep)
        assert len(sim.requests) == 3
    assert "HTTP 500" in caught.value.reason and "(after 3 attempts)" in caught.value.reason
    assert len(sleep.waits) == 2


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("organic_no_overview.json"), delay=1.5))
        probe = DataForSeoProbe(settings(f"http://127.0.0.1:{sim.port}", timeout=0.3))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    assert "timeout" in caught.value.reason and caught.value.retryable


async def test_connection_refused_is_retryable() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = DataForSeoProbe(settings(f"http://127.0.0.1:{port}", timeout=2))
    try:
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(REQUEST)
    finally:
        await probe.aclose()
    assert caught.value.reason.startswith("connection failed") and caught.value.retryable


# padding puts a secret where the stored reason is cut short: masking must come before the cut
@pytest.mark.parametrize("padding", [0, 250, 270])
@pytest.mark.parametrize("echoed", [KEY, PASSWORD, TOKEN, f"Basic {TOKEN}"])
async def test_credentials_echoed_by_the_server_never_reach_the_reason(echoed: str, padding: int) -> None:
    body = json.dumps({"status_code": 40100, "status_message": f"{'x' * padding}Bad credentials: {echoed}"}).encode()
    with recording_server(401, body) as (url, _):
        probe = DataForSeoProbe(settings(url))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
    assert caught.value.reason.startswith("HTTP 401")
    assert_no_secret(caught.value.reason)
    assert PASSWORD[:8] not in caught.value.reason


async def test_redirect_is_not_followed() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=302, body=b"", headers=(("Location", "https://elsewhere.example/"),)))
        probe = DataForSeoProbe(settings(f"http://127.0.0.1:{sim.port}"))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(REQUEST)
        finally:
            await probe.aclose()
        assert len(sim.requests) == 1
    assert "redirect" in caught.value.reason and not caught.value.retryable
