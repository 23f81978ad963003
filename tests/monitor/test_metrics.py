"""KPI arithmetic on hand-made rows, where every expected figure can be worked out by hand."""

from __future__ import annotations

import pytest

from monitor.metrics import compute
from storage.records import CitationFact, MentionFact, ObservationFact, OrganicFact, PeriodFacts

ENTITIES = ["Brand", "Rival"]


def obs(i: int, keyword: str = "k1", status: str = "ok", engine: str = "e", weight: float = 1.0,
        answer: bool = True) -> ObservationFact:
    return ObservationFact(i, engine, keyword, weight, status, answer and status == "ok", 0.0)


def cite(i: int, owner: str, url: str, position: int, kind: str = "blog", cited: bool = True,
         visibility: float | None = None) -> CitationFact:
    return CitationFact(i, owner, url, url, None, position, True, kind, cited, visibility)


def test_failed_probes_lower_coverage_never_inclusion() -> None:
    facts = PeriodFacts(
        observations=[obs(1), obs(2), obs(3, status="error"), obs(4, status="skipped")],
        citations=[cite(1, "Brand", "https://b.com/a", 2)],
        mentions=[], planned={"e": {"k1": 4}})
    kpis = compute(facts, ENTITIES)["engines"]["e"]
    assert (kpis["successful"], kpis["failed"], kpis["skipped"]) == (2, 1, 1)
    assert kpis["coverage"] == pytest.approx(2 / 3)  # skipped probes leave the denominator
    assert kpis["inclusion_rate"]["value"] == 0.5 and kpis["inclusion_rate"]["n"] == 2


def test_weighted_inclusion_and_pooled_interval() -> None:
    facts = PeriodFacts(
        observations=[obs(1, "a", weight=3), obs(2, "a", weight=3), obs(3, "b"), obs(4, "b")],
        citations=[cite(1, "Brand", "https://b.com/", 1), cite(2, "Brand", "https://b.com/", 4)],
        mentions=[], planned={})
    inclusion = compute(facts, ENTITIES)["overall"]["inclusion_rate"]
    assert inclusion["value"] == pytest.approx((3 * 1.0 + 1 * 0.0) / 4)
    assert (inclusion["included"], inclusion["n"]) == (2, 4)
    assert inclusion["low"] == pytest.approx(0.15003898915214947)  # Wilson, 2 of 4
    assert inclusion["high"] == pytest.approx(0.8499610108478506)


def test_positions_share_of_voice_and_content_types() -> None:
    facts = PeriodFacts(
        observations=[obs(1), obs(2), obs(3)],
        citations=[
            cite(1, "Brand", "https://b.com/x", 3, "product"), cite(1, "Brand", "https://b.com/y", 1, "blog"),
            cite(1, "Rival", "https://r.com/", 2), cite(1, "Rival", "https://r.com/", 5),  # same page: once
            cite(2, "Rival", "https://r.com/", 1), cite(2, "Brand", "https://b.com/z", 4, cited=False),
        ],
        mentions=[MentionFact(1, "Brand", 2), MentionFact(2, "Rival", 1), MentionFact(3, "Rival", 1)],
        planned={})
    kpis = compute(facts, ENTITIES)["overall"]
    assert kpis["citation_position"]["median"] == 1 and kpis["citation_position"]["top3_share"] == 1.0
    assert kpis["share_of_voice"]["citations"] == {"Brand": 0.5, "Rival": 0.5}
    assert kpis["share_of_voice"]["mentions"] == {"Brand": pytest.approx(1 / 3), "Rival": pytest.approx(2 / 3)}
    assert kpis["mention_rate"] == {"Brand": pytest.approx(1 / 3), "Rival": pytest.approx(2 / 3)}
    assert kpis["mentions_per_answer"]["Brand"] == pytest.approx(2 / 3)
    assert kpis["brand_content_types"] == {"blog": pytest.approx(1 / 3), "product": pytest.approx(1 / 3)}
    # the brand page retrieved but not cited in answer 2 shows in the search pool
    assert kpis["search_pool"]["brand_found_rate"] == pytest.approx(2 / 3)
    assert kpis["search_pool"]["brand_found_not_cited_rate"] == pytest.approx(1 / 3)


def test_visibility_counts_every_cited_row_as_its_total_does() -> None:
    # Gemini: two redirect citations resolving to one site both carry visibility
    facts = PeriodFacts(
        observations=[obs(1)],
        citations=[cite(1, "Brand", "https://b.com/", 2, visibility=35.0), cite(1, "Brand", "https://b.com/", 3,
                                                                               visibility=3.0),
                   cite(1, "Rival", "https://r.com/", 1, visibility=12.0)],
        mentions=[], planned={}, visibility_totals={1: 35.0 + 3.0 + 12.0 + 10.0})  # 10 from an untracked site
    kpis = compute(facts, ENTITIES)["overall"]
    assert kpis["visibility"] == {"Brand": pytest.approx(38 / 60), "Rival": pytest.approx(12 / 60)}


def test_brand_content_types_are_shares_of_answers() -> None:
    facts = PeriodFacts(
        observations=[obs(1), obs(2, status="no_answer"), obs(3)],
        citations=[cite(1, "Brand", "https://b.com/blog/a", 1, "blog"),
                   cite(2, "Brand", "https://b.com/p", 1, "product")],  # a refusal citing the brand: no answer
        mentions=[], planned={})
    assert compute(facts, ENTITIES)["overall"]["brand_content_types"] == {"blog": 0.5}


def test_organic_rank_beside_the_overview_counts_pages_read() -> None:
    """Three results pages with organic results and one failed probe: the brand's best rank per page (3 and
    12; not ranked on the third), over the three pages; the failed probe's page counts nowhere."""
    facts = PeriodFacts(
        observations=[obs(1, engine="google"), obs(2, engine="google", answer=False), obs(3, engine="google"),
                      obs(4, engine="google", status="error")],
        citations=[cite(1, "Brand", "https://b.com/a", 2)],
        mentions=[], planned={"google": {"k1": 4}},
        organic=[OrganicFact(1, "Brand", 5), OrganicFact(1, "Brand", 3), OrganicFact(2, "Brand", 12),
                 OrganicFact(3, "Rival", 1), OrganicFact(4, "Brand", 1)],
        with_organic={1, 2, 3, 4})
    kpis = compute(facts, ENTITIES)["engines"]["google"]
    assert kpis["organic"] == {"n": 3, "ranked": 2, "mean_best_rank": 7.5, "top3_share": pytest.approx(1 / 3),
                               "top10_share": pytest.approx(1 / 3)}
    assert kpis["answer_rate"] == pytest.approx(2 / 3)  # for Google: the AI Overview was shown
    assert kpis["inclusion_rate"]["value"] == pytest.approx(1 / 3)


def test_engines_without_results_pages_have_no_organic_figures() -> None:
    facts = PeriodFacts(observations=[obs(1)], citations=[], mentions=[], planned={})
    assert compute(facts, ENTITIES)["overall"]["organic"] == {
        "n": 0, "ranked": 0, "mean_best_rank": None, "top3_share": None, "top10_share": None}
