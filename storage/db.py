"""Database engines: SQLite by default (WAL, foreign keys on), PostgreSQL by URL; migrations; and the one
place where SQLAlchemy and Alembic errors become `StorageError`s.

Commands that write (`run`, `reparse`, `db upgrade`, the daemon) open the database with
`open_database(url)`, which creates and migrates it. Commands that only read (`metrics`, `report`) use
`open_database(url, read_only=True)`: it never migrates nor writes, so a database in a read-only folder
can still be read, and it says when a migration is pending instead of running one.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import create_engine

from citewatch.errors import DatabaseUnavailable, SchemaMismatch, StorageError
from storage.urls import SQLITE, with_driver

MIGRATIONS = Path(__file__).parent / "migrations"


def redacted(url: str) -> str:
    """The URL as it may be shown: any password masked."""
    return make_url(with_driver(url)).render_as_string(hide_password=True)


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url` (already checked by `storage.urls.check_database_url`)."""
    shown = redacted(url)
    if url.startswith(SQLITE):
        path = Path(url[len(SQLITE):])
        if read_only and not path.is_file():
            raise DatabaseUnavailable(f"no database at {path}: `citewatch run` or `citewatch db upgrade` makes it")
        engine = create_engine(_sqlite_url(path, read_only), hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_read_pragmas if read_only else _sqlite_pragmas)
    else:
        # observations hold scraped text and raw answers: never put them into error messages or logs
        connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
        engine = create_engine(with_driver(url), pool_pre_ping=True, hide_parameters=True,
                               connect_args=connect_args)
    event.listen(engine, "handle_error", lambda context: _translate(context, shown))
    return engine


def _sqlite_url(path: Path, read_only: bool) -> str:
    if not read_only:
        return f"{SQLITE}{path}"
    # SQLite reads a WAL database through its -shm file, which it cannot create in a read-only folder;
    # there nobody can write the database either, so it may be read as immutable.
    mode = "mode=ro" if os.access(path.parent, os.W_OK) else "immutable=1"
    return f"{SQLITE}file:{path}?{mode}&uri=true"


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
    error_class = DatabaseUnavailable if context.is_disconnect or context.connection is None else StorageError
    return error_class(f"database {shown_url}: {reason}")


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; None for a database citewatch never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already)."""
    _refuse_newer_schema(engine)
    try:
        command.upgrade(alembic_config(engine), "head")
    except CommandError as exc:
        raise SchemaMismatch(f"cannot migrate database {redacted(str(engine.url))}: {exc}") from None
    except SQLAlchemyError as exc:  # not from the DBAPI (those arrive as StorageError already)
        raise StorageError(f"cannot migrate database {redacted(str(engine.url))}: {exc}") from None


def check_schema(engine: Engine) -> None:
    """Raise SchemaMismatch unless the database is at the schema this version reads."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    shown = redacted(str(engine.url))
    if current is None:
        raise SchemaMismatch(f"database {shown} holds no citewatch schema: `citewatch db upgrade` creates it")
    _refuse_newer_schema(engine, current)
    raise SchemaMismatch(f"database {shown} is at schema {current}, this version reads {head}: "
                         f"a migration is pending; run `citewatch db upgrade` (it needs write access)")


def _refuse_newer_schema(engine: Engine, current: str | None = None) -> None:
    current = current or current_revision(engine)
    if current is None:
        return
    try:
        ScriptDirectory(str(MIGRATIONS)).get_revisions(current)
    except CommandError:
        raise SchemaMismatch(f"database {redacted(str(engine.url))} is at schema {current}, which this version "
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
