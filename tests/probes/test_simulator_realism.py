"""The simulator's realism, as the offline demo turns it on: brand citations spread over positions, brand pages
searched and not cited, a few calls failing as each service fails (retries included), and one brand citation
lost and one gained between the demo's two weeks. Checked on the scenario itself, on a real probe against
the running simulator, and on the demo's report and database (the demo run is shared with
tests/monitor/test_demo_report.py)."""

from __future__ import annotations

import json
import sqlite3
from statistics import median

import pytest

from citewatch.errors import ProbeError
from monitor.config import EngineConfig
from monitor.demo import GAINED, LOST, DemoResult
from monitor.pipeline import make_probe
from monitor.throttle import RateLimiter, fetch_with_retries
from probes.base import ProbeRequest
from probes.simulator import Simulator, demo_scenario
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import Scenario, fault, retrieved_only, simulated_answer

PROMPT = "Which industrial ball valve manufacturers should I consider?"
WEEK_1, WEEK_2 = ("2026-11-16", "2026-11-22"), ("2026-11-23", "2026-11-29")
ENGINE_OF_KIND = {"openai": "chatgpt", "perplexity_agent": "perplexity"}


@pytest.fixture(scope="module")
def report(demo: DemoResult) -> dict:
    return json.loads((demo.out / "report.json").read_text(encoding="utf-8"))


def lifelike(seed: int = 7) -> Scenario:
    scenario = demo_scenario(seed)
    scenario.more_sources, scenario.brand_found_rate, scenario.failure_rate = True, 0.3, 0.06
    return scenario


def cited_order(segments: list) -> list[str]:
    return list(dict.fromkeys(url for segment in segments for url, _ in segment.sources))


# --- the scenario --------------------------------------------------------------------------------------------


def test_realism_is_off_unless_asked_for() -> None:
    plain = demo_scenario()
    answer = simulated_answer(plain, PROMPT, "m", 0, "openai")
    references = {url for url, _ in plain.reference_pages}
    assert references and not references & set(cited_order(answer.segments))
    neutral = [page for page in plain.neutral_pages if page[0] not in cited_order(answer.segments)][:2]
    assert retrieved_only(answer) == neutral
    assert all(fault(plain, PROMPT, call, kind) is None for call in range(20) for kind in FORMATS)


def test_answers_cite_more_sources_and_the_brand_lands_anywhere() -> None:
    scenario = lifelike()
    brand = {url for url, _ in scenario.brand.pages if "hengdavalve" in url}
    positions, sizes = [], []
    for day in range(14):
        scenario.day = f"2026-11-{16 + day}"
        for call in range(30):
            order = cited_order(simulated_answer(scenario, PROMPT, "m", call, "openai").segments)
            sizes.append(len(order))
            positions += [next(n for n, url in enumerate(order, 1) if url in brand)] if brand & set(order) else []
    assert 2 <= median(positions) <= 4 and 0.5 <= sum(p <= 3 for p in positions) / len(positions) <= 0.8
    assert 1 in positions and max(positions) >= 8 and median(sizes) >= 5


def test_composition_is_deterministic_per_seed() -> None:
    def answers(seed: int) -> list:
        return [(a.segments, retrieved_only(a)) for a in (simulated_answer(lifelike(seed), PROMPT, "m", call, "qwen")
                                                         for call in range(10))]

    assert answers(7) == answers(7) and answers(7) != answers(8)


def test_an_outage_fails_every_call_from_one_on_so_retries_fail_too() -> None:
    scenario = lifelike()
    scenario.failure_rate = 1.0
    for kind in FORMATS:
        picks = [fault(scenario, PROMPT, call, kind) for call in range(8)]
        first = picks.index(next(p for p in picks if p is not None))
        assert first <= 2 and picks[:first] == [None] * first and len(set(picks[first:])) == 1


def test_brand_pages_are_pinned_or_banned_per_kind_and_prompt() -> None:
    scenario = lifelike()
    kind, prompt, url = GAINED
    scenario.always_cited = frozenset({GAINED})
    assert all(url in cited_order(simulated_answer(scenario, prompt, "m", call, kind).segments) for call in range(20))
    scenario.always_cited, scenario.never_cited = frozenset(), frozenset({GAINED})
    scenario.brand_citation_rate = 1.0
    assert not any(url in cited_order(simulated_answer(scenario, prompt, "m", call, kind).segments)
                   for call in range(20))
    assert any(url in cited_order(simulated_answer(scenario, PROMPT, "m", call, kind).segments) for call in range(20))


async def test_a_failed_call_is_retried_by_the_runner_and_still_fails() -> None:
    scenario = lifelike()
    scenario.failure_rate = 1.0  # every prompt meets an outage; take one that answers with an error status
    prompt = next(p for p in (PROMPT, *(f"{PROMPT} ({n})" for n in range(20)))
                  if fault(scenario, p, 2, "openai") % 4)  # (one in four is a broken 200 body instead)
    first = next(call for call in range(3) if fault(scenario, prompt, call, "openai") is not None)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    outcomes = []
    with Simulator(scenario) as sim:
        probe = make_probe(EngineConfig(id="chatgpt", kind="openai", base_url=sim.base_url_for("openai")))
        try:
            for _ in range(3):  # three samples of one keyword: those from the outage's first call on fail
                try:
                    await fetch_with_retries(probe, ProbeRequest("k", prompt), 2, RateLimiter(None), sleep)
                    outcomes.append("ok")
                except ProbeError as exc:
                    outcomes.append(exc.reason)
        finally:
            await probe.aclose()
        requests = len(sim.requests)
    assert outcomes[:first] == ["ok"] * first and len(outcomes) == 3
    assert all(reason.startswith("HTTP ") and reason.endswith("(after 3 attempts)") for reason in outcomes[first:])
    assert requests == first + 3 * (3 - first) and len(waits) == 2 * (3 - first)  # each retry met the outage


# --- the demo's report and database --------------------------------------------------------------------------


def test_brand_positions_spread_beyond_the_top_three(report: dict) -> None:
    engines = report["metrics"]["engines"]
    positions = {engine: figures["citation_position"] for engine, figures in engines.items()}
    assert sum(p["median"] > 1 for p in positions.values()) >= len(positions) - 1
    assert all(p["n"] > 10 and p["top3_share"]["value"] < 1 for p in positions.values())
    overall = report["metrics"]["overall"]["citation_position"]
    assert 2 <= overall["median"] <= 4 and 0.5 <= overall["top3_share"]["value"] <= 0.8


def test_some_brand_citations_come_late(demo: DemoResult) -> None:
    con = sqlite3.connect(demo.database)
    best = [row[0] for row in con.execute(
        """SELECT MIN(c.position) FROM citation c JOIN source s ON s.id = c.source_id
           JOIN tracked_entity e ON e.id = s.owner_id WHERE e.name = 'Hengda Valve' AND c.cited
           GROUP BY c.observation_id""")]
    assert 1 in best and max(best) >= 8 and sum(p >= 8 for p in best) < 0.05 * len(best)


def test_brand_pages_are_found_and_not_cited_where_engines_list_what_they_searched(
        report: dict, demo: DemoResult) -> None:
    engines = report["metrics"]["engines"]
    found_not_cited = {engine: figures["search_pool"]["found_not_cited_rate"]["value"]
                       for engine, figures in engines.items() if figures["search_pool"]["n"]}
    assert sum(rate > 0 for rate in found_not_cited.values()) >= 2
    # in the database: answers that retrieved a brand page and cited none of the brand's
    con = sqlite3.connect(demo.database)
    uncited = con.execute(
        """SELECT COUNT(DISTINCT o.id) FROM observation o JOIN citation c ON c.observation_id = o.id
           JOIN source s ON s.id = c.source_id JOIN tracked_entity e ON e.id = s.owner_id
           WHERE e.name = 'Hengda Valve' AND NOT c.cited AND o.search_pool AND o.id NOT IN (
               SELECT c2.observation_id FROM citation c2 JOIN source s2 ON s2.id = c2.source_id
               JOIN tracked_entity e2 ON e2.id = s2.owner_id WHERE e2.name = 'Hengda Valve' AND c2.cited)""",
    ).fetchone()[0]
    assert uncited > 0


def test_a_few_probes_fail_and_are_stored_as_failures(report: dict, demo: DemoResult) -> None:
    engines = report["metrics"]["engines"]
    down = {engine for engine, figures in engines.items() if figures["failed"] > 0}
    assert len(down) >= 3 and "google" in down
    assert all(engines[engine]["coverage"]["value"] < 1 for engine in down)
    con = sqlite3.connect(demo.database)
    failed = con.execute(  # the two reported weeks (the demo's history weeks before them fail too)
        "SELECT id, engine_id, status, error FROM observation WHERE status NOT IN ('ok', 'no_answer') "
        "AND date(observed_at) >= ?", (demo.since.isoformat(),)).fetchall()
    assert len(failed) == sum(figures["failed"] for figures in engines.values()) + \
        sum(figures["failed"] for figures in report["metrics"]["previous"]["engines"].values())
    assert all(status in ("error", "blocked") and error and error.strip() for _, _, status, error in failed)
    # never "not cited": a failed observation keeps no citation
    ids = ",".join(str(row[0]) for row in failed)
    assert con.execute(f"SELECT COUNT(*) FROM citation WHERE observation_id IN ({ids})").fetchone()[0] == 0
    reasons = " ".join(error for _, _, _, error in failed)
    assert "We couldn't get valid results for this search" in reasons  # SerpApi's own search error
    assert "(after 3 attempts)" in reasons and "unparseable payload" in reasons


def _slot(con: sqlite3.Connection, change: tuple[str, str, str], week: tuple[str, str]) -> tuple[int, int]:
    """(successful answers, answers citing the page) for the change's keyword and engine in `week`."""
    kind, prompt, url = change
    return con.execute(
        """SELECT COUNT(*), COALESCE(SUM(EXISTS (
               SELECT 1 FROM citation c JOIN source s ON s.id = c.source_id
               WHERE c.observation_id = o.id AND c.cited AND s.normalized_url = ?)), 0)
           FROM observation o JOIN keyword k ON k.id = o.keyword_id
           WHERE k.prompt = ? AND o.engine_id = ? AND o.status IN ('ok', 'no_answer')
             AND date(o.observed_at) BETWEEN ? AND ?""",
        (url, prompt, ENGINE_OF_KIND[kind], *week)).fetchone()


def test_one_brand_citation_is_lost_and_one_gained_in_the_second_week(report: dict, demo: DemoResult) -> None:
    con = sqlite3.connect(demo.database)
    answers, cited = _slot(con, LOST, WEEK_1)
    assert answers > 0 and cited == answers  # cited throughout the first week
    answers, cited = _slot(con, LOST, WEEK_2)
    assert answers > 0 and cited == 0  # answered, and never cited, in the second
    answers, cited = _slot(con, GAINED, WEEK_1)
    assert answers > 0 and cited == 0
    answers, cited = _slot(con, GAINED, WEEK_2)
    assert cited >= 5 and cited == answers
    changes = report["citation_changes"]
    assert (LOST[2], ENGINE_OF_KIND[LOST[0]]) in {(row["normalized_url"], row["engine"]) for row in changes["lost"]}
    assert (GAINED[2], ENGINE_OF_KIND[GAINED[0]]) in {(row["normalized_url"], row["engine"])
                                                      for row in changes["gained"]}


def test_the_brand_is_cited_more_often_in_the_second_week(report: dict) -> None:
    now, before = report["metrics"]["overall"], report["metrics"]["previous"]["overall"]
    assert now["inclusion_rate"]["value"] > before["inclusion_rate"]["value"]
    assert now["inclusion_rate"]["low"] > before["inclusion_rate"]["value"]  # beyond sampling noise
