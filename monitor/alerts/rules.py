"""The alert rules, pure: from what recent runs cited (and the KPIs' change) to events.

- citation_lost: a brand page cited for a keyword on an engine, then absent from the `confirm_runs`
  successful runs after it. A run where every sample of the keyword failed, was blocked or skipped is not
  absence: it is not among the keyword's runs at all. With several samples, absent means absent from all.
  The event stays open (announced once) until the page is cited there again.
- citation_gained: a brand page cited in the newest run after `confirm_runs` successful runs without it.
- competitor_gained: a competitor cited where the brand is not, after `confirm_runs` runs without it.
- inclusion_drop, share_of_voice_drop: the rate of the last `window_days` against the same length before
  fell by at least `min_drop` points and beyond sampling noise (the test is named in the event); open until
  that no longer holds.
- engine_failing: fewer than `min_coverage` of a run's attempted probes of an engine succeeded (probes
  skipped by a budget are not attempts); open until a run of that engine does better.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from citewatch.alerts import (
    CITATION_GAINED,
    CITATION_LOST,
    COMPETITOR_GAINED,
    ENGINE_FAILING,
    Evaluation,
    EventKey,
    Pair,
    PairRun,
)


def evaluated_pairs(history: Mapping[Pair, list[PairRun]], run_id: int) -> list[Pair]:
    """The keywords and engines the run observed successfully: the only ones whose state it can change."""
    return sorted(pair for pair, runs in history.items() if runs and runs[-1].run_id == run_id)


def lost_citations(history: Mapping[Pair, list[PairRun]], run_id: int, brand_id: int, confirm_runs: int
                   ) -> Evaluation:
    found = Evaluation()
    for pair in evaluated_pairs(history, run_id):
        runs = history[pair]
        last_seen: dict[str, int] = {}  # page -> index of the newest run citing it
        for index, pair_run in enumerate(runs):
            for page in pair_run.cited.get(brand_id, {}):
                last_seen[page] = index
        for page, index in last_seen.items():
            key = EventKey(CITATION_LOST, *pair, page)
            absent_from = len(runs) - 1 - index
            if absent_from == 0:
                found.recovered[key] = {"url": runs[-1].cited[brand_id][page]}
            elif absent_from >= confirm_runs:
                found.opened[key] = ({"url": runs[index].cited[brand_id][page],
                                      "last_seen": runs[index].observed_at.isoformat(timespec="seconds"),
                                      "absent_runs": absent_from}, True)
    return found


def gained_citations(history: Mapping[Pair, list[PairRun]], run_id: int, brand_id: int, confirm_runs: int
                     ) -> Evaluation:
    found = Evaluation()
    for pair in evaluated_pairs(history, run_id):
        runs = history[pair]
        before = runs[-1 - confirm_runs:-1]
        if len(before) < confirm_runs:  # too little history to call anything new
            continue
        for page, shown in runs[-1].cited.get(brand_id, {}).items():
            if not any(page in earlier.cited.get(brand_id, {}) for earlier in before):
                found.opened[EventKey(CITATION_GAINED, *pair, page)] = ({"url": shown}, False)
    return found


def gained_competitors(history: Mapping[Pair, list[PairRun]], run_id: int, brand_id: int,
                       competitors: Mapping[int, str], confirm_runs: int) -> Evaluation:
    found = Evaluation()
    for pair in evaluated_pairs(history, run_id):
        runs = history[pair]
        newest, before = runs[-1], runs[-1 - confirm_runs:-1]
        if len(before) < confirm_runs or newest.cited.get(brand_id):
            continue
        for owner_id, pages in newest.cited.items():
            if owner_id in competitors and not any(earlier.cited.get(owner_id) for earlier in before):
                found.opened[EventKey(COMPETITOR_GAINED, *pair, competitors[owner_id])] = (
                    {"competitor": competitors[owner_id], "urls": sorted(pages.values())[:3]}, False)
    return found


def rate_drops(kind: str, scopes: Mapping[str | None, tuple[dict[str, Any] | None, dict[str, Any] | None,
                                                            dict[str, Any] | None]],
               min_drop_points: float, window_days: int, test: str) -> Evaluation:
    """`scopes`: per engine id (None: all engines) the rate now, the rate before and their change, as
    `citewatch metrics` gives them. A drop opens where it is `min_drop_points` or more and significant."""
    found = Evaluation()
    for engine_id, (now, before, change) in scopes.items():
        if now is None or before is None or change is None:
            continue
        key = EventKey(kind, None, engine_id)
        details = {"from": before["value"], "to": now["value"], "n_from": before["n"], "n_to": now["n"],
                   "z": change["z"], "test": test, "window_days": window_days}
        if change["absolute"] * 100 <= -min_drop_points and change["significant"]:
            found.opened[key] = (details, True)
        else:
            found.recovered[key] = details
    return found


def failing_engines(coverage: Mapping[str, tuple[int, int, int]], min_coverage: float) -> Evaluation:
    """`coverage`: per engine (planned, successful, skipped) in the run."""
    found = Evaluation()
    for engine_id, (planned, successful, skipped) in coverage.items():
        attempted = planned - skipped
        if attempted <= 0:
            continue
        details = {"successful": successful, "attempted": attempted, "skipped": skipped,
                   "coverage": successful / attempted, "min_coverage": min_coverage}
        key = EventKey(ENGINE_FAILING, None, engine_id)
        if successful / attempted < min_coverage:
            found.opened[key] = (details, True)
        else:
            found.recovered[key] = details
    return found


def only_engines(evaluation: Evaluation, engines: Iterable[str]) -> Evaluation:
    """What concerns the given engines (all engines' events only where no engine is named)."""
    allowed = set(engines)
    if not allowed:
        return evaluation

    def kept(key: EventKey) -> bool:
        return key.engine_id in allowed

    return Evaluation({k: v for k, v in evaluation.opened.items() if kept(k)},
                      {k: v for k, v in evaluation.recovered.items() if kept(k)})


def settled(found: Evaluation) -> Evaluation:
    """Two rules of one kind over one engine (a general one, a stricter one for it): a state either finds
    open is open; else they would close and reopen it on alternate runs."""
    return Evaluation(found.opened, {key: v for key, v in found.recovered.items() if key not in found.opened})


HISTORY_KINDS = (CITATION_LOST, CITATION_GAINED, COMPETITOR_GAINED)
