"""Database engines: SQLite by default (WAL, foreign keys on), PostgreSQL by URL; migrations; and the one
place where SQLAlchemy and Alembic errors become `StorageError`s.

Commands that write (`run`, `reparse`, `db upgrade`, the daemon) open the database with
`open_database(url)`, which creates and migrates it. Commands that only read (`metrics`, `report`) use
`open_database(url, read_only=True)`: it never migrates nor writes, so a database in a read-only folder
can still be read, and it says when a migration is pending instead of running one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import weakref
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlmodel import create_engine

from citewatch.errors import (
    DatabaseUnavailable,
    RecordRefused,
    SchemaMismatch,
    StorageError,
)
from storage import rollups
from storage.urls import SQLITE, redacted, with_driver

MIGRATIONS = Path(__file__).parent / "migrations"
# What SQLite (and the migration lock) keep beside a database file, by suffix of its name.
MIGRATION_LOCK = "-migrate.lock"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", MIGRATION_LOCK)


# The URL each engine was made from, as it may be shown (engine.url of a read-only SQLite engine is an
# internal file: URI).
_SHOWN: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def shown(engine: Engine) -> str:
    return _SHOWN.get(engine) or redacted(str(engine.url))


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url` (already checked by `storage.urls.check_database_url`)."""
    if url.startswith(SQLITE):
        engine = _sqlite_engine(Path(url[len(SQLITE):]), read_only)
    else:
        # observations hold scraped text and raw answers: never put them into error messages or logs
        connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
        engine = create_engine(with_driver(url), pool_pre_ping=True, hide_parameters=True,
                               connect_args=connect_args)
    _SHOWN[engine] = redacted(url)
    event.listen(engine, "handle_error", lambda context: _translate(context, _SHOWN[engine]))
    return engine


def _sqlite_engine(path: Path, read_only: bool) -> Engine:
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseUnavailable(f"database {path}: the folder {folder} does not exist")
    if read_only and not path.is_file():
        raise DatabaseUnavailable(f"no database at {path}: `citewatch run` or `citewatch db upgrade` makes it")
    if not read_only and not os.access(folder, os.W_OK):
        raise DatabaseUnavailable(f"database {path}: cannot write in {folder}, where SQLite keeps the database "
                                  "and its -wal and -shm files (reading commands such as metrics still can)")
    # SQLite opens a file: URI of its own, so that no character of the path (#, ?, %) is taken for part of
    # a URL; the engine's URL only names the file (and gets it a file database's connection pool)
    target = f"file:{quote(str(path))}?{_sqlite_mode(path, read_only)}"
    engine = create_engine(f"{SQLITE}{quote(str(path))}", hide_parameters=True,
                           creator=lambda: sqlite3.connect(target, uri=True, check_same_thread=False, timeout=30))
    event.listen(engine, "connect", _sqlite_read_pragmas if read_only else _sqlite_pragmas)
    return engine


def _sqlite_mode(path: Path, read_only: bool) -> str:
    if not read_only:
        return "mode=rwc"
    # A WAL database is read through its -shm and -wal files. They exist while a writer has it open, and
    # SQLite reads them even where this user cannot write the folder; where they are gone (the last
    # writer closed the database and folded the WAL into it) and cannot be made, the file alone is the
    # whole database and is read as immutable.
    in_use = path.with_name(path.name + "-wal").exists() and path.with_name(path.name + "-shm").exists()
    return "mode=ro" if in_use or os.access(path.parent, os.W_OK) else "immutable=1"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_read_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _translate(context: ExceptionContext, shown_url: str) -> StorageError | None:
    """Every DBAPI error (connecting included) as a StorageError that names the database and the problem,
    never the statement or its parameters. A failed pre-ping is left alone: the pool then replaces the
    stale connection (the server restarted) without anyone noticing."""
    if context.is_pre_ping:
        return None
    original = context.original_exception
    # the first line only: PostgreSQL adds the statement (LINE 1: INSERT ...) and DETAIL with row values
    reason = str(original).strip().splitlines()[0].strip() if str(original).strip() else type(original).__name__
    if context.is_disconnect or context.connection is None:
        error_class: type[StorageError] = DatabaseUnavailable
    elif isinstance(context.sqlalchemy_exception, (IntegrityError, DataError)) or isinstance(
            original, (ValueError, OverflowError)):
        # the values of this one statement were refused (a constraint, NUL in text, an unencodable string, a
        # number too large for its column): the database itself is fine
        error_class = RecordRefused
    else:
        error_class = StorageError
    return error_class(f"database {shown_url}: {reason}")


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


ROLLUPS_REVISION = "0008"  # the migration that made the daily KPI rollups


def head_revision() -> str:
    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; None for a database citewatch never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already). Processes starting on
    one new database at once take turns: the first migrates, the others find the schema made."""
    with _migration_lock(engine):
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    _refuse_newer_schema(engine)
    before = current_revision(engine)
    try:
        command.upgrade(alembic_config(engine), "head")
        if before is not None and before < ROLLUPS_REVISION:
            # the rollups begin empty: count what was stored before them, once
            with engine.begin() as connection:
                rollups.rebuild(connection)
    except CommandError as exc:
        raise SchemaMismatch(f"cannot migrate database {shown(engine)}: {exc}") from None
    except SQLAlchemyError as exc:  # not from the DBAPI (those arrive as StorageError already)
        raise StorageError(f"cannot migrate database {shown(engine)}: {exc}") from None


def advisory_lock_key(name: str) -> int:
    """The PostgreSQL advisory lock key (a signed 64-bit integer) of what `name` says is locked."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held while the schema is checked and migrated: a PostgreSQL advisory lock (per database), or for
    SQLite an exclusive lock on a file beside the database (`<file>-migrate.lock`, kept)."""
    if engine.dialect.name == "postgresql":
        key = {"key": advisory_lock_key("citewatch migrations")}
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                connection.commit()
        return
    database = Path(str(engine.url.database))  # the URL names the file (see _sqlite_engine)
    with open(database.with_name(database.name + MIGRATION_LOCK), "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file is closed, or the process ends
        yield


def check_schema(engine: Engine) -> None:
    """Raise SchemaMismatch unless the database is at the schema this version reads."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch(f"database {shown(engine)} holds no citewatch schema: `citewatch db upgrade` "
                             "creates it")
    _refuse_newer_schema(engine, current)
    raise SchemaMismatch(f"database {shown(engine)} is at schema {current}, this version reads {head}: "
                         f"a migration is pending; run `citewatch db upgrade` (it needs write access)")


def _refuse_newer_schema(engine: Engine, current: str | None = None) -> None:
    current = current or current_revision(engine)
    if current is None:
        return
    try:
        ScriptDirectory(str(MIGRATIONS)).get_revisions(current)
    except CommandError:
        raise SchemaMismatch(f"database {shown(engine)} is at schema {current}, which this version "
                             "of citewatch does not know: it was migrated by a newer version") from None


def open_database(url: str, *, read_only: bool = False) -> Engine:
    """An engine on an up-to-date schema. Writable: a new database is created and migrated. Read-only:
    nothing is written, and a schema that is not the newest is refused with what to do."""
    engine = make_engine(url, read_only=read_only)
    try:
        check_schema(engine) if read_only else upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
