"""Migrations keep stored data: a database made by the first migration upgrades to head with its rows intact."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from citewatch.raw import RawResult
from storage import repository
from storage.db import alembic_config, head_revision, make_engine, open_database
from storage.records import CitationRecord, EntityRow, KeywordRow, ObservationRecord


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
        row = connection.execute(text("SELECT url, visibility FROM citation")).one()
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        name = connection.execute(text("SELECT name FROM project")).scalar_one()
    assert tuple(row) == ("https://hengdavalve.com/", None)
    run_columns = {c["name"] for c in inspect(upgraded).get_columns("run")}
    assert name == "恒达" and version == head_revision() == "0008"
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
            "SELECT day, engine_id, keyword_id, observed, successful, citations FROM kpi_day")).one()
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
        assert connection.execute(text("SELECT content_type, domain_class FROM citation")).one() == (
            "blog_post", "own")
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
