"""The storage contract, run on SQLite and on PostgreSQL (the `db` fixture is parametrized)."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlmodel import Session

from citewatch.errors import StorageError
from citewatch.raw import RawPart, RawResult, as_result
from storage import compression, repository
from storage.db import open_database
from storage.models import (
    Citation,
    EngineSpend,
    Keyword,
    Mention,
    Observation,
    ObservationFeature,
    OrganicResult,
    RawPayload,
    Run,
    Source,
    TrackedEntity,
)
from storage.records import (
    CitationRecord,
    EntityRow,
    KeywordRow,
    MentionRecord,
    ObservationRecord,
    OrganicRecord,
    ProjectIds,
    RunOwner,
)

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
ENTITIES = [EntityRow("Hengda Valve", "brand", ("恒达阀门",), ("hengdavalve.com",)),
            EntityRow("Apex Flow Controls", "competitor", (), ("apexflow.com",))]
KEYWORDS = [KeywordRow("ball valve", weight=2.0, country="us", language="en"), KeywordRow("球阀 制造商")]


def planned(ids: ProjectIds, per_keyword: int) -> dict[str, dict[str, int]]:
    return {"chatgpt": {str(keyword_id): per_keyword for keyword_id in ids.keyword_ids.values()}}


def record(run_id: int, sample: int = 0, raw: bytes | None = b'{"object": "response"}', **extra) -> ObservationRecord:
    base = dict(
        run_id=run_id, keyword="ball valve", engine_id="chatgpt", engine_kind="openai", sample_index=sample,
        observed_at=T0 + timedelta(minutes=sample), status="ok", raw=as_result(raw) if raw is not None else None,
        parser_version=1,
        answer_text="恒达阀门 makes API 6D valves.", has_answer=True, model="gpt-5-mini-2025-08-07",
        search_queries=["api 6d ball valve"], features=["web_search"],
        citations=[CitationRecord(1, "https://hengdavalve.com/p?utm_source=openai", "https://hengdavalve.com/p",
                                  "hengdavalve.com", "API 6D | 恒达", True, True, "annotation", "Hengda Valve",
                                  "product", [(0, 4)])],
        mentions=[MentionRecord("Hengda Valve", "恒达阀门", 1, 0, 1)],
        organic=[OrganicRecord(1, "https://apexflow.com/", "apexflow.com", "Apex Flow Controls", "Apex")],
    )
    base.update(extra)
    return ObservationRecord(**base)


def test_schema_is_created_and_upgrade_is_idempotent(db: Engine, db_url: str) -> None:
    tables = set(inspect(db).get_table_names())
    assert {"project", "tracked_entity", "keyword", "run", "raw_payload", "observation", "citation", "mention",
            "organic_result", "alembic_version"} <= tables
    open_database(db_url).dispose()  # a second upgrade changes nothing and does not fail


def test_sync_project_is_idempotent_and_deactivates_removed_rows(db: Engine) -> None:
    first = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    again = repository.sync_project(db, "p", ENTITIES[:1], KEYWORDS[1:], T0)
    assert again.project_id == first.project_id
    assert again.entity_ids == {"Hengda Valve": first.entity_ids["Hengda Valve"]}
    with Session(db) as session:
        active = {k.text: k.active for k in session.execute(select(Keyword)).scalars()}
        entity = session.execute(select(TrackedEntity).where(TrackedEntity.name == "Hengda Valve")).scalar_one()
    assert active == {"ball valve": False, "球阀 制造商": True}
    assert entity.aliases == ["恒达阀门"]


def test_projects_are_separate(db: Engine) -> None:
    a = repository.sync_project(db, "brand A", ENTITIES, KEYWORDS, T0)
    b = repository.sync_project(db, "brand B", ENTITIES, KEYWORDS, T0)
    assert a.project_id != b.project_id
    assert set(a.keyword_ids.values()).isdisjoint(b.keyword_ids.values())


def test_observation_round_trip_with_unicode_and_aware_times(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 2), T0)
    obs_id = repository.save_observation(db, ids, record(run_id))
    with Session(db) as session:
        observation = session.get(Observation, obs_id)
        citation = session.execute(select(Citation)).scalar_one()
        source = session.get(Source, citation.source_id)
        mention = session.execute(select(Mention)).scalar_one()
    assert observation.observed_at == T0 and observation.observed_at.tzinfo is not None
    assert repository.answer_texts(db, [obs_id]) == {obs_id: "恒达阀门 makes API 6D valves."}
    assert observation.answer_chars == len("恒达阀门 makes API 6D valves.")
    assert observation.search_queries == ["api 6d ball valve"]
    assert source.owner_id == ids.entity_ids["Hengda Valve"] and citation.spans == [[0, 4]]
    assert source.title == "API 6D | 恒达" and source.url == "https://hengdavalve.com/p?utm_source=openai"
    assert mention.alias == "恒达阀门"



def test_every_text_of_an_observation_is_stored_whatever_characters_it_holds(db: Engine) -> None:
    """NUL (refused by PostgreSQL) and lone surrogates (not UTF-8) in any text an engine sends are stored
    as U+FFFD, one for one; the rest of the text is kept as sent."""
    bad = "\x00\ud83d"
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    repository.save_observation(db, ids, record(
        run_id, answer_text=f"恒达{bad}阀门", error=f"partial{bad}", model=f"gpt{bad}", search_queries=[f"q{bad}"],
        features=[f"f{bad}"],
        citations=[CitationRecord(1, f"https://hengdavalve.com/p{bad}", f"https://hengdavalve.com/p{bad}",
                                  f"hengdavalve.com{bad}", f"API{bad}", True, True, "annotation", "Hengda Valve",
                                  "product", [(0, 4)])],
        mentions=[MentionRecord("Hengda Valve", f"恒达{bad}", 1, 0, 1)],
        organic=[OrganicRecord(1, f"https://apexflow.com/{bad}", "apexflow.com", None, f"Apex{bad}",
                               snippet=f"s{bad}")]))
    shown = "\ufffd\ufffd"
    with Session(db) as session:
        observation = session.execute(select(Observation)).scalar_one()
        citation = session.execute(select(Citation)).scalar_one()
        organic = session.execute(select(OrganicResult)).scalar_one()
        page, ranked = session.get(Source, citation.source_id), session.get(Source, organic.source_id)
        alias = session.execute(select(Mention.alias)).scalar_one()
        feature = session.execute(select(ObservationFeature.name)).scalar_one()
    assert (repository.answer_texts(db, [observation.id])[observation.id], observation.error, observation.model) == (
        f"恒达{shown}阀门", f"partial{shown}", f"gpt{shown}")
    assert (observation.search_queries, feature, organic.snippet) == ([f"q{shown}"], f"f{shown}", f"s{shown}")
    assert (page.url, page.normalized_url, page.domain, page.title) == (
        f"https://hengdavalve.com/p{shown}", f"https://hengdavalve.com/p{shown}", f"hengdavalve.com{shown}",
        f"API{shown}")
    assert (ranked.url, ranked.title, alias) == (f"https://apexflow.com/{shown}", f"Apex{shown}", f"恒达{shown}")

def test_raw_payloads_are_compressed_and_deduplicated(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 3), T0)
    body = b'{"object": "response", "text": "' + b"x" * 5000 + b'"}'
    for sample in range(3):
        repository.save_observation(db, ids, record(run_id, sample, raw=body))
    with Session(db) as session:
        payloads = session.execute(select(RawPayload)).scalars().all()
        hashes = {o.raw_hash for o in session.execute(select(Observation)).scalars()}
    assert len(payloads) == 1 and hashes == {payloads[0].hash}
    assert len(payloads[0].data) < 200 and payloads[0].codec == compression.ZSTD
    assert compression.decompress(payloads[0].data, payloads[0].codec) == body
    assert repository.load_raw(db, payloads[0].hash) == body


def test_multi_part_results_keep_every_part_in_order_content_addressed(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 2), T0)
    first = b'{"ai_overview": {"page_token": "T"}}'
    pages = [RawResult((RawPart("response", first), RawPart("ai_overview", b'{"ai_overview": {"text_blocks": []}}'),
                        RawPart("screenshot", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"))),
             RawResult((RawPart("response", first), RawPart("ai_overview", b'{"error": "gone"}')))]
    stored = [repository.save_observation(db, ids, replace(record(run_id, sample), raw=page))
              for sample, page in enumerate(pages)]
    with Session(db) as session:
        payloads = session.execute(select(RawPayload)).scalars().all()
        first_hashes = [session.get(Observation, observation_id).raw_hash for observation_id in stored]
    assert len(payloads) == 4  # the first response, shared by both, is stored once
    assert first_hashes == [repository.payload_hash(first)] * 2
    assert [repository.load_raw_result(db, oid, h) for oid, h in zip(stored, first_hashes)] == pages


def test_features_are_rows_and_organic_results_keep_snippet_and_type(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    organic = OrganicRecord(2, "https://apexflow.com/blog/x", "apexflow.com", "Apex Flow Controls", "X",
                            snippet="Ball valves \u2026", content_type="blog_post")
    repository.save_observation(db, ids, record(run_id, features=["ai_overview", "ads", "ai_overview"],
                                                organic=[organic]))
    with db.connect() as connection:
        features = connection.execute(text("SELECT name FROM observation_feature ORDER BY name")).scalars().all()
        row = connection.execute(text("SELECT rank, snippet, content_type FROM organic_result o "
                                      "JOIN source s ON s.id = o.source_id")).one()
    assert features == ["ads", "ai_overview"]
    assert tuple(row) == (2, "Ball valves \u2026", "blog_post")


def test_failed_observation_keeps_reason_and_no_answer(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    repository.save_observation(db, ids, record(run_id, raw=None, status="error", error="HTTP 500: boom",
                                                answer_text=None, has_answer=False, citations=[], mentions=[],
                                                organic=[]))
    repository.finish_run(db, run_id, T0 + timedelta(minutes=5))
    with Session(db) as session:
        run = session.get(Run, run_id)
        stored = session.execute(select(Observation)).scalar_one()
    assert run is not None and run.status == "finished" and run.finished_at is not None
    assert (stored.status, stored.error, stored.has_answer) == ("error", "HTTP 500: boom", False)


def test_a_failing_write_leaves_nothing_half_written(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 2), T0)
    repository.save_observation(db, ids, record(run_id, 0))
    with pytest.raises(KeyError):  # a mention of an entity that is not tracked fails mid-write
        repository.save_observation(db, ids, record(run_id, 1, mentions=[MentionRecord("Nobody", "x", 1, 0, 1)]))
    with pytest.raises(StorageError, match="UNIQUE|unique"):  # the same sample twice violates the unique key
        repository.save_observation(db, ids, record(run_id, 0))
    with Session(db) as session:
        assert len(session.execute(select(Observation)).scalars().all()) == 1
        assert len(session.execute(select(Citation)).scalars().all()) == 1
    # the failed writes stored their pages' sources and rolled them back: the next write stores them again
    other = CitationRecord(1, "https://apexflow.com/new", "https://apexflow.com/new", "apexflow.com", None, True,
                           True, "annotation", None, "other")
    with db.connect() as connection:  # one connection, as a run's writer keeps: its cache of source ids too
        with pytest.raises(KeyError):
            repository.save_observation(connection, ids, record(run_id, 1, citations=[other],
                                                                mentions=[MentionRecord("Nobody", "x", 1, 0, 1)]))
        repository.save_observation(connection, ids, record(run_id, 1, citations=[other]))
    with Session(db) as session:
        assert sorted(s.url for s in session.execute(select(Source)).scalars()) == [
            "https://apexflow.com/", "https://apexflow.com/new", "https://hengdavalve.com/p?utm_source=openai"]


def test_a_page_is_stored_once_and_a_new_reading_of_it_makes_a_new_source(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 4), T0)
    page = CitationRecord(1, "https://apexflow.com/x?utm_source=openai", "https://apexflow.com/x", "apexflow.com",
                          "X", True, True, "annotation", None, "other")
    redirect = replace(page, url="https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQabc")
    reclassified = replace(page, content_type="comparison", owner="Apex Flow Controls")
    with db.connect() as connection:
        for sample, citations in enumerate(([page, replace(page, position=2)], [page], [redirect], [reclassified])):
            repository.save_observation(connection, ids, record(run_id, sample, citations=citations, organic=[]))
    with Session(db) as session:
        stored = session.execute(select(Citation).order_by(Citation.observation_id, Citation.position)).scalars().all()
        sources = {s.id: s for s in session.execute(select(Source)).scalars()}
    assert len(stored) == 5 and len(sources) == 3
    assert len({c.source_id for c in stored[:3]}) == 1  # the same page, cited three times
    redirected, changed = sources[stored[3].source_id], sources[stored[4].source_id]
    assert redirected.url == "https://apexflow.com/x"  # the page (the redirect stays in the raw payload)
    assert (changed.content_type, changed.owner_id) == ("comparison", ids.entity_ids["Apex Flow Controls"])
    assert sources[stored[0].source_id].content_type == "other"  # history keeps what it was stored as


def test_writers_storing_the_same_new_pages_at_once_all_succeed(db: Engine) -> None:
    """Several processes' writers cite the same new pages in different orders: each page is stored once and
    no write fails (PostgreSQL would abort one of two writers that wait for each other's rows)."""
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    writers, each = 4, 15
    run_id = repository.start_run(db, ids.project_id, planned(ids, writers * each), T0)
    rounds = [[CitationRecord(1, f"https://apexflow.com/{n}/{page}", f"https://apexflow.com/{n}/{page}",
                              "apexflow.com", None, True, True, "annotation", None, "other") for page in range(40)]
              for n in range(each)]
    failures: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        shuffled = random.Random(writer)
        try:
            with db.connect() as connection:
                for n, pages in enumerate(rounds):  # every round, new pages for every writer at once
                    start.wait(timeout=30)
                    order = shuffled.sample(pages, len(pages))
                    cited = [replace(page, position=position) for position, page in enumerate(order, start=1)]
                    repository.save_observation(connection, ids, record(run_id, writer * each + n,
                                                                        citations=cited, organic=[]))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(db) as session:
        assert len(session.execute(select(Source)).scalars().all()) == each * 40
        assert len(session.execute(select(Citation)).scalars().all()) == writers * each * 40


def test_answers_are_stored_compressed_and_read_back(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    answer = "恒达阀门 makes API 6D ball valves for pipelines. " * 40
    obs_id = repository.save_observation(db, ids, record(run_id, answer_text=answer))
    with Session(db) as session:
        stored = session.get(Observation, obs_id)
    assert stored.answer is not None and len(stored.answer) < len(answer.encode()) / 10
    assert repository.answer_texts(db, [obs_id]) == {obs_id: answer}


def test_only_quiet_running_runs_are_marked_interrupted(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    killed = repository.start_run(db, ids.project_id, planned(ids, 5), T0)
    repository.save_observation(db, ids, record(killed, 0))  # last activity T0
    busy = repository.start_run(db, ids.project_id, planned(ids, 5), T0 + timedelta(hours=2))
    assert repository.mark_stale_runs(db, ids.project_id, T0 + timedelta(hours=1)) == 1
    repository.mark_run_interrupted(db, busy)
    with Session(db) as session:
        assert session.get(Run, killed).status == "interrupted"
        assert session.get(Run, busy).status == "interrupted"



def test_a_running_run_whose_owner_is_gone_is_marked_at_once(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    gone = repository.start_run(db, ids.project_id, planned(ids, 5), T0, RunOwner("here", 111))
    alive = repository.start_run(db, ids.project_id, planned(ids, 5), T0, RunOwner("here", 222))
    elsewhere = repository.start_run(db, ids.project_id, planned(ids, 5), T0, RunOwner("there", 111))
    # seconds after they started: only the time rule's hour would mark them, but one owner is known gone
    assert repository.mark_stale_runs(db, ids.project_id, T0 - timedelta(hours=1),
                                      lambda owner: owner == RunOwner("here", 111)) == 1
    with Session(db) as session:
        assert [session.get(Run, run).status for run in (gone, alive, elsewhere)] == [
            "interrupted", "running", "running"]

def test_period_facts_select_by_time_and_active_keyword(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 3), T0)
    repository.save_observation(db, ids, record(run_id, 0))
    # stored after the period ends, but its run started inside it: it belongs to the period
    repository.save_observation(db, ids, record(run_id, 1, observed_at=T0 + timedelta(days=8), status="error",
                                                citations=[], mentions=[]))
    later_run = repository.start_run(db, ids.project_id, planned(ids, 3), T0 + timedelta(days=8))
    repository.save_observation(db, ids, record(later_run, 0, observed_at=T0 + timedelta(days=8)))
    facts = repository.period_facts(db, "p", T0 - timedelta(hours=1), T0 + timedelta(days=7))
    assert [(o.keyword, o.weight, o.status) for o in facts.observations] == [
        ("ball valve", 2.0, "ok"), ("ball valve", 2.0, "error")]
    assert [(c.owner, c.position, c.normalized_url) for c in facts.citations] == [
        ("Hengda Valve", 1, "https://hengdavalve.com/p")]
    assert repository.period_facts(db, "other project", T0, T0 + timedelta(days=7)).observations == []


def test_a_probe_across_midnight_counts_on_the_day_it_was_reserved_on(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    first, second = T0.date(), T0.date() + timedelta(days=1)
    assert repository.reserve_spend(db, ids.project_id, "chatgpt", first, 0.5, 10.0) is None
    # reserved before midnight, answered and stored after it
    repository.save_observation(db, ids, record(run_id, cost=0.6, reserved=0.5, reserved_day=first,
                                                observed_at=datetime.combine(second, datetime.min.time(), UTC)))
    assert repository.reserve_spend(db, ids.project_id, "chatgpt", second, 0.1, 10.0) is None
    with Session(db) as session:
        ledger = dict(session.execute(select(EngineSpend.day, EngineSpend.spent)).all())
    assert {day: round(spent, 6) for day, spent in ledger.items()} == {first: 0.6, second: 0.1}  # not 0.7 on the 2nd


def test_a_new_budget_starts_from_what_the_day_already_cost(db: Engine) -> None:
    ids = repository.sync_project(db, "p", ENTITIES, KEYWORDS, T0)
    run_id = repository.start_run(db, ids.project_id, planned(ids, 1), T0)
    repository.save_observation(db, ids, record(run_id, cost=0.75))  # stored before any budget was set
    assert repository.reserve_spend(db, ids.project_id, "chatgpt", T0.date(), 0.5, 1.0) == 0.75  # refused
