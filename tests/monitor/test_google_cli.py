"""The Google kinds as a user meets them through the installed `citewatch` command: `parse` on saved pages
and API bodies, `check-config` on engines that need a browser, a proxy password or a login:password key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import configured_secrets, load_config
from tests.conftest import realdata

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
CONFIG = """\
brand: {{name: Hengda Valve, aliases: [恒达阀门], domains: [hengdavalve.com]}}
keywords:
  - text: ball valve
    locale: {{country: de, language: de}}
engines:
{engines}
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=env)


def test_parse_a_saved_results_page_gives_the_overview_organic_results_and_features() -> None:
    result = cli("parse", "--kind", "google_browser", str(FIXTURES / "google_html" / "overview_zh.html"))
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["has_answer"] and parsed["text"].startswith("恒达阀门")
    assert parsed["features"][0] == "ai_overview"
    first = parsed["organic"][0]
    assert {"url", "rank", "title", "owner"} <= set(first) and first["rank"] == 1
    assert first["url"] == "https://www.hengdavalve.com/zh/"


def test_parse_detects_each_google_kind_without_being_told(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(engines="  - {id: g, kind: serpapi, api_key_env: K}"), encoding="utf-8")
    for path, kind in ((FIXTURES / "serpapi" / "google_inline_overview.json", "serpapi"),
                       (FIXTURES / "dataforseo" / "organic_ai_overview_tankless.json", "dataforseo"),
                       (FIXTURES / "google_html" / "captcha.html", "google_browser")):
        result = cli("parse", str(path), "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert f"detected kind {kind}" in result.stderr and json.loads(result.stdout)["kind"] == kind
    dataforseo = json.loads(cli("parse", str(FIXTURES / "dataforseo" / "organic_ai_overview_tankless.json")).stdout)
    assert dataforseo["cost"] == 0.002  # what DataForSEO says the call cost


def test_parse_reads_the_real_unusual_traffic_page_as_blocked() -> None:
    page = realdata("google_serp_html") / "google_sorry_unusual_traffic_blocked.html"
    if not page.is_file():
        pytest.skip(f"real sample {page.name} is absent")
    parsed = json.loads(cli("parse", str(page)).stdout)
    assert parsed["kind"] == "google_browser" and parsed["status"] == "blocked" and not parsed["has_answer"]


def test_check_config_names_a_missing_browser_and_what_google_engines_record(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(engines=(
        "  - {id: google, kind: serpapi, api_key_env: SERPAPI_KEY}\n"
        "  - {id: browser, kind: google_browser, browser: {executable: /nonexistent/chromium, viewport: mobile}}")),
        encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "SERPAPI_KEY": "serp-key-0123456789"}
    result = cli("check-config", "--config", str(path), env=env)
    assert result.returncode == 2
    assert "engines[browser].browser.executable: no browser at /nonexistent/chromium" in result.stderr
    path.write_text(path.read_text().replace("/nonexistent/chromium", sys.executable), encoding="utf-8")
    result = cli("check-config", "--config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert ("google (serpapi): Google results with AI Overviews through SerpApi (engine=google); records the AI "
            "Overview's sources, text spans, organic results and SERP features; sends locale city, country, "
            "language, region") in result.stdout
    assert "serp-key-0123456789" not in result.stdout + result.stderr


def test_browser_config_refuses_credentials_in_the_proxy_url_and_browser_options_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(engines=(
        "  - {id: browser, kind: google_browser, browser: {proxy: 'http://bob:hunter2@proxy.example:8080'}}\n"
        "  - {id: gpt, kind: openai, browser: {viewport: mobile}}")), encoding="utf-8")
    result = cli("check-config", "--config", str(path), env={"PATH": os.environ["PATH"]})
    assert result.returncode == 2
    assert "proxy must not carry credentials" in result.stderr and "hunter2" not in result.stderr
    assert "engines[1]" in result.stderr and "browser: only for kinds that drive a browser (google_browser)" in (
        result.stderr)


def test_a_browser_engine_loads_one_page_at_a_time_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(engines=(
        "  - {id: browser, kind: google_browser}\n  - {id: fast, kind: google_browser, concurrency: 3}\n"
        "  - {id: gpt, kind: openai}")), encoding="utf-8")
    assert [engine.concurrency for engine in load_config(path).engines] == [1, 3, 4]


def test_login_password_keys_and_proxy_passwords_are_masked_in_every_form(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """DataForSEO's key is login:password sent as basic auth: a service echoing the password alone or the
    base64 token must not get either into storage; a browser proxy's password neither."""
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(engines=(
        "  - {id: d4s, kind: dataforseo, api_key_env: D4S_KEY}\n"
        "  - {id: browser, kind: google_browser, browser: {proxy: 'http://proxy.example:8080', "
        "proxy_credentials_env: PROXY_AUTH}}")), encoding="utf-8")
    monkeypatch.setenv("D4S_KEY", "team@hengda.example:s3cret-passw0rd")
    monkeypatch.setenv("PROXY_AUTH", "bob:proxy-passw0rd-42")
    secrets = configured_secrets(load_config(path))
    token = "dGVhbUBoZW5nZGEuZXhhbXBsZTpzM2NyZXQtcGFzc3cwcmQ="  # base64 of the pair
    echoed = f"auth failed for Basic {token}; password s3cret-passw0rd; proxy proxy-passw0rd-42"
    masked = secrets.mask(echoed)
    assert "s3cret" not in masked and token not in masked and "proxy-passw0rd" not in masked
    assert b"s3cret" not in secrets.mask_bytes(echoed.encode())
