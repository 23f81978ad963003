"""The `citewatch traffic` figures (and the `ai_referral_traffic` section of metrics and the report) from a
period's stored counts. Pure: counts in, the JSON contract out.

    {"period": {"since", "until"}, "previous_period": {"since", "until"},
     "ai_referrals": {"total": {"pageviews", "visits"}, "by_source": {id: {...}}, "by_landing_page": {path: {...}}},
     "ai_crawlers": {"total": n, "by_bot": {token: n}, "by_purpose": {purpose: n}, "spoofed": n},
     "user_fetches": {path: {token: n}},
     "analytics_sessions": {"session": {source: n}, "first_user": {source: n}},
     "previous": {"ai_referrals": ..., "ai_crawlers": ...}}

Crawler totals count verified and unverifiable hits; a hit whose user agent claims a bot from outside that
bot's published ranges is spoofed and only counted under "spoofed". Analytics source views are kept apart:
a session's source and its first user's source describe the same sessions twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from storage.records import TrafficCounts

PURPOSES = ("training", "search", "user_fetch", "agent", "other")
SPOOFED = "spoofed"
USER_FETCH = "user_fetch"


def _sorted_by_count(counts: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    value = (lambda item: item[1][key]) if key else (lambda item: item[1])
    return dict(sorted(counts.items(), key=lambda item: (-value(item), item[0])))


def referrals(counts: TrafficCounts) -> dict[str, Any]:
    total = {"pageviews": 0, "visits": 0}
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"pageviews": 0, "visits": 0})
    by_page: dict[str, dict[str, int]] = defaultdict(lambda: {"pageviews": 0, "visits": 0})
    for source, path, pageviews, visits in counts.referrals:
        for cell in (total, by_source[source], by_page[path]):
            cell["pageviews"] += pageviews
            cell["visits"] += visits
    return {"total": total, "by_source": _sorted_by_count(dict(by_source), "visits"),
            "by_landing_page": _sorted_by_count(dict(by_page), "visits")}


def crawlers(counts: TrafficCounts) -> dict[str, Any]:
    by_bot: dict[str, int] = defaultdict(int)
    by_purpose = dict.fromkeys(PURPOSES, 0)
    total = spoofed = 0
    for bot, purpose, verification, _path, hits in counts.crawlers:
        if verification == SPOOFED:
            spoofed += hits
            continue
        total += hits
        by_bot[bot] += hits
        by_purpose[purpose if purpose in by_purpose else "other"] += hits
    return {"total": total, "by_bot": _sorted_by_count(dict(by_bot)), "by_purpose": by_purpose, "spoofed": spoofed}


def user_fetches(counts: TrafficCounts) -> dict[str, dict[str, int]]:
    """Pages an assistant fetched for a user's question (ChatGPT-User, Perplexity-User, Claude-User ...),
    spoofed claims left out: evidence that an answer read that page."""
    pages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bot, purpose, verification, path, hits in counts.crawlers:
        if purpose == USER_FETCH and verification != SPOOFED:
            pages[path][bot] += hits
    ordered = sorted(pages.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return {path: dict(sorted(bots.items())) for path, bots in ordered}


def analytics_sessions(counts: TrafficCounts) -> dict[str, dict[str, int]]:
    views: dict[str, dict[str, int]] = {"session": defaultdict(int), "first_user": defaultdict(int)}
    for view, source, _path, sessions in counts.sessions:
        views.setdefault(view, defaultdict(int))[source] += sessions
    return {view: _sorted_by_count(dict(sources)) for view, sources in views.items()}


def traffic_figures(current: TrafficCounts, previous: TrafficCounts, since: date, until: date,
                    previous_since: date, previous_until: date) -> dict[str, Any]:
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "previous_period": {"since": previous_since.isoformat(), "until": previous_until.isoformat()},
        "ai_referrals": referrals(current),
        "ai_crawlers": crawlers(current),
        "user_fetches": user_fetches(current),
        "analytics_sessions": analytics_sessions(current),
        "previous": {"ai_referrals": referrals(previous), "ai_crawlers": crawlers(previous)},
    }


def landing_pages_cited(counts: TrafficCounts, brand_pages: list[dict[str, Any]], limit: int = 20
                        ) -> list[dict[str, Any]]:
    """The landing pages with the most AI referral visits, each with its visits per source and, where the
    engines cite the brand's page at that path, which engines and for how many keywords: "cited by
    perplexity for 4 keywords; 37 visits from perplexity.ai". `brand_pages`: the report's cited pages of the
    brand (url, engines, keywords)."""
    visits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for source, path, _pageviews, count in counts.referrals:
        if count:
            visits[path][source] += count
    cited: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for page in brand_pages:
        for engine in page["engines"]:
            cited[_path_of(page["url"])][engine].update(page["keywords"])
    ranked = sorted(visits.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:limit]
    return [{"path": path, "visits": sum(by_source.values()),
             "visits_by_source": _sorted_by_count(dict(by_source)),
             "cited_by": {engine: len(keywords) for engine, keywords in sorted(cited.get(_path_of(path), {}).items())}}
            for path, by_source in ranked]


def _path_of(url: str) -> str:
    """A URL's or a landing page's path, without query or trailing slash ("/" for the home page)."""
    path = urlsplit(url).path if "://" in url else url.partition("?")[0]
    return path.rstrip("/") or "/"
