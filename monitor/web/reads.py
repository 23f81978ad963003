"""What the web view reads beyond the metrics: the project's keywords, one keyword's stored samples with
their answers and citations, an observation's raw payload, the newest observation's time. Read-only
queries, always scoped to the config's project (a database may hold others)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, text

from citewatch.raw import RESPONSE, RawResult
from storage import repository
from storage.models import (
    Citation,
    Keyword,
    Observation,
    ObservationPart,
    Project,
    Run,
    Source,
)

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL: a larger one names nothing, and must not fail


@dataclass(frozen=True)
class KeywordRef:
    id: int
    text: str
    active: bool


@dataclass(frozen=True)
class SampleCitation:
    position: int
    title: str | None
    url: str
    cited: bool


@dataclass
class Sample:
    id: int
    engine_id: str
    observed_at: datetime
    status: str
    error: str | None
    sample_index: int
    answer: str | None = None
    citations: list[SampleCitation] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)  # the raw payload's part names, in order; empty: none


def utc(moment: datetime) -> datetime:
    """SQLite gives times back without their zone; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ping(db: Engine) -> None:
    with db.connect() as connection:
        connection.execute(text("SELECT 1"))


def newest_observation(db: Engine, project: str) -> datetime | None:
    with db.connect() as connection:
        newest = connection.execute(
            select(func.max(Observation.observed_at))
            .join(Run, Run.id == Observation.run_id).join(Project, Project.id == Run.project_id)
            .where(Project.name == project)).scalar_one()
    return utc(newest) if newest is not None else None


def project_keywords(db: Engine, project: str) -> list[KeywordRef]:
    """Active keywords first, each group by text."""
    with db.connect() as connection:
        rows = connection.execute(
            select(Keyword.id, Keyword.text, Keyword.active).join(Project, Project.id == Keyword.project_id)
            .where(Project.name == project)).all()
    return sorted((KeywordRef(*row) for row in rows), key=lambda k: (not k.active, k.text))


def project_keyword(db: Engine, project: str, keyword_id: int) -> KeywordRef | None:
    if not 0 < keyword_id <= MAX_ID:
        return None
    with db.connect() as connection:
        row = connection.execute(
            select(Keyword.id, Keyword.text, Keyword.active).join(Project, Project.id == Keyword.project_id)
            .where(Project.name == project, Keyword.id == keyword_id)).first()
    return KeywordRef(*row) if row is not None else None


def keyword_samples(db: Engine, keyword_id: int, engine_ids: list[str], offset: int, limit: int
                    ) -> tuple[int, list[Sample]]:
    """(how many samples the keyword has, the page of them from `offset`, newest first)."""
    where = [Observation.keyword_id == keyword_id]
    if engine_ids:
        where.append(Observation.engine_id.in_(engine_ids))  # type: ignore[attr-defined]
    with db.connect() as connection:
        total = connection.execute(select(func.count()).select_from(Observation).where(*where)).scalar_one()
        samples = [
            Sample(row.id, row.engine_id, utc(row.observed_at), row.status, row.error, row.sample_index,
                   parts=[RESPONSE] if row.raw_hash else [])
            for row in connection.execute(
                select(Observation.id, Observation.engine_id, Observation.observed_at, Observation.status,
                       Observation.error, Observation.sample_index, Observation.raw_hash)
                .where(*where).order_by(Observation.observed_at.desc(), Observation.id.desc())  # type: ignore[attr-defined]
                .offset(offset).limit(limit))
        ]
        by_id = {sample.id: sample for sample in samples}
        if by_id:
            for row in connection.execute(
                    select(Citation.observation_id, Citation.position, Source.title, Source.url, Citation.cited)
                    .join(Source, Source.id == Citation.source_id)
                    .where(Citation.observation_id.in_(by_id))  # type: ignore[attr-defined]
                    .order_by(Citation.observation_id, Citation.position)):
                by_id[row.observation_id].citations.append(SampleCitation(*row[1:]))
            named: dict[int, list[str]] = {}
            for observation_id, name in connection.execute(
                    select(ObservationPart.observation_id, ObservationPart.name)
                    .where(ObservationPart.observation_id.in_(by_id))  # type: ignore[attr-defined]
                    .order_by(ObservationPart.observation_id, ObservationPart.ordinal)):
                named.setdefault(observation_id, []).append(name)
            for observation_id, names in named.items():
                by_id[observation_id].parts = names
    for observation_id, answer in (repository.answer_texts(db, by_id) if by_id else {}).items():
        by_id[observation_id].answer = answer
    return total, samples


def observation_raw(db: Engine, project: str, observation_id: int) -> RawResult | None:
    """The observation's raw result; None where it is another project's, has none, or it is missing."""
    if not 0 < observation_id <= MAX_ID:
        return None
    with db.connect() as connection:
        first_hash = connection.execute(
            select(Observation.raw_hash).join(Run, Run.id == Observation.run_id)
            .join(Project, Project.id == Run.project_id)
            .where(Project.name == project, Observation.id == observation_id)).scalar_one_or_none()
    return repository.load_raw_result(db, observation_id, first_hash) if first_hash else None
