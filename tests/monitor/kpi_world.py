"""A small world of observations for KPI tests: described as plain data, stored through the repository as
the pipeline stores them, and counted again naively, in plain Python, straight from the description."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from storage import repository
from storage.records import (
    CitationRecord,
    EntityRow,
    KeywordRow,
    MentionRecord,
    ObservationRecord,
    OrganicRecord,
)

BRAND, RIVAL, OTHER = "Brand", "Rival", "Other"
ENTITIES = [EntityRow(BRAND, "brand", ("brandco",), ("brand.com",)),
            EntityRow(RIVAL, "competitor", (), ("rival.com",)),
            EntityRow(OTHER, "competitor", (), ("other.com",))]
SUCCESSFUL = ("ok", "no_answer")


@dataclass
class Cite:
    owner: str | None
    url: str
    position: int
    cited: bool = True
    visible: bool = True
    content_type: str = "blog_post"
    domain_class: str = "other"
    visibility: float | None = None

    @property
    def domain(self) -> str:
        return self.url.split("/")[2]


@dataclass
class Obs:
    keyword: str
    engine: str
    day: date
    status: str = "ok"
    has_answer: bool = True
    text: str = "an answer"
    citations: list[Cite] = field(default_factory=list)
    mentions: list[tuple[str, int, int, int]] = field(default_factory=list)  # entity, count, offset, rank
    organic: list[tuple[str | None, int]] = field(default_factory=list)  # owner, rank
    search_pool: bool = False
    cost: float = 0.0


@dataclass
class World:
    keywords: list[KeywordRow]
    # (run day, engine, keyword) -> observations planned
    planned: dict[tuple[date, str, str], int]
    observations: list[Obs]


def store(db: Engine, project: str, world: World) -> None:
    ids = repository.sync_project(db, project, ENTITIES, world.keywords, datetime(2026, 1, 1, tzinfo=UTC))
    runs: dict[date, int] = {}
    days = sorted({day for day, _, _ in world.planned} | {o.day for o in world.observations})
    for day in days:
        plan: dict[str, dict[str, int]] = defaultdict(dict)
        for (planned_day, engine, keyword), count in world.planned.items():
            if planned_day == day:
                plan[engine][str(ids.keyword_ids[keyword])] = count
        runs[day] = repository.start_run(db, ids.project_id, dict(plan), datetime.combine(day, datetime.min.time(),
                                                                                            UTC) + timedelta(hours=6))
    samples: dict[tuple[date, str, str], int] = defaultdict(int)
    for o in world.observations:
        sample = samples[(o.day, o.engine, o.keyword)]
        samples[(o.day, o.engine, o.keyword)] += 1
        repository.save_observation(db, ids, ObservationRecord(
            run_id=runs[o.day], keyword=o.keyword, engine_id=o.engine, engine_kind="openai", sample_index=sample,
            observed_at=datetime.combine(o.day, datetime.min.time(), UTC) + timedelta(hours=7),
            status=o.status, answer_text=o.text, has_answer=o.has_answer, search_pool=o.search_pool, cost=o.cost,
            citations=[CitationRecord(c.position, c.url, c.url, c.domain, None, c.visible, c.cited, "annotation",
                                      c.owner, c.content_type, visibility=c.visibility, domain_class=c.domain_class)
                       for c in o.citations],
            mentions=[MentionRecord(entity, "alias", count, offset, rank)
                      for entity, count, offset, rank in o.mentions],
            organic=[OrganicRecord(rank, f"https://{(owner or 'x').lower()}.com/{rank}", None, owner, None)
                     for owner, rank in o.organic]))


# --- the naive count ----------------------------------------------------------------------------------


def _share(hits: float, n: float) -> float | None:
    return hits / n if n else None


def distinct(o: Obs) -> dict[str, Cite]:
    best: dict[str, Cite] = {}
    for c in o.citations:
        if c.cited and (c.url not in best or c.position < best[c.url].position):
            best[c.url] = c
    return best


def best_brand(o: Obs) -> Cite | None:
    brand = [c for c in distinct(o).values() if c.owner == BRAND]
    return min(brand, key=lambda c: c.position) if brand else None


def naive(world: World, since: date, until: date, engine: str | None = None,
          keywords: set[str] | None = None) -> dict[str, Any]:
    """Every KPI from the description, by the definitions of DESIGN.md and issue 10."""
    def chosen(day: date, e: str, k: str) -> bool:
        return since <= day <= until and engine in (None, e) and (keywords is None or k in keywords)

    weights = {k.text: k.weight for k in world.keywords}
    branded = {k.text for k in world.keywords if k.branded}
    observations = [o for o in world.observations if chosen(o.day, o.engine, o.keyword)]
    scheduled = sum(n for (day, e, k), n in world.planned.items() if chosen(day, e, k))
    ok = [o for o in observations if o.status in SUCCESSFUL]
    answered = [o for o in ok if o.has_answer]
    included = [o for o in ok if best_brand(o)]

    def weighted_inclusion(pool: list[Obs]) -> float | None:
        per_keyword: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in pool:
            per_keyword[o.keyword][0] += best_brand(o) is not None
            per_keyword[o.keyword][1] += 1
        total = sum(weights[k] for k in per_keyword)
        return _share(sum(weights[k] * h / n for k, (h, n) in per_keyword.items()), total)

    positions = [best_brand(o).position for o in included]  # type: ignore[union-attr]
    unbranded_answers = [o for o in answered if o.keyword not in branded]
    unbranded_ok = [o for o in ok if o.keyword not in branded]
    names = [e.name for e in ENTITIES]
    naming = {e: sum(any(m[0] == e for m in o.mentions) for o in unbranded_answers) for e in names}
    counts = {e: sum(c for o in unbranded_ok for c in [sum(1 for x in distinct(o).values() if x.owner == e)])
              for e in names}
    weighted = {e: sum(1 / x.position for o in unbranded_ok for x in distinct(o).values() if x.owner == e)
                for e in names}
    cited_rows = [c for o in ok for c in o.citations if c.cited]
    visibility_total = sum(c.visibility or 0 for c in cited_rows)
    pages = [o for o in ok if o.organic]
    best_ranks = [min(r for owner, r in o.organic if owner == BRAND) for o in pages
                  if any(owner == BRAND for owner, _ in o.organic)]
    pool = [o for o in ok if o.search_pool]
    found = [o for o in pool if any(c.owner == BRAND for c in o.citations)]
    mix: dict[str, int] = defaultdict(int)
    classes: dict[str, int] = defaultdict(int)
    for o in ok:
        for c in distinct(o).values():
            mix[c.content_type] += 1
            classes[c.domain_class] += 1
    brand_types = {t: sum(any(c.owner == BRAND and c.content_type == t for c in distinct(o).values())
                          for o in answered) for t in mix}
    domains: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in ok:
        for domain in {c.domain for c in distinct(o).values()}:
            domains[domain][0] += 1
            domains[domain][1] += best_brand(o) is None
    return {
        "domains": sorted(((d, n, without) for d, (n, without) in domains.items()), key=lambda t: (-t[1], t[0])),
        "scheduled": scheduled,
        "successful": len(ok),
        "failed": sum(o.status in ("error", "blocked") for o in observations),
        "skipped": sum(o.status == "skipped" for o in observations),
        "coverage": _share(len(ok), scheduled),
        "answer_rate": _share(len(answered), len(ok)),
        "inclusion": weighted_inclusion(ok),
        "inclusion_n": len(ok),
        "inclusion_given_answer": weighted_inclusion(answered),
        "citation_rate_given_citations": _share(len(included), sum(bool(distinct(o)) for o in ok)),
        "median": statistics.median(positions) if positions else None,
        "mean": statistics.fmean(positions) if positions else None,
        "top3": _share(sum(p <= 3 for p in positions), len(positions)),
        "visible": _share(sum(best_brand(o).visible for o in included), len(included)),  # type: ignore[union-attr]
        "mention_rate": {e: _share(naming[e], len(unbranded_answers)) for e in names},
        "mentions_per_answer": {e: _share(sum(m[1] for o in unbranded_answers for m in o.mentions if m[0] == e),
                                          len(unbranded_answers)) for e in names},
        "mean_rank": {e: _share(sum(m[3] for o in unbranded_answers for m in o.mentions if m[0] == e), naming[e])
                      for e in names},
        "sov_citations": {e: _share(counts[e], sum(counts.values())) for e in names},
        "sov_weighted": {e: _share(weighted[e], sum(weighted.values())) for e in names},
        "sov_mentions": {e: _share(naming[e], sum(naming.values())) for e in names},
        "visibility": {e: _share(sum(c.visibility or 0 for c in cited_rows if c.owner == e), visibility_total)
                       for e in names},
        "organic_n": len(pages),
        "organic_mean": statistics.fmean(best_ranks) if best_ranks else None,
        "organic_top10": _share(sum(r <= 10 for r in best_ranks), len(pages)),
        "pool_found": _share(len(found), len(pool)),
        "pool_cited_given_found": _share(sum(best_brand(o) is not None for o in found), len(found)),
        "mix": {t: _share(n, sum(mix.values())) for t, n in mix.items()},
        "brand_types": {t: _share(n, len(answered)) for t, n in brand_types.items() if n},
        "classes": {t: _share(n, sum(classes.values())) for t, n in classes.items()},
        "gaps": sum(best_brand(o) is None and any(c.owner not in (None, BRAND) for c in distinct(o).values())
                    for o in ok),
        "cost": sum(o.cost for o in observations),
    }
