"""Processes that start at once on one database: on a brand-new one they take turns to create the schema,
and two runs creating the same project both get it (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text

from storage import repository
from storage.db import current_revision, head_revision, make_engine, open_database
from storage.records import EntityRow, KeywordRow
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
PROCESSES, TRIES = 4, 3
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_processes_migrating_a_new_database_at_once_take_turns(db_url: str, postgres_admin, tmp_path: Path  # type: ignore[no-untyped-def]
                                                               ) -> None:
    for attempt in range(TRIES):
        url = db_url if attempt == 0 else _fresh(db_url, postgres_admin, tmp_path, attempt)
        config = write_config(tmp_path / f"c{attempt}.yaml", "http://127.0.0.1:9/v1", url)
        upgrades = [subprocess.Popen([str(CONSOLE_SCRIPT), "db", "upgrade", "--config", str(config)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(PROCESSES)]
        results = [(process.wait(120), process.stderr.read()) for process in upgrades]  # type: ignore[union-attr]
        for process in upgrades:
            process.stdout.close(), process.stderr.close()  # type: ignore[union-attr, func-returns-value]
        assert [code for code, _ in results] == [0] * PROCESSES, [err for _, err in results]
        db = make_engine(url)
        assert current_revision(db) == head_revision()
        db.dispose()


def _fresh(db_url: str, postgres_admin, tmp_path: Path, attempt: int) -> str:  # type: ignore[no-untyped-def]
    """Another brand-new database of the same backend."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'new{attempt}.db'}"
    name = db_url.rsplit("/", 1)[1] + f"_{attempt}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return db_url.rsplit("/", 1)[0] + f"/{name}"


def test_runs_syncing_the_same_project_at_once_both_get_it(db_url: str) -> None:
    """Two runs making the same new project at once, then syncing it at once from configs that list the
    keywords in other orders, or other keywords (rows locked in other orders would deadlock): all succeed."""
    db = open_database(db_url)
    # each statement a little slow, so that the two transactions interleave statement by statement
    event.listen(db, "before_cursor_execute", lambda *args: time.sleep(0.002))
    entities = [EntityRow("Hengda Valve", "brand", ("恒达阀门",), ("hengdavalve.com",)),
                EntityRow("Apex Flow Controls", "competitor"), EntityRow("NorthStar Valves", "competitor")]
    keywords = [KeywordRow(f"ball valve {i}") for i in range(20)]
    try:
        for attempt in range(6):
            for orders in ((1, 1), (1, -1)):  # a new project, then the same one again
                results = _at_once([lambda order=order: repository.sync_project(
                    db, f"project {attempt}", entities[::order], keywords[::order], NOW) for order in orders])
                assert results[0] == results[1], results  # the same ids, no error
            # a daemon on the old config and a run on an edited one: each deactivates rows the other keeps
            results = _at_once([
                lambda: repository.sync_project(db, f"project {attempt}", entities[:2], keywords[:15], NOW),
                lambda: repository.sync_project(db, f"project {attempt}", entities[2:], keywords[5:][::-1], NOW)])
            assert not [result for result in results if isinstance(result, Exception)], results
        assert len(repository.project_names(db)) == 6
    finally:
        db.dispose()


def _at_once(calls: list[Callable[[], object]]) -> list[object]:
    """What each call returned (or raised), the calls started together on threads of their own."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # noqa: BLE001 (a failure is what these tests look for)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_the_first_reservations_of_a_day_at_once_are_all_granted(db_url: str) -> None:
    """The day's spend row is made by whichever reservation comes first; one racing it is not refused."""
    db = open_database(db_url)
    ids = repository.sync_project(db, "p", [EntityRow("Hengda Valve", "brand")], [KeywordRow("k")], NOW)
    try:
        for attempt in range(10):
            day = date(2026, 12, 1) + timedelta(days=attempt)
            results = _at_once([lambda: repository.reserve_spend(db, ids.project_id, "e", day, 0.001, 100.0)] * 4)
            assert results == [None] * 4  # every one reserved, none refused
    finally:
        db.dispose()
