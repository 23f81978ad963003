"""The report's page-level findings, from one or two weeks of stored facts. Pure: facts in, plain data out.

- cited pages: for each tracked entity, its pages the answers cite;
- citations lost and gained: a brand page cited for a keyword on an engine last week and in none of this
  week's successful answers for it (lost), or the reverse (gained); only where both weeks hold successful
  answers for that keyword and engine, so an engine added or down this week moves nothing;
- found but not cited: brand pages an engine retrieved for an answer and did not cite in it;
- failures: per engine, how many probes failed and the most common reasons.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from citewatch.status import BLOCKED, FAILED, SUCCESSFUL
from monitor.kpis import Z95, two_proportion_z
from storage.records import CitationFact, ObservationFact, PeriodFacts

Slot = tuple[str, str]  # (keyword, engine id)


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def _successful(facts: PeriodFacts) -> dict[int, ObservationFact]:
    return {o.id: o for o in facts.observations if o.status in SUCCESSFUL}


def _answers_per_slot(observations: Iterable[ObservationFact]) -> Counter[Slot]:
    return Counter((o.keyword, o.engine_id) for o in observations)


def _answer_citations(facts: PeriodFacts, owners: Collection[str], *, cited: bool
                      ) -> Iterable[tuple[ObservationFact, CitationFact]]:
    """The citations (or retrieved-only sources) of pages `owners` own in successful answers, each page once
    per answer."""
    successful = _successful(facts)
    seen: set[tuple[int, str]] = set()
    for citation in facts.citations:
        observation = successful.get(citation.observation_id)
        key = (citation.observation_id, citation.normalized_url)
        if observation is None or citation.owner not in owners or citation.cited != cited or key in seen:
            continue
        seen.add(key)
        yield observation, citation


def _cited_by_slot(facts: PeriodFacts, brand: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(keyword, engine, page) -> how many answers cited it, first and last day, best position, url, title."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for observation, citation in _answer_citations(facts, (brand,), cited=True):
        key = (observation.keyword, observation.engine_id, citation.normalized_url)
        day = _day(observation.observed_at)
        entry = found.setdefault(key, {"url": citation.url, "title": citation.title, "answers": 0,
                                       "first": day, "last": day, "best_position": citation.position})
        entry["answers"] += 1
        entry["best_position"] = min(entry["best_position"], citation.position)
        if day is not None:
            entry["first"] = min(filter(None, (entry["first"], day)))
            entry["last"] = max(filter(None, (entry["last"], day)))
        entry["url"] = min(entry["url"], citation.url)  # one spelling, the same every time
    return found


def cited_pages(facts: PeriodFacts, entities: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each entity, its cited pages: answers citing each, best position, engines."""
    pages: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in entities}
    for observation, citation in _answer_citations(facts, pages, cited=True):
        page = pages[citation.owner].setdefault(citation.normalized_url, _new_page(citation))
        page["answers"] += 1
        page["best_position"] = min(page["best_position"], citation.position)
        # the same page arrives under several spellings (utm tags...): show one, the same every time
        page["url"] = min(page["url"], citation.url)
        if citation.title and (page["title"] is None or citation.title < page["title"]):
            page["title"] = citation.title
        page["engines"].add(observation.engine_id)
        page["keywords"].add(observation.keyword)
    return {
        entity: [
            {**page, "engines": sorted(page["engines"]), "keywords": sorted(page["keywords"])}
            for page in sorted(by_url.values(), key=lambda p: (-p["answers"], p["best_position"], p["url"]))
        ]
        for entity, by_url in pages.items()
    }


def _new_page(citation: CitationFact) -> dict[str, Any]:
    return {
        "url": citation.url,
        "normalized_url": citation.normalized_url,
        "title": citation.title,
        "content_type": citation.content_type,
        "answers": 0,
        "best_position": citation.position,
        "engines": set(),
        "keywords": set(),
    }


def citation_changes(previous: PeriodFacts, current: PeriodFacts, brand: str) -> dict[str, list[dict[str, Any]]]:
    """{"lost": [...], "gained": [...]}: each row keyword, engine, url, title, the answers citing it in each
    week out of the successful answers for that keyword and engine, and the date it was last (lost) or first
    (gained) cited."""
    before, now = _cited_by_slot(previous, brand), _cited_by_slot(current, brand)
    answers_before = _answers_per_slot(_successful(previous).values())
    answers_now = _answers_per_slot(_successful(current).values())
    lost, gained = [], []
    for key in before.keys() - now.keys():
        keyword, engine, _ = key
        if answers_now[(keyword, engine)]:
            lost.append(_change_row(key, before[key], answers_before, answers_now, cited_now=0,
                                    cited_before=before[key]["answers"], day=before[key]["last"]))
    for key in now.keys() - before.keys():
        keyword, engine, _ = key
        if answers_before[(keyword, engine)]:
            gained.append(_change_row(key, now[key], answers_before, answers_now, cited_now=now[key]["answers"],
                                      cited_before=0, day=now[key]["first"]))
    return {"lost": sorted(lost, key=_order), "gained": sorted(gained, key=_order)}


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Changes beyond sampling noise first, then the larger ones."""
    return (not row["significant"], -max(row["cited_before"], row["cited_now"]), row["keyword"], row["engine"],
            row["url"])


def _change_row(key: tuple[str, str, str], page: dict[str, Any], answers_before: Counter[Slot],
                answers_now: Counter[Slot], *, cited_now: int, cited_before: int, day: str | None) -> dict[str, Any]:
    keyword, engine, normalized_url = key
    before, now = answers_before[(keyword, engine)], answers_now[(keyword, engine)]
    z = two_proportion_z(cited_now / now, now, cited_before / before, before)
    return {"keyword": keyword, "engine": engine, "url": page["url"], "normalized_url": normalized_url,
            "title": page["title"], "cited_before": cited_before, "answers_before": before,
            "cited_now": cited_now, "answers_now": now, "date": day, "significant": z is not None and abs(z) > Z95}


def found_not_cited(facts: PeriodFacts, brand: str) -> list[dict[str, Any]]:
    """The brand's pages that engines retrieved for an answer without citing them there: per page, in how
    many answers, for which keywords and engines; most often first."""
    pages: dict[str, dict[str, Any]] = {}
    for observation, citation in _answer_citations(facts, (brand,), cited=False):
        page = pages.setdefault(citation.normalized_url, {
            "url": citation.url, "normalized_url": citation.normalized_url, "title": citation.title,
            "content_type": citation.content_type, "answers": 0, "engines": set(), "keywords": set()})
        page["answers"] += 1
        page["url"] = min(page["url"], citation.url)
        page["engines"].add(observation.engine_id)
        page["keywords"].add(observation.keyword)
    return [{**page, "engines": sorted(page["engines"]), "keywords": sorted(page["keywords"])}
            for page in sorted(pages.values(), key=lambda p: (-p["answers"], p["normalized_url"]))]


# what makes each failure's message unique without saying more: where a JSON decoder stopped, the body's start
_SPECIFICS = re.compile(r" \(JSONDecodeError: [^()]*(?:\([^()]*\))?\)|; starts with .*$")


def _gist(reason: str) -> str:
    """A failure's reason without its specifics, so that alike failures count together."""
    return _SPECIFICS.sub("", reason)


def failures(facts: PeriodFacts, reasons: int = 3) -> dict[str, dict[str, Any]]:
    """Per engine with a failed probe: how many failed, how many of those were blocked, and the most common
    reasons (the stored error's first line), most frequent first."""
    by_engine: dict[str, Counter[str]] = defaultdict(Counter)
    blocked: Counter[str] = Counter()
    for observation in facts.observations:
        if observation.status in FAILED:
            said = (observation.error or "").strip() or observation.status
            by_engine[observation.engine_id][_gist(said.splitlines()[0])[:200]] += 1
            blocked[observation.engine_id] += observation.status == BLOCKED
    return {engine: {"failed": sum(counts.values()), "blocked": blocked[engine],
                     "reasons": [{"reason": reason, "count": n} for reason, n in counts.most_common(reasons)]}
            for engine, counts in sorted(by_engine.items())}
