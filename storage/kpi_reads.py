"""Reads of the KPI rollups for a period: sums grouped in SQL, per engine and keyword at the finest.

A period is read as its whole calendar months from the monthly tables and its remaining days from the daily
ones, so a year costs about as much as a few weeks, whatever the number of samples or citations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from .models import Keyword, Project, TrackedEntity
from .names import names_of, stored_ids
from .records import EntityInfo, KeywordInfo, PeriodRollups
from .rollups import DAILY, MONTHLY, NAMED_KEYS, counter_columns, month_of, table_of

COUNTS, RANKS, ENTITIES, CONTENT, DOMAINS = range(5)  # the tables of a grain, as in storage.rollups
BRANDED = "branded"  # a grouping by the keyword's branded flag
# the counts read per engine and keyword (the rest are read per engine)
PER_KEYWORD = ("successful", "answered", "included", "included_answered", "gaps")


ProjectScope = tuple[dict[int, KeywordInfo], dict[int, EntityInfo]]  # active keywords, tracked entities


def project_scope(db: Engine, project: str) -> ProjectScope:
    """The project's active keywords and its tracked entities (brand first, then competitors, config order)."""
    with db.connect() as connection:
        project_id = connection.execute(select(Project.id).where(Project.name == project)).scalar_one_or_none()
        if project_id is None:
            return {}, {}
        keywords = {
            row.id: KeywordInfo(row.id, row.text, row.weight, tuple(row.tags), row.branded)
            for row in connection.execute(
                select(Keyword.id, Keyword.text, Keyword.weight, Keyword.tags, Keyword.branded)
                .where(Keyword.project_id == project_id, Keyword.active.is_(True))  # type: ignore[attr-defined]
                .order_by(Keyword.id))
        }
        entities = {
            row.id: EntityInfo(row.id, row.name, row.kind)
            for row in connection.execute(
                select(TrackedEntity.id, TrackedEntity.name, TrackedEntity.kind)
                .where(TrackedEntity.project_id == project_id, TrackedEntity.active.is_(True))  # type: ignore[attr-defined]
                .order_by((TrackedEntity.kind != "brand"), TrackedEntity.id))
        }
        return keywords, entities


def segments(since: date, until: date) -> list[tuple[tuple[Any, ...], date, date]]:
    """[since, until] as (tables of a grain, first row day, last row day): the whole months it holds from the
    monthly tables (their rows' day is the month's first), the days around them from the daily ones."""
    first_month = since if since.day == 1 else month_of(month_of(since) + timedelta(days=31))
    after_last = month_of(until + timedelta(days=1))  # the first day not in a whole month of the period
    if first_month >= after_last:
        return [(DAILY, since, until)]
    parts: list[tuple[tuple[Any, ...], date, date]] = [(MONTHLY, first_month, month_of(after_last - timedelta(days=1)))]
    if since < first_month:
        parts.insert(0, (DAILY, since, first_month - timedelta(days=1)))
    if after_last <= until:
        parts.append((DAILY, after_last, until))
    return parts


def period_rollups(db: Engine, project: str, since: date, until: date, engines: Collection[str] = (),
                   keyword_ids: Collection[int] | None = None, *, content: bool = True, detail: bool = True,
                   core: bool = True, top_domains: int = 5, scope: ProjectScope | None = None) -> PeriodRollups:
    """The rollups of the days [since, until] for the project's active keywords (or those of `keyword_ids`)
    and the engines named (all when none are). Without `content`, no content-type mix; without `detail`,
    only what the KPIs per engine and overall need (not the keywords' competitors and domains); without
    `core`, only the detail (read on another connection at the same time: `with_detail` joins them).
    `scope`: the project's keywords and entities where the caller read them already (for several periods)."""
    keywords, entities = scope or project_scope(db, project)
    if keyword_ids is not None:
        keywords = {k: info for k, info in keywords.items() if k in keyword_ids}
    result = PeriodRollups(keywords, entities)
    if not keywords:
        return result
    reader = _Reader(since, until, list(engines), keywords)
    with db.connect() as connection:
        if connection.dialect.name == "postgresql":
            # short aggregations: compiling them (JIT) costs more than running them, and sorting a week's
            # domains in 4 MB of work_mem spills to disk
            connection.exec_driver_sql("SET LOCAL jit = off")
            connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        if core:
            _read_core(reader, connection, result, content)
        if detail:
            for (engine_id, keyword_id, source, rank), cells in reader.sums(connection, RANKS, "engine_id",
                                                                            "keyword_id", "source", "rank"):
                result.ranks.setdefault((engine_id, keyword_id, source), {})[rank] = int(cells["answers"])
        if detail:
            for (engine_id, keyword_id, entity_id), cells in reader.sums(
                    connection, ENTITIES, "engine_id", "keyword_id", "entity_id", only=("cited_without_brand",)):
                if entity_id in entities and cells["cited_without_brand"]:
                    result.instead[(engine_id, keyword_id, entity_id)] = int(cells["cited_without_brand"])
        if detail:
            _top_domains(result, dict(reader.sums(connection, DOMAINS, "keyword_id", "domain")), top_domains)
    return result


def _read_core(reader: _Reader, connection: Connection, result: PeriodRollups, content: bool) -> None:
    """What the KPIs per engine and overall need."""
    # every count per engine (on branded and unbranded keywords); per keyword only those that weigh
    # keywords (the inclusion rate) or fill a keyword's row
    for (engine_id, branded, ), cells in reader.sums(connection, COUNTS, "engine_id", BRANDED):
        result.totals[(engine_id, bool(branded))] = cells
    for key, cells in reader.sums(connection, COUNTS, "engine_id", "keyword_id", only=PER_KEYWORD):
        result.day[key] = cells
    for (engine_id, source, rank), cells in reader.sums(connection, RANKS, "engine_id", "source", "rank"):
        result.rank_totals.setdefault((engine_id, source), {})[rank] = int(cells["answers"])
    # per engine, the entities' counts on branded and on unbranded keywords (those per keyword would be
    # the largest read but one, and a keyword's row only needs who is cited instead of the brand)
    for key, cells in reader.sums(connection, ENTITIES, "engine_id", BRANDED, "entity_id"):
        if key[2] in result.entities:
            result.entity[(key[0], bool(key[1]), key[2])] = cells
    if content:
        for key, cells in reader.sums(connection, CONTENT, "engine_id", "content_type", "domain_class"):
            result.content[key] = cells


def with_detail(core: PeriodRollups, detail: PeriodRollups) -> PeriodRollups:
    """The core reads of a period joined with its detail reads (made on two connections at once)."""
    core.ranks, core.instead, core.domains, core.tag_domains = (detail.ranks, detail.instead, detail.domains,
                                                                detail.tag_domains)
    return core


class _Reader:
    """Grouped sums of one kind of rollup over a period's segments, merged."""

    def __init__(self, since: date, until: date, engines: list[str], keywords: dict[int, KeywordInfo]) -> None:
        self.parts = segments(since, until)
        self.engines = engines
        self.keyword_ids = {flag: [k for k, info in keywords.items() if info.branded == flag] for flag in (False, True)}

    def sums(self, connection: Connection, kind: int, *group: str, only: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[Any, ...], dict[str, float]]]:
        """Sums of the counters (or those named in `only`) grouped by the columns `group` names (BRANDED: the
        keyword's flag, read as one query per flag: cheaper than joining the keywords to every row). Names
        (storage.names) come back as names."""
        merged: dict[tuple[Any, ...], dict[str, float]] = {}
        by_flag = BRANDED in group
        columns_grouped = [g for g in group if g != BRANDED]
        selections = ([(flag, ids) for flag, ids in self.keyword_ids.items() if ids] if by_flag
                      else [(None, self.keyword_ids[False] + self.keyword_ids[True])])
        engine_ids = list(stored_ids(connection, self.engines).values()) if self.engines else None
        for tables, first, last in self.parts:
            table = table_of(tables[kind])
            counters = list(only) or [c for c in counter_columns(tables[kind]) if c not in group]
            columns = [table.c[g] for g in columns_grouped]
            for flag, keyword_ids in selections:
                statement = (select(*columns, *(func.sum(table.c[c]).label(c) for c in counters))
                             .where(table.c.day >= first, table.c.day <= last, table.c.keyword_id.in_(keyword_ids))
                             .group_by(*columns))
                if engine_ids is not None:
                    statement = statement.where(table.c.engine_id.in_(engine_ids))
                for row in connection.execute(statement).all():
                    grouped, values = row[:len(columns)], row[len(columns):]
                    key = tuple(flag if g == BRANDED else grouped[columns_grouped.index(g)] for g in group)
                    cells = merged.get(key)
                    if cells is None:
                        merged[key] = {c: v or 0 for c, v in zip(counters, values)}
                    else:
                        for c, v in zip(counters, values):
                            cells[c] += v or 0
        return iter(_named(connection, group, merged).items())


def _named(connection: Connection, group: tuple[str, ...], sums: dict[tuple[Any, ...], dict[str, float]]
           ) -> dict[tuple[Any, ...], dict[str, float]]:
    """The sums with the name ids in their keys replaced by the names."""
    places = [i for i, column in enumerate(group) if column in NAMED_KEYS]
    if not places or not sums:
        return sums
    names = names_of(connection, {key[i] for key in sums for i in places})
    return {tuple(names[part] if i in places else part for i, part in enumerate(key)): cells
            for key, cells in sums.items()}


def _top_domains(result: PeriodRollups, per_keyword: dict[tuple[Any, ...], dict[str, float]], limit: int) -> None:
    """The most cited domains (answers citing them, of which not citing the brand) per keyword, per tag and
    for all keywords, from the period's sums per keyword and domain."""
    by_keyword: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for (keyword_id, domain), cells in per_keyword.items():
        by_keyword[keyword_id][domain] = [int(cells["answers"]), int(cells["answers_without_brand"])]

    def top(groups: list[dict[str, list[int]]], size: int) -> list[tuple[str, int, int]]:
        summed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for group in groups:
            for domain, (answers, without) in group.items():
                summed[domain][0] += answers
                summed[domain][1] += without
        ranked = sorted(summed.items(), key=lambda item: (-item[1][0], item[0]))[:size]
        return [(domain, answers, without) for domain, (answers, without) in ranked]

    for keyword_id, counts in by_keyword.items():
        result.domains[keyword_id] = top([counts], limit)
    result.domains[None] = top(list(by_keyword.values()), limit * 2)
    for tag in sorted({tag for info in result.keywords.values() for tag in info.tags}):
        tagged = [by_keyword[k] for k, info in result.keywords.items() if tag in info.tags and k in by_keyword]
        result.tag_domains[tag] = top(tagged, limit)
