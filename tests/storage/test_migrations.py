"""Migrations keep stored data: a database made by the first migration upgrades to head with its rows intact."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from citewatch.errors import StorageError
from citewatch.raw import RawResult
from storage import kpi_reads, repository, rollups
from storage.db import alembic_config, current_revision, head_revision, make_engine, open_database
from storage.records import (
    CitationRecord,
    EntityRow,
    KeywordRow,
    MentionRecord,
    ObservationRecord,
    OrganicRecord,
)


def test_upgrade_from_first_revision_keeps_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    assert "visibility" not in {c["name"] for c in inspect(engine).get_columns("citation")}
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, '恒达', '2026-11-01 00:00:00')"))
        connection.execute(text("INSERT INTO keyword (id, project_id, text, tags, weight, active) "
                                "VALUES (1, 1, '球阀', '[]', 1.0, true)"))
        connection.execute(text("INSERT INTO run (id, project_id, started_at, status, planned, ok_count, "
                                "failed_count, cost) VALUES (1, 1, '2026-11-01 06:00:00', 'finished', '{}', 1, 0, 0)"))
        connection.execute(text("INSERT INTO raw_payload (hash, size, data, created_at) VALUES "
                                "(:hash, 2, :data, '2026-11-01 06:00:01')"),
                           {"hash": "ab" * 32, "data": zlib.compress(b"{}")})
        connection.execute(text(
            "INSERT INTO observation (id, run_id, keyword_id, engine_id, engine_kind, sample_index, observed_at, "
            "status, has_answer, search_queries, features, cost, raw_hash) VALUES (1, 1, 1, 'chatgpt', 'openai', 0, "
            "'2026-11-01 06:00:01', 'ok', true, '[]', '[\"web_search\", \"web_search\"]', 0, :hash)"),
            {"hash": "ab" * 32})
        connection.execute(text(
            "INSERT INTO citation (observation_id, position, url, normalized_url, visible, cited, origin, "
            "content_type, spans) VALUES (1, 1, 'https://hengdavalve.com/', 'https://hengdavalve.com/', true, "
            "true, 'annotation', 'product', '[]')"))
    engine.dispose()
    upgraded = open_database(db_url)
    with upgraded.connect() as connection:
        row = connection.execute(text("SELECT s.url, c.visibility FROM citation c "
                                      "JOIN source s ON s.id = c.source_id")).one()
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        name = connection.execute(text("SELECT name FROM project")).scalar_one()
    assert tuple(row) == ("https://hengdavalve.com/", None)
    run_columns = {c["name"] for c in inspect(upgraded).get_columns("run")}
    assert name == "恒达" and version == head_revision() == "0013"
    assert {"ok_count", "failed_count", "cost"}.isdisjoint(run_columns) and "planned" in run_columns
    assert {"host", "pid", "process_scope"} <= run_columns
    with upgraded.connect() as connection:  # a run stored before owners were: nobody knows its process
        assert tuple(connection.execute(text("SELECT host, pid, process_scope FROM run")).one()) == (None,) * 3
    with upgraded.connect() as connection:  # one part per stored payload; features are rows, once each
        assert connection.execute(text("SELECT observation_id, ordinal, name, media_type, raw_hash "
                                       "FROM observation_part")).all() == [(1, 0, "response", "application/json",
                                                                            "ab" * 32)]
        assert connection.execute(text("SELECT observation_id, name FROM observation_feature")).all() == [
            (1, "web_search")]
    assert "features" not in {c["name"] for c in inspect(upgraded).get_columns("observation")}
    assert repository.load_raw_result(upgraded, 1, "ab" * 32) == RawResult.single(b"{}")
    with upgraded.connect() as connection:  # the rollups count what was stored before them
        day, *counts = connection.execute(text(
            "SELECT day, n.name, keyword_id, observed, successful, citations FROM kpi_day "
            "JOIN interned_name n ON n.id = kpi_day.engine_id")).one()
        assert str(day) == "2026-11-01" and counts == ["chatgpt", 1, 1, 1, 1]
        assert connection.execute(text("SELECT search_pool FROM observation")).scalar_one() in (True, 1)
    upgraded.dispose()


def test_downgrade_from_0008_renames_content_types_back_and_up_again_recounts(db_url: str) -> None:
    engine = open_database(db_url)
    ids = repository.sync_project(engine, "p", [EntityRow("Hengda Valve", "brand", domains=("hengdavalve.com",))],
                                  [KeywordRow("球阀")], datetime(2026, 12, 1, tzinfo=UTC))
    run_id = repository.start_run(engine, ids.project_id, {"chatgpt": {str(ids.keyword_ids["球阀"]): 2}},
                                  datetime(2026, 12, 1, tzinfo=UTC))
    repository.save_observation(engine, ids, ObservationRecord(
        run_id=run_id, keyword="球阀", engine_id="chatgpt", engine_kind="openai", sample_index=0,
        observed_at=datetime(2026, 12, 1, tzinfo=UTC), status="ok", has_answer=True,
        citations=[CitationRecord(1, "https://hengdavalve.com/blog/a", "https://hengdavalve.com/blog/a",
                                  "hengdavalve.com", None, True, True, "annotation", "Hengda Valve", "blog_post",
                                  domain_class="own")]))
    with engine.connect() as connection:
        counted = connection.execute(text("SELECT scheduled, successful, included FROM kpi_day")).one()
    assert tuple(counted) == (2, 1, 1)
    command.downgrade(alembic_config(engine), "0007")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT content_type FROM citation")).scalar_one() == "blog"
    assert "kpi_day" not in inspect(engine).get_table_names()
    engine.dispose()
    upgraded = open_database(db_url)
    with upgraded.connect() as connection:
        assert connection.execute(text("SELECT s.content_type, s.domain_class FROM citation c "
                                       "JOIN source s ON s.id = c.source_id")).one() == ("blog_post", "own")
        assert tuple(connection.execute(text("SELECT scheduled, successful, included FROM kpi_day")).one()) == counted
    upgraded.dispose()


def test_downgrade_from_0006_puts_features_back_in_the_list(db_url: str) -> None:
    engine = open_database(db_url)
    ids = repository.sync_project(engine, "p", [EntityRow("Hengda Valve", "brand")], [KeywordRow("球阀")],
                                  datetime(2026, 12, 1, tzinfo=UTC))
    run_id = repository.start_run(engine, ids.project_id, {}, datetime(2026, 12, 1, tzinfo=UTC))
    repository.save_observation(engine, ids, ObservationRecord(
        run_id=run_id, keyword="球阀", engine_id="google", engine_kind="serpapi", sample_index=0,
        observed_at=datetime(2026, 12, 1, tzinfo=UTC), status="ok", raw=RawResult.single(b"{}"),
        features=["ai_overview", "ads"]))
    command.downgrade(alembic_config(engine), "0005")
    with engine.connect() as connection:
        (features,) = connection.execute(text("SELECT features FROM observation")).one()
    engine.dispose()
    assert sorted(json.loads(features) if isinstance(features, str) else features) == ["ads", "ai_overview"]
    upgraded = open_database(db_url)  # and up again: the rows come back from the list
    with upgraded.connect() as connection:
        assert sorted(connection.execute(text("SELECT name FROM observation_feature")).scalars()) == [
            "ads", "ai_overview"]
    upgraded.dispose()


def test_0009_moves_pages_to_sources_once_packs_answers_and_downgrades_to_the_same_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0008")
    redirect = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQ" + "x" * 60
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', '2026-11-01 00:00:00')"))
        connection.execute(text("INSERT INTO tracked_entity (id, project_id, name, kind, aliases, domains, people, "
                                "titles, active) VALUES (1, 1, '恒达', 'brand', '[]', '[]', '[]', '[]', true)"))
        connection.execute(text("INSERT INTO keyword (id, project_id, text, tags, weight, active) "
                                "VALUES (1, 1, '球阀', '[]', 1.0, true)"))
        connection.execute(text("INSERT INTO run (id, project_id, started_at, status, planned) "
                                "VALUES (1, 1, '2026-11-01 06:00:00', 'finished', '{}')"))
        for oid, answer in ((1, "恒达阀门 makes API 6D valves."), (2, None)):
            connection.execute(text(
                "INSERT INTO observation (id, run_id, keyword_id, engine_id, engine_kind, sample_index, "
                "observed_at, status, has_answer, search_queries, cost, answer_text) VALUES (:id, 1, 1, 'g', "
                "'gemini', :id, '2026-11-01 06:00:01', 'ok', true, '[]', 0, :answer)"), dict(id=oid, answer=answer))
        citations = [  # the same page twice, a redirect to it, and another page
            (1, 1, "https://hengdavalve.com/a?utm_source=openai", "https://hengdavalve.com/a", 1, "product", "own"),
            (2, 1, "https://hengdavalve.com/a?utm_source=openai", "https://hengdavalve.com/a", 1, "product", "own"),
            (3, 2, redirect, "https://hengdavalve.com/a", 1, "product", "own"),
            (4, 2, "https://example.org/x", "https://example.org/x", None, "other", "editorial"),
        ]
        for cid, oid, url, normalized, owner, content_type, domain_class in citations:
            connection.execute(text(
                "INSERT INTO citation (id, observation_id, position, url, normalized_url, domain, title, visible, "
                "cited, origin, owner_id, content_type, domain_class, spans, visibility) VALUES (:id, :oid, :id, "
                ":url, :normalized, 'hengdavalve.com', '恒达 A', true, true, 'annotation', :owner, :type, :class, "
                "'[[0, 4]]', 0.5)"),
                dict(id=cid, oid=oid, url=url, normalized=normalized, owner=owner, type=content_type,
                     **{"class": domain_class}))
        connection.execute(text(
            "INSERT INTO organic_result (id, observation_id, rank, url, domain, owner_id, title, snippet, "
            "content_type) VALUES (1, 1, 2, 'https://hengdavalve.com/a', 'hengdavalve.com', 1, 'A', 's', 'product')"))
    citation_query = ("SELECT id, observation_id, position, url, normalized_url, domain, title, owner_id, "
                      "content_type, domain_class, spans, visibility FROM citation ORDER BY id")
    organic_query = "SELECT id, observation_id, rank, url, domain, owner_id, title, snippet, content_type FROM organic_result"
    with engine.connect() as connection:
        before = (connection.execute(text(citation_query)).all(), connection.execute(text(organic_query)).all())
    command.upgrade(alembic_config(engine), "0009")
    with engine.connect() as connection:
        sources = connection.execute(text("SELECT url, normalized_url FROM source ORDER BY id")).all()
        kept_urls = connection.execute(text("SELECT url FROM citation ORDER BY id")).scalars().all()
        chars = connection.execute(text("SELECT answer_chars FROM observation ORDER BY id")).scalars().all()
    # one source per page as cited (the redirect's page is the first one's) and one for the organic result
    assert sources == [("https://hengdavalve.com/a?utm_source=openai", "https://hengdavalve.com/a"),
                       ("https://hengdavalve.com/a", "https://hengdavalve.com/a"),
                       ("https://example.org/x", "https://example.org/x"), ("https://hengdavalve.com/a", None)]
    assert kept_urls == [None, None, redirect, None]
    assert repository.answer_texts(engine, [1, 2]) == {1: "恒达阀门 makes API 6D valves.", 2: None}
    assert chars == [len("恒达阀门 makes API 6D valves."), None]
    command.downgrade(alembic_config(engine), "0008")
    with engine.connect() as connection:
        after = (connection.execute(text(citation_query)).all(), connection.execute(text(organic_query)).all())
        answers = connection.execute(text("SELECT answer_text FROM observation ORDER BY id")).scalars().all()
    assert after == before and answers == ["恒达阀门 makes API 6D valves.", None]
    engine.dispose()


def _compact_keys_history(engine, hengda_third: int | None = None) -> tuple[int, int]:  # noqa: ANN001
    """A Gemini answer citing the brand through a redirect and another page, naming the brand (in the third
    of the prose given) and a competitor, and a Google page with organic results: stored at the newest
    schema."""
    ids = repository.sync_project(engine, "p", [EntityRow("恒达阀门", "brand", aliases=("Hengda",),
                                                          domains=("hengdavalve.com",)),
                                                EntityRow("Rival", "competitor", domains=("rival.com",))],
                                  [KeywordRow("球阀")], datetime(2026, 12, 1, tzinfo=UTC))
    run_id = repository.start_run(engine, ids.project_id, {"gemini": {str(ids.keyword_ids["球阀"]): 1}},
                                  datetime(2026, 12, 1, tzinfo=UTC))
    redirect = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQ" + "x" * 60
    repository.save_observation(engine, ids, ObservationRecord(
        run_id=run_id, keyword="球阀", engine_id="gemini", engine_kind="gemini", sample_index=0,
        observed_at=datetime(2026, 12, 1, tzinfo=UTC), status="ok", has_answer=True,
        answer_text="Hengda and Rival make ball valves.",
        citations=[CitationRecord(1, redirect, "https://hengdavalve.com/", "hengdavalve.com", "hengdavalve.com",
                                  True, True, "annotation", "恒达阀门", "homepage", domain_class="own"),
                   CitationRecord(2, "https://rival.com/v", "https://rival.com/v", "rival.com", "V", False, False,
                                  "search_result", "Rival", "product", domain_class="competitor")],
        mentions=[MentionRecord("恒达阀门", "Hengda", 1, 0, 1, third=hengda_third),
                  MentionRecord("Rival", "Rival", 1, 11, 2)],
        organic=[OrganicRecord(1, "https://rival.com/v", "rival.com", "Rival", "V"),
                 OrganicRecord(2, "https://hengdavalve.com/", "hengdavalve.com", "恒达阀门", "Hengda")]))
    return run_id, ids.keyword_ids["球阀"]


def _what_is_read(engine) -> tuple:  # noqa: ANN001
    with engine.connect() as connection:
        records = [record for *_, record in rollups.stored_records(
            connection, dict(connection.execute(text("SELECT id, name FROM tracked_entity")).all()), 100)]
    period = kpi_reads.period_rollups(engine, "p", date(2026, 11, 1), date(2026, 12, 31))
    return records, period.totals, period.rank_totals, period.entity, period.content, period.domains


def test_0011_keys_parsed_rows_by_place_interns_names_and_round_trips(db_url: str) -> None:
    engine = open_database(db_url)
    _compact_keys_history(engine)
    before = _what_is_read(engine)
    assert [c.origin for c in before[0][0].citations] == ["annotation", "search_result"]
    assert before[5][None][0][0] in {"hengdavalve.com", "rival.com"}
    command.downgrade(alembic_config(engine), "0010")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, position, url, origin FROM citation ORDER BY id")).all() == [
            (1, 1, None, "annotation"), (2, 2, None, "search_result")]
        assert connection.execute(text("SELECT DISTINCT engine_id FROM kpi_day_domain")).scalars().all() == ["gemini"]
        assert sorted(connection.execute(text("SELECT id FROM mention")).scalars()) == [1, 2]
        assert "interned_name" not in inspect(engine).get_table_names()
    engine.dispose()
    upgraded = open_database(db_url)
    assert _what_is_read(upgraded) == before
    with upgraded.connect() as connection:
        names = connection.execute(text("SELECT name FROM interned_name")).scalars().all()
    assert sorted(names) == sorted(["gemini", "annotation", "search_result", "citation", "organic", "homepage",
                                    "own", "hengdavalve.com"])
    assert {"id", "url"}.isdisjoint(c["name"] for c in inspect(upgraded).get_columns("citation"))
    upgraded.dispose()


def test_0011_refuses_a_citation_stored_twice_at_one_place_and_changes_nothing(db_url: str) -> None:
    engine = open_database(db_url)
    _compact_keys_history(engine)
    command.downgrade(alembic_config(engine), "0010")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO citation (observation_id, position, source_id, visible, cited, origin, "
                                "spans) SELECT observation_id, position, source_id, visible, cited, origin, spans "
                                "FROM citation WHERE position = 1"))
    engine.dispose()
    with pytest.raises(StorageError, match=r"citation: 1 \(observation_id, position\) pairs are stored twice"):
        open_database(db_url)
    engine = make_engine(db_url)
    assert current_revision(engine) == "0010"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM citation")).scalar_one() == 3
    assert "interned_name" not in inspect(engine).get_table_names()
    engine.dispose()


def test_0012_keeps_the_prose_third_and_rows_stored_before_it_count_by_offset(db_url: str) -> None:
    engine = open_database(db_url)
    _compact_keys_history(engine, hengda_third=3)  # named at offset 0, in the prose's last third
    records, *_, entity, _, _ = _what_is_read(engine)
    assert [(m.entity, m.third) for m in records[0].mentions] == [("恒达阀门", 3), ("Rival", None)]
    names = {info.name: entity_id for entity_id, info in kpi_reads.project_scope(engine, "p")[1].items()}
    brand, rival = (entity[("gemini", False, names[name])] for name in ("恒达阀门", "Rival"))
    # the stored third wins over the offset; the row without one counts by its offset (11 of 34: first)
    assert (brand["first_third"], brand["last_third"]) == (0, 1) and rival["first_third"] == 1
    command.downgrade(alembic_config(engine), "0011")
    assert "third" not in {c["name"] for c in inspect(engine).get_columns("mention")}
    if engine.dialect.name == "sqlite":  # dropped in place: the table is still clustered by its key
        with engine.connect() as connection:
            sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'mention'")).scalar_one()
        assert "WITHOUT ROWID" in sql
    engine.dispose()
    upgraded = open_database(db_url)
    records, *_ = _what_is_read(upgraded)
    assert [m.third for m in records[0].mentions] == [None, None]
    upgraded.dispose()
