"""Reads of the daily KPI rollups for a period: sums grouped in SQL, per engine and keyword at the finest.

A period's rows are a few per day, engine and keyword, whatever the number of samples or citations, so a
year is about as fast to read as a week is to scan."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.sql import ColumnElement

from .models import Keyword, KpiDay, KpiDayContent, KpiDayDomain, KpiDayEntity, KpiDayRank, Project, TrackedEntity
from .records import EntityInfo, KeywordInfo, PeriodRollups
from .rollups import counter_columns, table_of


def project_scope(db: Engine, project: str) -> tuple[dict[int, KeywordInfo], dict[int, EntityInfo]]:
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


def period_rollups(db: Engine, project: str, since: date, until: date, engines: Collection[str] = (),
                   keyword_ids: Collection[int] | None = None, top_domains: int = 5) -> PeriodRollups:
    """The rollups of the days [since, until] for the project's active keywords (or those of
    `keyword_ids`), and the engines named (all when none are)."""
    keywords, entities = project_scope(db, project)
    if keyword_ids is not None:
        keywords = {k: info for k, info in keywords.items() if k in keyword_ids}
    result = PeriodRollups(keywords, entities)
    if not keywords:
        return result

    def scoped(model: Any, statement: Select[Any]) -> Select[Any]:
        table = table_of(model)
        conditions: list[ColumnElement[bool]] = [table.c.day >= since, table.c.day <= until,
                                                 table.c.keyword_id.in_(list(keywords))]
        if engines:
            conditions.append(table.c.engine_id.in_(list(engines)))
        return statement.where(*conditions)

    def sums(model: Any, *group: str) -> Select[Any]:
        table = table_of(model)
        return scoped(model, select(*(table.c[g] for g in group),
                                    *(func.sum(table.c[c]).label(c) for c in counter_columns(model))).group_by(
            *(table.c[g] for g in group)))

    with db.connect() as connection:
        for row in connection.execute(sums(KpiDay, "engine_id", "keyword_id")).mappings():
            result.day[(row["engine_id"], row["keyword_id"])] = _cells(row, KpiDay)
        for row in connection.execute(sums(KpiDayRank, "engine_id", "keyword_id", "source", "rank")).mappings():
            result.ranks.setdefault((row["engine_id"], row["keyword_id"], row["source"]), {})[row["rank"]] = int(
                row["answers"])
        for row in connection.execute(sums(KpiDayEntity, "engine_id", "keyword_id", "entity_id")).mappings():
            if row["entity_id"] in entities:
                result.entity[(row["engine_id"], row["keyword_id"], row["entity_id"])] = _cells(row, KpiDayEntity)
        for row in connection.execute(sums(KpiDayContent, "engine_id", "content_type", "domain_class")).mappings():
            result.content[(row["engine_id"], row["content_type"], row["domain_class"])] = _cells(
                row, KpiDayContent)
        result.domains = _top_domains(connection, scoped, top_domains)
        table = table_of(KpiDayDomain)
        for tag in sorted({tag for info in keywords.values() for tag in info.tags}):
            tagged = [k for k, info in keywords.items() if tag in info.tags]
            result.tag_domains[tag] = _domains_of(
                connection, scoped(KpiDayDomain, select(table.c.domain)).where(table.c.keyword_id.in_(tagged)),
                top_domains)
    return result


def _cells(row: Any, model: Any) -> dict[str, float]:
    return {c: row[c] or 0 for c in counter_columns(model)}


def _top_domains(connection: Any, scoped: Any, limit: int) -> dict[int | None, list[tuple[str, int, int]]]:
    """Per keyword (and for all keywords, under None), the most cited domains across the engines read:
    (domain, answers citing it, those of them not citing the brand), most cited first."""
    table = table_of(KpiDayDomain)
    answers, without = func.sum(table.c.answers).label("answers"), func.sum(table.c.answers_without_brand)
    per_keyword = scoped(KpiDayDomain, select(table.c.keyword_id, table.c.domain, answers,
                                              without.label("without_brand"))
                         .group_by(table.c.keyword_id, table.c.domain)).subquery()
    ranked = select(per_keyword, func.row_number().over(
        partition_by=per_keyword.c.keyword_id,
        order_by=(per_keyword.c.answers.desc(), per_keyword.c.domain)).label("place")).subquery()
    top: dict[int | None, list[tuple[str, int, int]]] = {}
    for row in connection.execute(select(ranked).where(ranked.c.place <= limit)
                                  .order_by(ranked.c.keyword_id, ranked.c.place)).mappings():
        top.setdefault(row["keyword_id"], []).append((row["domain"], int(row["answers"]), int(row["without_brand"])))
    top[None] = _domains_of(connection, scoped(KpiDayDomain, select(table.c.domain)), limit * 2)
    return top


def _domains_of(connection: Any, statement: Select[Any], limit: int) -> list[tuple[str, int, int]]:
    """The most cited domains among the rollup rows `statement` selects."""
    table = table_of(KpiDayDomain)
    answers = func.sum(table.c.answers).label("answers")
    query = (statement.add_columns(answers, func.sum(table.c.answers_without_brand).label("without_brand"))
             .group_by(table.c.domain).order_by(answers.desc(), table.c.domain).limit(limit))
    return [(row["domain"], int(row["answers"]), int(row["without_brand"]))
            for row in connection.execute(query).mappings()]
