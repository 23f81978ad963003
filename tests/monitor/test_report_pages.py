"""The report's page-level findings from stored facts: lost and gained citations only where both weeks were
measured, found-but-not-cited pages, and failures counted by their reason's gist."""

from __future__ import annotations

from datetime import datetime

from monitor.report.pages import citation_changes, failures, found_not_cited
from storage.records import CitationFact, ObservationFact, PeriodFacts

BRAND = "Hengda Valve"
PAGE = "https://hengdavalve.com/p"


def week(day: int, answers: list[tuple[str, str, bool]], start: int = 1, status: str = "ok",
         error: str | None = None) -> PeriodFacts:
    """`answers`: (keyword, engine, cites PAGE) per observation, all on 2026-11-`day`."""
    observations, citations = [], []
    for offset, (keyword, engine, cites) in enumerate(answers):
        oid = start + offset
        observations.append(ObservationFact(oid, engine, keyword, 1.0, status, status == "ok", 0.0,
                                            datetime(2026, 11, day + offset % 3, 6), error))
        if cites:
            citations.append(CitationFact(oid, BRAND, PAGE, PAGE + "?utm_source=x", "Page", 2, True, "product"))
    return PeriodFacts(observations, citations)


def test_a_page_is_lost_only_where_the_keyword_and_engine_were_measured_this_week() -> None:
    before = week(16, [("valves", "chatgpt", True)] * 10 + [("valves", "gemini", True)] * 3)
    now = week(23, [("valves", "chatgpt", False)] * 10, start=100)  # gemini not measured this week
    changes = citation_changes(before, now, BRAND)
    assert [(row["engine"], row["cited_before"], row["answers_before"], row["cited_now"], row["answers_now"])
            for row in changes["lost"]] == [("chatgpt", 10, 10, 0, 10)]
    lost = changes["lost"][0]
    assert lost["significant"] and lost["date"] == "2026-11-18" and lost["url"] == PAGE + "?utm_source=x"
    assert changes["gained"] == []


def test_a_page_gained_by_chance_is_listed_but_not_beyond_noise() -> None:
    before = week(16, [("valves", "chatgpt", False)] * 10)
    now = week(23, [("valves", "chatgpt", True)] + [("valves", "chatgpt", False)] * 9, start=100)
    (gained,) = citation_changes(before, now, BRAND)["gained"]
    assert (gained["cited_now"], gained["answers_now"], gained["significant"]) == (1, 10, False)
    assert gained["date"] == "2026-11-23"


def test_failed_answers_do_not_count_as_measured() -> None:
    before = week(16, [("valves", "chatgpt", True)] * 5)
    down = week(23, [("valves", "chatgpt", False)] * 5, start=100, status="error", error="HTTP 503")
    assert citation_changes(before, down, BRAND) == {"lost": [], "gained": []}


def test_found_not_cited_pages_count_each_answer_once() -> None:
    facts = PeriodFacts(
        [ObservationFact(1, "perplexity", "valves", 1.0, "ok", True),
         ObservationFact(2, "claude", "pumps", 1.0, "ok", True),
         ObservationFact(3, "claude", "pumps", 1.0, "error", False)],
        [CitationFact(1, BRAND, PAGE, PAGE, "Page", 3, True, "product", cited=False),
         CitationFact(1, BRAND, PAGE, PAGE, "Page", 4, True, "product", cited=False),  # listed twice
         CitationFact(2, BRAND, PAGE, PAGE, "Page", 5, True, "product", cited=False),
         CitationFact(3, BRAND, PAGE, PAGE, "Page", 1, True, "product", cited=False),  # a failed probe
         CitationFact(2, "Apex", "https://apex.com/", "https://apex.com/", None, 1, True, "other", cited=False)])
    (page,) = found_not_cited(facts, BRAND)
    assert (page["answers"], page["engines"], page["keywords"]) == (2, ["claude", "perplexity"], ["pumps", "valves"])


def test_failures_group_alike_reasons() -> None:
    json_error = ("unparseable payload: body is not JSON (JSONDecodeError: Unterminated string starting at: line 1 "
                  "column {n} (char {m})); starts with '{{\"id\": \"resp_{n}")
    facts = PeriodFacts([
        ObservationFact(i, "chatgpt", "valves", 1.0, "error", False, error=json_error.format(n=100 + i, m=99 + i))
        for i in range(3)] + [
        ObservationFact(9, "chatgpt", "valves", 1.0, "blocked", False, error="captcha page\nwith details"),
        ObservationFact(10, "gemini", "valves", 1.0, "ok", True)], [])
    assert failures(facts) == {"chatgpt": {"failed": 4, "blocked": 1, "reasons": [
        {"reason": "unparseable payload: body is not JSON", "count": 3}, {"reason": "captcha page", "count": 1}]}}
