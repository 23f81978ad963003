"""`citewatch traffic` as a terminal table and as CSV, from the figures of `monitor.traffic.summary`."""

from __future__ import annotations

import csv
import io
from typing import Any


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "–"
    return f"{(now - before) / before * 100:+.0f}%"


def _rows(figures: dict[str, Any]) -> list[tuple[str, str, int, int, int, str]]:
    """(dimension, name, page views, visits, visits before, change) for each source and landing page."""
    now, before = figures["ai_referrals"], figures["previous"]["ai_referrals"]
    rows = []
    for dimension, key in (("source", "by_source"), ("landing_page", "by_landing_page")):
        names = list(now[key]) + [name for name in before[key] if name not in now[key]]
        for name in names:
            cell, old = now[key].get(name, {"pageviews": 0, "visits": 0}), before[key].get(name, {"visits": 0})
            rows.append((dimension, name, cell["pageviews"], cell["visits"], old["visits"],
                         _change(cell["visits"], old["visits"])))
    return rows


def traffic_csv(figures: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("dimension", "name", "pageviews", "visits", "previous_visits", "change"))
    writer.writerows(_rows(figures))
    return out.getvalue()


def traffic_table(figures: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    period, previous = figures["period"], figures["previous_period"]
    console = Console(width=160, file=io.StringIO(), force_terminal=False)
    total, old = figures["ai_referrals"]["total"], figures["previous"]["ai_referrals"]["total"]
    referrals = Table(title=f"AI referrals {period['since']} – {period['until']} "
                            f"(before: {previous['since']} – {previous['until']})")
    for column in ("", "name", "page views", "visits", "visits before", "change"):
        referrals.add_column(column, justify="left" if column in ("", "name") else "right")
    referrals.add_row("total", "", str(total["pageviews"]), str(total["visits"]), str(old["visits"]),
                      _change(total["visits"], old["visits"]))
    for dimension, name, pageviews, visits, before, change in _rows(figures):
        referrals.add_row(dimension.replace("_", " "), name, str(pageviews), str(visits), str(before), change)
    console.print(referrals)
    crawlers, old_crawlers = figures["ai_crawlers"], figures["previous"]["ai_crawlers"]
    bots = Table(title="AI crawler hits (verified or unverifiable; spoofed apart)")
    for column in ("bot or purpose", "hits", "hits before", "change"):
        bots.add_column(column, justify="left" if column == "bot or purpose" else "right")
    bots.add_row("total", str(crawlers["total"]), str(old_crawlers["total"]),
                 _change(crawlers["total"], old_crawlers["total"]))
    for name, hits in crawlers["by_bot"].items():
        before = old_crawlers["by_bot"].get(name, 0)
        bots.add_row(name, str(hits), str(before), _change(hits, before))
    for purpose, hits in crawlers["by_purpose"].items():
        before = old_crawlers["by_purpose"].get(purpose, 0)
        bots.add_row(f"purpose: {purpose}", str(hits), str(before), _change(hits, before))
    bots.add_row("spoofed (claimed, outside the operator's ranges)", str(crawlers["spoofed"]),
                 str(old_crawlers["spoofed"]), _change(crawlers["spoofed"], old_crawlers["spoofed"]))
    console.print(bots)
    if figures["user_fetches"]:
        fetched = Table(title="Pages assistants fetched for a user's question")
        fetched.add_column("page")
        fetched.add_column("fetches", justify="right")
        for path, by_bot in list(figures["user_fetches"].items())[:20]:
            fetched.add_row(path, ", ".join(f"{bot} {hits}" for bot, hits in by_bot.items()))
        console.print(fetched)
    return console.file.getvalue()  # type: ignore[attr-defined]
