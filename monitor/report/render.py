"""Render the report data to report.html (self-contained, everything scraped escaped), report.md and report.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from monitor.markdown_text import md_cell, md_code, show_invisible
from monitor.metrics import keyword_csv
from monitor.output import prepare_folder, write_text
from monitor.report.build import change, per_engine_rows
from monitor.report.figures import POSITIONS, kinds_cited, position_shares, report_charts
from monitor.report.i18n import LABELS, NAMES
from monitor.report.narrative import summary_sentences
from monitor.report.numbers import number, pct, signed, value_of
from monitor.report.summary import kpi_rows


def points_in(t: dict[str, str]) -> Callable[[Any, Any], str]:
    """A change in percentage points in the report's language, or an en dash when either side has no data."""

    def points(current: Any, previous: Any) -> str:
        delta = change(value_of(current), value_of(previous))
        if delta is None:
            return "–"
        return t["points"].format(sign="+" if delta >= 0 else "−", value=abs(delta) * 100)

    return points


def day_in(t: dict[str, str]) -> Callable[[str | None], str]:
    """An ISO date as the language writes it: 2026年11月23日 in Chinese."""
    return lambda iso: "–" if not iso else t["date_format"].format(d=date.fromisoformat(iso[:10]))


# Characters that would hide or disguise text: C0/C1 controls (NUL ...), bidirectional overrides and
# isolates (a right-to-left override makes "moc.live" look like "evil.com"), invisible spaces and separators.
def visible(value: Any) -> Any:
    """Text with every character that would hide or disguise it shown as its code point. Applied to every
    value a template writes (Jinja's `finalize`), before escaping."""
    if not isinstance(value, str):
        return value
    shown = show_invisible(value)
    return value if shown == value else type(value)(shown) if isinstance(value, Markup) else shown


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.report", "templates"),
        finalize=visible,
        autoescape=select_autoescape(["html", "j2.html"], default_for_string=True, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=pct, number=number, signed=signed, md=md_cell, md_code=md_code)
    return env


def render(report: dict[str, Any], template: str, language: str = "en") -> str:
    """report.html or report.md in `language` (en or zh); the HTML with its charts inline."""
    env = _environment()
    labels, t, names = report.get("engine_labels", {}), LABELS[language], NAMES[language]

    def engine(engine_id: str) -> str:
        """An engine as users know it ("通义千问 (qwen)"); 'overall' is all engines."""
        return t["overall"] if engine_id == "overall" else labels.get(engine_id, {}).get(language, engine_id)

    env.filters.update(engine=engine, day=day_in(t), name=lambda key: names.get(key, key))
    env.globals.update(points=points_in(t))
    figures = report_charts(report, t, engine, names) if template.endswith(".html") else {}
    now, before = report["metrics"], report["metrics"]["previous"]
    kpi_tables = {name: kpi_rows(kpis, before["engines"].get(name) if name != "overall" else before["overall"],
                                 report["brand"])
                  for name, kpis in [("overall", now["overall"]), *now["engines"].items()]}
    return env.get_template(template).render(
        r=report, rows=per_engine_rows(report), t=t, lang=language, kpi_tables=kpi_tables,
        summary=summary_sentences(report, t, engine),
        mix_kinds={"content": kinds_cited(kpis["content_types"]["mix"] for kpis in now["engines"].values()),
                   "domains": kinds_cited(kpis["domain_classes"] for kpis in now["engines"].values())},
        positions=POSITIONS, position_shares=position_shares,
        # matplotlib's own markup, every label in it escaped (monitor.report.charts)
        charts={name: Markup(svg) for name, svg in figures.items()})


def write_report(report: dict[str, Any], out_dir: str | Path, language: str = "en") -> list[Path]:
    """Write report.html, report.md, report.json and keywords.csv into `out_dir` (made where missing); a
    folder that cannot be written is a UsageError naming the path and why."""
    out = prepare_folder(Path(out_dir), "report --out")
    return [
        write_text(out / "report.html", render(report, "report.html", language)),
        write_text(out / "report.md", render(report, "report.md", language)),
        write_text(out / "report.json", json.dumps(report, ensure_ascii=False, indent=2)),
        write_text(out / "keywords.csv", keyword_csv(report["keywords"])),
    ]
