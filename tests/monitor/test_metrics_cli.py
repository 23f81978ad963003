"""`citewatch metrics` as a user runs it: the full KPI set beside the week before, the filters, the CSV
table, branded keywords detected from config, and rollups that a rebuild leaves unchanged."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import run_batch
from probes.simulator import Simulator
from storage.db import open_database

CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
CONFIG = """\
brand:
  name: Hengda Valve
  aliases: [Hengda, 恒达阀门]
  domains: [hengdavalve.com]
competitors:
  - name: Apex Flow Controls
    aliases: [Apex Flow]
    domains: [apexflow.com]
keywords:
  - text: industrial ball valve manufacturer
    tags: [core]
    weight: 2
  - text: 球阀 制造商
    tags: [zh]
  - text: hengda valve reviews
    prompt: Is Hengda a good valve maker?
engines:
  - {{id: chatgpt, kind: openai, model: gpt-5-mini, base_url: "{base_url}", samples: 2}}
  - {{id: mini, kind: openai, model: gpt-5-nano, base_url: "{base_url}", samples: 1}}
storage:
  url: sqlite:///{db}
metrics:
  min_sample: 5
"""


def citewatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_metrics_cli_reports_every_kpi_with_filters_and_csv(tmp_path: Path, simulator: Simulator) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(base_url=simulator.base_url, db=tmp_path / "m.db"), encoding="utf-8")
    config = load_config(path)
    db = open_database(config.storage.url)
    for day in range(14):  # two ISO weeks, a run a day
        asyncio.run(run_batch(config, db, fixed_clock(datetime(2026, 11, 16, 6, tzinfo=UTC) + timedelta(days=day))))
    db.dispose()
    week = ("--since", "2026-11-23", "--until", "2026-11-29")

    result = citewatch("metrics", "--config", str(path), *week, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    overall = data["overall"]
    assert overall["scheduled"] == 7 * 3 * 3 and overall["successful"] == 63
    for key in ("visible_share", "mentions_per_answer", "mention_position", "content_types", "domain_classes",
                "citation_rate_given_citations", "visibility_pawc", "organic_rank", "search_pool"):
        assert key in overall, key
    assert set(overall["share_of_voice"]) == {"citations", "citations_weighted", "mentions"}
    for rate in (overall["coverage"], overall["answer_rate"], overall["mention_rate"]["Hengda Valve"],
                 overall["share_of_voice"]["citations"]["Apex Flow Controls"], overall["visible_share"]):
        assert set(rate) >= {"value", "low", "high", "n", "low_sample"}
        assert rate["low"] <= rate["value"] <= rate["high"]
    # the keyword naming the brand is set apart: brand recognition, not share of voice
    assert data["branded"]["keywords"] == ["hengda valve reviews"]
    assert data["branded"]["brand_recognition"]["n"] == 7 * 3
    assert overall["mention_rate"]["Hengda Valve"]["n"] == 7 * 3 * 2  # the two unbranded keywords' answers
    assert data["previous"]["period"] == {"since": "2026-11-16", "until": "2026-11-22", "project": "Hengda Valve"}
    inclusion_change = data["change"]["overall"]["inclusion_rate"]
    assert data["change"]["test"].startswith("two-proportion z-test")
    assert inclusion_change["absolute"] == overall["inclusion_rate"]["value"] - data["previous"]["overall"][
        "inclusion_rate"]["value"]
    assert isinstance(inclusion_change["significant"], bool)
    assert set(data["tags"]) == {"core", "zh"} and set(data["keywords"]) == {
        "industrial ball valve manufacturer", "球阀 制造商", "hengda valve reviews"}

    one = json.loads(citewatch("metrics", "--config", str(path), *week, "--format", "json", "--engine", "mini",
                               "--tag", "zh").stdout)
    assert list(one["engines"]) == ["mini"] and list(one["keywords"]) == ["球阀 制造商"]
    assert one["overall"]["successful"] == 7

    table = citewatch("metrics", "--config", str(path), *week, "--format", "csv", "--keyword", "球阀 制造商",
                      "--keyword", "industrial ball valve manufacturer")
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [row["keyword"] for row in rows] == ["industrial ball valve manufacturer", "球阀 制造商"]
    assert rows[0]["successful"] == "21" and "chatgpt=" in rows[0]["by_engine"]

    typo = citewatch("metrics", "--config", str(path), *week, "--engine", "chatgtp")
    assert typo.returncode == 2 and "--engine 'chatgtp': not in" in typo.stderr and "chatgpt, mini" in typo.stderr
    shown = citewatch("metrics", "--config", str(path), *week)
    assert shown.returncode == 0 and "│ chatgpt" in shown.stdout and "two-proportion z-test" in shown.stdout

    rebuilt = citewatch("db", "rebuild-rollups", "--config", str(path))
    assert rebuilt.returncode == 0 and "rollups rebuilt from 126 observations" in rebuilt.stdout
    again = json.loads(citewatch("metrics", "--config", str(path), *week, "--format", "json").stdout)
    assert again == data

    # payloads recompressed with a dictionary trained on them stay readable: reparse reads them all
    compacted = citewatch("db", "compact", "--config", str(path))
    assert compacted.returncode == 0, compacted.stderr
    assert compacted.stdout.startswith("openai: dictionary 1 from ") and "payloads recompressed" in compacted.stdout
    assert "answers" in compacted.stdout.splitlines()[0]
    reparsed = citewatch("reparse", "--config", str(path), "--all")
    assert reparsed.returncode == 0 and "126" in reparsed.stdout and "missing" not in reparsed.stdout, reparsed
    assert json.loads(citewatch("metrics", "--config", str(path), *week, "--format", "json").stdout) == data
