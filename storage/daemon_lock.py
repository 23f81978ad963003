"""One active daemon per database.

PostgreSQL: a session advisory lock held by a connection kept open for the daemon's life; the holder
names itself in its connection's `application_name`, which a second daemon reads from pg_stat_activity.
SQLite: an exclusive `flock` on a file beside the database (`<file>-daemon.lock`), holding the holder's
name as JSON. Either way the lock goes with the process: a daemon killed by SIGKILL, or a machine that
reboots, frees it, and a standby (`wait=True`) takes over within `poll` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

from citewatch.errors import DaemonRunning
from storage.db import advisory_lock_key, shown

LOCK_FILE_SUFFIX = "-daemon.lock"
_KEY = advisory_lock_key("citewatch daemon")
_APPLICATION = "citewatch daemon"
# application_name holds at most 63 bytes: "citewatch daemon <pid> <since> <host>", the host cut to fit
_NAMED = re.compile(rf"^{_APPLICATION} (\d+) (\d{{8}}T\d{{6}}Z) ?(.*)$")


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as far as it said."""

    host: str | None
    pid: int | None
    since: datetime | None

    def __str__(self) -> str:
        if self.pid is None:
            return "a daemon that has not said who it is yet"
        when = self.since.isoformat(timespec="seconds") if self.since else "an unknown time"
        return f"pid {self.pid} on {self.host or 'an unknown host'}, since {when}"


def this_holder(now: datetime | None = None) -> Holder:
    return Holder(socket.gethostname(), os.getpid(), (now or datetime.now(UTC)).replace(microsecond=0))


@contextlib.contextmanager
def daemon_lock(engine: Engine, *, wait: bool = False, poll: float = 2.0,
                on_wait: Callable[[Holder], None] | None = None) -> Iterator[Holder]:
    """Hold the database's daemon lock for the `with` block, yielding who holds it now (this process).

    Held elsewhere: raises DaemonRunning naming the holder, or with `wait` calls `on_wait(holder)` once
    and tries again every `poll` seconds until the holder is gone."""
    take = _postgresql if engine.dialect.name == "postgresql" else _sqlite
    with take(engine, wait, poll, on_wait or (lambda _holder: None)) as holder:
        yield holder


def current_holder(engine: Engine) -> Holder | None:
    """Who holds the database's daemon lock now (None: nobody), without taking it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            return _session_holder(connection)
    database = Path(str(engine.url.database))
    lock_path = database.with_name(database.name + LOCK_FILE_SUFFIX)
    if not lock_path.exists():
        return None
    with open(lock_path) as lock_file:
        if _try_flock(lock_file):
            return None  # nobody held it (closing the file lets go at once)
        return _file_holder(lock_file)


@contextlib.contextmanager
def _sqlite(engine: Engine, wait: bool, poll: float, on_wait: Callable[[Holder], None]) -> Iterator[Holder]:
    database = Path(str(engine.url.database))
    with open(database.with_name(database.name + LOCK_FILE_SUFFIX), "a+") as lock_file:
        _until_taken(lambda: _try_flock(lock_file), lambda: _file_holder(lock_file), engine, wait, poll, on_wait)
        me = this_holder()
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(json.dumps({"host": me.host, "pid": me.pid, "since": me.since.isoformat()}))  # type: ignore[union-attr]
        lock_file.flush()
        try:
            yield me
        finally:
            lock_file.truncate(0)  # released when the file closes, or when the process ends


def _try_flock(lock_file: IO[str]) -> bool:
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _file_holder(lock_file: IO[str]) -> Holder:
    lock_file.seek(0)
    try:
        said = json.loads(lock_file.read() or "{}")
        return Holder(said.get("host"), said.get("pid"),
                      datetime.fromisoformat(said["since"]) if said.get("since") else None)
    except (ValueError, TypeError, AttributeError):
        return Holder(None, None, None)


@contextlib.contextmanager
def _postgresql(engine: Engine, wait: bool, poll: float, on_wait: Callable[[Holder], None]) -> Iterator[Holder]:
    with engine.connect() as connection:
        def try_lock() -> bool:
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _KEY}).scalar_one())
            connection.commit()  # the lock belongs to the session: no transaction stays open while it is held
            return taken

        _until_taken(try_lock, lambda: _session_holder(connection) or Holder(None, None, None), engine, wait,
                     poll, on_wait)
        me = this_holder()
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": _name(me)})
        connection.commit()
        try:
            yield me
        finally:
            with contextlib.suppress(Exception):  # a lost connection has released it already
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _KEY})
                connection.commit()


def _name(holder: Holder) -> str:
    since = holder.since.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")  # type: ignore[union-attr]
    return f"{_APPLICATION} {holder.pid} {since} {holder.host or ''}"[:63]


def _session_holder(connection: Connection) -> Holder | None:
    """The holder of the lock, from the application_name of the session holding it (None: no session)."""
    name = connection.execute(text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = :high AND l.objid::bigint = :low AND l.objsubid = 1"),
        {"high": (_KEY >> 32) & 0xFFFFFFFF, "low": _KEY & 0xFFFFFFFF}).scalar_one_or_none()
    connection.commit()
    if name is None:
        return None
    found = _NAMED.match(name)
    if found is None:
        return Holder(None, None, None)
    since = datetime.strptime(found[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return Holder(found[3] or None, int(found[1]), since)


def _until_taken(try_lock: Callable[[], bool], holder: Callable[[], Holder], engine: Engine, wait: bool,
                 poll: float, on_wait: Callable[[Holder], None]) -> None:
    if try_lock():
        return
    if not wait:
        raise DaemonRunning(f"another citewatch daemon runs on database {shown(engine)}: {holder()}; "
                            "stop it first, or start this one with --standby to take over when it stops")
    on_wait(holder())
    while not try_lock():
        time.sleep(poll)
