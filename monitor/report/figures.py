"""The report's charts from its data: which series each chart shows, labelled in the report's language,
drawn by `monitor.report.charts` as inline SVG."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from monitor.report import charts

POSITIONS = [str(p) for p in range(1, 10)] + ["10+"]


def position_shares(distribution: dict[str, int]) -> list[float]:
    """Shares of the brand's citations at positions 1–9 and 10 or later."""
    total = sum(distribution.values())
    counts = [distribution.get(p, 0) for p in POSITIONS[:-1]]
    counts.append(sum(n for p, n in distribution.items() if int(p) >= 10))
    return [n / total if total else 0.0 for n in counts]


def kinds_cited(mixes: Iterable[dict[str, Any]]) -> list[str]:
    """The content types (or domain classes) any of `mixes` holds, "other" last: a mix chart's series and a
    mix table's columns."""
    return sorted({kind for mix in mixes for kind in mix}, key=lambda kind: (kind == "other", kind))


def _mix(engines: dict[str, dict[str, Any]], pick: Callable[[dict[str, Any]], dict[str, Any]],
         engine: Callable[[str], str], names: dict[str, str]) -> tuple[list[str], dict[str, list[float]]]:
    """Per engine with citations (the categories), each kind's share of its citations (the series)."""
    shown = {name: pick(kpis) for name, kpis in engines.items() if pick(kpis)}
    kinds = kinds_cited(shown.values())
    return ([engine(name) for name in shown],
            {names.get(kind, kind): [(mix.get(kind) or {}).get("value") or 0.0 for mix in shown.values()]
             for kind in kinds})


def report_charts(report: dict[str, Any], t: dict[str, str], engine: Callable[[str], str],
                  names: dict[str, str]) -> dict[str, str]:
    """{chart name: SVG markup} for the report's week; `engine` names an engine id, `names` content types and
    domain classes."""
    trend, engines = report["trend"], report["metrics"]["engines"]

    def lines(kpi: str) -> dict[str, list[float | None]]:
        return {engine(name): series["values"] for name, series in trend[kpi].items()}

    positions = {engine(name): position_shares(kpis["citation_position"]["distribution"])
                 for name, kpis in engines.items() if kpis["citation_position"]["distribution"]}
    content = _mix(engines, lambda kpis: kpis["content_types"]["mix"], engine, names)
    domains = _mix(engines, lambda kpis: kpis["domain_classes"], engine, names)
    return {
        "inclusion": charts.line_chart(trend["weeks"], lines("inclusion_rate"), title=t["chart_inclusion"],
                                       y_label=t["inclusion_rate"]),
        "share_of_voice": charts.line_chart(trend["weeks"], lines("share_of_voice"), title=t["chart_sov"],
                                            y_label=t["sov_citations"]),
        "positions": charts.bar_chart(POSITIONS, positions, title=t["chart_positions"], value_label=t["share"]),
        "content_types": charts.bar_chart(*content, title=t["chart_content"], value_label=t["share"], stacked=True,
                                          horizontal=True),
        "domain_classes": charts.bar_chart(*domains, title=t["chart_domains"], value_label=t["share"], stacked=True,
                                           horizontal=True),
    }
