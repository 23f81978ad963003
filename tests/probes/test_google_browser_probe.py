"""The `google_browser` probe end to end: Debian's Chromium, driven by Playwright, loading the simulator's
Google result pages on 127.0.0.1, and `probes.parsers.google_html` reading what it brought back.

The browser tests share one probe (one browser) where they can, so the file runs in seconds; those that need
their own settings launch their own and prove, like every test here, that no Chromium process is left.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from citewatch.errors import ProbeError
from citewatch.raw import HTML, PNG
from citewatch.status import BLOCKED, NO_ANSWER, OK
from probes import registry
from probes.base import BrowserOptions, Locale, ProbeRequest, ProbeSettings
from probes.parsers.google_html import parse
from probes.simulator import ScriptedResponse, Simulator, demo_scenario
from probes.simulator import google_browser as wire
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import simulated_answer
from tests.probes.browser_support import (
    browser_mains,
    chromium_processes,
    left_behind,
    require_chromium,
)

KIND = "google_browser"
shared_loop = pytest.mark.asyncio(loop_scope="module")  # the shared browser lives in one event loop
PROXY_PASSWORD = "proxy-pass-7d1e9a4c"


def answer_for(prompt: str, call: int = 0):
    return simulated_answer(demo_scenario(), prompt, "google", call, KIND)


def prompt_without_overview() -> str:
    return next(p for p in (f"gate valve price list {n}" for n in range(100)) if not wire.has_overview(p))


def probe_for(sim: Simulator, **settings: object):
    from probes.google_browser import GoogleBrowserProbe

    browser = settings.pop("browser", None) or BrowserOptions(executable=require_chromium())
    return GoogleBrowserProbe(ProbeSettings(base_url=sim.base_url_for(KIND), browser=browser,  # type: ignore[arg-type]
                                            **{"timeout": 15.0, **settings}))  # type: ignore[arg-type]


# --- fixtures: one simulator and one warm browser for the module --------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(demo_scenario()) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(sim: Simulator) -> AsyncIterator[object]:
    """One probe for the module, warmed up so that its browser's processes predate every test."""
    before = set(chromium_processes())
    probe = probe_for(sim)
    try:
        await probe.fetch(ProbeRequest("warm-up", "ball valve consent"))
        yield probe
    finally:
        await probe.aclose()
    assert left_behind(before) == {}, "the shared browser left processes behind"


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """After the test, no Chromium process it started is still running."""
    before = set(chromium_processes())
    yield
    leftovers = left_behind(before)
    assert leftovers == {}, f"Chromium processes left behind: {leftovers}"


# --- without a browser: the request and the simulator's pages ----------------------------------------


def test_registry_entry_and_wire_contract() -> None:
    entry = registry.KINDS[KIND]
    assert entry.probe == "probes.google_browser:GoogleBrowserProbe"
    assert entry.simulator == "probes.simulator.google_browser"
    assert FORMATS[KIND] is wire and wire.BASE_SUFFIX == "" and not hasattr(wire, "DEMO")
    assert wire.handles("/search") and wire.handles("/sorry/index") and not wire.handles("/v1/responses")
    assert wire.prompt_of("/google_browser/search", {"q": "ball valve"}) == "ball valve"
    sorry = {"continue": "/google_browser/search?q=ball+valve+sorry"}
    assert wire.prompt_of("/google_browser/sorry/index", sorry) == "ball valve sorry"
    assert wire.earlier_call("/google_browser/sorry/index", sorry) == ("ball valve sorry", 0)
    assert wire.earlier_call("/google_browser/search", {"q": "x"}) is None
    assert wire.model_of("/search", {"udm": "50"}) == "google-ai-mode" and wire.model_of("/search", {}) == "google"


def test_request_body_and_url() -> None:
    from probes.google_browser import GoogleBrowserProbe

    probe = GoogleBrowserProbe(ProbeSettings())
    assert probe.url == "https://www.google.com/search"
    assert probe.request_body(ProbeRequest("ball valve", "ball valve", Locale(country="DE", language="de"))) == {
        "q": "ball valve", "hl": "de", "gl": "de"}
    assert probe.request_body(ProbeRequest("球阀 制造商", "球阀 制造商", Locale(country="cn", language="zh"))) == {
        "q": "球阀 制造商", "hl": "zh-CN", "gl": "cn"}
    # Google is searched with the keyword; AI Mode is asked the prompt
    assert probe.request_body(ProbeRequest("ball valve", "Who makes ball valves?")) == {"q": "ball valve"}
    ai_mode = GoogleBrowserProbe(ProbeSettings(base_url="http://127.0.0.1:9/g/", browser=BrowserOptions(mode="ai_mode")))
    assert ai_mode.url == "http://127.0.0.1:9/g/search"
    assert ai_mode.request_body(ProbeRequest("ball valve", "Who makes ball valves?", Locale(language="en"))) == {
        "q": "Who makes ball valves?", "hl": "en", "udm": "50"}


def test_default_user_agent_is_chrome_not_headless() -> None:
    from probes.google_browser import default_user_agent

    desktop = default_user_agent("156.0.8078.114", "desktop")
    assert "Chrome/156.0.0.0" in desktop and "Headless" not in desktop and "Mobile" not in desktop
    assert "Mobile Safari" in default_user_agent("156.0.8078.114", "mobile")


def test_some_prompts_get_no_overview_deterministically() -> None:
    prompts = [f"valve question {n}" for n in range(200)]
    shown = [wire.has_overview(p) for p in prompts]
    assert shown == [wire.has_overview(p) for p in prompts]
    assert 0.6 < sum(shown) / len(shown) < 0.9
    assert not wire.has_overview("ball valve nooverview") and wire.has_overview("ball valve slowoverview")


@pytest.mark.parametrize("prompt", ["industrial ball valve manufacturer", "ball valve showmore", "ball valve consent",
                                    "ball valve captcha", "ball valve sorry", "ball valve notgenerated",
                                    "球阀 制造商"])
def test_pages_load_nothing_from_outside(prompt: str) -> None:
    """A browser loading the simulator's pages must stay on 127.0.0.1: no scripts, images, frames or styles
    from elsewhere (links are fine: they are not followed)."""
    answer = answer_for(prompt)
    pages = [wire.render_request(answer, "/google_browser/search", {"q": prompt}).body,
             wire.render_request(answer, "/google_browser/sorry/index", {"continue": "/x"}).body]
    for body in pages:
        html = body.decode()
        assert not re.search(r"""\b(?:src|srcset|data|poster)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE)
        assert not re.search(r"""<link\b|@import|url\(\s*["']?(?:https?:)?//""", html, re.IGNORECASE)


def test_overview_is_not_in_the_page_as_served() -> None:
    """The overview arrives by script, after the page: read without a browser, the page has none."""
    prompt = "industrial ball valve manufacturer"
    page = wire.render_request(answer_for(prompt), "/google_browser/search", {"q": prompt})
    answer = parse(page.body)
    assert answer.status == OK and answer.text == "" and answer.citations == []
    assert [r.url for r in answer.organic] == [url for url, _ in wire.organic_pages(answer_for(prompt))]


# --- end to end, in the shared browser ------------------------------------------------------------------


@shared_loop
async def test_late_overview_is_waited_for_and_its_sources_read(shared, sim: Simulator, no_leftovers) -> None:
    prompt = "industrial ball valve manufacturer slowoverview"  # the overview arrives 1.5 s after the page
    raw = await shared.fetch(ProbeRequest(prompt, prompt, Locale(country="us", language="en")))
    assert raw.part("before").media_type == HTML and b"AI Overview" in raw.part("before").data
    assert sim.requests[-1]["body"] == {"q": prompt, "hl": "en", "gl": "us"}
    answer = parse(raw)
    simulated = answer_for(prompt)
    assert answer.status == OK and answer.has_answer and answer.features[0] == "ai_overview"
    for segment in simulated.segments:
        assert segment.sentence in answer.text
    expected = [url for url, _ in wire.overview_sources(simulated)]
    assert [c.url for c in answer.citations] == expected
    assert [c.position for c in answer.citations] == list(range(1, len(expected) + 1))
    assert [r.rank for r in answer.organic] == list(range(1, wire.ORGANIC_RESULTS + 1))


@shared_loop
async def test_show_more_reveals_hidden_sources(shared, no_leftovers) -> None:
    prompt = "ball valve showmore"
    raw = await shared.fetch(ProbeRequest(prompt, prompt))
    assert [part.name for part in raw.parts] == ["before", "after"]
    sources = [url for url, _ in wire.overview_sources(answer_for(prompt))]
    hidden = sources[wire.VISIBLE_SOURCES:]
    assert hidden, "the prompt must hide sources behind Show more"
    # the overview's block: what comes before the first organic result (which may link the same pages)
    before, after = (raw.part(name).data.decode().split('<div class="g ')[0] for name in ("before", "after"))
    assert all(url not in before for url in hidden) and all(url in after for url in hidden)
    assert 'aria-expanded="true"' in after and 'aria-expanded="false"' in before
    answer = parse(raw)
    assert [c.url for c in answer.citations] == sources
    assert [c.visible for c in answer.citations] == [True] * wire.VISIBLE_SOURCES + [False] * len(hidden)


@shared_loop
async def test_page_without_overview(shared, no_leftovers) -> None:
    prompt = prompt_without_overview()
    raw = await shared.fetch(ProbeRequest(prompt, prompt))
    assert [part.name for part in raw.parts] == ["before"]
    answer = parse(raw)
    assert answer.status == OK and answer.text == "" and not answer.has_answer and answer.citations == []
    assert "ai_overview" not in answer.features
    assert [(r.rank, r.url) for r in answer.organic] == list(enumerate(
        (url for url, _ in wire.organic_pages(answer_for(prompt))), start=1))


@shared_loop
async def test_overview_that_could_not_be_generated_is_no_answer(shared, no_leftovers) -> None:
    answer = parse(await shared.fetch(ProbeRequest("ball valve notgenerated", "ball valve notgenerated")))
    assert answer.status == NO_ANSWER and answer.text == ""


@shared_loop
@pytest.mark.parametrize("word", ["consent", "captcha", "sorry"])
async def test_blocked_pages_are_returned_and_parsed_as_blocked(shared, sim: Simulator, word: str,
                                                                no_leftovers) -> None:
    raw = await shared.fetch(ProbeRequest(f"ball valve {word}", f"ball valve {word}"))
    assert [part.name for part in raw.parts] == ["before"]
    answer = parse(raw)
    assert answer.status == BLOCKED and answer.status_reason and not answer.has_answer
    if word == "sorry":  # the search was redirected to /sorry/index, and the snapshot is of that page
        assert sim.requests[-1]["path"] == "/google_browser/sorry/index"
        assert b"unusual traffic" in raw.first.data


# --- end to end, in browsers of their own ---------------------------------------------------------------


@shared_loop
async def test_concurrent_first_fetches_share_one_browser(sim: Simulator, no_leftovers) -> None:
    before = set(chromium_processes())
    probe = probe_for(sim, browser=BrowserOptions(executable=require_chromium(), screenshot=True, viewport="mobile"))
    prompts = ["industrial ball valve manufacturer", "api 6d ball valve supplier china", "球阀 制造商"]
    try:
        results = await asyncio.gather(*(probe.fetch(ProbeRequest(p, p, Locale(country="cn", language="zh")))
                                         for p in prompts))
        launched = browser_mains({pid: line for pid, line in chromium_processes().items() if pid not in before})
        assert len(launched) == 1, f"one browser for the batch, got {launched}"
    finally:
        await probe.aclose()
    for prompt, raw in zip(prompts, results, strict=True):
        screenshot = raw.part("screenshot")
        assert screenshot is not None and screenshot.media_type == PNG and screenshot.data.startswith(b"\x89PNG")
        answer = parse(raw)
        assert answer.status == OK and answer.has_answer
        assert [c.url for c in answer.citations] == [url for url, _ in wire.overview_sources(answer_for(prompt))]


@shared_loop
async def test_timeout_closes_the_page_and_is_retryable(sim: Simulator, no_leftovers) -> None:
    probe = probe_for(sim, timeout=2.5)
    try:
        await probe.fetch(ProbeRequest("ball valve consent", "ball valve consent"))  # warm: the browser is up
        sim.enqueue(ScriptedResponse(status=200, body=b"<html><body>late</body></html>",
                                     headers=(("Content-Type", "text/html"),), delay=6.0))
        started = asyncio.get_running_loop().time()
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
        assert asyncio.get_running_loop().time() - started < 4.5
        assert caught.value.reason == "timeout after 2.5s" and caught.value.retryable
    finally:
        await probe.aclose()


@shared_loop
async def test_fetch_cancelled_while_the_browser_starts_leaves_nothing(sim: Simulator, no_leftovers) -> None:
    probe = probe_for(sim)
    task = asyncio.ensure_future(probe.fetch(ProbeRequest("industrial ball valve manufacturer", "industrial ball valve manufacturer")))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await probe.aclose()


@shared_loop
async def test_refused_connection_through_a_proxy_is_retryable_and_hides_the_password(
        sim: Simulator, no_leftovers) -> None:
    with Simulator() as closed:
        port = closed.port  # a port nothing listens on once this block ends
    options = BrowserOptions(executable=require_chromium(), proxy=f"http://127.0.0.1:{port}",
                             proxy_username="citewatch", proxy_password=PROXY_PASSWORD)
    probe = probe_for(sim, browser=options)
    try:
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
    finally:
        await probe.aclose()
    error = caught.value
    assert error.retryable and error.reason == "navigation failed: net::ERR_PROXY_CONNECTION_FAILED"
    assert PROXY_PASSWORD not in error.reason and PROXY_PASSWORD not in repr(options)


@shared_loop
async def test_refused_connection_and_oversized_page(sim: Simulator, no_leftovers) -> None:
    with Simulator() as closed:
        port = closed.port
    from probes.google_browser import GoogleBrowserProbe

    refused = GoogleBrowserProbe(ProbeSettings(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                               browser=BrowserOptions(executable=require_chromium())))
    small = probe_for(sim, max_response_bytes=4096)
    try:
        with pytest.raises(ProbeError) as refusal:
            await refused.fetch(ProbeRequest("ball valve", "ball valve"))
        with pytest.raises(ProbeError) as oversized:
            await small.fetch(ProbeRequest("industrial ball valve manufacturer", "industrial ball valve manufacturer"))
    finally:
        await refused.aclose()
        await small.aclose()
    assert refusal.value.retryable and refusal.value.reason == "navigation failed: net::ERR_CONNECTION_REFUSED"
    assert "larger than" in oversized.value.reason and not oversized.value.retryable


@shared_loop
async def test_missing_executable_is_a_clear_probe_error(sim: Simulator, no_leftovers) -> None:
    probe = probe_for(sim, browser=BrowserOptions(executable="/nonexistent/chromium"))
    try:
        with pytest.raises(ProbeError) as caught:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
    finally:
        await probe.aclose()
    assert "cannot start the browser (/nonexistent/chromium)" in caught.value.reason


@shared_loop
async def test_error_statuses_and_a_large_response_without_a_declared_size(sim: Simulator, no_leftovers) -> None:
    html = (("Content-Type", "text/html"),)
    probe = probe_for(sim, max_response_bytes=64 * 1024)
    try:
        sim.enqueue(ScriptedResponse(status=503, body=b"<html><body>busy</body></html>", headers=html),
                    ScriptedResponse(status=404, body=b"<html><body>not here</body></html>", headers=html))
        with pytest.raises(ProbeError) as unavailable:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
        with pytest.raises(ProbeError) as missing:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
        # a small page whose script is 256 KB: no Content-Length check sees it, the byte count does
        sim.enqueue(ScriptedResponse(body=b'<html><body><script src="/big.js"></script><div id="rso"></div>'
                                          b"</body></html>", headers=html),
                    ScriptedResponse(body=b"//" + b" " * (256 * 1024), headers=(("Content-Type", "text/javascript"),)))
        with pytest.raises(ProbeError) as oversized:
            await probe.fetch(ProbeRequest("ball valve", "ball valve"))
    finally:
        await probe.aclose()
    assert (unavailable.value.reason, unavailable.value.retryable) == ("HTTP 503", True)
    assert (missing.value.reason, missing.value.retryable) == ("HTTP 404", False)
    assert oversized.value.reason == "response larger than 0.0625 MB (max_response_mb)"
    assert not oversized.value.retryable


@shared_loop
async def test_a_browser_that_dies_costs_one_probe_and_is_replaced(sim: Simulator, no_leftovers) -> None:
    """Chromium killed mid-batch (out of memory, say): the next fetch is a retryable failure or is served by
    a new browser; the one after it is served, and nothing is left running."""
    import os
    import signal

    probe = probe_for(sim)
    request = ProbeRequest("industrial ball valve manufacturer", "industrial ball valve manufacturer")
    try:
        before = set(chromium_processes())
        await probe.fetch(request)
        (browser_pid,) = browser_mains({pid: line for pid, line in chromium_processes().items()
                                        if pid not in before})
        os.kill(browser_pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        try:
            await probe.fetch(request)
        except ProbeError as exc:
            assert exc.retryable and exc.reason.startswith("browser failed: ")
        answer = parse(await probe.fetch(request))
    finally:
        await probe.aclose()
    assert answer.status == OK and answer.organic
