"""Reparse: stored raw payloads go through the current parser again; history is rewritten in place."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from citewatch.errors import ParseError
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import run_batch
from monitor.reparse import reparse
from probes import registry
from probes.simulator import ScriptedResponse, Simulator
from storage import repository
from storage.db import open_database
from storage.models import Citation, Mention, Observation
from tests.conftest import write_config

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


async def test_reparse_applies_a_newer_parser_and_only_once(tmp_path: Path, simulator: Simulator,
                                                            db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, db_url, samples=1))
    simulator.enqueue(ScriptedResponse(body=b"<html>gateway hiccup</html>"))
    db = open_database(config.storage.url)
    await run_batch(config, db, fixed_clock(T0))
    with Session(db) as session:
        before = session.execute(select(func.count()).select_from(Citation)).scalar()
        statuses = sorted(session.execute(select(Observation.status)).scalars())
    assert before > 0 and statuses == ["error", "ok", "ok"]

    # a "version 2" parser that finds no sources at all
    parser = registry.KINDS["openai"].parser_module
    real_parse = parser.parse

    def no_sources(raw: bytes):  # type: ignore[no-untyped-def]
        return dataclasses.replace(real_parse(raw), citations=[])

    newer = parser.PARSER_VERSION + 1
    monkeypatch.setattr(parser, "parse", no_sources)
    monkeypatch.setattr(parser, "PARSER_VERSION", newer)
    summary = reparse(config, db, clock=fixed_clock(T0))
    assert summary.reparsed == 3  # the garbage payload too: it was stored, so it can be retried
    assert summary.status_changes == {}
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Citation)).scalar() == 0
        assert set(session.execute(select(Observation.parser_version)).scalars()) == {newer}
        answered = session.execute(select(Observation.id).where(Observation.status == "ok")).scalars().all()
    texts = repository.answer_texts(db, answered)
    assert len(texts) == len(answered) > 0 and all(texts.values())  # read back from the new parse
    assert reparse(config, db, clock=fixed_clock(T0)).reparsed == 0  # nothing older than `newer` is left
    assert reparse(config, db, everything=True, clock=fixed_clock(T0)).reparsed == 3

    def broken(raw: bytes):  # type: ignore[no-untyped-def]
        raise ParseError("layout changed")

    monkeypatch.setattr(parser, "parse", broken)
    monkeypatch.setattr(parser, "PARSER_VERSION", newer + 1)
    summary = reparse(config, db, clock=fixed_clock(T0))
    assert summary.status_changes == {("ok", "error"): 2}
    with Session(db) as session:
        errors = session.execute(select(Observation.error)).scalars().all()
    assert errors.count("unparseable payload: layout changed") == 3
    db.dispose()


async def test_reparse_all_measures_the_prose_third_of_mentions_stored_before_migration_0012(
        tmp_path: Path, simulator: Simulator, db_url: str) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, db_url, samples=1))
    db = open_database(config.storage.url)
    await run_batch(config, db, fixed_clock(T0))
    with Session(db) as session:
        measured = sorted(session.execute(select(Mention.observation_id, Mention.entity_id, Mention.third)).all())
        session.execute(update(Mention).values(third=None))  # as rows stored before 0012 are
        session.commit()
    assert measured and all(third in (1, 2, 3) for *_, third in measured)
    assert reparse(config, db, everything=True, clock=fixed_clock(T0)).reparsed > 0
    with Session(db) as session:
        assert sorted(session.execute(select(Mention.observation_id, Mention.entity_id, Mention.third)).all()) == (
            measured)
    db.dispose()


async def test_a_parser_bug_during_reparse_is_stored_as_an_error_and_the_rest_goes_on(
        tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/r.db",
                                      samples=1))
    db = open_database(config.storage.url)
    await run_batch(config, db, fixed_clock(T0))
    parser = registry.KINDS["openai"].parser_module
    calls = []

    def buggy(raw: bytes):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise TypeError("'NoneType' object is not subscriptable")
        return real(raw)

    real = parser.parse
    monkeypatch.setattr(parser, "parse", buggy)
    monkeypatch.setattr(parser, "PARSER_VERSION", parser.PARSER_VERSION + 1)
    summary = reparse(config, db, clock=fixed_clock(T0))
    assert summary.reparsed == 3 and summary.status_changes == {("ok", "error"): 1}
    with Session(db) as session:
        errors = [e for e in session.execute(select(Observation.error)).scalars() if e]
    assert errors == ["analysis failed: TypeError: 'NoneType' object is not subscriptable"]
    db.dispose()
