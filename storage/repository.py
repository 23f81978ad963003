"""The only code that queries the database.

Writes: syncing the project from config, runs, and one observation at a time
(with its raw payload, citations, mentions and organic results) in its own
transaction, so that a killed run loses at most the observation in flight.
Reads: plain rows for metrics and reports.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import Connection, Engine, Select, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

from citewatch.raw import RawPart, RawResult
from citewatch.status import RUN_FINISHED, RUN_INTERRUPTED, RUN_RUNNING, SUCCESSFUL
from citewatch.text import storable
from storage import compression, payload_store, rollups, sources
from storage.db import advisory_lock_key
from storage.models import (
    Citation,
    EngineSpend,
    Keyword,
    Mention,
    Observation,
    ObservationFeature,
    ObservationPart,
    OrganicResult,
    PayloadDictionary,
    Project,
    RawPayload,
    Run,
    Source,
    TrackedEntity,
)
from storage.names import name_ids
from storage.records import (
    CitationFact,
    EngineRunStatus,
    EntityRow,
    KeywordRow,
    ObservationFact,
    ObservationRecord,
    PeriodFacts,
    ProjectIds,
    RunOwner,
    RunStatus,
    StoredPayload,
)

# how far back `newest_run_status` looks for an engine the newest run did not plan
RUNS_SEARCHED = 200


def payload_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sync_project(db: Engine, name: str, entities: Iterable[EntityRow], keywords: Iterable[KeywordRow], now: datetime
) -> ProjectIds:
    """Create or update the project's tracked entities and keywords; those gone from config become inactive.
    Upserts throughout, so that two processes syncing the same new project at once both succeed."""
    with db.begin() as connection:
        if connection.dialect.name == "postgresql":
            # one sync of a project at a time: two (from different configs) would lock the project's rows in
            # orders of their own and could deadlock; SQLite has one writer at a time anyway
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": advisory_lock_key(f"citewatch sync {name}")})
        # a write first: SQLite then takes its write lock at once (a read first could deadlock two writers)
        connection.execute(_upsert(connection, Project).on_conflict_do_nothing(index_elements=["name"]),
                           dict(name=name, created_at=now))
        project_id = connection.execute(select(Project.id).where(Project.name == name)).scalar_one()
        entities = list(entities)
        entity_ids = _sync_rows(connection, TrackedEntity, project_id, "name", [_as_values(e) for e in entities])
        keyword_ids = _sync_rows(connection, Keyword, project_id, "text", [_as_values(k) for k in keywords])
        brand = next((e.name for e in entities if e.kind == "brand"), None)
        return ProjectIds(project_id, entity_ids, keyword_ids, brand)


def _upsert(connection: Connection, model: type[SQLModel]):  # type: ignore[no-untyped-def]
    """INSERT ... ON CONFLICT for the connection's dialect."""
    dialect_insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    return dialect_insert(model.__table__)  # type: ignore[attr-defined]


def _as_values(row: EntityRow | KeywordRow) -> dict[str, object]:
    return {k: list(v) if isinstance(v, (tuple, list)) else v for k, v in asdict(row).items()}


def _sync_rows(connection: Connection, model: type[TrackedEntity] | type[Keyword], project_id: int, key: str,
               rows: list[dict[str, object]]) -> dict[str, int]:
    """Upsert the project's rows of `model` by `key`; rows no longer in config stay, marked inactive
    (their history keeps pointing at them). Returns the ids of the rows in config."""
    for values in rows:
        statement = _upsert(connection, model).values(project_id=project_id, active=True, **values)
        connection.execute(statement.on_conflict_do_update(index_elements=["project_id", key],
                                                           set_=dict(values, active=True)))
    wanted = [values[key] for values in rows]
    column = getattr(model, key)
    connection.execute(update(model).where(model.project_id == project_id, column.not_in(wanted))
                       .values(active=False))
    return dict(connection.execute(  # type: ignore[arg-type]
        select(column, model.id).where(model.project_id == project_id, column.in_(wanted))).all())


def mark_stale_runs(db: Engine, project_id: int, quiet_since: datetime,
                    is_gone: Callable[[RunOwner], bool] = lambda owner: False) -> int:
    """Runs still 'running' whose process is gone: say so. Gone are those `is_gone` says so of, and those
    that stored nothing since `quiet_since` (a run of another process on a shared database that is still
    storing is left alone). Returns how many."""
    with Session(db) as session, session.begin():
        last_activity = func.coalesce(
            select(func.max(Observation.observed_at)).where(Observation.run_id == Run.id).scalar_subquery(),
            Run.started_at,
        )
        running = session.execute(
            select(Run.id, Run.host, Run.pid, Run.process_scope, last_activity < quiet_since)
            .where(Run.project_id == project_id, Run.status == RUN_RUNNING)
        ).all()
        stale = [run_id for run_id, host, pid, scope, quiet in running
                 if quiet or is_gone(RunOwner(host, pid, scope))]
        if stale:
            session.execute(update(Run).where(Run.id.in_(stale)).values(status=RUN_INTERRUPTED))  # type: ignore[union-attr]
        return len(stale)


def mark_run_interrupted(db: Engine, run_id: int) -> None:
    with Session(db) as session, session.begin():
        session.execute(update(Run).where(Run.id == run_id).values(status=RUN_INTERRUPTED))


def run_to_resume(db: Engine, project_id: int, engines: Iterable[str] | None = None
                  ) -> tuple[int, str, dict[str, dict[str, int]], datetime] | None:
    """The project's newest run (of exactly those `engines`, a schedule group's, where given): its id,
    status, plan and start (None: no such run)."""
    wanted = set(engines) if engines is not None else None
    with Session(db) as session:
        if wanted is None:
            newest = session.execute(_newest_run(project_id)).scalar_one_or_none()
        else:
            return next((tuple(row) for row in session.execute(  # type: ignore[misc]
                select(Run.id, Run.status, Run.planned, Run.started_at).where(Run.project_id == project_id)
                .order_by(Run.started_at.desc(), Run.id.desc()).limit(RUNS_SEARCHED))  # type: ignore[union-attr]
                if set(row.planned) == wanted), None)
        return (newest.id, newest.status, newest.planned, newest.started_at) if newest is not None else None


def _newest_run(project_id: int | None) -> Select[tuple[Run]]:
    return (select(Run).where(Run.project_id == project_id)
            .order_by(Run.started_at.desc(), Run.id.desc()).limit(1))  # type: ignore[union-attr]


def stored_samples(db: Engine, run_id: int) -> set[tuple[str, int, int]]:
    """(engine id, keyword id, sample index) of every observation the run has stored."""
    with Session(db) as session:
        return {tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Observation.engine_id, Observation.keyword_id, Observation.sample_index)
            .where(Observation.run_id == run_id))}


def reopen_run(db: Engine, run_id: int, owner: RunOwner) -> None:
    """An interrupted run taken up again by `owner`: running once more, its plan (and the scheduled
    counts the rollups hold for it) unchanged."""
    with Session(db) as session, session.begin():
        session.execute(update(Run).where(Run.id == run_id).values(
            status=RUN_RUNNING, finished_at=None, host=owner.host, pid=owner.pid, process_scope=owner.scope))


def start_run(db: Engine, project_id: int, planned: dict[str, dict[str, int]], now: datetime,
              owner: RunOwner = RunOwner(None, None)) -> int:
    with Session(db) as session, session.begin():
        run = Run(project_id=project_id, started_at=now, planned=planned, host=owner.host, pid=owner.pid,
                  process_scope=owner.scope)
        session.add(run)
        session.flush()
        rollups.add_scheduled(session.connection(), now, planned)
        return run.id  # type: ignore[return-value]


def finish_run(db: Engine, run_id: int, now: datetime) -> None:
    with Session(db) as session, session.begin():
        session.execute(update(Run).where(Run.id == run_id).values(status=RUN_FINISHED, finished_at=now))


def save_observation(target: Engine | Connection, ids: ProjectIds, record: ObservationRecord) -> int:
    """Store one observation with all its parts in a single transaction.

    `target` is an engine (a pooled connection for this one write) or a
    connection a writer reuses for several writes, which saves PostgreSQL a
    checkout ping per observation. Core inserts rather than ORM
    objects: this runs once per probe, and the ORM's unit of work cost more
    than the probe's own overhead."""
    if isinstance(target, Engine):
        with target.connect() as connection:
            return save_observation(connection, ids, record)
    connection = target
    record.map_texts(storable)
    with connection.begin():
        part_hashes = [_store_raw(connection, part.data, record.observed_at, record.engine_kind)
                       for part in record.raw.parts
                       ] if record.raw is not None else []
        observation_id = connection.execute(insert(Observation.__table__), dict(  # type: ignore[attr-defined]
            run_id=record.run_id,
            keyword_id=ids.keyword_ids[record.keyword],
            engine_id=record.engine_id,
            engine_kind=record.engine_kind,
            sample_index=record.sample_index,
            observed_at=record.observed_at,
            status=record.status,
            error=record.error,
            raw_hash=part_hashes[0] if part_hashes else None,
            parser_version=record.parser_version,
            **payload_store.pack_answer(connection, record.engine_kind, record.answer_text),
            has_answer=record.has_answer,
            search_pool=record.search_pool,
            model=record.model,
            search_queries=record.search_queries,
            latency_ms=record.latency_ms,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cost=record.cost,
        )).inserted_primary_key[0]
        if record.raw is not None:
            connection.execute(insert(ObservationPart.__table__), [  # type: ignore[attr-defined]
                dict(observation_id=observation_id, ordinal=ordinal, name=part.name, media_type=part.media_type,
                     raw_hash=digest)
                for ordinal, (part, digest) in enumerate(zip(record.raw.parts, part_hashes, strict=True))
            ])
        _insert_parsed(connection, ids, int(observation_id), record)
        rollups.add_observation(connection, record, ids.keyword_ids[record.keyword], ids.brand, ids.entity_ids)
        if record.reserved_day is not None:  # the reservation becomes what the probe cost
            connection.execute(update(EngineSpend).where(*_spend_row(ids.project_id, record.engine_id,
                                                                     record.reserved_day))
                               .values(spent=EngineSpend.spent + record.cost - record.reserved))
        return int(observation_id)


def _insert_parsed(connection: Connection, ids: ProjectIds, observation_id: int, record: ObservationRecord
                   ) -> None:
    """What was parsed from one observation: its citations, mentions, organic results and features."""
    owner_id = lambda name: ids.entity_ids.get(name) if name else None  # noqa: E731
    source_ids = iter(sources.source_ids(connection, [
        *(sources.citation_source(c.url, c.normalized_url, c.domain, c.title, owner_id(c.owner), c.content_type,
                                  c.domain_class) for c in record.citations),
        *(sources.organic_source(o.url, o.domain, o.title, owner_id(o.owner), o.content_type)
          for o in record.organic),
    ]))
    origins = name_ids(connection, (c.origin for c in record.citations)) if record.citations else {}
    citations = [
        dict(observation_id=observation_id, position=c.position, source_id=next(source_ids), visible=c.visible,
             cited=c.cited, origin=origins[c.origin], spans=[list(span) for span in c.spans],
             visibility=c.visibility)
        for c in record.citations
    ]
    mentions = [
        dict(observation_id=observation_id, entity_id=ids.entity_ids[m.entity], alias=m.alias, count=m.count,
             first_offset=m.first_offset, rank=m.rank, third=m.third)
        for m in record.mentions
    ]
    organic = [
        dict(observation_id=observation_id, rank=o.rank, source_id=next(source_ids), snippet=o.snippet)
        for o in record.organic
    ]
    features = [dict(observation_id=observation_id, name=name) for name in dict.fromkeys(record.features)]
    for table, rows in ((Citation, citations), (Mention, mentions), (OrganicResult, organic),
                        (ObservationFeature, features)):
        if rows:
            connection.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]


def payloads_to_reparse(db: Engine, project: str, current_versions: dict[str, int], engine_id: str | None,
                        everything: bool) -> list[StoredPayload]:
    """Observations with a stored raw payload parsed by an older parser (or all of them)."""
    with Session(db) as session:
        rows = session.execute(
            select(Observation.id, Keyword.text, Observation.engine_id, Observation.engine_kind,
                   Observation.raw_hash, Observation.parser_version)
            .join(Keyword, Keyword.id == Observation.keyword_id)
            .join(Project, Project.id == Keyword.project_id)
            .where(Project.name == project, Observation.raw_hash.is_not(None),  # type: ignore[union-attr]
                   *([Observation.engine_id == engine_id] if engine_id else []))
            .order_by(Observation.id)
        )
        return [
            StoredPayload(*row) for row in rows
            if row.engine_kind in current_versions
            and (everything or (row.parser_version or 0) < current_versions[row.engine_kind])
        ]


def replace_parsed(db: Engine, ids: ProjectIds, observation_id: int, record: ObservationRecord) -> str:
    """Swap an observation's parsed content for a new parse, in one transaction; identity, time,
    latency and cost stay as they were. Returns the status it had before."""
    record.map_texts(storable)
    with db.begin() as connection:
        before, record.run_id, record.cost = connection.execute(
            select(Observation.status, Observation.run_id, Observation.cost).where(Observation.id == observation_id)
        ).one()
        rollups.subtract_stored(connection, observation_id, ids.brand, ids.entity_ids)
        for table in (Citation, Mention, OrganicResult, ObservationFeature):
            connection.execute(delete(table).where(table.observation_id == observation_id))  # type: ignore[attr-defined]
        connection.execute(update(Observation).where(Observation.id == observation_id).values(
            status=record.status, error=record.error, parser_version=record.parser_version,
            **payload_store.pack_answer(connection, record.engine_kind, record.answer_text),
            has_answer=record.has_answer, search_pool=record.search_pool,
            model=record.model, search_queries=record.search_queries,
            input_tokens=record.input_tokens, output_tokens=record.output_tokens,
        ))
        _insert_parsed(connection, ids, observation_id, record)
        rollups.add_observation(connection, record, ids.keyword_ids[record.keyword], ids.brand, ids.entity_ids)
        return str(before)


def reserve_spend(db: Engine, project_id: int, engine_id: str, day: date, amount: float, limit: float
                  ) -> float | None:
    """Reserve `amount` of the engine's `limit` for `day` (UTC), unless the day's spend and what other
    probes reserved would then pass it. Returns None once reserved, or the day's spend when refused.

    One conditional UPDATE, so that processes sharing the database cannot both take the last of a
    budget (PostgreSQL re-checks the condition on the row another writer just changed; SQLite has one
    writer at a time). `save_observation` later replaces the reservation by the probe's real cost."""
    row = _spend_row(project_id, engine_id, day)
    with db.begin() as connection:
        if _try_reserve(connection, row, amount, limit):
            return None
        if connection.execute(select(EngineSpend.spent).where(*row)).scalar_one_or_none() is None:
            _start_day(connection, project_id, engine_id, day)
        # The row exists now. Only this second try decides: on PostgreSQL the first UPDATE's snapshot may
        # have missed a row another process was making at that moment.
        if _try_reserve(connection, row, amount, limit):
            return None
        return float(connection.execute(select(EngineSpend.spent).where(*row)).scalar_one())


def _spend_row(project_id: int, engine_id: str, day: date):  # type: ignore[no-untyped-def]
    """The conditions that pick one engine's spend of one day."""
    return EngineSpend.project_id == project_id, EngineSpend.engine_id == engine_id, EngineSpend.day == day


def _start_day(connection: Connection, project_id: int, engine_id: str, day: date) -> None:
    """The engine's first reservation of the day makes the day's row. Where the engine's spend was never
    kept here before (the budget is new, or this version is), the row starts from what the day's stored
    observations cost; otherwise from nothing, since those costs were settled into the days their
    probes were reserved on (a probe running across midnight counts on the day it started)."""
    kept_before = connection.execute(
        select(func.count()).select_from(EngineSpend)
        .where(EngineSpend.project_id == project_id, EngineSpend.engine_id == engine_id)).scalar_one()
    stored = 0.0
    if not kept_before:
        start = datetime.combine(day, dt_time(), UTC)
        stored = connection.execute(
            select(func.coalesce(func.sum(Observation.cost), 0.0))
            .join(Run, Run.id == Observation.run_id)
            .where(Run.project_id == project_id, Observation.engine_id == engine_id,
                   Observation.observed_at >= start, Observation.observed_at < start + timedelta(days=1))
        ).scalar_one()
    connection.execute(_upsert(connection, EngineSpend).on_conflict_do_nothing(),
                       dict(project_id=project_id, engine_id=engine_id, day=day, spent=float(stored)))


# Sums of prices are floats: 5 x 0.001 is a little more than 0.005, which must still fit a budget of 0.005.
_SPEND_TOLERANCE = 1e-9


def _try_reserve(connection: Connection, row: tuple, amount: float, limit: float) -> bool:  # type: ignore[type-arg]
    result = connection.execute(update(EngineSpend)
                                .where(*row, EngineSpend.spent + amount <= limit + _SPEND_TOLERANCE)
                                .values(spent=EngineSpend.spent + amount))
    return bool(result.rowcount)


def _store_raw(connection: Connection, raw: bytes, now: datetime, engine_kind: str | None = None) -> str:
    """Content-addressed: a payload already stored is not stored again (also under concurrent writers).
    Compressed with zstd and the newest dictionary of `engine_kind`, where it has one (storage.payload_store)."""
    digest = payload_hash(raw)
    packed = compression.compress(raw, payload_store.newest_dictionary(connection, engine_kind))
    connection.execute(_upsert(connection, RawPayload).on_conflict_do_nothing(index_elements=["hash"]),
                       dict(hash=digest, size=len(raw), data=packed.data, codec=packed.codec,
                            dictionary_id=packed.dictionary_id, created_at=now))
    return digest


def load_raw(db: Engine, digest: str) -> bytes | None:
    """A stored payload's raw bytes, whatever codec it was stored with; None where it is not stored."""
    with db.connect() as connection:
        row = connection.execute(payload_store.select_stored().where(RawPayload.hash == digest)).first()
        return payload_store.unpack(connection, *row) if row is not None else None


def load_raw_result(db: Engine, observation_id: int, first_hash: str) -> RawResult | None:
    """An observation's raw result, every part in order; None where a part's payload is missing. An
    observation with no part rows (none are, once migrated) is its first payload alone."""
    with db.connect() as connection:
        rows = connection.execute(
            select(ObservationPart.name, ObservationPart.media_type, *payload_store.STORED)
            .outerjoin(RawPayload, RawPayload.hash == ObservationPart.raw_hash)
            .outerjoin(PayloadDictionary, payload_store.PAYLOAD_DICTIONARY)
            .where(ObservationPart.observation_id == observation_id)
            .order_by(ObservationPart.ordinal)
        ).all()
        if any(data is None for _, _, data, *_ in rows):
            return None
        parts = tuple(RawPart(name, payload_store.unpack(connection, *stored), media_type)
                      for name, media_type, *stored in rows)
    if not parts:
        data = load_raw(db, first_hash)
        return RawResult.single(data) if data is not None else None
    return RawResult(parts)


# --- reads for metrics and reports -------------------------------------------------------------


def _project_id(session: Session, name: str) -> int | None:
    return session.execute(select(Project.id).where(Project.name == name)).scalar_one_or_none()


def _in_period(project_id: int, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    """Observations of the runs started in [start, end), for the project's active keywords.

    Runs, not observation times, place observations in a period, so that what was done and what was
    planned (coverage) always come from the same runs, even for a run that crosses midnight."""
    return (
        select(Observation.id)
        .join(Keyword, Keyword.id == Observation.keyword_id)
        .join(Run, Run.id == Observation.run_id)
        .where(Keyword.project_id == project_id, Keyword.active.is_(True),  # type: ignore[attr-defined]
               Run.started_at >= start, Run.started_at < end)
    )


def period_facts(db: Engine, project: str, start: datetime, end: datetime) -> PeriodFacts:
    """The observations of the runs started in [start, end) for the project's active keywords, with their
    citations of tracked entities: the pages the report lists (the KPIs come from the rollups)."""
    with Session(db) as session:
        pid = _project_id(session, project)
        if pid is None:
            return PeriodFacts([], [])
        in_period = _in_period(pid, start, end)
        observations = [
            ObservationFact(*row)
            for row in session.execute(
                select(Observation.id, Observation.engine_id, Keyword.text, Keyword.weight, Observation.status,
                       Observation.has_answer, Observation.cost, Observation.observed_at, Observation.error)
                .join(Keyword, Keyword.id == Observation.keyword_id)
                .where(Observation.id.in_(in_period))  # type: ignore[union-attr]
                .order_by(Observation.id)
            )
        ]
        citations = [
            CitationFact(*row)
            for row in session.execute(
                select(Citation.observation_id, TrackedEntity.name, Source.normalized_url,
                       Source.url, Source.title, Citation.position, Citation.visible,
                       Source.content_type, Citation.cited, Citation.visibility)
                .join(Source, Source.id == Citation.source_id)
                .join(TrackedEntity, TrackedEntity.id == Source.owner_id)
                .where(Citation.observation_id.in_(in_period))  # type: ignore[attr-defined]
                .order_by(Citation.observation_id, Citation.position)
            )
        ]
        return PeriodFacts(observations, citations)


def answer_texts(db: Engine, observation_ids: Iterable[int]) -> dict[int, str | None]:
    """The stored answer text of each observation (None where it has none)."""
    with db.connect() as connection:
        rows = connection.execute(
            select(Observation.id, Observation.answer, Observation.answer_dictionary_id)
            .where(Observation.id.in_(list(observation_ids)))  # type: ignore[union-attr]
        ).all()
        return {row.id: payload_store.unpack_answer(connection, row.answer, row.answer_dictionary_id) for row in rows}


def newest_run_status(db: Engine, project: str, engines: Iterable[str] = ()) -> RunStatus | None:
    """The project's newest run with, per engine, what it planned and stored, and when the engine last
    answered successfully in any run (None: the project has no run). `engines` the newest run did not
    plan (another schedule group's) are shown from the newest run that did."""
    with Session(db) as session:
        pid = _project_id(session, project)
        run = session.execute(_newest_run(pid)).scalar_one_or_none() if pid is not None else None
        if run is None:
            return None
        run_of = {engine_id: (run.id, run.planned[engine_id]) for engine_id in run.planned}
        missing = set(engines) - set(run_of)
        if missing:
            for run_id, planned in session.execute(
                    select(Run.id, Run.planned).where(Run.project_id == pid, Run.id < run.id)
                    .order_by(Run.id.desc()).limit(RUNS_SEARCHED)):  # type: ignore[union-attr]
                for engine_id in missing & set(planned):
                    run_of[engine_id] = (run_id, planned[engine_id])
                missing -= set(planned)
                if not missing:
                    break
        counts: dict[tuple[int, str], dict[str, int]] = {}
        for run_id, engine_id, status, count in session.execute(
                select(Observation.run_id, Observation.engine_id, Observation.status, func.count())
                .where(Observation.run_id.in_({found for found, _ in run_of.values()}))  # type: ignore[attr-defined]
                .group_by(Observation.run_id, Observation.engine_id, Observation.status)):
            counts.setdefault((run_id, engine_id), {})[status] = count
        engine_ids = sorted(set(run_of) | {engine_id for run_id, engine_id in counts if run_id == run.id} | missing)
        last_success = {engine_id: session.execute(  # per engine: the (engine, time) index, read backwards
            select(func.max(Observation.observed_at))
            .join(Run, Run.id == Observation.run_id)
            .where(Observation.engine_id == engine_id, Run.project_id == pid,
                   Observation.status.in_(SUCCESSFUL))).scalar_one() for engine_id in engine_ids}  # type: ignore[attr-defined]
        rows = []
        for engine_id in engine_ids:
            run_id, planned = run_of.get(engine_id, (run.id, {}))
            rows.append(EngineRunStatus(engine_id, sum(planned.values()), counts.get((run_id, engine_id), {}),
                                        last_success[engine_id], run_id))
        return RunStatus(run.id, run.status, run.started_at, run.finished_at, run.host, run.pid, rows)  # type: ignore[arg-type]


def database_size(db: Engine) -> int:
    """Bytes the database takes on disk (SQLite: the file and its write-ahead log)."""
    if db.dialect.name == "postgresql":
        with db.connect() as connection:
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    database = str(db.url.database)
    return sum(os.path.getsize(path) for path in (database, database + "-wal") if os.path.exists(path))


def project_id(db: Engine, name: str) -> int | None:
    """The id of the project of that name (None: nothing stored for it yet)."""
    with Session(db) as session:
        return _project_id(session, name)


def project_names(db: Engine) -> list[str]:
    """Every project the database holds, by name."""
    with Session(db) as session:
        return list(session.execute(select(Project.name).order_by(Project.name)).scalars())


def stored_engine_ids(db: Engine, project: str) -> list[str]:
    """The engine ids the project's stored observations name (engines since removed from config included)."""
    with Session(db) as session:
        return list(session.execute(
            select(Observation.engine_id).distinct()
            .join(Run, Run.id == Observation.run_id)
            .join(Project, Project.id == Run.project_id)
            .where(Project.name == project)
            .order_by(Observation.engine_id)
        ).scalars())
