"""What `citewatch ingest-logs` keeps and `citewatch traffic` reads: the log files read so far (recognised by
their first bytes) and the daily counts of AI referrals, AI crawler hits and analytics sessions.

Counts are added with upserts (`count = count + excluded.count`), in the same transaction as the file's
new reading position, so a failure mid-file loses nothing and counts nothing twice: the next ingest
resumes where the last committed chunk ended.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from .models import AiCrawlerDay, AiReferralDay, AnalyticsSessionDay, BotRange, Project, TrafficFile
from .records import TrafficCounts
from .rollups import adding_upsert, counter_columns, key_columns

# how much of a file's (decompressed) start recognises it: a rotated, renamed or compressed copy has the
# same first bytes; a file shorter than this is recognised by all of it, and by its start once it grows
HEAD_BYTES = 64 * 1024


@dataclass
class FileProgress:
    id: int
    head_len: int
    bytes_read: int
    lines_read: int
    malformed: int


def head_hash(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()


def known_file(connection: Connection, project_id: int, head: bytes) -> FileProgress | None:
    """The stored file whose first bytes `head` starts with (the longest such record), if any."""
    lengths = connection.execute(
        select(TrafficFile.head_len).where(TrafficFile.project_id == project_id, TrafficFile.head_len <= len(head))
        .distinct()).scalars().all()
    for length in sorted(lengths, reverse=True):
        row = connection.execute(select(TrafficFile).where(
            TrafficFile.project_id == project_id, TrafficFile.head_len == length,
            TrafficFile.head_hash == head_hash(head[:length]))).first()
        if row is not None:
            return FileProgress(row.id, row.head_len, row.bytes_read, row.lines_read, row.malformed)
    return None


def save_progress(connection: Connection, project_id: int, known: FileProgress | None, head: bytes, path: str,
                  format_name: str, bytes_read: int, lines_read: int, malformed: int, now: datetime) -> FileProgress:
    """Record how far a file has been read (in the transaction of the counts read from it); a file known by a
    shorter head is known by its longer one from now on."""
    values = dict(head_len=len(head), head_hash=head_hash(head), path=path, format=format_name,
                  bytes_read=bytes_read, lines_read=lines_read, malformed=malformed, last_read_at=now)
    if known is None:
        file_id = connection.execute(insert(TrafficFile).values(project_id=project_id, first_read_at=now, **values)
                                     .returning(TrafficFile.id)).scalar_one()
    else:
        file_id = known.id
        connection.execute(update(TrafficFile).where(TrafficFile.id == file_id).values(**values))
    return FileProgress(file_id, len(head), bytes_read, lines_read, malformed)


def add_counts(connection: Connection, model: Any, project_id: int,
               rows: Mapping[tuple[Any, ...], Iterable[int]]) -> None:
    """Add counts to a traffic table: rows keyed by the table's key after (project_id, day is first), the
    values in the order of its counter columns."""
    if not rows:
        return
    sql, parameters = adding_upsert(connection.dialect, model)
    as_day = date.isoformat if connection.dialect.name == "sqlite" else (lambda value: value)
    values: list[Any] = [(project_id, as_day(key[0]), *key[1:], *counts) for key, counts in rows.items()]
    if parameters is not None:
        values = [dict(zip(parameters, row, strict=True)) for row in values]
    connection.exec_driver_sql(sql, values)


def project_id_of(connection: Connection, project: str) -> int | None:
    return connection.execute(select(Project.id).where(Project.name == project)).scalar_one_or_none()


def period_counts(db: Engine, project: str, since: date, until: date) -> TrafficCounts:
    """The period's counts (both days included), summed over its days."""
    with db.connect() as connection:
        project_id = project_id_of(connection, project)
        if project_id is None:
            return TrafficCounts([], [], [])
        return TrafficCounts(
            referrals=_summed(connection, AiReferralDay, project_id, since, until),
            crawlers=_summed(connection, AiCrawlerDay, project_id, since, until),
            sessions=_summed(connection, AnalyticsSessionDay, project_id, since, until))


def _summed(connection: Connection, model: Any, project_id: int, since: date, until: date) -> list[Any]:
    keys = [model.__table__.c[name] for name in key_columns(model)[2:]]
    counters = [func.sum(model.__table__.c[name]) for name in counter_columns(model)]
    rows = connection.execute(select(*keys, *counters).where(
        model.project_id == project_id, model.day >= since, model.day <= until).group_by(*keys).order_by(*keys))
    return [(*row[:len(keys)], *(int(value) for value in row[len(keys):])) for row in rows]


def files_read(db: Engine, project: str) -> list[dict[str, Any]]:
    """Every log file read for the project, newest first (for `ingest-logs` and the operator)."""
    with db.connect() as connection:
        project_id = project_id_of(connection, project)
        rows = connection.execute(select(TrafficFile).where(TrafficFile.project_id == project_id)
                                  .order_by(TrafficFile.last_read_at.desc())).all()  # type: ignore[attr-defined]
    return [dict(path=r.path, format=r.format, lines=r.lines_read, malformed=r.malformed, bytes=r.bytes_read,
                 last_read_at=r.last_read_at) for r in rows]


def replace_bot_ranges(db: Engine, bot: str, networks: Iterable[str], source: str, now: datetime) -> int:
    """Make `networks` the ranges of `bot` (the ones stored before for it go), in one transaction."""
    rows = [dict(bot=bot, network=network, source=source, updated_at=now) for network in sorted(set(networks))]
    with db.begin() as connection:
        connection.execute(delete(BotRange).where(BotRange.bot == bot))
        if rows:
            connection.execute(insert(BotRange), rows)
    return len(rows)


def stored_bot_ranges(db: Engine) -> dict[str, list[str]]:
    with db.connect() as connection:
        rows = connection.execute(select(BotRange.bot, BotRange.network).order_by(BotRange.bot, BotRange.network))
        ranges: dict[str, list[str]] = {}
        for bot, network in rows:
            ranges.setdefault(bot, []).append(network)
    return ranges
