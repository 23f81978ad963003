"""storage.db: DBAPI errors become StorageErrors in one place, naming the database and never the
statement's values; a stale pooled connection is replaced without a word."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from citewatch.errors import DatabaseUnavailable, StorageError
from storage.db import make_engine, open_database
from tests.tcp_proxy import TcpProxy


def test_errors_name_the_database_and_hide_the_values(db_url: str) -> None:
    db = open_database(db_url)
    with pytest.raises(StorageError) as caught, db.connect() as connection:
        connection.execute(text("INSERT INTO project (name, created_at) VALUES (:name, :at)"),
                           {"name": "sk-secret-value-123", "at": None})
    message = str(caught.value)
    assert message.startswith(f"database {db_url}: ") and "\n" not in message  # the URL as written
    assert "sk-secret-value-123" not in message and "INSERT" not in message
    db.dispose()


def test_an_unreachable_server_is_database_unavailable() -> None:
    # named as the user wrote it, the password of a query string masked
    with pytest.raises(DatabaseUnavailable, match=r"^database postgresql://citewatch@127.0.0.1:9/citewatch: "):
        open_database("postgresql://citewatch@127.0.0.1:9/citewatch")
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database("postgresql://citewatch@127.0.0.1:9/citewatch?password=hunter2")
    assert "hunter2" not in str(caught.value) and "password=***" in str(caught.value)


def test_a_sqlite_folder_that_is_missing_or_unwritable_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match=f"the folder {tmp_path / 'nowhere'} does not exist"):
        open_database(f"sqlite:///{tmp_path / 'nowhere' / 'c.db'}")
    with pytest.raises(DatabaseUnavailable, match="no database at"):
        open_database(f"sqlite:///{tmp_path / 'c.db'}", read_only=True)


def test_a_read_only_sqlite_path_with_uri_characters_is_read_where_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "team#1 ?x=%20"
    folder.mkdir()
    open_database(f"sqlite:///{folder / 'c.db'}").dispose()
    reader = open_database(f"sqlite:///{folder / 'c.db'}", read_only=True)
    with reader.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM observation")).scalar_one() == 0
    reader.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]  # nothing made beside it


def test_a_stale_pooled_connection_is_replaced_silently(postgres_url: str) -> None:
    server = make_url(postgres_url)
    proxy = TcpProxy(server.port or 5432).start()
    db = make_engine(server.set(port=proxy.port).render_as_string(hide_password=False))
    try:
        with db.connect() as connection:  # one connection now waits in the pool
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        proxy.stop()  # the server restarts: the pooled connection is dead
        time.sleep(0.05)
        proxy.start()
        with db.connect() as connection:
            assert connection.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        db.dispose()
        proxy.stop()
