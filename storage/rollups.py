"""The KPI rollups, daily and monthly: written as observations are stored, rebuilt from the stored rows on
demand.

Every write is an upsert that adds to the counters (`col = col + excluded.col`), so concurrent writers on
PostgreSQL and a reparse that subtracts an old tally and adds the new one never lose a count.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .models import (
    Citation,
    Keyword,
    KpiDay,
    KpiDayContent,
    KpiDayDomain,
    KpiDayEntity,
    KpiDayRank,
    KpiMonth,
    KpiMonthContent,
    KpiMonthDomain,
    KpiMonthEntity,
    KpiMonthRank,
    Mention,
    Observation,
    OrganicResult,
    Run,
    Source,
    TrackedEntity,
)
from .names import name_ids, names_of
from .records import CitationRecord, MentionRecord, ObservationRecord, OrganicRecord
from .tally import Tally, tally

# the tables of each grain, in the same order: counts, ranks, entities, content, domains
DAILY: tuple[Any, ...] = (KpiDay, KpiDayRank, KpiDayEntity, KpiDayContent, KpiDayDomain)
MONTHLY: tuple[Any, ...] = (KpiMonth, KpiMonthRank, KpiMonthEntity, KpiMonthContent, KpiMonthDomain)
ROLLUPS = DAILY + MONTHLY
# the key columns holding a name, stored as its `interned_name` id (storage.names)
NAMED_KEYS = frozenset({"engine_id", "source", "content_type", "domain_class", "domain"})


def month_of(day: date) -> date:
    return day.replace(day=1)


def table_of(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def key_columns(model: Any) -> list[str]:
    return [column.name for column in table_of(model).primary_key.columns]


def counter_columns(model: Any) -> list[str]:
    return [column.name for column in table_of(model).columns if not column.primary_key]


class Accumulator:
    """Tallies summed per rollup row, in memory, written in one batch (a rebuild, a bulk load)."""

    def __init__(self) -> None:
        self.rows: dict[Any, dict[tuple[Any, ...], dict[str, float]]] = {
            model: defaultdict(lambda: defaultdict(float)) for model in ROLLUPS}

    def add(self, day: date, engine_id: str, keyword_id: int, counts: Tally, entity_ids: dict[str, int],
            sign: int = 1) -> None:
        for (counted, ranks, entities, content, domains), start in ((DAILY, day), (MONTHLY, month_of(day))):
            key = (start, engine_id, keyword_id)
            _merge(self.rows[counted][key], counts.day, sign)
            for (source, rank), answers in counts.ranks.items():
                self.rows[ranks][(*key, source, rank)]["answers"] += sign * answers
            for entity, cells in counts.entities.items():
                _merge(self.rows[entities][(*key, entity_ids[entity])], cells, sign)
            for (content_type, domain_class), cells in counts.content.items():
                _merge(self.rows[content][(*key, content_type, domain_class)], cells, sign)
            for domain, cells in counts.domains.items():
                _merge(self.rows[domains][(*key, domain)], cells, sign)

    def add_plan(self, started_at: datetime, planned: dict[str, dict[str, int]]) -> None:
        """A run's plan (engine id -> keyword id as text -> observations) counts as scheduled on its day."""
        day = started_at.date()
        for engine_id, per_keyword in planned.items():
            for keyword_id, count in per_keyword.items():
                self.add_scheduled(day, engine_id, int(keyword_id), count)

    def add_scheduled(self, day: date, engine_id: str, keyword_id: int, count: int) -> None:
        self.rows[KpiDay][(day, engine_id, keyword_id)]["scheduled"] += count
        self.rows[KpiMonth][(month_of(day), engine_id, keyword_id)]["scheduled"] += count

    def write(self, connection: Connection, batch: int = 5000) -> None:
        # the row's day as SQLAlchemy's Date stores it on SQLite (text), a date for PostgreSQL
        day = date.isoformat if connection.dialect.name == "sqlite" else lambda value: value
        ids = name_ids(connection, (key[i] for model, rows in self.rows.items()
                                    for i in named_places(model) for key in rows))
        for model, rows in self.rows.items():
            if not rows:
                continue
            sql, parameters = adding_upsert(connection.dialect, model)
            counters = counter_columns(model)
            named = named_places(model)
            values = [(day(key[0]), *(ids[part] if i in named else part for i, part in enumerate(key) if i),
                       *(cells.get(c, 0) for c in counters)) for key, cells in rows.items()]
            if parameters is not None:  # named parameters (psycopg)
                values = [dict(zip(parameters, row)) for row in values]  # type: ignore[misc]
            for start in range(0, len(values), batch):
                connection.exec_driver_sql(sql, values[start:start + batch])  # type: ignore[arg-type]


@functools.cache
def named_places(model: Any) -> frozenset[int]:
    """Where in the table's key the names (`interned_name` ids when stored) are."""
    return frozenset(i for i, column in enumerate(key_columns(model)) if column in NAMED_KEYS)


def _merge(into: dict[str, float], cells: dict[str, float], sign: int) -> None:
    for name, value in cells.items():
        into[name] += sign * value


@functools.cache
def adding_upsert(dialect: Any, model: Any) -> tuple[str, list[str] | None]:
    """INSERT ... ON CONFLICT DO UPDATE SET counter = counter + excluded.counter as the driver's SQL, and the
    parameter names where the driver takes named ones. Compiled once per dialect and table: ten upserts
    per stored observation cost more in SQLAlchemy's statement handling than in the database."""
    table = table_of(model)
    statement = (sqlite_insert if dialect.name == "sqlite" else postgresql_insert)(table)
    columns = [*key_columns(model), *counter_columns(model)]
    statement = statement.values({c: bindparam(c) for c in columns}).on_conflict_do_update(
        index_elements=key_columns(model),
        set_={c: table.c[c] + statement.excluded[c] for c in counter_columns(model)})
    compiled = statement.compile(dialect=dialect)
    if compiled.positional:
        assert list(compiled.positiontup or []) == columns, "parameters out of column order"
        return str(compiled), None
    return str(compiled), columns


def run_day(connection: Connection, run_id: int) -> date:
    """The UTC day the run started, remembered per database connection (a run's observations are stored
    through one writer connection, and a run id means one run in a database)."""
    days = connection.info.setdefault("citewatch_run_days", {})
    if run_id not in days:
        if len(days) >= 64:  # a daemon's pooled connection lives for thousands of runs: keep the recent ones
            days.clear()
        started = connection.execute(select(Run.started_at).where(Run.id == run_id)).scalar_one()
        days[run_id] = started.date()
    return days[run_id]  # type: ignore[no-any-return]


def add_observation(connection: Connection, record: ObservationRecord, keyword_id: int, brand: str | None,
                    entity_ids: dict[str, int], sign: int = 1) -> None:
    """Add (or, with sign -1, take back) one observation's tally."""
    accumulator = Accumulator()
    accumulator.add(run_day(connection, record.run_id), record.engine_id, keyword_id, tally(record, brand),
                    entity_ids, sign)
    accumulator.write(connection)


def add_scheduled(connection: Connection, started_at: datetime, planned: dict[str, dict[str, int]]) -> None:
    """A run's plan counts as scheduled on its day."""
    accumulator = Accumulator()
    accumulator.add_plan(started_at, planned)
    accumulator.write(connection)


# --- rebuilding from the stored rows ------------------------------------------------------------------


def rebuild(connection: Connection, chunk: int = 2000) -> int:
    """Empty the rollups and count every stored observation again; returns how many were counted. For
    databases migrated from before the rollups, and to check them: a rebuild must change nothing."""
    for model in ROLLUPS:
        connection.execute(delete(model))
    names: dict[int, str] = {}
    brands: dict[int, str] = {}
    entity_ids: dict[int, dict[str, int]] = defaultdict(dict)  # per project: entity name -> id
    for entity_id, name, kind, project_id in connection.execute(
            select(TrackedEntity.id, TrackedEntity.name, TrackedEntity.kind, TrackedEntity.project_id)):
        names[entity_id] = name
        entity_ids[project_id][name] = entity_id
        if kind == "brand":
            brands[project_id] = name
    accumulator = Accumulator()
    for started_at, planned in connection.execute(select(Run.started_at, Run.planned)):
        accumulator.add_plan(started_at, planned)
    counted = 0
    for project_id, day, keyword_id, record in stored_records(connection, names, chunk):
        accumulator.add(day, record.engine_id, keyword_id, tally(record, brands.get(project_id)),
                        entity_ids[project_id])
        counted += 1
    accumulator.write(connection)
    return counted


def stored_records(connection: Connection, names: dict[int, str], chunk: int
                   ) -> Iterator[tuple[int, date, int, ObservationRecord]]:
    """Every stored observation as the record it was stored from (what the tally reads), chunk by chunk."""
    observation = table_of(Observation)
    last = 0
    while True:
        batch = list(_records(connection, names, observation.c.id > last, chunk))
        if not batch:
            return
        last = batch[-1][0]
        yield from (rest for _, *rest in batch)  # type: ignore[misc]


def subtract_stored(connection: Connection, observation_id: int, brand: str | None,
                    entity_ids: dict[str, int]) -> None:
    """Take an observation's stored rows back out of the rollups (before a reparse replaces them)."""
    names = {entity_id: name for name, entity_id in entity_ids.items()}
    for _, _, day, keyword_id, record in _records(connection, names, table_of(Observation).c.id == observation_id):
        accumulator = Accumulator()
        accumulator.add(day, record.engine_id, keyword_id, tally(record, brand), entity_ids, sign=-1)
        accumulator.write(connection)


def _records(connection: Connection, names: dict[int, str], where: Any, limit: int | None = None
             ) -> Iterator[tuple[int, int, date, int, ObservationRecord]]:
    """(id, project id, run day, keyword id, record) of the observations `where` selects, in id order."""
    observation = table_of(Observation)
    rows = connection.execute(
        select(*(column for column in observation.c if column.name != "answer"), Run.started_at, Keyword.project_id)
        .join(Run, Run.id == observation.c.run_id).join(Keyword, Keyword.id == observation.c.keyword_id)
        .where(where).order_by(observation.c.id).limit(limit)
    ).mappings().all()
    citations, mentions, organic = _parsed_rows(connection, [row["id"] for row in rows], names)
    for row in rows:
        yield row["id"], row["project_id"], row["started_at"].date(), row["keyword_id"], ObservationRecord(
            run_id=row["run_id"], keyword="", engine_id=row["engine_id"], engine_kind=row["engine_kind"],
            sample_index=row["sample_index"], observed_at=row["observed_at"], status=row["status"],
            answer_chars=row["answer_chars"], has_answer=row["has_answer"], search_pool=row["search_pool"],
            cost=row["cost"], citations=citations[row["id"]], mentions=mentions[row["id"]],
            organic=organic[row["id"]])


def _rows_of(connection: Connection, model: Any, ids: list[int], *joined: Any) -> Iterator[Any]:
    """`model`'s rows of the observations `ids`, with the columns of their source where `joined` names them."""
    table = table_of(model)
    query = select(table, *joined).where(table.c.observation_id.in_(ids))
    if joined:
        query = query.join(Source, Source.id == table.c.source_id)
    return iter(connection.execute(query).mappings())


def _parsed_rows(connection: Connection, ids: list[int], names: dict[int, str]
                 ) -> tuple[dict[int, list[CitationRecord]], dict[int, list[MentionRecord]],
                            dict[int, list[OrganicRecord]]]:
    owner = lambda entity_id: names.get(entity_id) if entity_id is not None else None  # noqa: E731
    citations: dict[int, list[CitationRecord]] = defaultdict(list)
    page = (Source.url.label("page"), Source.normalized_url, Source.domain, Source.title, Source.owner_id,
            Source.content_type, Source.domain_class)
    rows = list(_rows_of(connection, Citation, ids, *page))
    origins = names_of(connection, {c["origin"] for c in rows})
    for c in rows:
        citations[c["observation_id"]].append(CitationRecord(
            position=c["position"], url=c["page"], normalized_url=c["normalized_url"],
            domain=c["domain"], title=c["title"], visible=c["visible"], cited=c["cited"], origin=origins[c["origin"]],
            owner=owner(c["owner_id"]), content_type=c["content_type"], visibility=c["visibility"],
            domain_class=c["domain_class"]))
    mentions: dict[int, list[MentionRecord]] = defaultdict(list)
    for m in _rows_of(connection, Mention, ids):
        mentions[m["observation_id"]].append(MentionRecord(names[m["entity_id"]], m["alias"], m["count"],
                                                           m["first_offset"], m["rank"], m["third"]))
    organic: dict[int, list[OrganicRecord]] = defaultdict(list)
    for o in _rows_of(connection, OrganicResult, ids, Source.url, Source.domain, Source.owner_id, Source.title):
        organic[o["observation_id"]].append(OrganicRecord(o["rank"], o["url"], o["domain"], owner(o["owner_id"]),
                                                          o["title"]))
    return citations, mentions, organic
