"""One week's report for a configured project, built and written: what `citewatch report` and the daemon's
`report.schedule` both do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from monitor.config import Config
from monitor.report.build import build_report
from monitor.report.render import write_report


@dataclass(frozen=True)
class Published:
    report: dict[str, Any]  # the report data (report.json)
    files: list[Path]  # what was written, report.html first


def publish_week(config: Config, db: Engine, year: int, week: int, out_dir: str | Path,
                 language: str | None = None) -> Published:
    """Build the report of ISO week `year`-W`week` and write it into `out_dir` (made where missing)."""
    report = build_report(db, config.project_name, [e.name for e in config.entities], year, week,
                          engines={e.id: (e.kind, e.base_url) for e in config.engines})
    return Published(report, write_report(report, out_dir, language or config.report.language))
