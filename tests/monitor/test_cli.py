"""The thin CLI: help texts, `parse`, `db upgrade`, `run` summary and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from probes.simulator import Simulator
from storage.db import make_engine
from tests.conftest import realdata, write_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "openai"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize(("command", "expected"), [
    ((), ["check-config", "db", "run", "metrics", "report", "demo", "parse"]),
    (("run", "--help"), ["--config", "Run one batch now"]),
    (("metrics", "--help"), ["--since", "--until", "--format"]),
    (("report", "--help"), ["--week", "--out", "--lang"]),
    (("parse", "--help"), ["--kind", "--config", "FILE"]),
])
def test_help_texts_document_every_command(command: tuple[str, ...], expected: list[str]) -> None:
    result = cli(*command, "--help") if command else cli("--help")
    assert result.returncode == 0
    for word in expected:
        assert word in result.stdout


def test_parse_prints_answer_json_with_owners(tmp_path: Path) -> None:
    fixture = FIXTURES / "hengda_butterfly_3citations_dup_utm.json"
    result = cli("parse", "--kind", "openai", str(fixture), "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"text", "citations", "mentions", "search_queries", "model", "status"} <= answer.keys()
    cited = [c for c in answer["citations"] if c["cited"]]
    assert [c["position"] for c in cited] == list(range(1, len(cited) + 1))
    assert any(c["owner"] == "Hengda Valve" for c in cited)


@pytest.mark.parametrize(("kind", "fixture"), [
    ("openai", "openai/hengda_zh_cjk_emoji.json"),
    ("openai_chat", "openai_chat/chat_hengda_3citations_dup_utm.json"),
    ("openai_compatible", "openai_chat/deepseek_chat_zh_links.json"),
    ("perplexity", "perplexity/hengda_ball_valve_dup_markers.json"),
    ("gemini", "gemini/hengda_api6d_grounded.json"),
    ("anthropic", "anthropic/hengda_ball_valve_dup_sources.json"),
])
def test_parse_knows_every_assistant_kind(kind: str, fixture: str) -> None:
    result = cli("parse", "--kind", kind, str(ROOT / "tests" / "fixtures" / fixture), "--config",
                 str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["kind"] == kind and answer["status"] == "ok" and answer["model"]
    cited = [c for c in answer["citations"] if c["cited"]]
    assert cited and [c["position"] for c in cited] == list(range(1, len(cited) + 1))
    assert all(c["position"] > len(cited) for c in answer["citations"] if not c["cited"])
    assert any(c["owner"] == "Hengda Valve" for c in cited)
    assert any(m["entity"] == "Hengda Valve" for m in answer["mentions"])


def test_parse_real_sample_without_config() -> None:
    sample = realdata("openai_json") / "responses_web_search_gpt5_news_3citations.json"
    result = cli("parse", "--kind", "openai", str(sample))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert len([c for c in answer["citations"] if c["cited"]]) == 3
    assert all(c["owner"] is None for c in answer["citations"])


def test_parse_garbage_and_unknown_kind_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "page.html"
    garbage.write_text("<html>502 Bad Gateway</html>")
    result = cli("parse", "--kind", "openai", str(garbage))
    assert result.returncode == 2 and f"{garbage}: not a openai payload" in result.stderr
    unknown = cli("parse", "--kind", "bing", str(garbage))
    assert unknown.returncode == 2 and "engine kind 'bing'" in unknown.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///fresh.db")
    result = cli("db", "upgrade", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "observation" in inspect(make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")).get_table_names()


def test_run_reports_failures_and_exits_0(tmp_path: Path, simulator: Simulator) -> None:
    from probes.simulator import ScriptedResponse

    simulator.enqueue(ScriptedResponse(status=500, body=b"{}"))
    config = write_config(tmp_path / "c.yaml", simulator.base_url, "sqlite:///run.db", samples=1)
    result = cli("run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "3/3 observations stored" in result.stdout and "1 failed" in result.stdout
    assert "chatgpt: 1 failed probe(s)" in result.stderr
