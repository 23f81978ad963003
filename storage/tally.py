"""What one observation adds to the daily KPI rollups: counts only, so that a period's KPIs are sums.

`tally(record, brand)` is pure. Storage adds a tally to the rollup tables in the observation's own
transaction (and subtracts it again when a reparse replaces the observation), so the rollups always equal
what a scan of the stored observations would count. The KPIs built from these counts are defined in
`monitor.kpis`; the definitions of the counted facts are here:

- successful: status ok or no_answer; only successful observations count in any rate;
- answered: successful and holding an AI answer (for Google: an AI Overview was shown);
- a source counts once per answer: the cited URLs are deduplicated by normalized URL, keeping the
  best-placed citation; a domain counts once per answer too;
- included: a cited URL owned by the brand; its best position, and whether that citation is visible;
- gap: a competitor is cited and the brand is not;
- mentions count on answers only; an entity's first mention falls in the first, middle or last third of
  the answer's prose (its letters, digits and CJK characters, links and citation markers left out, so that
  the markup an engine wraps its citations in does not move a mention);
- search pool: for engines that report what they retrieved, whether any source (cited or not) is the
  brand's;
- organic: the brand's best organic rank on the same results page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from citewatch.status import SKIPPED, SUCCESSFUL
from citewatch.text import THIRDS, third_of

from .records import CitationRecord, ObservationRecord

CITATION, ORGANIC = "citation", "organic"


@dataclass
class Tally:
    day: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # (CITATION or ORGANIC, the brand's best position there) -> 1
    ranks: dict[tuple[str, int], int] = field(default_factory=dict)
    entities: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    content: dict[tuple[str, str], dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    domains: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))


def distinct_cited(citations: list[CitationRecord]) -> list[CitationRecord]:
    """One citation per normalized URL, the best-placed, in position order."""
    best: dict[str, CitationRecord] = {}
    for citation in citations:
        if citation.cited:
            kept = best.get(citation.normalized_url)
            if kept is None or citation.position < kept.position:
                best[citation.normalized_url] = citation
    return sorted(best.values(), key=lambda c: c.position)


def tally(record: ObservationRecord, brand: str | None) -> Tally:
    result = Tally()
    day = result.day
    day["observed"] = 1
    day["cost"] = record.cost
    if record.status == SKIPPED:
        day["skipped"] = 1
        return result
    if record.status not in SUCCESSFUL:
        day["failed"] = 1
        return result
    answered = record.has_answer
    day["successful"] = 1
    day["answered"] = int(answered)

    sources = distinct_cited(record.citations)
    brand_sources = [c for c in sources if brand is not None and c.owner == brand]
    included = bool(brand_sources)
    day["included"] = int(included)
    day["included_answered"] = int(included and answered)
    day["with_citations"] = int(bool(sources))
    day["citations"] = len(sources)
    day["visibility_total"] = sum(c.visibility or 0.0 for c in record.citations if c.cited)
    if included:
        best = brand_sources[0]
        result.ranks[(CITATION, best.position)] = 1
        day["position_sum"] = best.position
        day["top3"] = int(best.position <= 3)
        day["visible"] = int(best.visible)
    competitors_cited = {c.owner for c in sources if c.owner is not None and c.owner != brand}
    day["gaps"] = int(bool(competitors_cited) and not included)

    if record.search_pool:
        found = any(c.owner == brand for c in record.citations if brand is not None)
        day["pool"] = 1
        day["brand_found"] = int(found)
        day["brand_found_cited"] = int(found and included)

    _organic(record, brand, included, result)
    _entities(record, sources, brand, included, result)
    for citation in sources:
        cell = result.content[(citation.content_type, citation.domain_class)]
        cell["citations"] += 1
    if answered:  # once per answer and page type, on the row of the brand's page (class `own` in practice)
        first_class = {}
        for citation in brand_sources:
            first_class.setdefault(citation.content_type, citation.domain_class)
        for content_type, domain_class in first_class.items():
            result.content[(content_type, domain_class)]["brand_answers"] = 1
    for domain in {c.domain for c in sources if c.domain}:
        result.domains[domain]["answers"] = 1
        result.domains[domain]["answers_without_brand"] = int(not included)
    return result


def _organic(record: ObservationRecord, brand: str | None, included: bool, result: Tally) -> None:
    if not record.organic:
        return
    day = result.day
    day["organic_pages"] = 1
    ranks = [o.rank for o in record.organic if brand is not None and o.owner == brand]
    if ranks:
        best = min(ranks)
        result.ranks[(ORGANIC, best)] = 1
        day["organic_ranked"] = 1
        day["organic_rank_sum"] = best
        day["organic_top3"] = int(best <= 3)
        day["organic_top10"] = int(best <= 10)
        # the actionable line: on the first page organically, yet not cited by the answer shown above it
        day["organic_top10_not_cited"] = int(best <= 10 and record.has_answer and not included)


def _entities(record: ObservationRecord, sources: list[CitationRecord], brand: str | None, included: bool,
              result: Tally) -> None:
    if record.has_answer:
        length = len(record.answer_text) if record.answer_text is not None else record.answer_chars or 0
        for mention in record.mentions:
            cell = result.entities[mention.entity]
            cell["answers_naming"] = 1
            cell["mention_count"] = mention.count
            cell["mention_rank_sum"] = mention.rank
            # the third measured on the prose at analysis; rows stored before it was, by offset and length
            third = mention.third or third_of(mention.first_offset, length)
            cell[THIRDS[third - 1]] = 1
    for citation in sources:
        if citation.owner is None:
            continue
        cell = result.entities[citation.owner]
        cell["cited_answers"] = 1
        cell["citations"] += 1
        cell["citations_weighted"] += 1 / citation.position
        if citation.owner != brand and not included:
            cell["cited_without_brand"] = 1
    for citation in record.citations:
        if citation.cited and citation.owner is not None and citation.visibility is not None:
            result.entities[citation.owner]["visibility"] += citation.visibility
