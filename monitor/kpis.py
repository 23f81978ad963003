"""The KPI definitions of DESIGN.md, over a period's rollup counts (`storage.records.PeriodRollups`).

Pure: the counts come summed per engine and keyword from the database; this module only adds them up for
a scope (an engine, a keyword, a tag, everything) and forms the rates. What each count counts is defined
in `storage.tally`. Every proportion is a `rate`: {"value", "low", "high", "n", "low_sample"}, with the
95% Wilson interval of its counts.

| KPI | here |
| --- | --- |
| coverage | successful / scheduled (budget-skipped probes were scheduled: they lower it, counted apart) |
| answer rate | answered / successful (Google: an AI Overview was shown) |
| inclusion rate | per keyword included / successful, the weight-weighted mean; interval from pooled counts; also given an answer |
| citation rate given citations | included / answers with at least one citation |
| citation position | the brand's best position where cited: median, mean, top-3 share, visible share |
| mention rate | answers naming the entity / answers; mentions per answer; mean rank by first mention; thirds |
| content types | the mix of cited URLs by page type and domain class; per type, answers citing a brand asset / answers |
| share of voice | an entity's distinct cited URLs / those of all tracked entities; weighted by 1/position; by mentions |
| visibility (PAWC) | an entity's position-adjusted word count / that of all cited sources |
| organic rank | the brand's best organic rank per results page: mean where ranked, top-3 and top-10 shares |
| search pool | answers whose retrieved pages held a brand page / answers with a reported pool; cited given found |
| gaps | answers citing a competitor and not the brand, per keyword |

Branded keywords (naming the brand) are left out of share of voice and mention rates, where they would
fake a perfect score; `branded` reports them apart as brand recognition.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from monitor.stats import Z95, wilson_interval
from storage.records import PeriodRollups
from storage.tally import CITATION, ORGANIC

DEFAULT_MIN_SAMPLE = 10
CHANGE_TEST = "two-proportion z-test (pooled), 95%: |z| > 1.96"

Key = tuple[str, int]  # (engine id, keyword id)


def rate(hits: float, n: float, min_sample: int = DEFAULT_MIN_SAMPLE, value: float | None = None,
         **extra: Any) -> dict[str, Any]:
    """A proportion with its count and 95% Wilson interval; `value` overrides hits/n (a weighted mean)."""
    interval = wilson_interval(round(hits), int(n)) if n else None
    return {
        "value": (hits / n if n else None) if value is None else value,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "n": int(n),
        "low_sample": n < min_sample,
        **extra,
    }


def average(total: float, n: float) -> dict[str, Any]:
    """A mean (not a proportion): its value and count."""
    return {"value": total / n if n else None, "n": int(n)}


class Scope:
    """The counts of some engines' answers, summed (once, on first use): to all their keywords read (the
    default), or to their branded ones (`branded=True`). `keys` are the (engine, keyword) cells in scope, for
    what is weighed per keyword (the inclusion rate)."""

    def __init__(self, rollups: PeriodRollups, engines: Iterable[str], branded: bool | None = None) -> None:
        self.rollups = rollups
        self.engines = set(engines)
        self.flags = (False, True) if branded is None else (branded,)
        self.keys = [key for key in rollups.day if key[0] in self.engines
                     and rollups.keywords[key[1]].branded in self.flags]
        self._counts: dict[bool, dict[str, float]] = {}
        self._entities: dict[bool, dict[int, dict[str, float]]] = {}

    def total(self, name: str, unbranded: bool = False) -> float:
        """A count summed over the scope (or over its unbranded keywords only)."""
        if unbranded not in self._counts:
            flags = (False,) if unbranded else self.flags
            self._counts[unbranded] = add_up(cells for (engine_id, branded), cells in self.rollups.totals.items()
                                             if engine_id in self.engines and branded in flags)
        return self._counts[unbranded].get(name, 0)

    def entity_total(self, entity_id: int, name: str, unbranded: bool = False) -> float:
        if unbranded not in self._entities:
            flags = (False,) if unbranded else self.flags
            self._entities[unbranded] = {
                entity: add_up(cells for (engine_id, branded, counted), cells in self.rollups.entity.items()
                               if counted == entity and engine_id in self.engines and branded in flags)
                for entity in self.rollups.entities}
        return self._entities[unbranded][entity_id].get(name, 0)

    def histogram(self, source: str) -> dict[int, float]:
        return add_up(counts for (engine_id, kind), counts in self.rollups.rank_totals.items()
                      if engine_id in self.engines and kind == source)


def add_up(counts: Iterable[Mapping[Any, float]]) -> dict[Any, float]:
    """The sum, name by name, of several sets of counts (or position by position, of histograms)."""
    total: dict[Any, float] = defaultdict(float)
    for cells in counts:
        for name, value in cells.items():
            total[name] += value
    return total


def keys_total(rollups: PeriodRollups, keys: Iterable[Key], name: str) -> float:
    """A per-keyword count (storage.kpi_reads.PER_KEYWORD) summed over some (engine, keyword) cells."""
    return sum(rollups.day[key].get(name, 0) for key in keys)


def keys_histogram(rollups: PeriodRollups, keys: Iterable[Key], source: str) -> dict[int, float]:
    return add_up(rollups.ranks.get((engine_id, keyword_id, source), {}) for engine_id, keyword_id in keys)


def scope_kpis(scope: Scope, min_sample: int = DEFAULT_MIN_SAMPLE) -> dict[str, Any]:
    """Every KPI over one scope. The keys of issue 2's contract stay where they were."""
    def r(hits: float, n: float, **extra: Any) -> dict[str, Any]:
        return rate(hits, n, min_sample, **extra)

    t = scope.total
    successful, answered, included = t("successful"), t("answered"), t("included")
    position = citation_position(scope, included, r)
    return {
        "scheduled": int(t("scheduled")),
        "successful": int(successful),
        "failed": int(t("failed")),
        "skipped": int(t("skipped")),
        "coverage": r(successful, t("scheduled")),
        "answer_rate": r(answered, successful),
        "inclusion_rate": inclusion_rate(scope.rollups, scope.keys, "included", "successful", min_sample),
        "inclusion_rate_given_answer": inclusion_rate(scope.rollups, scope.keys, "included_answered", "answered",
                                                      min_sample),
        "citation_rate_given_citations": r(included, t("with_citations")),
        "citation_position": position,
        "visible_share": position["visible_share"],
        **mentions(scope, r),
        "content_types": content_types(scope, answered, r),
        "domain_classes": domain_classes(scope, r),
        "share_of_voice": share_of_voice(scope, r),
        "visibility_pawc": visibility(scope),
        "organic_rank": organic_rank(scope, r),
        "search_pool": {
            "n": int(t("pool")),
            "brand_found_rate": r(t("brand_found"), t("pool")),
            "cited_given_found": r(t("brand_found_cited"), t("brand_found")),
            "found_not_cited_rate": r(t("brand_found") - t("brand_found_cited"), t("pool")),
        },
        "gaps": int(t("gaps")),
        "cost": round(t("cost"), 6),
    }


def inclusion_rate(rollups: PeriodRollups, keys: Iterable[Key], hits_name: str, n_name: str, min_sample: int
                   ) -> dict[str, Any]:
    """Per keyword, hits / n; the KPI is their weighted mean. Interval and n from the pooled counts."""
    per_keyword: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key in keys:
        cells = rollups.day[key]
        per_keyword[key[1]][0] += cells.get(hits_name, 0)
        per_keyword[key[1]][1] += cells.get(n_name, 0)
    weights = {k: rollups.keywords[k].weight for k, (_, n) in per_keyword.items() if n}
    total_weight = sum(weights.values())
    value = (sum(weights[k] * per_keyword[k][0] / per_keyword[k][1] for k in weights) / total_weight
             if total_weight else None)
    hits = sum(h for h, _ in per_keyword.values())
    n = sum(n for _, n in per_keyword.values())
    return rate(hits, n, min_sample, value=value, included=int(hits))


def citation_position(scope: Scope, included: float, r: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    histogram = scope.histogram(CITATION)
    return {
        "n": int(included),
        "median": histogram_median(histogram),
        "mean": scope.total("position_sum") / included if included else None,
        "top3_share": r(scope.total("top3"), included),
        "visible_share": r(scope.total("visible"), included),
        # brand citations at each position (the best position per answer): the report's position chart
        "distribution": {str(position): int(count) for position, count in sorted(histogram.items()) if count},
    }


def histogram_median(histogram: Mapping[int, float]) -> float | None:
    """The median of the values a histogram (value -> count) holds, as statistics.median gives it."""
    n = sum(histogram.values())
    if not n:
        return None
    ordered = sorted((value, count) for value, count in histogram.items() if count)

    def at(index: int) -> int:
        for value, count in ordered:
            if index < count:
                return value
            index -= count
        raise IndexError(index)

    return float(at(n // 2)) if n % 2 else (at(n // 2 - 1) + at(n // 2)) / 2


def mentions(scope: Scope, r: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Mention rates, mentions per answer and mention position, on unbranded keywords."""
    answered = scope.total("answered", unbranded=True)
    rates, per_answer, placement = {}, {}, {}
    for entity in scope.rollups.entities.values():
        total = lambda name: scope.entity_total(entity.id, name, unbranded=True)  # noqa: E731
        naming = total("answers_naming")
        rates[entity.name] = r(naming, answered)
        per_answer[entity.name] = average(total("mention_count"), answered)
        placement[entity.name] = {
            "n": int(naming),
            "mean_rank": total("mention_rank_sum") / naming if naming else None,
            "first_third": r(total("first_third"), naming),
            "middle_third": r(total("middle_third"), naming),
            "last_third": r(total("last_third"), naming),
        }
    return {"mention_rate": rates, "mentions_per_answer": per_answer, "mention_position": placement}


def share_of_voice(scope: Scope, r: Callable[..., dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Distinct cited URLs, the same weighted 1/position, and answers naming: each entity's share of all
    tracked entities', on unbranded keywords. The weighted share's interval treats it as a proportion of
    the tracked citations (an approximation: its weights are not counts)."""
    entities = list(scope.rollups.entities.values())
    totals = {name: {e.name: scope.entity_total(e.id, name, unbranded=True) for e in entities}
              for name in ("citations", "citations_weighted", "answers_naming")}
    citations = sum(totals["citations"].values())
    weighted = sum(totals["citations_weighted"].values())
    naming = sum(totals["answers_naming"].values())
    return {
        "citations": {e.name: r(totals["citations"][e.name], citations) for e in entities},
        "citations_weighted": {
            e.name: r(totals["citations_weighted"][e.name] / weighted * citations if weighted else 0, citations,
                      value=totals["citations_weighted"][e.name] / weighted if weighted else None)
            for e in entities},
        "mentions": {e.name: r(totals["answers_naming"][e.name], naming) for e in entities},
    }


def visibility(scope: Scope) -> dict[str, Any]:
    """Each entity's share of the position-adjusted word count of all cited sources (engines with spans)."""
    total = scope.total("visibility_total")
    citations = scope.total("citations")
    return {e.name: {"value": scope.entity_total(e.id, "visibility") / total if total else None,
                     "n": int(citations)}
            for e in scope.rollups.entities.values()}


def organic_rank(scope: Scope, r: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    t = scope.total
    pages, ranked = t("organic_pages"), t("organic_ranked")
    best = scope.histogram(ORGANIC)
    return {
        "n": int(pages),
        "ranked": int(ranked),
        "best_rank": min(best) if best else None,
        "mean_best_rank": t("organic_rank_sum") / ranked if ranked else None,
        "top3_share": r(t("organic_top3"), pages),
        "top10_share": r(t("organic_top10"), pages),
        # "ranks on page one organically, yet the answer above it does not cite the brand"
        "top10_not_cited": r(t("organic_top10_not_cited"), pages),
    }


def content_types(scope: Scope, answered: float, r: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The mix of all cited URLs by page type (what the engine trusts) and, per type, the share of answers
    citing a brand asset of that type."""
    cited: dict[str, float] = defaultdict(float)
    brand: dict[str, float] = defaultdict(float)
    for (engine_id, content_type, _), cells in scope.rollups.content.items():
        if engine_id in scope.engines:
            cited[content_type] += cells.get("citations", 0)
            brand[content_type] += cells.get("brand_answers", 0)
    total = sum(cited.values())
    return {
        "mix": {kind: r(count, total, citations=int(count)) for kind, count in sorted(cited.items())},
        "brand": {kind: r(brand[kind], answered) for kind in sorted(cited) if brand[kind]},
    }


def domain_classes(scope: Scope, r: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    cited: dict[str, float] = defaultdict(float)
    for (engine_id, _, domain_class), cells in scope.rollups.content.items():
        if engine_id in scope.engines:
            cited[domain_class] += cells.get("citations", 0)
    total = sum(cited.values())
    return {kind: r(count, total) for kind, count in sorted(cited.items())}


# --- the whole report of a period ---------------------------------------------------------------------


def compute(rollups: PeriodRollups, engines: Iterable[str] = (), min_sample: int = DEFAULT_MIN_SAMPLE,
            detail: bool = True) -> dict[str, Any]:
    """KPIs per engine (those with data, plus `engines`) and overall; with `detail`, per keyword and per tag
    too, branded keywords apart, and citation gaps."""
    engine_ids = sorted({engine_id for engine_id, _ in rollups.totals} | set(engines))
    per_engine = {e: scope_kpis(Scope(rollups, [e]), min_sample) for e in engine_ids}
    overall = scope_kpis(Scope(rollups, engine_ids), min_sample)
    if not detail:
        return {"engines": per_engine, "overall": overall}
    by_keyword: dict[int, list[Key]] = defaultdict(list)
    for key in rollups.day:
        by_keyword[key[1]].append(key)
    read = None in rollups.domains  # the top domains were read (not for a period only compared with)
    keywords = {info.text: keyword_row(rollups, by_keyword[keyword_id], min_sample,
                                       rollups.domains.get(keyword_id, []) if read else None)
                for keyword_id, info in rollups.keywords.items()}
    tags = sorted({tag for info in rollups.keywords.values() for tag in info.tags})
    return {
        "engines": per_engine,
        "overall": overall,
        "keywords": keywords,
        "tags": {tag: keyword_row(rollups, [k for k in rollups.day if tag in rollups.keywords[k[1]].tags],
                                  min_sample, rollups.tag_domains.get(tag, []) if read else None)
                 for tag in tags},
        "branded": branded(rollups, engine_ids, min_sample),
        "gaps": gaps(keywords, min_sample),
    }


def keyword_row(rollups: PeriodRollups, keys: list[Key], min_sample: int,
                domains: list[tuple[str, int, int]] | None) -> dict[str, Any]:
    """One keyword's (or tag's) line: inclusion overall and per engine, best position, organic rank, the
    most cited domains and who is cited instead of the brand."""
    citation_ranks = keys_histogram(rollups, keys, CITATION)
    organic = keys_histogram(rollups, keys, ORGANIC)
    row: dict[str, Any] = {
        "successful": int(keys_total(rollups, keys, "successful")),
        "inclusion_rate": inclusion_rate(rollups, keys, "included", "successful", min_sample),
        "by_engine": {key[0]: inclusion_rate(rollups, [key], "included", "successful", min_sample) for key in keys},
        "best_position": min(citation_ranks) if citation_ranks else None,
        "organic_best_rank": min(organic) if organic else None,
        "gaps": int(keys_total(rollups, keys, "gaps")),
        "cited_instead": cited_instead(rollups, keys),
    }
    if domains is not None:
        row["top_domains"] = [{"domain": domain, "answers": answers, "without_brand": without}
                              for domain, answers, without in domains]
    return row


def cited_instead(rollups: PeriodRollups, keys: Iterable[Key]) -> dict[str, int]:
    """Competitors cited in answers that did not cite the brand, by how many such answers."""
    counts: dict[int, int] = defaultdict(int)
    for engine_id, keyword_id in keys:
        for entity in rollups.entities.values():
            counts[entity.id] += rollups.instead.get((engine_id, keyword_id, entity.id), 0)
    named = {e.name: counts[e.id] for e in rollups.entities.values() if e.kind != "brand" and counts[e.id]}
    return dict(sorted(named.items(), key=lambda item: -item[1]))


def branded(rollups: PeriodRollups, engines: Iterable[str], min_sample: int) -> dict[str, Any]:
    """Keywords naming the brand, reported apart: how often the answer names and cites the brand."""
    scope = Scope(rollups, engines, branded=True)
    brand = next(iter(rollups.entities.values()), None)
    answered = scope.total("answered")
    naming = scope.entity_total(brand.id, "answers_naming") if brand else 0
    return {
        "keywords": sorted(info.text for info in rollups.keywords.values() if info.branded),
        "brand_recognition": rate(naming, answered, min_sample),
        "inclusion_rate": inclusion_rate(rollups, scope.keys, "included", "successful", min_sample),
    }


def gaps(keywords: dict[str, dict[str, Any]], min_sample: int) -> list[dict[str, Any]]:
    """Keywords where competitors are cited and the brand is not (from their rows), most frequent first."""
    rows = [{"keyword": text, "gaps": row["gaps"], "gap_rate": rate(row["gaps"], row["successful"], min_sample),
             "cited_instead": row["cited_instead"]}
            for text, row in keywords.items() if row["gaps"]]
    return sorted(rows, key=lambda row: (-row["gaps"], row["keyword"]))


# --- against the period before ------------------------------------------------------------------------


def change(current: Any, previous: Any) -> Any:
    """The change from `previous` to `current`, for every rate and number both hold: the absolute change,
    and for rates whether it is larger than sampling noise (CHANGE_TEST)."""
    if _is_rate(current) and _is_rate(previous):
        return rate_change(current, previous)
    if isinstance(current, dict) and isinstance(previous, dict):
        changes = {key: change(current[key], previous[key]) for key in current if key in previous}
        return {key: value for key, value in changes.items() if value is not None}
    if _is_number(current) and _is_number(previous):
        return {"absolute": current - previous}
    return None


def rate_change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any] | None:
    if current["value"] is None or previous["value"] is None:
        return None
    z = two_proportion_z(current["value"], current["n"], previous["value"], previous["n"])
    return {"absolute": current["value"] - previous["value"], "z": z,
            "significant": z is not None and abs(z) > Z95}


def two_proportion_z(p1: float, n1: int, p2: float, n2: int) -> float | None:
    """The pooled two-proportion z statistic; None where it is undefined (no sample, or no variance)."""
    if not n1 or not n2:
        return None
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    return (p1 - p2) / math.sqrt(variance)


def _is_rate(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and "low" in value and "n" in value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
