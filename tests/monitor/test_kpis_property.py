"""`citewatch metrics` against a second, naive count: random projects and observations (failed, blocked,
skipped, unanswered, duplicate URLs, weights, branded keywords) are stored through the repository, and every
KPI the rollups give must equal what plain Python counts from the same description. On SQLite and
PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from monitor.metrics import period_metrics, select_keywords, weekly_trend
from storage.records import KeywordRow
from tests.monitor.kpi_world import BRAND, ENTITIES, OTHER, RIVAL, Cite, Obs, World, naive, store

SINCE = date(2026, 11, 16)
UNTIL = SINCE + timedelta(days=6)
DAYS = [SINCE - timedelta(days=7), SINCE - timedelta(days=1), SINCE, SINCE + timedelta(days=3), UNTIL]
ENGINES = ["e1", "e2"]
URLS = {BRAND: ["https://brand.com/a", "https://brand.com/b"], RIVAL: ["https://rival.com/x"],
        OTHER: ["https://other.com/y"], None: ["https://news.example/n", "https://wiki.example/w"]}
counter = itertools.count()


@st.composite
def observations(draw: st.DrawFn, keyword: str, engine: str, day: date) -> Obs:
    status = draw(st.sampled_from(["ok", "ok", "ok", "no_answer", "error", "blocked", "skipped"]))
    text = "x" * draw(st.integers(0, 90))
    positions = draw(st.permutations(range(1, 8)))
    citations = []
    for position in positions[:draw(st.integers(0, 5))]:
        owner = draw(st.sampled_from([BRAND, RIVAL, OTHER, None]))
        citations.append(Cite(owner, draw(st.sampled_from(URLS[owner])), position, cited=draw(st.booleans()),
                              visible=draw(st.booleans()), content_type=draw(st.sampled_from(["blog_post", "product"])),
                              domain_class=draw(st.sampled_from(["own", "editorial"])),
                              visibility=draw(st.none() | st.floats(0, 50))))
    mentions = []
    for rank, entity in enumerate(draw(st.lists(st.sampled_from([BRAND, RIVAL, OTHER]), unique=True, max_size=3)), 1):
        mentions.append((entity, draw(st.integers(1, 3)), draw(st.integers(0, len(text))), rank))
    organic = [(draw(st.sampled_from([BRAND, RIVAL, None])), rank)
               for rank in draw(st.lists(st.integers(1, 15), unique=True, max_size=3))]
    return Obs(keyword, engine, day, status, has_answer=status == "ok" and draw(st.booleans()), text=text,
               citations=citations, mentions=mentions, organic=organic, search_pool=draw(st.booleans()),
               cost=draw(st.sampled_from([0.0, 0.01])))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    keywords = [KeywordRow(f"kw{i}", weight=draw(st.sampled_from([0.5, 1.0, 3.0])), branded=draw(st.booleans()),
                           tags=tuple(draw(st.lists(st.sampled_from(["t1", "t2"]), unique=True))))
                for i in range(draw(st.integers(1, 3)))]
    planned, observed = {}, []
    for day, engine, keyword in itertools.product(DAYS, ENGINES, keywords):
        count = draw(st.integers(0, 3))
        if count:
            planned[(day, engine, keyword.text)] = count
            done = draw(st.integers(0, count))  # an interrupted run stores fewer than it planned
            observed += [draw(observations(keyword.text, engine, day)) for _ in range(done)]
    return World(keywords, planned, observed)


def value(rate: Any) -> Any:
    return rate["value"] if isinstance(rate, dict) else rate


def check(got: dict[str, Any], want: dict[str, Any], content: bool = True) -> None:
    approx = lambda x: pytest.approx(x, abs=1e-9) if x is not None else None  # noqa: E731
    for key in ("scheduled", "successful", "failed", "skipped", "gaps"):
        assert got[key] == want[key], key
    assert got["cost"] == approx(want["cost"])
    pairs = {
        "coverage": got["coverage"], "answer_rate": got["answer_rate"], "inclusion": got["inclusion_rate"],
        "inclusion_given_answer": got["inclusion_rate_given_answer"],
        "citation_rate_given_citations": got["citation_rate_given_citations"],
        "median": got["citation_position"]["median"], "mean": got["citation_position"]["mean"],
        "top3": got["citation_position"]["top3_share"], "visible": got["visible_share"],
        "organic_n": got["organic_rank"]["n"], "organic_mean": got["organic_rank"]["mean_best_rank"],
        "organic_top10": got["organic_rank"]["top10_share"], "pool_found": got["search_pool"]["brand_found_rate"],
        "pool_cited_given_found": got["search_pool"]["cited_given_found"],
    }
    for key, rate in pairs.items():
        assert value(rate) == approx(want[key]), key
    assert got["inclusion_rate"]["n"] == want["inclusion_n"]
    for entity in (e.name for e in ENTITIES):
        assert value(got["mention_rate"][entity]) == approx(want["mention_rate"][entity]), entity
        assert value(got["mentions_per_answer"][entity]) == approx(want["mentions_per_answer"][entity])
        assert got["mention_position"][entity]["mean_rank"] == approx(want["mean_rank"][entity])
        assert value(got["share_of_voice"]["citations"][entity]) == approx(want["sov_citations"][entity])
        assert value(got["share_of_voice"]["citations_weighted"][entity]) == approx(want["sov_weighted"][entity])
        assert value(got["share_of_voice"]["mentions"][entity]) == approx(want["sov_mentions"][entity])
        assert value(got["visibility_pawc"][entity]) == approx(want["visibility"][entity])
    if not content:  # a trend reads no content-type mix
        assert got["content_types"] == {"mix": {}, "brand": {}} and got["domain_classes"] == {}
        return
    assert {k: value(v) for k, v in got["content_types"]["mix"].items()} == {
        k: approx(v) for k, v in want["mix"].items()}
    assert {k: value(v) for k, v in got["content_types"]["brand"].items()} == {
        k: approx(v) for k, v in want["brand_types"].items()}
    assert {k: value(v) for k, v in got["domain_classes"].items()} == {k: approx(v) for k, v in want["classes"].items()}
    for rate in (got["coverage"], got["answer_rate"], got["inclusion_rate"]):
        if rate["value"] is not None and rate["n"]:
            assert 0 <= rate["low"] <= rate["high"] <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds())
def test_metrics_equal_a_naive_count(db: Engine, world: World) -> None:
    project = f"p{next(counter)}"
    store(db, project, world)
    result = period_metrics(db, project, SINCE, UNTIL)
    check(result["overall"], naive(world, SINCE, UNTIL))
    for engine in result["engines"]:
        check(result["engines"][engine], naive(world, SINCE, UNTIL, engine))
    before = SINCE - timedelta(days=7), SINCE - timedelta(days=1)
    check(result["previous"]["overall"], naive(world, *before))
    # a period holding a whole month reads it from the monthly rollups, the days around it from the daily ones
    for first, last in ((date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 28), date(2026, 12, 31))):
        check(period_metrics(db, project, first, last)["overall"], naive(world, first, last))
    # the weekly trend reads the same weeks alike
    trend = weekly_trend(db, project, SINCE, weeks=2)
    assert [week["period"]["since"] for week in trend] == [before[0].isoformat(), SINCE.isoformat()]
    check(trend[0]["overall"], naive(world, *before), content=False)
    check(trend[1]["overall"], naive(world, SINCE, UNTIL), content=False)
    # the filters: one engine, one tag
    tagged = select_keywords(db, project, tags=["t1"])
    filtered = period_metrics(db, project, SINCE, UNTIL, engines=["e1"], keyword_ids=tagged)
    check(filtered["overall"], naive(world, SINCE, UNTIL, "e1", {k.text for k in world.keywords if "t1" in k.tags}))
    for keyword in world.keywords:
        row = result["keywords"][keyword.text]
        want = naive(world, SINCE, UNTIL, keywords={keyword.text})
        assert value(row["inclusion_rate"]) == (pytest.approx(want["inclusion"]) if want["inclusion"] is not None
                                                else None)
        assert row["gaps"] == want["gaps"]
        assert [(d["domain"], d["answers"], d["without_brand"]) for d in row["top_domains"]] == want["domains"][:5]
    assert [g["keyword"] for g in result["gaps"]] == sorted(
        (k.text for k in world.keywords if naive(world, SINCE, UNTIL, keywords={k.text})["gaps"]),
        key=lambda text: (-naive(world, SINCE, UNTIL, keywords={text})["gaps"], text))


def test_a_period_is_read_as_whole_months_and_the_days_around_them() -> None:
    from storage.kpi_reads import segments
    from storage.rollups import DAILY, MONTHLY

    assert segments(date(2026, 11, 16), date(2026, 11, 22)) == [(DAILY, date(2026, 11, 16), date(2026, 11, 22))]
    assert segments(date(2026, 11, 1), date(2026, 11, 30)) == [(MONTHLY, date(2026, 11, 1), date(2026, 11, 1))]
    assert segments(date(2025, 12, 6), date(2026, 12, 5)) == [
        (DAILY, date(2025, 12, 6), date(2025, 12, 31)), (MONTHLY, date(2026, 1, 1), date(2026, 11, 1)),
        (DAILY, date(2026, 12, 1), date(2026, 12, 5))]
    assert segments(date(2026, 1, 31), date(2026, 3, 1)) == [
        (DAILY, date(2026, 1, 31), date(2026, 1, 31)), (MONTHLY, date(2026, 2, 1), date(2026, 2, 1)),
        (DAILY, date(2026, 3, 1), date(2026, 3, 1))]
    assert segments(date(2026, 2, 2), date(2026, 2, 27)) == [(DAILY, date(2026, 2, 2), date(2026, 2, 27))]
