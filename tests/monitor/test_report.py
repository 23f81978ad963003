"""The report: scraped strings are escaped everywhere, weeks are parsed strictly, labels come in Chinese too."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from citewatch.errors import UsageError
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import run_batch
from monitor.report import build_report, parse_iso_week, write_report
from storage import repository
from storage.db import open_database
from storage.records import CitationRecord, EntityRow, KeywordRow, MentionRecord, ObservationRecord
from tests.conftest import write_config

EVIL_TITLE = '<script>alert("x")</script> | [click](javascript:alert(1))'
EVIL_URL = 'https://hengdavalve.com/p?q="><img src=x onerror=alert(1)>'
EVIL_KEYWORD = "valve <b>|</b> price"
ROOT = Path(__file__).resolve().parents[2]


def store_evil_week(db: Engine, url: str = EVIL_URL, title: str = EVIL_TITLE) -> None:
    ids = repository.sync_project(
        db, "p", [EntityRow("Hengda Valve", "brand", ("恒达阀门",), ("hengdavalve.com",)),
                  EntityRow("Apex <i>Flow</i>", "competitor", (), ("apexflow.com",))],
        [KeywordRow(EVIL_KEYWORD)], datetime(2026, 11, 16, tzinfo=UTC))
    run_id = repository.start_run(db, ids.project_id, {"chatgpt": {str(ids.keyword_ids[EVIL_KEYWORD]): 1}},
                                  datetime(2026, 11, 23, 6, tzinfo=UTC))
    repository.save_observation(db, ids, ObservationRecord(
        run_id=run_id, keyword=EVIL_KEYWORD, engine_id="chatgpt", engine_kind="openai", sample_index=0,
        observed_at=datetime(2026, 11, 23, 6, tzinfo=UTC), status="ok", answer_text="恒达阀门 …", has_answer=True,
        citations=[CitationRecord(1, url, url, "hengdavalve.com", title, True, True, "annotation",
                                  "Hengda Valve", "product")],
        mentions=[MentionRecord("Hengda Valve", "恒达阀门", 1, 0, 1)]))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_scraped_strings_are_escaped(db: Engine, tmp_path: Path, language: str) -> None:
    store_evil_week(db)
    report = build_report(db, "p", ["Hengda Valve", "Apex <i>Flow</i>"], 2026, 48)
    write_report(report, tmp_path, language)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    for raw in ("<script>", "<img", "<b>|</b>", "<i>Flow"):
        assert raw not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    outside_code = re.sub(r"`[^`\n]*`", "", markdown)  # URLs are shown as code spans, which render literally
    assert "<script>" not in outside_code and "<img" not in outside_code
    assert "\\[click\\](javascript:alert(1))" in markdown  # cannot become a link
    assert "valve \\<b\\>\\|\\</b\\> price" in markdown  # the pipe cannot split the table row
    assert report["metrics"]["overall"]["inclusion_rate"]["value"] == 1.0
    if language == "zh":
        assert "AI 搜索可见度报告" in html and "引用率" in markdown



def _cells(row: str) -> int:
    """The cells of a Markdown table row, as GitHub counts them: pipes not escaped, in code spans too."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pipes_nul_and_direction_overrides_cannot_disguise_a_row(db: Engine, tmp_path: Path, language: str) -> None:
    store_evil_week(db, url="https://www.hengdavalve.com/products/a|b?q=x|y",
                    title="Evil\x00Title \u202egnp.exe | \u2066Hengda\u2069")
    write_report(build_report(db, "p", ["Hengda Valve", "Apex <i>Flow</i>"], 2026, 48), tmp_path, language)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    citations = markdown[markdown.index("### Hengda Valve"):].splitlines()
    header, page = citations[2], next(line for line in citations if "hengdavalve.com/products" in line)
    assert _cells(page) == _cells(header) == 5  # the URL's pipes stay inside its cell
    assert "a\\|b?q=x\\|y" in page
    for text in (html, markdown):
        assert not {"\x00", "\u202e", "\u2066", "\u2069"} & set(text)
        assert "⟨U+202E⟩gnp.exe" in text and "⟨U+2066⟩Hengda⟨U+2069⟩" in text
        assert "Evil\ufffdTitle" in text  # storage keeps NUL as the replacement character, which shows


def test_every_invisible_or_direction_character_is_shown_by_its_code_point() -> None:
    from monitor.report.render import visible

    assert visible("a\x00b\x1bc\u200bd\u202ee\ufeff") == "a⟨U+0000⟩b⟨U+001B⟩c⟨U+200B⟩d⟨U+202E⟩e⟨U+FEFF⟩"
    assert visible("恒达阀门 👍🏽 tab\tand\nnewline") == "恒达阀门 👍🏽 tab\tand\nnewline"  # left alone
    assert visible(3) == 3

@pytest.mark.parametrize("text", ["2026-47", "2026-W54", "W47", "2026-w47x", "0001-W01", "9999-W52"])
def test_bad_week_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--week"):
        parse_iso_week(text)


def test_week_53_exists_only_in_long_years() -> None:
    assert parse_iso_week("2026-W53") == (2026, 53)
    with pytest.raises(UsageError, match="has no week 53"):
        parse_iso_week("2025-W53")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_metrics_and_report_cli_on_a_database_with_only_failures(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///failed.db", samples=1)
    missing = cli("metrics", "--config", str(config), "--since", "2026-11-16", "--until", "2026-11-22")
    assert missing.returncode == 3 and f"no database at {tmp_path / 'failed.db'}" in missing.stderr
    db = open_database(f"sqlite:///{tmp_path / 'failed.db'}")
    asyncio.run(run_batch(load_config(config), db, fixed_clock(datetime(2026, 11, 17, 6, 0, tzinfo=UTC))))
    db.dispose()
    result = cli("metrics", "--config", str(config), "--since", "2026-11-16", "--until", "2026-11-22",
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["period"] == {"since": "2026-11-16", "until": "2026-11-22", "project": "Hengda Valve"}
    assert list(data["engines"]) == ["chatgpt"] and data["overall"]["failed"] == 3
    assert data["overall"]["inclusion_rate"] == {"value": None, "low": None, "high": None, "n": 0,
                                                 "low_sample": True, "included": 0}
    assert data["overall"]["coverage"]["value"] == 0.0 and data["overall"]["coverage"]["n"] == 3
    report = cli("report", "--config", str(config), "--week", "2026-W47", "--out", str(tmp_path / "r"))
    assert report.returncode == 0, report.stderr
    assert "note: 2026-W47 has no successful observation for 'Hengda Valve' (3 stored" in report.stderr
    empty_week = cli("report", "--config", str(config), "--week", "2026-W40", "--out", str(tmp_path / "e"))
    assert "note: 2026-W40 has no successful observation for 'Hengda Valve' (0 stored" in empty_week.stderr
    assert "No observations in this period." in (tmp_path / "e" / "report.md").read_text(encoding="utf-8")
    bad = cli("metrics", "--config", str(config), "--since", "16/11/2026", "--until", "2026-11-22")
    assert bad.returncode == 2 and "--since '16/11/2026'" in bad.stderr
    far = cli("metrics", "--config", str(config), "--since", "2026-11-16", "--until", "9999-12-31")
    assert far.returncode == 2 and "--until '9999-12-31': expected a date from 1970-01-01 to 9998-12-31" in far.stderr


@pytest.mark.parametrize("language", ["en", "zh"])
def test_ai_referral_traffic_is_reported_beside_the_pages_the_engines_cite(db: Engine, tmp_path: Path,
                                                                             language: str) -> None:
    from datetime import date

    from storage import traffic
    from storage.models import AiCrawlerDay, AiReferralDay

    store_evil_week(db)  # the brand's page https://hengdavalve.com/p?... cited by chatgpt for one keyword
    project_id = repository.project_id(db, "p")
    hostile = "/<script>alert(1)</script>"
    with db.begin() as connection:
        traffic.add_counts(connection, AiReferralDay, project_id, {
            (date(2026, 11, 24), "perplexity", "/p"): [40, 37], (date(2026, 11, 25), "chatgpt", "/p"): [3, 2],
            (date(2026, 11, 25), "chatgpt", hostile): [1, 1], (date(2026, 11, 18), "chatgpt", "/p"): [9, 9]})
        traffic.add_counts(connection, AiCrawlerDay, project_id, {
            (date(2026, 11, 24), "GPTBot", "training", "verified", "/p"): [5],
            (date(2026, 11, 24), "GPTBot", "training", "spoofed", "/"): [2]})
    report = build_report(db, "p", ["Hengda Valve", "Apex <i>Flow</i>"], 2026, 48)
    section = report["ai_referral_traffic"]
    assert section["ai_referrals"]["total"] == {"pageviews": 44, "visits": 40}
    assert section["previous"]["ai_referrals"]["total"] == {"pageviews": 9, "visits": 9}
    assert section["ai_crawlers"]["by_bot"] == {"GPTBot": 5} and section["ai_crawlers"]["spoofed"] == 2
    assert section["landing_pages_cited"][0] == {
        "path": "/p", "visits": 39, "visits_by_source": {"perplexity": 37, "chatgpt": 2}, "cited_by": {"chatgpt": 1}}
    assert report["metrics"]["ai_referral_traffic"]["ai_referrals"]["total"]["visits"] == 40
    write_report(report, tmp_path, language)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "perplexity 37, chatgpt 2" in html and "perplexity 37, chatgpt 2" in markdown
    assert ("AI 引荐流量" if language == "zh" else "AI referral traffic") in html
