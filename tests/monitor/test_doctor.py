"""`citewatch doctor`: each check's finding, through the installed console script and in-process where time
has to be chosen."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.doctor import diagnose
from probes.simulator import Simulator, demo_scenario
from tests.conftest import write_config
from tests.probes.browser_support import require_chromium

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")


def doctor(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), "doctor", "--config", str(config), *extra], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_doctor_finds_a_missing_database_then_passes_once_a_run_stored_and_the_engine_answers(tmp_path: Path
                                                                                               ) -> None:
    with Simulator(demo_scenario()) as sim:
        config = write_config(tmp_path / "c.yaml", sim.base_url, "sqlite:///d.db", samples=1)
        before = doctor(config)
        assert before.returncode == 6, before.stdout + before.stderr
        assert "PROBLEM database: no database at " in before.stdout and "1 problem(s) found" in before.stderr
        assert "ok      api keys: every key variable named is set" in before.stdout
        ran = subprocess.run([str(CONSOLE_SCRIPT), "run", "--config", str(config)], capture_output=True,
                             text=True, cwd=ROOT, timeout=120)
        assert ran.returncode == 0, ran.stderr
        after = doctor(config, "--probe")
        requests = len(sim.requests)
    assert after.returncode == 0, after.stdout + after.stderr
    lines = after.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok      config", "ok      api keys", "ok      database", "ok      freshness chatgpt", "ok      engine chatgpt"]
    assert "reachable, at this version's schema" in lines[2] and "answered 'industrial ball valve" in lines[4]
    assert requests == 3 + 1  # the run's three probes, and doctor's one request


def test_a_missing_key_and_a_stale_engine_are_problems(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CITEWATCH_TEST_KEY", raising=False)
    with Simulator(demo_scenario()) as sim:
        path = write_config(tmp_path / "c.yaml", sim.base_url, "sqlite:///d.db", samples=1)
        assert subprocess.run([str(CONSOLE_SCRIPT), "run", "--config", str(path)], capture_output=True,
                              cwd=ROOT, timeout=120).returncode == 0
    config = load_config(path)
    fresh = {f.check: f for f in diagnose(config, datetime.now(UTC) + timedelta(hours=20))}
    stale = {f.check: f for f in diagnose(config, datetime.now(UTC) + timedelta(days=3))}
    assert fresh["freshness chatgpt"].ok and "the schedule allows 49.0 h" in fresh["freshness chatgpt"].detail
    assert not stale["freshness chatgpt"].ok
    path.write_text(path.read_text(encoding="utf-8").replace("    retries: 0\n",
                                                             "    retries: 0\n    api_key_env: CITEWATCH_TEST_KEY\n"),
                    encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + "health: {heartbeat_url_env: CITEWATCH_TEST_KEY}\n",
                    encoding="utf-8")
    keyless = {f.check: f for f in diagnose(load_config(path), datetime.now(UTC))}
    assert not keyless["api keys"].ok and "CITEWATCH_TEST_KEY" in keyless["api keys"].detail
    assert not keyless["heartbeat"].ok and "CITEWATCH_TEST_KEY is not set" in keyless["heartbeat"].detail


def test_doctor_launches_the_browser_of_a_browser_engine(tmp_path: Path) -> None:
    chromium = require_chromium()
    path = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///d.db")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "storage:", f"  - {{id: browser, kind: google_browser, browser: {{executable: {chromium}}}}}\nstorage:"),
        encoding="utf-8")
    findings = {f.check: f for f in diagnose(load_config(path), datetime.now(UTC))}
    assert findings[f"browser {chromium}"].ok and "launches (version " in findings[f"browser {chromium}"].detail
    broken = tmp_path / "not-a-browser"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    path.write_text(path.read_text(encoding="utf-8").replace(chromium, str(broken)), encoding="utf-8")
    findings = {f.check: f for f in diagnose(load_config(path), datetime.now(UTC))}
    assert not findings[f"browser {broken}"].ok and "does not launch" in findings[f"browser {broken}"].detail
