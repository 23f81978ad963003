"""One daemon per database: the lock refuses a second holder, naming the first, and a standby takes over
when the first lets go (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from sqlalchemy import Engine

from citewatch.errors import DaemonRunning
from storage.daemon_lock import Holder, current_holder, daemon_lock
from storage.db import open_database


def test_a_second_holder_is_refused_with_the_first_named(db: Engine, db_url: str) -> None:
    other = open_database(db_url)  # another process's engine: its own connections and lock file handle
    try:
        with daemon_lock(db) as first:
            assert (first.host, first.pid) == (socket.gethostname(), os.getpid())
            with pytest.raises(DaemonRunning) as refused:
                with daemon_lock(other):
                    pass  # pragma: no cover - never reached
            message = str(refused.value)
            assert f"pid {os.getpid()} on {socket.gethostname()[:30]}" in message
            assert f"since {first.since.isoformat(timespec='seconds')}" in message and "--standby" in message
        with daemon_lock(other) as second:  # released: the next one takes it
            assert second.pid == os.getpid()
    finally:
        other.dispose()


def test_a_standby_waits_for_the_holder_and_takes_over(db: Engine, db_url: str) -> None:
    other = open_database(db_url)
    seen: list[Holder] = []
    took = threading.Event()

    def standby() -> None:
        with daemon_lock(other, wait=True, poll=0.05, on_wait=seen.append):
            took.set()

    try:
        with daemon_lock(db) as first:
            waiting = threading.Thread(target=standby)
            waiting.start()
            assert not took.wait(0.5)  # held: the standby waits
            assert [(h.pid, h.since) for h in seen] == [(first.pid, first.since)]  # said once, who holds it
        assert took.wait(10)  # let go: the standby holds it now
        waiting.join(10)
    finally:
        other.dispose()


def test_who_holds_the_lock_is_read_without_taking_it(db: Engine, db_url: str) -> None:
    other = open_database(db_url)
    try:
        assert current_holder(other) is None
        with daemon_lock(db) as holder:
            assert current_holder(other) == holder
            assert current_holder(other) == holder  # reading it twice took nothing
        assert current_holder(other) is None
    finally:
        other.dispose()
