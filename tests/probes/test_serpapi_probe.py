"""The SerpApi probes against local servers on 127.0.0.1, and the simulator's SerpApi wire formats."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from citewatch.errors import ProbeError
from citewatch.raw import RawResult
from monitor.config import EngineConfig
from probes import registry
from probes.base import AI_OVERVIEW, Locale, ProbeRequest, ProbeSettings
from probes.http import get_json, make_client
from probes.parsers import serpapi as parser
from probes.parsers import serpapi_ai_mode as mode_parser
from probes.serpapi import (
    DEFAULT_BASE_URL,
    SerpApiAiModeProbe,
    SerpApiProbe,
    location_of,
)
from probes.simulator import ScriptedResponse, Simulator
from probes.simulator import serpapi as wire
from probes.simulator import serpapi_ai_mode as mode_wire
from probes.simulator.formats import FORMATS
from tests.probes.support import RecordingSleep, fetch_retrying, raw_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "serpapi"
KEY = "serp-test-5f0c2a9d7e614b83"
AUSTIN = Locale(country="US", language="en", city="Austin", region="Texas")
REQUEST = ProbeRequest("api 6d ball valve supplier china", "Who are reliable API 6D ball valve suppliers in China?",
                       AUSTIN)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def engine(retries: int = 2) -> EngineConfig:
    return EngineConfig(id="google", kind="serpapi", retries=retries)


def probe_for(sim: Simulator, timeout: float = 5, kind: str = "serpapi") -> SerpApiProbe:
    probe_class = SerpApiProbe if kind == "serpapi" else SerpApiAiModeProbe
    return probe_class(ProbeSettings(base_url=sim.base_url_for(kind), api_key=KEY, timeout=timeout))


async def fetch_once(probe: SerpApiProbe, request: ProbeRequest = REQUEST) -> RawResult:
    try:
        return await probe.fetch(request)
    finally:
        await probe.aclose()


async def failure(probe: SerpApiProbe, request: ProbeRequest = REQUEST) -> ProbeError:
    with pytest.raises(ProbeError) as caught:
        await fetch_once(probe, request)
    return caught.value


# --- what is asked ------------------------------------------------------------------------------


def test_defaults_and_registry() -> None:
    probe = SerpApiProbe(ProbeSettings())
    assert probe.url == "https://serpapi.com/search.json" and DEFAULT_BASE_URL == "https://serpapi.com"
    assert SerpApiProbe(ProbeSettings(base_url="http://127.0.0.1:1/serpapi/")).url == \
           "http://127.0.0.1:1/serpapi/search.json"
    assert registry.kind("serpapi").parse is parser.parse
    assert registry.kind("serpapi_ai_mode").parse is mode_parser.parse
    assert isinstance(registry.kind("serpapi_ai_mode").make_probe(ProbeSettings()), SerpApiAiModeProbe)


def test_request_body_is_the_query_without_the_key() -> None:
    probe = SerpApiProbe(ProbeSettings(api_key=KEY))
    assert probe.request_body(REQUEST) == {"engine": "google", "q": "api 6d ball valve supplier china", "gl": "us",
                                           "hl": "en", "location": "Austin, Texas, United States"}
    mode = SerpApiAiModeProbe(ProbeSettings(api_key=KEY))
    assert mode.request_body(REQUEST) == {"engine": "google_ai_mode",
                                          "q": "Who are reliable API 6D ball valve suppliers in China?",
                                          "gl": "us", "hl": "en", "location": "Austin, Texas, United States"}


@pytest.mark.parametrize(("locale", "expected"), [
    (Locale(country="de", language="de"), {"gl": "de", "hl": "de"}),  # a country alone: gl, no location
    (Locale(), {}),
    (Locale(country="cn", language="zh"), {"gl": "cn", "hl": "zh-cn"}),
    (Locale(country="gb", language="en", city="London"), {"gl": "gb", "hl": "en", "location": "London, United Kingdom"}),
    (Locale(region="Bavaria"), {"location": "Bavaria"}),
    (Locale(country="zz", city="Springfield"), {"gl": "zz", "location": "Springfield"}),  # no name known
])
def test_locale_parameters(locale: Locale, expected: dict[str, str]) -> None:
    body = SerpApiProbe(ProbeSettings()).request_body(ProbeRequest("ball valve", "p", locale))
    assert {k: v for k, v in body.items() if k not in ("engine", "q")} == expected
    assert location_of(locale) == expected.get("location")


# --- answers ----------------------------------------------------------------------------------------


async def test_inline_overview_is_one_request_and_one_part() -> None:
    raw = fixture_bytes("google_inline_overview.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(probe_for(sim))
        (request,) = sim.requests
    assert got == RawResult.single(raw)  # byte for byte
    assert request["path"] == "/serpapi/search.json"
    assert request["body"] == {"engine": "google", "q": "api 6d ball valve supplier china", "gl": "us", "hl": "en",
                               "location": "Austin, Texas, United States", "api_key": KEY}
    assert parser.parse(got).has_answer


async def test_deferred_overview_is_fetched_at_once_with_its_token() -> None:
    first, follow = fixture_bytes("google_deferred_first.json"), fixture_bytes("google_ai_overview_deferred.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=first), ScriptedResponse(body=follow))
        got = await fetch_once(probe_for(sim))
        requests = sim.requests
    assert len(requests) == 2
    assert requests[1]["path"] == "/serpapi/search.json"
    assert requests[1]["body"] == {"engine": "google_ai_overview", "api_key": KEY,
                                   "page_token": "KIVu-nictVbNjts2EL73KVbfnQtJ1s_a1pP26LSHnvXgxUpaE5SXfNySJOJnFwV8x"
                                                 "lRRFwQ8YTzhzZDmi3Z0S"}
    assert [(part.name, part.data) for part in got.parts] == [("response", first), ("ai_overview", follow)]
    answer = parser.parse(got)
    assert answer.has_answer and answer.features[0] == AI_OVERVIEW
    assert answer.citations[1].url == "https://www.hengdavalve.com/products/api-6d-ball-valve"


async def test_deferred_overview_request_that_fails_fails_the_probe() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("google_deferred_first.json")),
                    ScriptedResponse(status=503, body=b'{"error": "Service temporarily unavailable."}'))
        error = await failure(probe_for(sim))
    assert error.reason == "HTTP 503: Service temporarily unavailable." and error.retryable


@pytest.mark.parametrize("name", ["google_no_overview.json", "google_no_results.json", "google_overview_error.json"])
async def test_answers_without_an_overview_are_one_request(name: str) -> None:
    raw = fixture_bytes(name)
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(probe_for(sim))
        assert len(sim.requests) == 1
    assert got == RawResult.single(raw)
    answer = parser.parse(got)
    assert answer.text == "" and answer.status in ("ok", "no_answer")


async def test_error_answer_is_a_probe_error_with_its_reason() -> None:
    body = b'{"error": "Unsupported `Austin, Texas, Atlantis` location - location parameter."}'
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=400, body=body))
        error = await failure(probe_for(sim))
    assert error.reason == "HTTP 400: Unsupported `Austin, Texas, Atlantis` location - location parameter."
    assert not error.retryable


async def test_error_served_with_200_is_stored_and_parsed_as_an_error() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("google_error.json")))
        got = await fetch_once(probe_for(sim))
    assert parser.parse(got).status == "error"


async def test_429_rate_limit_with_retry_after_then_success() -> None:
    raw = fixture_bytes("google_inline_overview.json")
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, body=b'{"error": "Too many requests. Please slow down."}',
                                     headers=(("Content-Type", "application/json"), ("Retry-After", "7"))),
                    ScriptedResponse(body=raw))
        got = await fetch_retrying(probe_for(sim), REQUEST, engine(), sleep)
        assert len(sim.requests) == 2
    assert got == RawResult.single(raw)
    assert sleep.waits == [7.0]


async def test_out_of_searches_is_not_retried() -> None:
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=429, body=b'{"error": "Your account has run out of searches."}')] * 3)
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe_for(sim), REQUEST, engine(retries=2), sleep)
        assert len(sim.requests) == 1
    assert "HTTP 429: Your account has run out of searches." in caught.value.reason
    assert not caught.value.retryable and sleep.waits == []


async def test_invalid_key_names_it_and_never_shows_the_key() -> None:
    # the server repeats the key it was given, as error texts can
    body = raw_of({"error": f"Invalid API key {KEY}. Your API key should be here: https://serpapi.com/manage-api-key"})
    sleep = RecordingSleep()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=body))
        with pytest.raises(ProbeError) as caught:
            await fetch_retrying(probe_for(sim), REQUEST, engine(), sleep)
    error = caught.value
    assert error.reason.startswith("HTTP 401: Invalid API key") and "manage-api-key" in error.reason
    assert KEY not in error.reason and KEY[:12] not in error.reason
    assert not error.retryable and sleep.waits == []


async def test_timeout() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("google_inline_overview.json"), delay=1.5))
        error = await failure(probe_for(sim, timeout=0.3))
    assert error.reason == "timeout after 0.3s" and error.retryable


async def test_connection_refused_is_retryable_and_keyless() -> None:
    with Simulator() as sim:
        port = sim.port
    probe = SerpApiProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=2))
    error = await failure(probe)
    assert error.reason.startswith("connection failed") and error.retryable and KEY not in error.reason


async def test_redirect_is_refused_and_its_location_masked() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=302, body=b"", headers=(
            ("Location", f"https://elsewhere.example/search.json?api_key={KEY}"),)))
        error = await failure(probe_for(sim))
    assert error.reason.startswith("HTTP 302: redirected to https://elsewhere.example/search.json?api_key=***")
    assert KEY not in error.reason and not error.retryable


async def test_get_json_masks_the_key_in_transport_errors_that_repeat_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    try:
        with pytest.raises(ProbeError) as caught:
            await get_json(client, "https://serpapi.com/search.json", {"q": "x", "api_key": KEY}, secrets=(KEY,))
    finally:
        await client.aclose()
    assert caught.value.reason == "connection failed: cannot connect to https://serpapi.com/search.json?q=x&api_key=***"


async def test_get_json_sends_params_and_returns_the_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b'{"ok": true}')

    client = make_client(ProbeSettings(timeout=5))
    client._transport = httpx.MockTransport(answer)  # the bounded transport is tested elsewhere
    try:
        assert await get_json(client, "https://serpapi.com/search.json", {"q": "球阀", "gl": "cn"}) == b'{"ok": true}'
    finally:
        await client.aclose()
    assert parse_qs(urlsplit(str(seen[0].url)).query) == {"q": ["球阀"], "gl": ["cn"]}


async def test_no_key_sends_no_api_key() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=fixture_bytes("google_no_overview.json")))
        await fetch_once(SerpApiProbe(ProbeSettings(base_url=sim.base_url_for("serpapi"), timeout=5)))
        assert "api_key" not in sim.requests[0]["body"]


# --- AI Mode ------------------------------------------------------------------------------------------


async def test_ai_mode_is_one_request_asking_the_prompt() -> None:
    raw = fixture_bytes("google_ai_mode.json")
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(body=raw))
        got = await fetch_once(probe_for(sim, kind="serpapi_ai_mode"))
        (request,) = sim.requests
    assert got == RawResult.single(raw)
    assert request["path"] == "/serpapi_ai_mode/search.json"
    assert request["body"]["engine"] == "google_ai_mode" and request["body"]["q"] == REQUEST.prompt
    assert mode_parser.parse(got).has_answer


async def test_ai_mode_out_of_searches_is_final_and_keyless() -> None:
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=429, body=raw_of({"error": f"Your account ({KEY}) has run out of searches."})))
        error = await failure(probe_for(sim, kind="serpapi_ai_mode"))
    assert not error.retryable and KEY not in error.reason and "run out of searches" in error.reason


# --- the simulator's wire formats, end to end ----------------------------------------------------------------


def test_wire_module_contract() -> None:
    assert FORMATS["serpapi"] is wire and FORMATS["serpapi_ai_mode"] is mode_wire
    assert wire.BASE_SUFFIX == "" and mode_wire.BASE_SUFFIX == ""
    assert wire.handles("/search.json") and wire.handles("/search") and not wire.handles("/v1/responses")
    assert wire.prompt_of("/search.json", {"q": "球阀"}) == "球阀" and wire.prompt_of("/search.json", {}) == ""
    assert wire.earlier_call("/search.json", {"engine": "google", "q": "x"}) is None
    assert wire.earlier_call("/search.json", {"engine": "google_ai_overview", "page_token": "garbage"}) is None
    assert wire.decode_token(wire.encode_token("有哪些 ball valves?", 3)) == ("有哪些 ball valves?", 3)
    assert wire.DEMO.engine_id == "google" and wire.DEMO.price == {"per_call": 0.015}


async def test_simulated_searches_inline_deferred_and_without_overview() -> None:
    """The simulator's own answers: every search parses; deferred ones come in two parts whose overview is the
    one the search announced; the follow-up does not count as a call."""
    prompts = [f"ball valve supplier {n}" for n in range(8)]
    assert any(wire.deferred(p) for p in prompts) and not all(wire.deferred(p) for p in prompts)
    shapes: set[str] = set()
    deferred_fetches = 0
    with Simulator() as sim:
        probe = probe_for(sim)
        try:
            for prompt in prompts:
                for _ in range(3):
                    got = await probe.fetch(ProbeRequest(prompt, prompt, AUSTIN))
                    answer = parser.parse(got)
                    assert answer.status == "ok" and len(answer.organic) == 7
                    if len(got.parts) == 2:
                        shapes.add("deferred")
                        deferred_fetches += 1
                        assert wire.deferred(prompt) and answer.has_answer
                    else:
                        shapes.add("inline" if answer.has_answer else "none")
        finally:
            await probe.aclose()
        searches = [r for r in sim.requests if r["body"].get("engine") == "google"]
        follow_ups = [r for r in sim.requests if r["body"].get("engine") == "google_ai_overview"]
    assert shapes == {"deferred", "inline", "none"}
    assert len(searches) == 24 and len(follow_ups) == deferred_fetches
    assert all(KEY == r["body"]["api_key"] for r in sim.requests)


async def test_simulated_ai_mode_end_to_end() -> None:
    with Simulator() as sim:
        got = await fetch_once(probe_for(sim, kind="serpapi_ai_mode"),
                               ProbeRequest("ball valve", "Who makes API 6D ball valves?"))
    answer = mode_parser.parse(got)
    assert answer.has_answer and answer.citations and all(c.spans for c in answer.citations)


def test_a_first_answer_nested_too_deep_to_decode_has_no_page_token() -> None:
    """Untrusted bytes: JSON nested past the decoder's depth is left for the parser to call garbage."""
    from probes.serpapi import _page_token

    assert _page_token(b"[" * 100_000 + b"]" * 100_000) is None
    assert _page_token(b'{"ai_overview": {"page_token": " T1 "}}') == "T1"
