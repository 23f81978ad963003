"""Everything the weekly report shows, as plain data (also written as report.json)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from citewatch.errors import UsageError
from monitor import metrics
from monitor.report import pages
from monitor.report.engine_names import engine_labels
from monitor.traffic.summary import landing_pages_cited
from storage import repository, traffic

TREND_WEEKS = 12  # the charts' span, ending with the report's week
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_iso_week(text: str) -> tuple[int, int]:
    match = _WEEK.match(text.strip())
    if not match:
        raise UsageError(f"--week {text!r}: expected an ISO week such as 2026-W47")
    year, week = int(match[1]), int(match[2])
    if not 1970 <= year <= 9998:  # the week before must exist too
        raise UsageError(f"--week {text!r}: expected a year from 1970 to 9998")
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageError(f"--week {text!r}: {year} has no week {week}") from None
    return year, week


def iso_week_bounds(year: int, week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(year, week, 1)
    return monday, monday + timedelta(days=6)


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_report(db: Engine, project: str, entities: Sequence[str], year: int, week: int,
                 engines: Mapping[str, tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """The week's report data. `engines`: the configured engines as {id: (kind, base_url)}, which name them
    as users know them (`engine_labels`); an engine stored but no longer configured shows by its id."""
    since, until = iso_week_bounds(year, week)
    # both weeks list the same engines, so an engine that went silent shows as a drop, not a gap
    counts = traffic.period_counts(db, project, since, until)  # for the metrics and the landing pages both
    current = metrics.period_metrics(db, project, since, until, traffic_counts=counts)
    facts = repository.period_facts(db, project, *metrics.period_bounds(since, until))
    previous_facts = repository.period_facts(db, project, *metrics.period_bounds(*metrics.previous_period(since,
                                                                                                         until)))
    brand = entities[0]
    citations = pages.cited_pages(facts, entities)
    landing = landing_pages_cited(counts, citations[brand])
    trend = metrics.weekly_trend(db, project, since, TREND_WEEKS)
    return {
        "project": project,
        "brand": entities[0],
        "competitors": list(entities[1:]),
        "week": f"{year}-W{week:02d}",
        "previous_week": week_label(since - timedelta(days=7)),
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "engine_labels": engine_labels(dict(engines or {})),
        "metrics": current,
        "keywords": current["keywords"],
        "citations": citations,
        "citation_changes": pages.citation_changes(previous_facts, facts, brand),
        "found_not_cited": pages.found_not_cited(facts, brand),
        "failures": pages.failures(facts),
        "trend": trend_series(trend, brand),
        "ai_referral_traffic": {**current["ai_referral_traffic"], "landing_pages_cited": landing},
    }


def trend_series(weeks: Sequence[dict[str, Any]], brand: str) -> dict[str, Any]:
    """The charts' weekly series, oldest week first, from the first week holding data: per engine and
    overall, the inclusion rate and the brand's share of voice (citations), each {"values", "n"}; a value is
    None for a week without a successful answer."""
    first = next((i for i, week in enumerate(weeks) if week["overall"]["successful"]), len(weeks))
    weeks = weeks[min(first, max(len(weeks) - 2, 0)):]  # at least two weeks: a line needs two points
    names = sorted({name for week in weeks for name in week["engines"]}) + ["overall"]

    def series(pick: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, dict[str, list[Any]]]:
        out = {}
        for name in names:
            rates = [pick(kpis) if (kpis := week["overall"] if name == "overall" else week["engines"].get(name))
                     else None for week in weeks]
            out[name] = {"values": [rate["value"] if rate else None for rate in rates],
                         "n": [rate["n"] if rate else 0 for rate in rates]}
        return out

    return {
        "weeks": [week_label(date.fromisoformat(week["period"]["since"])) for week in weeks],
        "inclusion_rate": series(lambda kpis: kpis["inclusion_rate"]),
        "share_of_voice": series(lambda kpis: kpis["share_of_voice"]["citations"].get(brand)),
    }


def change(current: float | None, previous: float | None) -> float | None:
    return None if current is None or previous is None else current - previous


def per_engine_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per engine (and 'overall') with this week's and last week's headline KPIs."""
    rows = []
    now, before = report["metrics"], report["metrics"]["previous"]
    for name in [*now["engines"], "overall"]:
        current = now["overall"] if name == "overall" else now["engines"][name]
        previous = before["overall"] if name == "overall" else before["engines"].get(name)
        rows.append({"engine": name, "current": current, "previous": previous or {}})
    return rows

