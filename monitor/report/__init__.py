"""Weekly visibility report: data (`build`) and rendering (`render`) to HTML, Markdown and JSON."""

from monitor.report.build import build_report, iso_week_bounds, parse_iso_week
from monitor.report.render import write_report

__all__ = ["build_report", "iso_week_bounds", "parse_iso_week", "write_report"]
