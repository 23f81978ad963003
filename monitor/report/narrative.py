"""The executive summary in plain sentences, in the report's language: each headline KPI with its n, its
interval, the change from the week before and whether that change is larger than sampling noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.report.numbers import number, pct
from monitor.report.summary import headline

COVERAGE_WARNING = 0.95  # an engine that delivered less than this share of its scheduled probes is named


def _shown(kind: str, value: float | None) -> str:
    return pct(value) if kind == "rate" else number(value)


def _movement(item: dict[str, Any], t: dict[str, str]) -> str:
    before = item["before"]
    if before["value"] is None or item["change"] is None:
        return t["no_before"]
    delta = item["change"]
    if item["kind"] == "rate":
        points = t["points"].format(sign="", value=abs(delta) * 100)
    else:
        points = number(abs(delta))
    said = t["same" if abs(delta) < 0.0005 else "up" if delta > 0 else "down"].format(
        points=points, before=_shown(item["kind"], before["value"]), before_n=before["n"])
    if item["significant"] is None:
        return said
    return t["verdict"].format(said=said, verdict=t["beyond_noise" if item["significant"] else "within_noise"])


def headline_sentence(item: dict[str, Any], t: dict[str, str], engine: Callable[[str], str]) -> str:
    """"Inclusion rate · All engines: 34.0% (n=150, 27.0%–42.0%), up 6.0 pp from 28.0% (n=140): beyond
    sampling noise."""
    subject = f"{t[item['key']]} · {engine(item['engine'])}"
    now = item["now"]
    if item["kind"] == "rate" and now["low"] is not None:
        return t["sentence"].format(subject=subject, value=_shown("rate", now["value"]), n=now["n"],
                                    low=_shown("rate", now["low"]), high=_shown("rate", now["high"]),
                                    movement=_movement(item, t))
    return t["sentence_number"].format(subject=subject, value=_shown(item["kind"], now["value"]), n=now["n"],
                                       movement=_movement(item, t))


def summary_sentences(report: dict[str, Any], t: dict[str, str], engine: Callable[[str], str]) -> list[str]:
    """The summary: the headline KPIs, then citations lost and gained, AI referral visits where logs were
    read, and which engines delivered less data than scheduled."""
    metrics = report["metrics"]
    if not metrics["engines"]:
        return [t["no_data"]]
    lines = [headline_sentence(item, t, engine) for item in headline(metrics, report["brand"])]
    changes = report["citation_changes"]
    lines.append(t["changes_sentence"].format(
        lost=len(changes["lost"]), gained=len(changes["gained"]),
        lost_sig=sum(row["significant"] for row in changes["lost"]),
        gained_sig=sum(row["significant"] for row in changes["gained"])))
    referrals = report["ai_referral_traffic"]["ai_referrals"]
    if referrals["total"]["pageviews"]:
        lines.append(t["traffic_sentence"].format(
            visits=referrals["total"]["visits"],
            before=report["ai_referral_traffic"]["previous"]["ai_referrals"]["total"]["visits"]))
    short = [engine(name) for name, kpis in metrics["engines"].items()
             if kpis["scheduled"] and (kpis["coverage"]["value"] or 0) < COVERAGE_WARNING]
    if short:
        lines.append(t["failures_sentence"].format(engines=t["list_separator"].join(short)))
    return lines

