"""`citewatch metrics`: a period's KPIs (`monitor.kpis`) beside those of the period before, from the
database's daily rollups (`storage.kpi_reads`). The I/O edge of the KPIs."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from monitor import kpis
from monitor.traffic.summary import traffic_figures
from storage import kpi_reads, traffic
from storage.records import TrafficCounts

# reads made at once, each on its own connection (the database driver runs a query without Python's lock,
# so they use every core): a period's core and its detail, and the period before
READERS = 3


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00 UTC, the day after until 00:00 UTC): both dates inclusive."""
    return (datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC))


def previous_period(since: date, until: date) -> tuple[date, date]:
    """The period of the same length just before [since, until]."""
    length = until - since + timedelta(days=1)
    return since - length, until - length


def select_keywords(db: Engine, project: str, keywords: Sequence[str] = (), tags: Sequence[str] = ()
                    ) -> set[int] | None:
    """The ids of the active keywords named or carrying one of the tags; None when no filter is given."""
    if not keywords and not tags:
        return None
    known, _ = kpi_reads.project_scope(db, project)
    return {info.id for info in known.values() if info.text in keywords or set(info.tags) & set(tags)}


def period_metrics(db: Engine, project: str, since: date, until: date, *, engines: Collection[str] = (),
                   keyword_ids: Collection[int] | None = None, min_sample: int = kpis.DEFAULT_MIN_SAMPLE,
                   traffic_counts: TrafficCounts | None = None) -> dict[str, Any]:
    """The KPIs of [since, until] with `previous` (the period of the same length before) and `change`.
    `traffic_counts`: the period's, where the caller has read them already."""
    before = previous_period(since, until)
    scope = kpi_reads.project_scope(db, project)
    with ThreadPoolExecutor(READERS) as pool:
        current_core = pool.submit(kpi_reads.period_rollups, db, project, since, until, engines, keyword_ids,
                                   detail=False, scope=scope)
        current_detail = pool.submit(kpi_reads.period_rollups, db, project, since, until, engines, keyword_ids,
                                     core=False, content=False, scope=scope)
        # the period before is compared per engine and overall: its keywords and domains are not read
        previous_rows = pool.submit(kpi_reads.period_rollups, db, project, *before, engines, keyword_ids,
                                    detail=False, scope=scope).result()
        current_rows = kpi_reads.with_detail(current_core.result(), current_detail.result())
    seen = {engine_id for engine_id, _ in [*current_rows.day, *previous_rows.day]} | set(engines)
    current = kpis.compute(current_rows, seen, min_sample)
    previous = kpis.compute(previous_rows, seen, min_sample, detail=False)
    current["period"], previous["period"] = _period(project, since, until), _period(project, *before)
    current["previous"] = previous
    current["change"] = {"test": kpis.CHANGE_TEST, **_changes(current, previous, seen)}
    current["ai_referral_traffic"] = ai_referral_traffic(db, project, since, until, traffic_counts)
    return current


def ai_referral_traffic(db: Engine, project: str, since: date, until: date, counts: TrafficCounts | None = None
                        ) -> dict[str, Any]:
    """What the site's logs say over the same period (`citewatch ingest-logs`): AI referrals and AI crawler
    hits beside the period before (`monitor.traffic.summary`); all zero where no log was read. `counts`: the
    period's, where the caller has read them already."""
    before = previous_period(since, until)
    now = counts if counts is not None else traffic.period_counts(db, project, since, until)
    return traffic_figures(now, traffic.period_counts(db, project, *before), since, until, *before)


def engine_changes(db: Engine, project: str, since: date, until: date, *, engines: Collection[str] = (),
                   min_sample: int = kpis.DEFAULT_MIN_SAMPLE) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(now, before, change) of the KPIs per engine and overall only (no keywords, domains or content mix):
    what the alert rules compare, read quickly after every run."""
    scope = kpi_reads.project_scope(db, project)
    rows = [kpi_reads.period_rollups(db, project, *period, engines, None, content=False, detail=False, scope=scope)
            for period in ((since, until), previous_period(since, until))]
    seen = {engine_id for read in rows for engine_id, _ in read.day} | set(engines)
    now, before = (kpis.compute(read, seen, min_sample, detail=False) for read in rows)
    return now, before, _changes(now, before, seen)


def _changes(current: dict[str, Any], previous: dict[str, Any], engines: Collection[str]) -> dict[str, Any]:
    """The change per engine and overall from the period before."""
    return {"engines": {e: kpis.change(current["engines"][e], previous["engines"][e]) for e in sorted(engines)},
            "overall": kpis.change(current["overall"], previous["overall"])}


def _period(project: str, since: date, until: date) -> dict[str, str]:
    return {"since": since.isoformat(), "until": until.isoformat(), "project": project}


KEYWORD_COLUMNS = ("keyword", "successful", "inclusion_rate", "low", "high", "low_sample", "by_engine",
                   "best_position", "organic_best_rank", "gaps", "cited_instead", "top_domains")


def keyword_csv(keywords: dict[str, dict[str, Any]]) -> str:
    """The per-keyword table as CSV (UTF-8, one header row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KEYWORD_COLUMNS)
    for text, row in keywords.items():
        inclusion = row["inclusion_rate"]
        writer.writerow([_cell(value) for value in (
            text, row["successful"], inclusion["value"], inclusion["low"], inclusion["high"], inclusion["low_sample"],
            "; ".join(f"{engine}={_number(rate['value'])}" for engine, rate in row["by_engine"].items()),
            row["best_position"], row["organic_best_rank"], row["gaps"],
            "; ".join(f"{name}={count}" for name, count in row["cited_instead"].items()),
            "; ".join(f"{d['domain']}={d['answers']}" for d in row.get("top_domains", [])),
        )])
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (scraped domains) starts with a quote."""
    text = _number(value) if isinstance(value, float) else "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def weekly_trend(db: Engine, project: str, last_monday: date, weeks: int = 12, *,
                 engines: Collection[str] = (), keyword_ids: Collection[int] | None = None,
                 min_sample: int = kpis.DEFAULT_MIN_SAMPLE) -> list[dict[str, Any]]:
    """The KPIs per engine and overall of each of `weeks` ISO weeks, oldest first, the last starting on
    `last_monday` (for the report's charts): each week read once, without the period before it, its
    content-type mix or its domains."""
    mondays = [last_monday - timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]
    scope = kpi_reads.project_scope(db, project)

    def week(since: date) -> dict[str, Any]:
        rows = kpi_reads.period_rollups(db, project, since, since + timedelta(days=6), engines, keyword_ids,
                                        content=False, detail=False, scope=scope)
        result = kpis.compute(rows, engines, min_sample, detail=False)
        result["period"] = _period(project, since, since + timedelta(days=6))
        return result

    with ThreadPoolExecutor(READERS) as pool:
        return list(pool.map(week, mondays))
