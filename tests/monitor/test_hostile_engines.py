"""Batches against engines that misbehave on purpose (tests/hostile_server.py): text no database can hold
as is, API keys repeated in 200 answers, an observation the database refuses, and the whole mix on
PostgreSQL through the installed command, in bounded time and memory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from citewatch.raw import RawResult
from citewatch.status import ERROR, OK
from monitor.config import load_config
from monitor.pipeline import run_batch
from monitor.writer import ObservationWriter
from probes import registry
from probes.simulator.formats import FORMATS
from storage import compression, repository
from storage.db import open_database
from storage.models import Citation, Keyword, Observation, OrganicResult, RawPayload, Source
from storage.records import EntityRow, KeywordRow, ObservationRecord
from tests.hostile_server import (
    KEY_VARIABLE,
    HostileServer,
    places_holding,
    run_measured,
    write_hostile_config,
)

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
KEY = "sk-hostile-test-0123456789abcdefKEY"
def keyword_id(url: str, text: str) -> int:
    db = open_database(url)
    try:
        with Session(db) as session:
            return session.execute(select(Keyword.id).where(Keyword.text == text)).scalar_one()
    finally:
        db.dispose()


def observations(url: str) -> list[Observation]:
    db = open_database(url)
    try:
        with Session(db) as session:
            return list(session.execute(select(Observation).order_by(Observation.id)).scalars())
    finally:
        db.dispose()


@pytest.mark.parametrize("kind", [kind for kind in sorted(FORMATS) if not registry.KINDS[kind].browser])
async def test_a_key_repeated_in_200_answers_is_stored_nowhere(kind: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    url = f"sqlite:///{tmp_path / 'key.db'}"
    with HostileServer(KEY, escapes="") as server:
        config = load_config(write_hostile_config(tmp_path / "c.yaml", server, url,
                                                  ["industrial ball valve", "an error envelope please"], kind))
        db = open_database(url)
        summary = await run_batch(config, db)
        db.dispose()
    assert summary.stored == 2
    stored = observations(url)
    answered = next(o for o in stored if o.status == OK)
    # the key was in the answer (a Google page's overview may be absent: then in its result titles), masked
    with Session(open_database(url)) as session:
        titles = session.execute(select(Source.title).join(OrganicResult)).scalars().all()
    assert "industrial ball valve key *** " in str(repository.answer_texts(db, [answered.id])[answered.id]) or any(
        "Hengda Valve key *** " in str(title) for title in titles)
    failed = next(o for o in stored if o.status == ERROR)
    assert "Incorrect API key provided: ***" in str(failed.error)  # the 200 error envelope's text, masked
    assert places_holding(url, KEY) == []  # raw payloads, the database file and its WAL included


async def test_text_no_database_holds_as_is_is_stored_on_both_backends(db_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    with HostileServer(KEY) as server:  # NUL and a lone surrogate in the answer text and the titles
        config = load_config(write_hostile_config(tmp_path / "c.yaml", server, db_url,
                                                  ["industrial ball valve", "api 6d ball valve"], samples=2))
        db = open_database(db_url)
        summary = await run_batch(config, db)
        try:
            with Session(db) as session:
                texts = list(repository.answer_texts(db, session.execute(select(Observation.id)).scalars()).values())
                titles = list(session.execute(select(Source.title).join(Citation)).scalars())
        finally:
            db.dispose()
    assert summary.statuses == {OK: 4}
    assert all("ball valve\ufffd\ufffd key *** " in str(answer) for answer in texts)
    assert any(title and "\ufffd\ufffd" in title for title in titles)


def test_an_observation_the_database_refuses_is_stored_as_a_failure(postgres_url: str, tmp_path: Path) -> None:
    """A write the database refuses costs that observation only, and no value of it is printed."""
    db = open_database(postgres_url)
    with db.begin() as connection:  # stands in for any value a database may refuse
        connection.execute(text("ALTER TABLE source ADD CONSTRAINT no_secret_word "
                                "CHECK (title NOT LIKE '%refuse-me%')"))
    db.dispose()
    with HostileServer(KEY, escapes=" refuse-me") as server:
        config = write_hostile_config(tmp_path / "c.yaml", server, postgres_url, ["industrial ball valve"],
                                      samples=3)
        result = subprocess.run([str(CONSOLE_SCRIPT), "run", "--config", str(config)], capture_output=True,
                                text=True, cwd=ROOT, timeout=120, env=dict(os.environ, **{KEY_VARIABLE: KEY}))
    assert result.returncode == 4, result.stderr  # every probe failed to store: a failed batch, not a crash
    assert "Traceback" not in result.stderr and "refuse-me" not in result.stdout + result.stderr
    stored = observations(postgres_url)
    assert [o.status for o in stored] == [ERROR] * 3
    assert all(str(o.error).startswith("could not be stored: database ") and "no_secret_word" in str(o.error)
               for o in stored)
    assert all(o.raw_hash and o.answer is None for o in stored)  # the raw payload is kept


def test_a_hostile_batch_on_postgresql_completes_in_bounded_memory(postgres_url: str, tmp_path: Path) -> None:
    """NUL characters and the key in normal 200 answers, an endless body for one keyword: every observation
    is stored (the endless ones as failures), the key is nowhere in the database and memory stays low."""
    keywords = [f"industrial ball valve question {i}" for i in range(6)] + ["endless answer please"]
    with HostileServer(KEY) as server:
        config = write_hostile_config(tmp_path / "c.yaml", server, postgres_url, keywords, samples=3, timeout=5)
        run = run_measured([str(CONSOLE_SCRIPT), "run", "--config", str(config)], cwd=ROOT,
                           env=dict(os.environ, **{KEY_VARIABLE: KEY}))
    assert run.exit_code == 0, run.stderr
    stored = observations(postgres_url)
    assert len(stored) == len(keywords) * 3
    endless = [o for o in stored if o.keyword_id == keyword_id(postgres_url, "endless answer please")]
    assert {o.status for o in endless} == {ERROR}
    assert all(o.error == "response larger than 8 MB (max_response_mb)" for o in endless)
    assert {o.status for o in stored if o not in endless} == {OK}
    assert places_holding(postgres_url, KEY) == []
    assert KEY not in run.stdout + run.stderr  # nor printed (the failures' reasons are)
    assert "response larger than 8 MB" in run.stderr
    assert run.peak_mb < 500, f"peak memory {run.peak_mb:.0f} MB"
    print(f"hostile batch on PostgreSQL: {len(stored)} observations, wall {run.wall:.1f}s, peak {run.peak_mb:.0f} MB")


async def test_raw_payloads_are_masked_before_they_are_hashed(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    url = f"sqlite:///{tmp_path / 'raw.db'}"
    with HostileServer(KEY, escapes="") as server:
        config = load_config(write_hostile_config(tmp_path / "c.yaml", server, url, ["industrial ball valve"]))
        db = open_database(url)
        await run_batch(config, db)
        with Session(db) as session:
            payload = session.execute(select(RawPayload)).scalars().one()
        db.dispose()
    raw = compression.decompress(payload.data, payload.codec)  # no dictionary: none was trained
    assert KEY.encode() not in raw and b"key *** " in raw
    assert payload.hash == hashlib.sha256(raw).hexdigest()  # the hash names what is stored


def test_a_number_no_column_holds_costs_its_observation_only(db_url: str) -> None:
    """What a parser lets through and the database still refuses (here an integer no column holds) is
    stored as a failure with the reason; the writer goes on."""
    db = open_database(db_url)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    ids = repository.sync_project(db, "p", [EntityRow("Hengda Valve", "brand")], [KeywordRow("k")], now)
    run_id = repository.start_run(db, ids.project_id, {"e": {str(ids.keyword_ids["k"]): 2}}, now)
    stored: list[ObservationRecord] = []
    writer = ObservationWriter(db, ids, on_stored=stored.append)
    for index, tokens in enumerate((10**20, 12)):
        writer.put(ObservationRecord(run_id=run_id, keyword="k", engine_id="e", engine_kind="openai",
                                     sample_index=index, observed_at=now, status=OK, raw=RawResult.single(b'{"answer": 1}'),
                                     answer_text="an answer", has_answer=True, input_tokens=tokens))
    writer.close()
    asyncio.run(writer.run())
    db.dispose()
    refused, kept = stored
    assert refused.status == ERROR and refused.error.startswith("could not be stored: database ")  # type: ignore[union-attr]
    assert (kept.status, kept.input_tokens) == (OK, 12)
    assert [o.status for o in observations(db_url)] == [ERROR, OK]


async def test_max_response_mb_in_config_sets_the_size_limit(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    url = f"sqlite:///{tmp_path / 'limit.db'}"
    with HostileServer(KEY) as server:
        path = write_hostile_config(tmp_path / "c.yaml", server, url, ["endless answer please"])
        path.write_text(path.read_text(encoding="utf-8").replace("retries: 0", "retries: 0, max_response_mb: 0.5"),
                        encoding="utf-8")
        db = open_database(url)
        summary = await run_batch(load_config(path), db)
        db.dispose()
    assert summary.failure_reasons == {"hostile": {"response larger than 0.5 MB (max_response_mb)": 1}}
    assert server.endless_bytes_sent < 8 * 1024 * 1024  # well under the default limit: the config's was used
