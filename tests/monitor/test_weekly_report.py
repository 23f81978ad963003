"""The weekly report rendered from a demo database in both languages: every figure it shows is checked against
the report's own metrics JSON, the charts are there and labelled in the report's language, and report.pdf
is printed with a CJK font where Chromium is installed."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag

from monitor.config import load_config
from monitor.demo import DemoResult
from monitor.report.charts import cjk_font
from monitor.report.i18n import LABELS
from monitor.report.publish import Published, publish_week
from storage.db import open_database
from tests.conftest import skip_or_fail
from tests.probes.browser_support import require_chromium


@pytest.fixture(scope="module", params=["en", "zh"])
def published(request: pytest.FixtureRequest, demo: DemoResult, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[str, Published]:
    config = load_config(demo.config_path)
    db = open_database(config.storage.url)
    try:
        out = tmp_path_factory.mktemp(f"report-{request.param}")
        return request.param, publish_week(config, db, 2026, 48, out, request.param, pdf=False)
    finally:
        db.dispose()


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def soup_of(published: Published) -> BeautifulSoup:
    return BeautifulSoup(published.files[0].read_text(encoding="utf-8"), "lxml")


def table_after(soup: BeautifulSoup, heading_id: str) -> list[list[str]]:
    """The rows (cell texts) of the first table after the heading with `heading_id`."""
    table = soup.find(id=heading_id).find_next("table")
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])] for row in table.find_all("tr")]


def test_summary_states_each_headline_kpi_with_its_n_interval_change_and_noise(published: tuple[str, Published]
                                                                               ) -> None:
    language, result = published
    t, metrics = LABELS[language], result.report["metrics"]
    now, before = metrics["overall"]["inclusion_rate"], metrics["previous"]["overall"]["inclusion_rate"]
    change = metrics["change"]["overall"]["inclusion_rate"]
    lines = [li.get_text() for li in soup_of(result).select("ul.summary li")]
    first = lines[0]
    assert first.startswith(f"{t['inclusion_rate']} · {t['overall']}")
    assert f"{pct(now['value'])}" in first and f"n={now['n']}" in first
    assert f"{pct(now['low'])}–{pct(now['high'])}" in first
    assert f"{pct(before['value'])}" in first and f"n={before['n']}" in first
    assert f"{abs(change['absolute']) * 100:.1f}" in first
    verdict = t["beyond_noise"] if change["significant"] else t["within_noise"]
    assert verdict in first
    # the same sentences in report.md
    markdown = result.files[1].read_text(encoding="utf-8")
    assert all(line.replace("|", "\\|") in markdown for line in lines if "*" not in line and "_" not in line)
    lost, gained = (len(result.report["citation_changes"][side]) for side in ("lost", "gained"))
    assert any(str(lost) in line and str(gained) in line for line in lines)


def test_every_engine_row_and_kpi_table_matches_the_metrics(published: tuple[str, Published]) -> None:
    language, result = published
    t, metrics, labels = LABELS[language], result.report["metrics"], result.report["engine_labels"]
    soup = soup_of(result)
    headline = {row[0]: row for row in table_after(soup, "headline")[1:]}
    for engine, kpis in metrics["engines"].items():
        row = headline[labels[engine][language]]
        assert row[3].startswith(pct(kpis["inclusion_rate"]["value"]))
        assert row[5] == str(kpis["inclusion_rate"]["n"])
        assert row[1] == pct(kpis["coverage"]["value"])
    # every KPI for both weeks, per engine: this week, its n, the week before, its n
    all_kpis = soup.find(id="all-kpis")
    for heading in all_kpis.find_all_next("h3"):
        name = next(engine for engine in [*metrics["engines"], "overall"]
                    if (t["overall"] if engine == "overall" else labels[engine][language]) == heading.get_text())
        now = metrics["overall"] if name == "overall" else metrics["engines"][name]
        before = metrics["previous"]["overall"] if name == "overall" else metrics["previous"]["engines"][name]
        rows = {r[0]: r for r in ([c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
                                  for tr in heading.find_next("table").find_all("tr"))}
        for key, read in (("inclusion_rate", lambda k: k["inclusion_rate"]), ("coverage", lambda k: k["coverage"]),
                          ("mention_rate", lambda k: k["mention_rate"][result.report["brand"]])):
            row = rows[t[key]]
            assert row[1] == pct(read(now)["value"]) and row[3] == str(read(now)["n"])
            assert row[4] == pct(read(before)["value"]) and row[5] == str(read(before)["n"])


def test_keyword_table_shows_inclusion_per_engine(published: tuple[str, Published]) -> None:
    language, result = published
    rows = table_after(soup_of(result), "keywords")
    engines = list(result.report["metrics"]["engines"])
    for row in rows[1:]:
        keyword = result.report["keywords"][row[0]]
        assert row[1] == pct(keyword["inclusion_rate"]["value"])
        for index, engine in enumerate(engines):
            rate = keyword["by_engine"].get(engine)
            assert row[3 + index].split(" n=")[0] == (pct(rate["value"]) if rate else "–")
    assert {row[0] for row in rows[1:]} == set(result.report["keywords"])
    with open(result.files[3], encoding="utf-8", newline="") as handle:
        assert [row["keyword"] for row in csv.DictReader(handle)] == list(result.report["keywords"])


def test_lost_gained_found_and_failures_sections_match_the_data(published: tuple[str, Published]) -> None:
    language, result = published
    t, report, soup = LABELS[language], result.report, soup_of(result)
    changes = soup.find(id="changes")
    for side in ("lost", "gained"):
        rows = report["citation_changes"][side]
        heading = changes.find_next("h3", string=re.compile(re.escape(t[side])))
        if not rows:
            assert heading is None or heading.find_previous("h2") != changes
            continue
        assert heading.get_text() == f"{t[side]} ({len(rows)})"
        first = [c.get_text(" ", strip=True) for c in heading.find_next("table").find_all("tr")[1].find_all("td")]
        assert rows[0]["normalized_url"] in first[0]
        assert first[3] == (f"{rows[0]['cited_before']}/{rows[0]['answers_before']} → "
                            f"{rows[0]['cited_now']}/{rows[0]['answers_now']}")
        day = date.fromisoformat(rows[0]["date"])
        assert first[4] == (f"{day.year}年{day.month:02d}月{day.day:02d}日" if language == "zh"
                            else day.strftime("%d %b %Y"))
    coverage = {row[0]: row for row in table_after(soup, "coverage")[1:]}
    for engine, kpis in report["metrics"]["engines"].items():
        row = coverage[report["engine_labels"][engine][language]]
        assert row[1:4] == [str(kpis["scheduled"]), str(kpis["successful"]), str(kpis["failed"])]
    found = soup.find(id="found-not-cited").find_next(["table", "p"])
    if report["found_not_cited"]:
        assert report["found_not_cited"][0]["normalized_url"] in found.get_text()
    else:
        assert found.get_text(strip=True) == t["no_found_pages"]


def test_charts_are_inline_svg_labelled_in_the_report_language(published: tuple[str, Published]) -> None:
    language, result = published
    t, soup = LABELS[language], soup_of(result)
    charts: list[Tag] = soup.select("figure.chart")
    assert [figure["id"] for figure in charts] == ["chart-inclusion", "chart-share_of_voice", "chart-positions",
                                                   "chart-content_types", "chart-domain_classes"]
    for figure, title in zip(charts, ("chart_inclusion", "chart_sov", "chart_positions", "chart_content",
                                      "chart_domains"), strict=True):
        svg = figure.find("svg")
        assert svg is not None and svg.find("title").get_text() == t[title]
        assert len(svg.find_all("path")) > 5  # lines, bars and axes drawn, not an empty frame
        assert svg.find_all("text")  # labels are text a reader can select, not glyph outlines
    if language == "zh":
        assert re.search("[\u4e00-\u9fff]", charts[0].find("svg").get_text())
        assert "2026年11月23日" in soup.select_one("p.sub").get_text()


def test_no_label_of_the_other_language_is_left(published: tuple[str, Published]) -> None:
    language, result = published
    other = "en" if language == "zh" else "zh"
    html = result.files[0].read_text(encoding="utf-8")
    markdown = result.files[1].read_text(encoding="utf-8")
    foreign = {value for key, value in LABELS[other].items()
               if value != LABELS[language][key] and len(value) > 3 and "{" not in value}
    assert len(foreign) > 50
    for label in foreign:
        assert f">{label}<" not in html and f"| {label} |" not in markdown and f"## {label}\n" not in markdown


def test_pdf_is_printed_with_a_cjk_font(demo: DemoResult, tmp_path: Path) -> None:
    require_chromium()
    if cjk_font() is None:
        skip_or_fail("no CJK font installed (Debian: apt-get install fonts-wqy-microhei)")
    config = load_config(demo.config_path)
    db = open_database(config.storage.url)
    try:
        result = publish_week(config, db, 2026, 48, tmp_path, "zh")
    finally:
        db.dispose()
    assert result.no_pdf is None, result.no_pdf
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    fonts = {name.decode() for name in re.findall(rb"/FontName\s*/([^\s/]+)", pdf)}
    assert any(re.search("CJK|WenQuanYi|WQY|Han|Hei", name, re.I) for name in fonts), fonts
    assert not list(tmp_path.glob("*.partial"))


def test_report_json_is_the_data_the_pages_show(published: tuple[str, Published]) -> None:
    _, result = published
    stored: dict[str, Any] = json.loads(result.files[2].read_text(encoding="utf-8"))
    assert stored["metrics"]["overall"]["inclusion_rate"] == result.report["metrics"]["overall"]["inclusion_rate"]
    assert stored["trend"]["weeks"][-1] == "2026-W48"
    assert set(stored["trend"]["inclusion_rate"]) == {*stored["metrics"]["engines"], "overall"}
