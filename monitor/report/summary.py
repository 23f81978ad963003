"""What the report says first, as data: every KPI of an engine for both weeks with its n and change
(`kpi_rows`), and the executive summary's headline items (`headline`). Pure; render.py words them.

A row or item holds {"key", "kind" ("rate" or "number"), "now": {"value", "low", "high", "n"},
"before": {"value", "n"}, "change", "significant"}; `significant` is None where the KPI has no noise test
(a median, a cost) or a week has no data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.kpis import rate_change

# (key, kind, how to read it from one engine's KPIs given the brand)
Reader = Callable[[dict[str, Any], str], Any]
KPIS: tuple[tuple[str, str, Reader], ...] = (
    ("coverage", "rate", lambda k, b: k["coverage"]),
    ("answer_rate", "rate", lambda k, b: k["answer_rate"]),
    ("inclusion_rate", "rate", lambda k, b: k["inclusion_rate"]),
    ("inclusion_rate_given_answer", "rate", lambda k, b: k["inclusion_rate_given_answer"]),
    ("median_position", "number", lambda k, b: _number(k["citation_position"]["median"], k["citation_position"]["n"])),
    ("mean_position", "number", lambda k, b: _number(k["citation_position"]["mean"], k["citation_position"]["n"])),
    ("top3", "rate", lambda k, b: k["citation_position"]["top3_share"]),
    ("visible_share", "rate", lambda k, b: k["visible_share"]),
    ("mention_rate", "rate", lambda k, b: k["mention_rate"].get(b)),
    ("sov_citations", "rate", lambda k, b: k["share_of_voice"]["citations"].get(b)),
    ("sov_mentions", "rate", lambda k, b: k["share_of_voice"]["mentions"].get(b)),
    ("visibility", "rate", lambda k, b: _number(k["visibility_pawc"].get(b, {}).get("value"),
                                                k["visibility_pawc"].get(b, {}).get("n", 0))),
    ("organic_mean_rank", "number", lambda k, b: _number(k["organic_rank"]["mean_best_rank"],
                                                         k["organic_rank"]["n"])),
    ("organic_top10", "rate", lambda k, b: k["organic_rank"]["top10_share"]),
    ("found_not_cited", "rate", lambda k, b: k["search_pool"]["found_not_cited_rate"]),
    ("cost", "number", lambda k, b: _number(k["cost"], k["scheduled"])),
)
# noise tests are for rates with an interval; visibility is a share of words, not of answers
_TESTED = {"coverage", "answer_rate", "inclusion_rate", "inclusion_rate_given_answer", "top3", "visible_share",
           "mention_rate", "sov_citations", "sov_mentions", "organic_top10", "found_not_cited"}


def _number(value: float | None, n: float) -> dict[str, Any]:
    return {"value": value, "n": int(n or 0)}


def _compare(key: str, kind: str, now: dict[str, Any] | None, before: dict[str, Any] | None) -> dict[str, Any]:
    now, before = now or {"value": None, "n": 0}, before or {"value": None, "n": 0}
    change = None if now["value"] is None or before["value"] is None else now["value"] - before["value"]
    # the test `metrics` names in its `change` (kpis.CHANGE_TEST)
    significant = rate_change(now, before)["significant"] if change is not None and key in _TESTED else None
    return {"key": key, "kind": kind,
            "now": {"value": now["value"], "low": now.get("low"), "high": now.get("high"), "n": now["n"]},
            "before": {"value": before["value"], "n": before["n"]}, "change": change, "significant": significant}


def kpi_rows(current: dict[str, Any], previous: dict[str, Any] | None, brand: str) -> list[dict[str, Any]]:
    """Every KPI of one engine (or all engines) this week and last week; a KPI without a sample in either
    week (organic rank outside Google) is left out."""
    rows = []
    for key, kind, read in KPIS:
        row = _compare(key, kind, read(current, brand), read(previous, brand) if previous else None)
        if row["now"]["n"] or row["before"]["n"]:
            rows.append(row)
    return rows


def headline(metrics: dict[str, Any], brand: str, most: int = 3) -> list[dict[str, Any]]:
    """The executive summary's items, in order: all engines' inclusion rate, the engines whose inclusion moved
    beyond noise (at most `most`, largest first), the brand's mention rate and share of voice, the median
    citation position, and coverage; each an `_compare` row with "engine"."""
    now, before = metrics["overall"], metrics["previous"]["overall"]
    by_key = {row["key"]: row for row in kpi_rows(now, before, brand)}
    items = [{**by_key[key], "engine": "overall"} for key in ("inclusion_rate",) if key in by_key]
    moved = []
    for engine, kpis in metrics["engines"].items():
        row = _compare("inclusion_rate", "rate", kpis["inclusion_rate"],
                       metrics["previous"]["engines"].get(engine, {}).get("inclusion_rate"))
        if row["significant"]:
            moved.append({**row, "engine": engine})
    items += sorted(moved, key=lambda row: -abs(row["change"]))[:most]
    items += [{**by_key[key], "engine": "overall"} for key in ("mention_rate", "sov_citations", "median_position",
                                                               "coverage") if key in by_key]
    return items
