"""One week's report for a configured project, built and written: what `citewatch report` and the daemon's
`report.schedule` both do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from monitor.config import Config
from monitor.report.build import build_report
from monitor.report.pdf import write_pdf
from monitor.report.render import write_report


@dataclass(frozen=True)
class Published:
    report: dict[str, Any]  # the report data (report.json)
    files: list[Path]  # what was written, report.html first
    no_pdf: str | None = None  # why report.pdf was not written (no browser ...)


def publish_week(config: Config, db: Engine, year: int, week: int, out_dir: str | Path,
                 language: str | None = None, *, pdf: bool = True) -> Published:
    """Build the report of ISO week `year`-W`week` and write it into `out_dir` (made where missing), with
    report.pdf where `pdf` and a browser is installed."""
    report = build_report(db, config.project_name, [e.name for e in config.entities], year, week,
                          engines={e.id: (e.kind, e.base_url) for e in config.engines})
    files = write_report(report, out_dir, language or config.report.language)
    if not pdf:
        return Published(report, files)
    html = files[0]
    no_pdf = write_pdf(html, html.with_suffix(".pdf"))
    return Published(report, files if no_pdf else [*files, html.with_suffix(".pdf")], no_pdf)
