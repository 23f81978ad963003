"""Stores a batch's observations one at a time, in order, on a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sqlalchemy import Connection, Engine

from citewatch.errors import DatabaseUnavailable, RecordRefused
from citewatch.status import ERROR
from storage import repository
from storage.records import ObservationRecord, ProjectIds

# Seconds to wait before each new try when the database went away (a restart takes a few seconds).
RECONNECT_WAITS = (0.5, 1.0, 2.0)


class ObservationWriter:
    """A slow database (another writer holding SQLite's lock, PostgreSQL round trips) never stalls the
    probes in flight. Each observation is stored in its own transaction. One writer keeps up: on the
    benchmark's 2 cores, more threads on PostgreSQL cost more in contention than they saved in waiting.

    An observation the database refuses (a constraint, a value it cannot hold) is stored instead as a
    failure with the database's reason and the raw payload, and the batch goes on. `run()` ends when
    `close()` has been called and everything before it is stored; it raises the StorageError of the
    first write that fails even so (the database is gone or broken). `on_stored` hears of each record
    as stored."""

    _DONE = None

    def __init__(self, db: Engine, ids: ProjectIds,
                 on_stored: Callable[[ObservationRecord], None] = lambda record: None) -> None:
        self._db, self._ids, self._on_stored = db, ids, on_stored
        self._queue: asyncio.Queue[ObservationRecord | None] = asyncio.Queue()

    def put(self, record: ObservationRecord) -> None:
        self._queue.put_nowait(record)

    def store_left(self) -> int:
        """Store, here and now, what is still queued when the batch is stopped (Ctrl-C, SIGTERM): those
        probes were paid for. Returns how many; a database that fails here is left for the caller."""
        left = []
        while not self._queue.empty():
            record = self._queue.get_nowait()
            if record is not self._DONE:
                left.append(record)
        self._save_all(left)
        return len(left)

    def close(self) -> None:
        self._queue.put_nowait(self._DONE)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewatch-writer") as thread:
            done = False
            while not done:
                # one hand-off to the thread per batch of waiting records, each still its own transaction
                batch = [await self._queue.get()]
                while not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                done = self._DONE in batch
                records = [record for record in batch if record is not self._DONE]
                await loop.run_in_executor(thread, self._save_all, records)

    def _save_all(self, records: list[ObservationRecord]) -> None:
        # One pool checkout (and liveness ping) per hand-off: a busy batch pays the ping once for many
        # observations. A database that goes away under a write (a restart, a failover) is waited for a
        # few seconds: the failed write's transaction was rolled back, so it is simply written again.
        pending = list(records)
        waits = iter(RECONNECT_WAITS)
        while pending:
            try:
                with self._db.connect() as connection:
                    while pending:
                        self._save(connection, pending[0])
                        pending.pop(0)
            except DatabaseUnavailable:
                wait = next(waits, None)
                if wait is None:
                    raise
                time.sleep(wait)

    def _save(self, connection: Connection, record: ObservationRecord) -> None:
        try:
            repository.save_observation(connection, self._ids, record)
        except RecordRefused as exc:  # this record's values, not the database: keep what can be kept
            record = refused_record(record, exc)
            repository.save_observation(connection, self._ids, record)
        self._on_stored(record)


def refused_record(record: ObservationRecord, error: RecordRefused) -> ObservationRecord:
    """What is stored of an observation the database refused: its identity, raw payload, latency and
    cost, as a failure saying why (never as an answer that cited nothing). Nothing parsed from the
    answer is kept, since any of it may be what was refused."""
    return replace(record, status=ERROR, error=f"could not be stored: {error}", answer_text=None,
                   has_answer=False, model=None, search_queries=[], features=[], input_tokens=None,
                   output_tokens=None, citations=[], mentions=[], organic=[])
