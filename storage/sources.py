"""Sources: each page a citation or an organic result names, stored once and referenced by id.

The same few thousand pages are cited tens of millions of times a year; their URL, title and what the
analysis made of them (owner, page type, domain class) were most of the bytes of every citation row.

A source row never changes. Its `hash` covers every column, so a config change that classifies a page
differently (a new brand domain, a content-type rule) makes a new row and leaves the rows that history
points at as they were stored: the KPIs already rolled up stay true to the citations they counted. The
hash is part of the stored data (migration 0009 computed it for the history before it): never change how
it is made, or new rows stop sharing sources with the old ones.

Where the engine's URL points at another host than the page it stands for (Gemini's per-answer
vertexaisearch redirects, google.com/url?q=...), the source is the page: a redirect is unique to one answer
and would make a source of its own. The redirect itself stays only in the raw payload (it expires anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import Source

# hash -> id of sources known to be committed, per database connection; cleared when it grows past this
_CACHE_LIMIT = 200_000
_CACHE_KEY = "citewatch_source_ids"


class SourceRow(NamedTuple):
    """What one source row holds. Organic results have no normalized URL nor domain class."""

    url: str
    normalized_url: str | None
    domain: str | None
    title: str | None
    owner_id: int | None
    content_type: str
    domain_class: str | None

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()[:32]


def _host(url: str | None) -> str | None:
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.") if url else None
    except ValueError:
        return None


def redirect_url(url: str, normalized_url: str) -> str | None:
    """The engine's URL where it is a redirect to another host than the page, else None (the source's URL
    is the engine's URL)."""
    return url if url != normalized_url and _host(url) != _host(normalized_url) else None


def citation_source(url: str, normalized_url: str, domain: str | None, title: str | None, owner_id: int | None,
                    content_type: str, domain_class: str) -> SourceRow:
    page = normalized_url if redirect_url(url, normalized_url) is not None else url
    return SourceRow(page, normalized_url, domain, title, owner_id, content_type, domain_class)


def organic_source(url: str, domain: str | None, title: str | None, owner_id: int | None,
                   content_type: str) -> SourceRow:
    return SourceRow(url, None, domain, title, owner_id, content_type, None)


def source_ids(connection: Connection, rows: Sequence[SourceRow]) -> list[int]:
    """The id of each row's source, storing the ones not stored yet (also under concurrent writers: the
    unique hash decides, and the loser reads the winner's id)."""
    cache: dict[str, int] = connection.info.setdefault(_CACHE_KEY, {})
    hashes = [row.hash for row in rows]
    missing = {digest: row for digest, row in zip(hashes, rows, strict=True) if digest not in cache}
    if missing:
        found = _lookup(connection, list(missing))
        if len(cache) + len(found) > _CACHE_LIMIT:
            cache.clear()
        cache.update(found)
        # in hash order: two writers storing the same new pages wait for each other, never deadlock
        new = [row for digest, row in sorted(missing.items()) if digest not in found]
        if new:
            insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
            connection.execute(insert(Source.__table__).on_conflict_do_nothing(index_elements=["hash"]),
                               [dict(row._asdict(), hash=row.hash) for row in new])
            found.update(_lookup(connection, [row.hash for row in new]))
        return [cache.get(digest) or found[digest] for digest in hashes]
    return [cache[digest] for digest in hashes]


@event.listens_for(Engine, "rollback")
def _forget_uncommitted(connection: Connection) -> None:
    """A rolled-back transaction may have stored sources this cache learnt: they are gone now."""
    connection.info.pop(_CACHE_KEY, None)


def _lookup(connection: Connection, hashes: list[str]) -> dict[str, int]:
    return dict(connection.execute(select(Source.hash, Source.id).where(Source.hash.in_(hashes))).all())  # type: ignore[attr-defined]
