"""End to end in Debian's Chromium through Playwright: the weekly report and the web view open with
JavaScript on, their charts render, and a hostile citation title shows as text without running; the web
view bound beyond loopback refuses every request without its token.

Screenshots go to a temporary folder, or to the folder CITEWATCH_SCREENSHOTS names (the README's picture,
docs/report-en.png, is made this way: CITEWATCH_SCREENSHOTS=docs python -m pytest tests/monitor/test_report_browser.py).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from citewatch.browser import LAUNCH_ARGS
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.demo import DemoResult
from monitor.pipeline import sync_config
from monitor.report.publish import publish_week
from storage import repository
from storage.db import open_database
from storage.records import CitationRecord, ObservationRecord
from tests.probes.browser_support import require_chromium

CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert("img")>'
HOSTILE_URL = "https://www.hengdavalve.com/p?q=\"><svg onload=alert('url')>"
SCREEN = {"width": 1200, "height": 1500}  # the README's screenshot
SCRIPT_URL = "javascript:alert('href')"
TOKEN = "e2e-token-0123456789abcdef0123456789"


def _store_hostile_citation(demo: DemoResult) -> None:
    """A brand citation whose title and URL would run script if any page failed to escape them."""
    config = load_config(demo.config_path)
    db = open_database(config.storage.url)
    try:
        moment = datetime(2026, 11, 25, 12, tzinfo=UTC)
        ids = sync_config(config, db, fixed_clock(moment))
        keyword = config.keywords[0].text
        run_id = repository.start_run(db, ids.project_id, {"chatgpt": {str(ids.keyword_ids[keyword]): 1}}, moment)
        repository.save_observation(db, ids, ObservationRecord(
            run_id=run_id, keyword=keyword, engine_id="chatgpt", engine_kind="openai", sample_index=0,
            observed_at=moment, status="ok", answer_text="Hengda Valve makes ball valves.", has_answer=True,
            citations=[CitationRecord(1, HOSTILE_URL, HOSTILE_URL, "hengdavalve.com", HOSTILE_TITLE, True, True,
                                      "annotation", "Hengda Valve", "product"),
                       CitationRecord(2, SCRIPT_URL, SCRIPT_URL, "", "click me", True, True, "annotation", None,
                                      "other")]))
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def archive(demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path]:
    """A demo database with a hostile citation, and its 2026-W48 report in both languages in an archive."""
    copy = tmp_path_factory.mktemp("hostile") / "demo"
    shutil.copytree(demo.out, copy)  # the session's demo stays as the demo wrote it
    demo = dataclasses.replace(demo, out=copy, config_path=copy / demo.config_path.name,
                               database=copy / demo.database.name)
    _store_hostile_citation(demo)
    config = load_config(demo.config_path)
    db = open_database(config.storage.url)
    folder = tmp_path_factory.mktemp("archive")
    try:
        publish_week(config, db, 2026, 48, folder / "2026-W48", "en", pdf=False)
        publish_week(config, db, 2026, 48, folder / "2026-W48-zh", "zh", pdf=False)
    finally:
        db.dispose()
    return demo, folder


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("CITEWATCH_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()


def _open(browser: object, url: str, dialogs: list[str], **context: object) -> object:
    page = browser.new_context(**context).new_page()  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def _charts_drawn(page: object) -> list[dict[str, float]]:
    """Each chart's rendered size and how many shapes it drew."""
    return page.evaluate("""() => [...document.querySelectorAll('figure.chart svg')].map(svg => {
        const box = svg.getBoundingClientRect();
        return {width: box.width, height: box.height, shapes: svg.querySelectorAll('path, rect, line').length};
    })""")  # type: ignore[attr-defined]


@pytest.mark.parametrize("folder, language", [("2026-W48", "en"), ("2026-W48-zh", "zh")])
def test_report_renders_charts_and_runs_no_hostile_script(archive: tuple[DemoResult, Path], browser: object,
                                                          screenshots: Path, folder: str, language: str) -> None:
    _, root = archive
    dialogs: list[str] = []
    page = _open(browser, (root / folder / "report.html").as_uri(), dialogs, viewport=SCREEN)
    charts = _charts_drawn(page)
    assert len(charts) == 5
    assert all(chart["width"] > 300 and chart["height"] > 150 and chart["shapes"] > 10 for chart in charts), charts
    assert page.get_by_text(HOSTILE_TITLE, exact=False).count() >= 1  # type: ignore[attr-defined]
    page.screenshot(path=str(screenshots / f"report-{language}.png"))  # type: ignore[attr-defined]
    page.screenshot(path=str(screenshots / f"report-{language}-full.png"), full_page=True)  # type: ignore[attr-defined]
    assert dialogs == []
    # on a phone the page does not scroll sideways: wide tables scroll inside their own box
    phone = _open(browser, (root / folder / "report.html").as_uri(), dialogs, viewport={"width": 390, "height": 844})
    width = phone.evaluate("() => document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 391, width
    phone.screenshot(path=str(screenshots / f"report-{language}-phone.png"))  # type: ignore[attr-defined]
    assert dialogs == []
    assert (screenshots / f"report-{language}.png").stat().st_size > 50_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(archive: tuple[DemoResult, Path]) -> Iterator[str]:
    """`citewatch serve` bound to every address, with a token, run as a user runs it."""
    demo, root = archive
    port = _free_port()
    env = {**os.environ, "CITEWATCH_SERVE_TOKEN": TOKEN}
    server = subprocess.Popen([str(CONSOLE_SCRIPT), "serve", "--config", str(demo.config_path), "--host", "0.0.0.0",
                               "--port", str(port), "--archive", str(root)], cwd=demo.out, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_web_view_beyond_loopback_refuses_without_the_token(served: str, browser: object) -> None:
    from playwright.sync_api import Error as PlaywrightError

    anonymous = browser.new_context()  # type: ignore[attr-defined]
    for path in ("/", "/metrics", "/api/metrics", "/reports/2026-W48/report.html"):
        response = anonymous.request.get(served + path)
        assert response.status == 401, path
        assert "Hengda" not in response.text()
        # the browser itself is refused: it asks for credentials, has none, and shows nothing of the page
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            anonymous.new_page().goto(served + path)
    wrong = browser.new_context(extra_http_headers={"Authorization": "Bearer wrong"})  # type: ignore[attr-defined]
    assert wrong.request.get(served + "/metrics").status == 401
    assert httpx.get(served + "/healthz", timeout=5).status_code == 200  # the operator's monitoring needs none


def test_web_view_with_the_token_shows_reports_metrics_and_samples_without_running_them(
        served: str, browser: object, archive: tuple[DemoResult, Path], screenshots: Path) -> None:
    demo, _ = archive
    dialogs: list[str] = []
    auth = {"extra_http_headers": {"Authorization": f"Bearer {TOKEN}"}, "viewport": {"width": 1200, "height": 1200}}
    index = _open(browser, served + "/", dialogs, **auth)
    assert "2026-W48" in index.content()  # type: ignore[attr-defined]
    report = _open(browser, served + "/reports/2026-W48/report.html", dialogs, **auth)
    assert len(_charts_drawn(report)) == 5
    metrics = _open(browser, served + "/metrics?since=2026-11-23&until=2026-11-29", dialogs, **auth)
    metrics.screenshot(path=str(screenshots / "web-metrics.png"))  # type: ignore[attr-defined]
    with sqlite3.connect(demo.database) as connection:
        (keyword_id,) = connection.execute("SELECT id FROM keyword ORDER BY id LIMIT 1").fetchone()
    samples = _open(browser, f"{served}/keywords/{keyword_id}?engine=chatgpt&since=2026-11-23&until=2026-11-29",
                    dialogs, **auth)
    content = samples.content()  # type: ignore[attr-defined]
    assert "alert(&quot;title&quot;)" in content or "alert(\"title\")" in samples.inner_text("body")  # type: ignore
    assert SCRIPT_URL in samples.inner_text("body")  # type: ignore[attr-defined]
    assert samples.locator("a[href^='javascript:'], a[href^='JAVASCRIPT:']").count() == 0  # type: ignore
    samples.get_by_text("click me").first.click()  # type: ignore[attr-defined]
    samples.screenshot(path=str(screenshots / "web-keyword.png"), full_page=True)  # type: ignore[attr-defined]
    assert dialogs == []


def test_readme_shows_a_screenshot_this_test_made() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "![The demo's weekly report](docs/report-en.png)" in (root / "README.md").read_text(encoding="utf-8")
    png = (root / "docs" / "report-en.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk: the viewport this test opens
    assert (width, height) == (SCREEN["width"], SCREEN["height"])
