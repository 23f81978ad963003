"""The demo end to end, and its report's numbers recomputed independently from the stored rows with plain SQL."""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from monitor.demo import DemoResult, demo_days, run_demo
from monitor.report import write_report
from tests.conftest import DEMO_TODAY as TODAY


def test_demo_covers_two_full_iso_weeks(demo: DemoResult) -> None:
    assert demo_days(TODAY)[0] == date(2026, 11, 16) and demo_days(TODAY)[-1] == date(2026, 11, 29)
    assert demo.week == "2026-W48" and len(demo.runs) == 14
    assert all(r.stored == r.planned == 126 for r in demo.runs)
    # a few probes fail, as real services do (2-4% of them), and are stored as failed
    failed = sum(r.failed for r in demo.runs)
    assert 0.02 <= failed / (14 * 126) <= 0.04
    for name in ("report.html", "report.md", "report.json"):
        assert (demo.out / name).stat().st_size > 1000


def _recompute(db: Path, since: str, until: str, brand: str, engine: str | None) -> dict:
    """The headline KPIs straight from the tables, written without the library's code."""
    con = sqlite3.connect(db)
    rows = con.execute(
        """
        SELECT o.id, k.text, k.weight, o.status, o.has_answer
        FROM observation o JOIN keyword k ON k.id = o.keyword_id
        WHERE date(o.observed_at) BETWEEN ? AND ? AND k.active AND (? IS NULL OR o.engine_id = ?)
        """, (since, until, engine, engine)).fetchall()
    ok = [r for r in rows if r[3] in ("ok", "no_answer")]
    failed = [r for r in rows if r[3] in ("error", "blocked")]
    assert len(ok) + len(failed) == len(rows)
    cited = dict(con.execute(
        """
        SELECT c.observation_id, MIN(c.position) FROM citation c JOIN source s ON s.id = c.source_id
        JOIN tracked_entity e ON e.id = s.owner_id
        WHERE e.name = ? AND c.cited GROUP BY c.observation_id
        """, (brand,)).fetchall())
    named = {r[0] for r in con.execute(
        "SELECT m.observation_id FROM mention m JOIN tracked_entity e ON e.id = m.entity_id WHERE e.name = ?",
        (brand,))}
    per_keyword: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    weight = {}
    for oid, keyword, w, _, _ in ok:
        per_keyword[keyword][0] += oid in cited
        per_keyword[keyword][1] += 1
        weight[keyword] = w
    inclusion = sum(weight[k] * h / n for k, (h, n) in per_keyword.items()) / sum(weight.values())
    answered = [r for r in ok if r[4]]
    positions = sorted(cited[r[0]] for r in ok if r[0] in cited)
    hits, n = sum(h for h, _ in per_keyword.values()), len(ok)
    p, z = hits / n, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {
        "successful": len(ok),
        "failed": len(failed),
        "inclusion": inclusion,
        "low": centre - half,
        "high": centre + half,
        "mention_rate": sum(r[0] in named for r in answered) / len(answered),
        "mean_position": sum(positions) / len(positions),
        "top3": sum(p <= 3 for p in positions) / len(positions),
    }


def test_report_numbers_match_an_independent_recomputation(demo: DemoResult) -> None:
    report = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))
    engines = ["chatgpt", "perplexity", "gemini", "claude", "deepseek", "google", "qwen"]
    assert sorted(report["metrics"]["engines"]) == sorted(engines)
    for (key, since, until), engine in itertools.product(
            (("metrics", "2026-11-23", "2026-11-29"), ("previous", "2026-11-16", "2026-11-22")),
            [*engines, None]):
        expected = _recompute(demo.database, since, until, "Hengda Valve", engine)
        period = report["metrics"] if key == "metrics" else report["metrics"]["previous"]
        got = period["engines"][engine] if engine else period["overall"]
        scheduled = 126 if engine else 882
        assert got["scheduled"] == expected["successful"] + expected["failed"] == scheduled
        assert got["successful"] == expected["successful"] and got["failed"] == expected["failed"]
        assert got["coverage"]["value"] == pytest.approx(expected["successful"] / scheduled)
        assert got["inclusion_rate"]["value"] == pytest.approx(expected["inclusion"])
        assert got["inclusion_rate"]["low"] == pytest.approx(expected["low"])
        assert got["inclusion_rate"]["high"] == pytest.approx(expected["high"])
        assert got["mention_rate"]["Hengda Valve"]["value"] == pytest.approx(expected["mention_rate"])
        assert got["citation_position"]["mean"] == pytest.approx(expected["mean_position"])
        assert got["citation_position"]["top3_share"]["value"] == pytest.approx(expected["top3"])
    # the scenario cites the brand more often in the second week; the report must show it
    assert report["metrics"]["overall"]["inclusion_rate"]["value"] > \
        report["metrics"]["previous"]["overall"]["inclusion_rate"]["value"]


def test_markdown_and_html_show_the_same_figures(demo: DemoResult) -> None:
    report = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))
    chatgpt = report["metrics"]["engines"]["chatgpt"]
    inclusion = chatgpt["inclusion_rate"]["value"]
    previous = report["metrics"]["previous"]["engines"]["chatgpt"]["inclusion_rate"]["value"]
    shown, change = f"{inclusion * 100:.1f}%", f"{(inclusion - previous) * 100:+.1f} pp"
    coverage, answered = chatgpt["coverage"]["value"], chatgpt["answer_rate"]["value"]
    markdown = (demo.out / "report.md").read_text(encoding="utf-8")
    html = (demo.out / "report.html").read_text(encoding="utf-8")
    assert f"| ChatGPT | {coverage * 100:.1f}% | {answered * 100:.1f}% | {shown} | {change} |" in markdown
    assert shown in html and change in html
    assert "| 球阀 制造商 |" in markdown and "<td>球阀 制造商</td>" in html
    assert "<script" not in html and "http://" not in html.split("<body>")[0]  # self-contained, no remote assets


def test_engines_are_named_as_users_know_them_in_each_language(demo: DemoResult, tmp_path: Path) -> None:
    report = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))
    assert report["engine_labels"]["qwen"] == {"en": "Qwen", "zh": "通义千问 (qwen)"}
    write_report(report, tmp_path, "zh")
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "| 通义千问 (qwen) |" in markdown and "<td>通义千问 (qwen)</td>" in html
    assert "| ChatGPT |" in markdown and "| 全部引擎 |" in markdown


def test_demo_is_deterministic_per_seed(demo: DemoResult, tmp_path: Path) -> None:
    again = run_demo(tmp_path, today=TODAY, pdf=False)
    first = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))
    second = json.loads((again.out / "report.json").read_text(encoding="utf-8"))
    # equal up to float rounding: concurrent probes store in varying order, so sums add up in varying order
    figures, again_figures = flatten(first["metrics"]), flatten(second["metrics"])
    texts = {path for path, value in figures.items() if isinstance(value, str)}
    assert {p: figures[p] for p in texts} == {p: again_figures.get(p) for p in texts}
    figures = {p: v for p, v in figures.items() if p not in texts}
    again_figures = {p: v for p, v in again_figures.items() if p not in texts}
    unknown = {path for path, value in figures.items() if value is None}  # e.g. no organic rank for assistants
    assert unknown == {path for path, value in again_figures.items() if value is None}
    assert {p: v for p, v in figures.items() if p not in unknown} == pytest.approx(
        {p: v for p, v in again_figures.items() if p not in unknown}, rel=1e-12)
    assert first["citations"] == second["citations"]


def flatten(value: object, path: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for key, item in enumerate(value) for k, v in flatten(item, f"{path}.{key}").items()}
    return {path: value}


def test_visibility_and_search_pool_are_reported(demo: DemoResult) -> None:
    report = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))
    overall = report["metrics"]["overall"]
    shares = {name: share["value"] for name, share in overall["visibility_pawc"].items()}
    assert 0 < shares["Hengda Valve"] < 1 and sum(shares.values()) <= 1.0 + 1e-9
    pool = overall["search_pool"]  # the assistants that report what their search retrieved
    assert 0 < pool["n"] <= overall["successful"]
    assert 0 < pool["brand_found_rate"]["value"] <= 1 and 0 < pool["cited_given_found"]["value"] <= 1
    assert "Visibility (position-adjusted words)" in (demo.out / "report.md").read_text(encoding="utf-8")
