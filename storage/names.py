"""Interned names: the rollups' text keys (engine, page type, domain class, domain, rank source) stored as
small integer ids of `interned_name`.

A rollup row is a handful of counters under a key; with the key's text in every row and again in its
primary-key index, the engine and domain names were most of a rollup's bytes on PostgreSQL. Names are only
ever added (an id always means the same name), so readers may cache them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import InternedName

_CACHE_KEY = "citewatch_name_ids"  # name -> id of names known to be committed, per database connection
_NAMES_KEY = "citewatch_names_by_id"  # id -> name, the same per connection (for readers)


def name_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """The id of each name, storing the ones not stored yet (under concurrent writers too: the unique name
    decides, and the loser reads the winner's id)."""
    cache: dict[str, int] = connection.info.setdefault(_CACHE_KEY, {})
    missing = sorted({name for name in names if name not in cache})  # sorted: concurrent writers never deadlock
    if missing:
        found = stored_ids(connection, missing)
        new = [name for name in missing if name not in found]
        if new:
            insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
            connection.execute(insert(InternedName.__table__).on_conflict_do_nothing(index_elements=["name"]),
                               [{"name": name} for name in new])
            found.update(stored_ids(connection, new))
        cache.update(found)
    return cache


def names_of(connection: Connection, ids: Iterable[int]) -> dict[int, str]:
    """The name of each id. The first call on a connection reads them all (a few thousand names after a
    year: one query, where a period's reads would otherwise ask a dozen times)."""
    known: dict[int, str] = connection.info.setdefault(_NAMES_KEY, {})
    wanted = set(ids)
    missing = wanted - known.keys()
    if missing:
        table = InternedName.__table__
        query = select(table.c.id, table.c.name)
        known.update(connection.execute(query.where(table.c.id.in_(missing)) if known else query).all())
    return {i: known[i] for i in wanted}


@event.listens_for(Engine, "rollback")
def _forget_uncommitted(connection: Connection) -> None:
    """A rolled-back transaction may have stored names these caches learnt: they are gone now (and SQLite
    may give their ids to other names)."""
    connection.info.pop(_CACHE_KEY, None)
    connection.info.pop(_NAMES_KEY, None)


def stored_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """The ids of those names that are stored (a read: storing nothing)."""
    table = InternedName.__table__
    return dict(connection.execute(select(table.c.name, table.c.id).where(table.c.name.in_(list(names)))).all())
