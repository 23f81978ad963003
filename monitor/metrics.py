"""KPI definitions (DESIGN.md) over the rows storage returns for a period.

`compute(facts, entities)` is pure: it takes `storage.records.PeriodFacts`
and returns the JSON-ready structure that `citewatch metrics` prints and the
report renders. `period_metrics` is the I/O edge that fetches the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from citewatch.status import SKIPPED, SUCCESSFUL
from monitor.stats import mean, median, ratio, wilson_interval
from storage import repository
from storage.records import CitationFact, MentionFact, ObservationFact, OrganicFact, PeriodFacts


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00 UTC, the day after until 00:00 UTC): both dates inclusive."""
    return (datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC))


def period_facts(db: Engine, project: str, since: date, until: date) -> PeriodFacts:
    return repository.period_facts(db, project, *period_bounds(since, until))


def period_metrics(db: Engine, project: str, entities: Sequence[str], since: date, until: date) -> dict[str, Any]:
    result = compute(period_facts(db, project, since, until), entities)
    result["period"] = {"since": since.isoformat(), "until": until.isoformat(), "project": project}
    return result


def engine_ids(facts: PeriodFacts) -> set[str]:
    return {o.engine_id for o in facts.observations} | set(facts.planned)


def compute(facts: PeriodFacts, entities: Sequence[str], engines: set[str] | None = None) -> dict[str, Any]:
    """KPIs per engine (those in the facts, plus `engines`) and overall. `entities` lists the brand
    first, then the competitors."""
    engines_by_id = {
        engine_id: engine_kpis(
            [o for o in facts.observations if o.engine_id == engine_id],
            facts.citations,
            facts.mentions,
            facts.planned_count(engine_id),
            entities,
            facts.visibility_totals,
            facts.organic,
            facts.with_organic,
        )
        for engine_id in sorted(engine_ids(facts) | (engines or set()))
    }
    overall = engine_kpis(facts.observations, facts.citations, facts.mentions, facts.planned_count(), entities,
                          facts.visibility_totals, facts.organic, facts.with_organic)
    return {"engines": engines_by_id, "overall": overall}


def engine_kpis(observations: Sequence[ObservationFact], citations: Sequence[CitationFact],
                mentions: Sequence[MentionFact], planned: int, entities: Sequence[str],
                visibility_totals: dict[int, float] | None = None, organic: Sequence[OrganicFact] = (),
                with_organic: set[int] | frozenset[int] = frozenset()) -> dict[str, Any]:
    """Every KPI over one set of observations (one engine, one keyword, or all)."""
    brand = entities[0]
    successful = [o for o in observations if o.status in SUCCESSFUL]
    skipped = sum(o.status == SKIPPED for o in observations)
    ids = {o.id for o in successful}
    answered = {o.id for o in successful if o.has_answer}
    sources = [c for c in citations if c.observation_id in ids]
    owned = _distinct_owned_urls([c for c in sources if c.cited])
    brand_best = _best_brand_citation(owned, brand)
    answers_naming, mention_counts = _mentions_by_entity([m for m in mentions if m.observation_id in answered])
    brand_found = {c.observation_id for c in sources if c.owner == brand}

    positions = [c.position for c in brand_best.values()]
    return {
        "scheduled": planned,
        "successful": len(successful),
        "failed": len(observations) - len(successful) - skipped,
        "skipped": skipped,
        # budget-skipped probes were never attempted: they leave the denominator
        "coverage": ratio(len(successful), max(planned - skipped, 0)),
        "answer_rate": ratio(len(answered), len(successful)),
        "inclusion_rate": inclusion_rate(successful, set(brand_best)),
        "inclusion_rate_given_answer": inclusion_rate([o for o in successful if o.has_answer], set(brand_best)),
        "citation_position": {
            "n": len(positions),
            "median": median(positions),
            "mean": mean(positions),
            "top3_share": ratio(sum(p <= 3 for p in positions), len(positions)),
            "visible_share": ratio(sum(c.visible for c in brand_best.values()), len(positions)),
        },
        "mention_rate": {e: ratio(answers_naming[e], len(answered)) for e in entities},
        "mentions_per_answer": {e: ratio(mention_counts[e], len(answered)) for e in entities},
        "share_of_voice": share_of_voice(owned, answers_naming, entities),
        "search_pool": {
            # the brand among the pages the engine looked at, cited or not
            "brand_found_rate": ratio(len(brand_found), len(successful)),
            "brand_found_not_cited_rate": ratio(len(brand_found - set(brand_best)), len(successful)),
        },
        "visibility": visibility_share([c for c in sources if c.cited], visibility_totals or {}, ids, entities),
        "brand_content_types": brand_content_types(owned, brand, answered),
        "organic": organic_rank(organic, with_organic & ids, brand),
        "cost": sum(o.cost for o in observations),
    }


def organic_rank(organic: Sequence[OrganicFact], pages: set[int], brand: str) -> dict[str, Any]:
    """The brand's organic standing on the results pages read (Google engines: the same page as the AI
    Overview): over the pages with organic results, the mean of the brand's best rank where it ranked, and
    the shares of pages where that best rank is in the top 3 and the top 10. n is the number of pages."""
    best: dict[int, int] = {}
    for result in organic:
        if result.owner == brand and result.observation_id in pages:
            best[result.observation_id] = min(result.rank, best.get(result.observation_id, result.rank))
    ranks = list(best.values())
    return {
        "n": len(pages),
        "ranked": len(ranks),
        "mean_best_rank": mean(ranks),
        "top3_share": ratio(sum(rank <= 3 for rank in ranks), len(pages)),
        "top10_share": ratio(sum(rank <= 10 for rank in ranks), len(pages)),
    }


def brand_content_types(owned: dict[tuple[int, str], CitationFact], brand: str,
                        answered: set[int]) -> dict[str, float | None]:
    """Per content type, the share of answers citing a brand asset of that type (DESIGN.md: "share of
    answers", the same denominator as the mention rate)."""
    answers: dict[str, set[int]] = defaultdict(set)
    for (observation_id, _), citation in owned.items():
        if citation.owner == brand and observation_id in answered:
            answers[citation.content_type].add(observation_id)
    return {kind: ratio(len(ids), len(answered)) for kind, ids in sorted(answers.items())}


def visibility_share(cited: Sequence[CitationFact], totals: dict[int, float], ids: set[int],
                     entities: Sequence[str]) -> dict[str, float | None]:
    """Each entity's share of the position-adjusted word count of all cited sources (GEO visibility).
    Every cited row counts, as in the total: two citations that normalize to one page (Gemini's
    redirects) both carry visibility, and dropping one would leave it in the total only."""
    total = sum(value for observation_id, value in totals.items() if observation_id in ids)
    scores = {e: 0.0 for e in entities}
    for citation in cited:
        if citation.owner in scores and citation.visibility is not None:
            scores[citation.owner] += citation.visibility
    return {e: ratio(scores[e], total) for e in entities}


def inclusion_rate(successful: Sequence[ObservationFact], including: set[int]) -> dict[str, Any]:
    """Per keyword, the share of observations citing the brand; the KPI is their weighted mean.
    The Wilson interval and n come from the pooled counts."""
    per_keyword: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    weights: dict[str, float] = {}
    for o in successful:
        per_keyword[o.keyword][0] += o.id in including
        per_keyword[o.keyword][1] += 1
        weights[o.keyword] = o.weight
    total_weight = sum(weights[k] for k in per_keyword)
    value = ratio(sum(weights[k] * hits / n for k, (hits, n) in per_keyword.items()), total_weight)
    hits = sum(h for h, _ in per_keyword.values())
    n = sum(n for _, n in per_keyword.values())
    interval = wilson_interval(hits, n)
    return {
        "value": value,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "n": n,
        "included": hits,
    }


def share_of_voice(owned: dict[tuple[int, str], CitationFact], answers_naming: dict[str, int],
                   entities: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Citations (a URL once per answer), position-weighted citations (1/position), and mentions."""
    counts = {e: 0 for e in entities}
    weighted = {e: 0.0 for e in entities}
    for citation in owned.values():
        if citation.owner in counts:
            counts[citation.owner] += 1
            weighted[citation.owner] += 1 / citation.position
    total, total_weighted = sum(counts.values()), sum(weighted.values())
    total_naming = sum(answers_naming[e] for e in entities)
    return {
        "citations": {e: ratio(counts[e], total) for e in entities},
        "citations_position_weighted": {e: ratio(weighted[e], total_weighted) for e in entities},
        "mentions": {e: ratio(answers_naming[e], total_naming) for e in entities},
    }


def _distinct_owned_urls(citations: Sequence[CitationFact]) -> dict[tuple[int, str], CitationFact]:
    """One citation per (observation, normalized URL): the best-placed one."""
    best: dict[tuple[int, str], CitationFact] = {}
    for citation in citations:
        key = (citation.observation_id, citation.normalized_url)
        if key not in best or citation.position < best[key].position:
            best[key] = citation
    return best


def _best_brand_citation(owned: dict[tuple[int, str], CitationFact], brand: str) -> dict[int, CitationFact]:
    """For each observation citing the brand, its best-placed brand citation."""
    best: dict[int, CitationFact] = {}
    for (observation_id, _), citation in owned.items():
        if citation.owner == brand and (observation_id not in best or citation.position < best[observation_id].position):
            best[observation_id] = citation
    return best


def _mentions_by_entity(mentions: Sequence[MentionFact]) -> tuple[dict[str, int], dict[str, int]]:
    answers_naming: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for mention in mentions:
        answers_naming[mention.entity] += 1
        counts[mention.entity] += mention.count
    return answers_naming, counts


def keyword_kpis(facts: PeriodFacts, entities: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The same KPIs for each keyword across engines, for the report's keyword table."""
    keywords = sorted({o.keyword for o in facts.observations})
    return {
        keyword: engine_kpis([o for o in facts.observations if o.keyword == keyword], facts.citations,
                             facts.mentions, facts.planned_count(keyword=keyword), entities,
                             facts.visibility_totals, facts.organic, facts.with_organic)
        for keyword in keywords
    }
