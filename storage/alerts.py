"""What the alert rules read (recent runs' citations of tracked pages, a run's coverage) and what they keep
(events, digests, deliveries). The rules themselves are pure: `monitor.alerts.rules`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from citewatch.alerts import EventKey, Pair, PairRun
from citewatch.status import RUN_RUNNING, SKIPPED, SUCCESSFUL
from storage.models import (
    AlertDelivery,
    AlertDigest,
    AlertEvent,
    Citation,
    Keyword,
    Observation,
    Run,
    Source,
)

# how many of the project's newest runs are searched, a page at a time, for each engine's recent runs
RUNS_SEARCHED, RUNS_PAGE = 2000, 100
# a digest not delivered to a channel is tried again at the end of later runs, this many times in all
DELIVERY_ROUNDS = 10


@dataclass
class StoredEvent:
    id: int
    key: EventKey
    run_id: int
    details: dict[str, Any]
    opened_at: datetime
    closed_at: datetime | None
    keyword: str | None
    digest_id: int | None


def recent_engine_runs(db: Engine, project_id: int, upto_run_id: int, engine_ids: Iterable[str], per_engine: int
                       ) -> dict[str, list[int]]:
    """Per engine, the ids of the newest `per_engine` runs up to `upto_run_id` that planned it, newest first
    (runs still running elsewhere left out). Read a page of runs at a time: an engine on a sparser schedule
    than others (a weekly group beside an hourly one) is found further back."""
    found: dict[str, list[int]] = {engine_id: [] for engine_id in engine_ids}
    before, searched = upto_run_id + 1, 0
    with db.connect() as connection:
        while searched < RUNS_SEARCHED and any(len(runs) < per_engine for runs in found.values()):
            rows = connection.execute(
                select(Run.id, Run.planned)
                .where(Run.project_id == project_id, Run.id < before,
                       (Run.status != RUN_RUNNING) | (Run.id == upto_run_id))
                .order_by(Run.id.desc()).limit(RUNS_PAGE)).all()  # type: ignore[union-attr]
            for run_id, planned in rows:
                for engine_id in found.keys() & planned.keys():
                    if len(found[engine_id]) < per_engine:
                        found[engine_id].append(run_id)
            if len(rows) < RUNS_PAGE:
                break
            before, searched = rows[-1][0], searched + len(rows)
    return found


def pair_history(db: Engine, runs_by_engine: dict[str, list[int]]) -> dict[Pair, list[PairRun]]:
    """For every keyword and engine with a successful sample in those runs: its runs, oldest first, with
    the tracked (brand or competitor) pages each cited."""
    wanted = {(run_id, engine_id) for engine_id, run_ids in runs_by_engine.items() for run_id in run_ids}
    if not wanted:
        return {}
    # by run id alone: the observation's run index (with the engine too, SQLite would walk the engine's
    # whole history by its (engine, time) index); other engines' rows are dropped here
    in_runs = Observation.run_id.in_({run_id for run_id, _ in wanted})  # type: ignore[attr-defined]
    successful = in_runs & Observation.status.in_(SUCCESSFUL)  # type: ignore[attr-defined]
    history: dict[Pair, dict[int, PairRun]] = {}
    with db.connect() as connection:
        for run_id, engine_id, keyword_id, observed_at in connection.execute(
                select(Observation.run_id, Observation.engine_id, Observation.keyword_id,
                       func.max(Observation.observed_at))
                .where(successful).group_by(Observation.run_id, Observation.engine_id, Observation.keyword_id)):
            if (run_id, engine_id) in wanted:
                history.setdefault((keyword_id, engine_id), {})[run_id] = PairRun(run_id, observed_at)
        page = func.coalesce(Source.normalized_url, Source.url)
        for run_id, engine_id, keyword_id, owner_id, normalized, shown in connection.execute(
                select(Observation.run_id, Observation.engine_id, Observation.keyword_id, Source.owner_id, page,
                       func.min(Source.url))
                .join(Citation, Citation.observation_id == Observation.id)
                .join(Source, Source.id == Citation.source_id)
                .where(successful, Citation.cited, Source.owner_id.is_not(None))  # type: ignore[union-attr]
                .group_by(Observation.run_id, Observation.engine_id, Observation.keyword_id, Source.owner_id, page)):
            if (run_id, engine_id) in wanted:
                history[(keyword_id, engine_id)][run_id].cited.setdefault(owner_id, {})[normalized] = shown
    return {pair: sorted(runs.values(), key=lambda r: r.run_id) for pair, runs in history.items()}


def cited_domains(db: Engine, run_id: int, pairs: Iterable[Pair], exclude_owner: int, top: int = 3
                  ) -> dict[Pair, list[str]]:
    """Per keyword and engine, the domains the run's successful answers cited most (by answers citing
    them), the `exclude_owner`'s own left out: who is cited instead."""
    wanted = set(pairs)
    if not wanted:
        return {}
    counts: dict[Pair, Counter[str]] = {}
    with db.connect() as connection:
        rows = connection.execute(
            select(Observation.keyword_id, Observation.engine_id, Source.domain,
                   func.count(func.distinct(Observation.id)))
            .join(Citation, Citation.observation_id == Observation.id)
            .join(Source, Source.id == Citation.source_id)
            .where(Observation.run_id == run_id, Observation.status.in_(SUCCESSFUL),  # type: ignore[attr-defined]
                   Observation.keyword_id.in_({keyword for keyword, _ in wanted}),  # type: ignore[attr-defined]
                   Citation.cited, Source.domain.is_not(None),  # type: ignore[union-attr]
                   (Source.owner_id.is_(None)) | (Source.owner_id != exclude_owner))  # type: ignore[union-attr]
            .group_by(Observation.keyword_id, Observation.engine_id, Source.domain))
        for keyword_id, engine_id, domain, answers in rows:
            if (keyword_id, engine_id) in wanted:
                counts.setdefault((keyword_id, engine_id), Counter())[domain] = answers
    return {pair: [domain for domain, _ in sorted(c.items(), key=lambda item: (-item[1], item[0]))[:top]]
            for pair, c in counts.items()}


def run_coverage(db: Engine, run_id: int) -> dict[str, tuple[int, int, int]]:
    """Per engine the run planned: (planned, successful, skipped by budget)."""
    with db.connect() as connection:
        planned = connection.execute(select(Run.planned).where(Run.id == run_id)).scalar_one()
        counts: dict[str, Counter[str]] = {}
        for engine_id, status, count in connection.execute(
                select(Observation.engine_id, Observation.status, func.count())
                .where(Observation.run_id == run_id).group_by(Observation.engine_id, Observation.status)):
            counts.setdefault(engine_id, Counter())[status] = count
    return {engine_id: (sum(per_keyword.values()),
                        sum(counts.get(engine_id, Counter())[status] for status in SUCCESSFUL),
                        counts.get(engine_id, Counter())[SKIPPED])
            for engine_id, per_keyword in planned.items()}


def keyword_texts(db: Engine, keyword_ids: Iterable[int]) -> dict[int, str]:
    with db.connect() as connection:
        rows = connection.execute(
            select(Keyword.id, Keyword.text).where(Keyword.id.in_(set(keyword_ids)))).all()  # type: ignore[union-attr]
    return {keyword_id: text for keyword_id, text in rows}


# --- events ---------------------------------------------------------------------------------------------


def open_events(db: Engine, project_id: int) -> dict[EventKey, int]:
    """The project's open events by key, with their ids."""
    with db.connect() as connection:
        rows = connection.execute(
            select(AlertEvent.id, AlertEvent.kind, AlertEvent.keyword_id, AlertEvent.engine_id, AlertEvent.subject)
            .where(AlertEvent.project_id == project_id, AlertEvent.closed_run_id.is_(None)))  # type: ignore[union-attr]
        return {EventKey(kind, keyword_id, engine_id, subject): event_id
                for event_id, kind, keyword_id, engine_id, subject in rows}


def events_of_run(db: Engine, project_id: int, run_id: int) -> set[EventKey]:
    """The keys of the events a run's evaluation already stored (an evaluation run twice stores them once)."""
    with db.connect() as connection:
        rows = connection.execute(
            select(AlertEvent.kind, AlertEvent.keyword_id, AlertEvent.engine_id, AlertEvent.subject)
            .where(AlertEvent.project_id == project_id, AlertEvent.run_id == run_id))
        return {EventKey(*row) for row in rows}


def store_events(connection: Connection, project_id: int, run_id: int, now: datetime,
                 opened: dict[EventKey, tuple[dict[str, Any], bool]], closed: Iterable[int]) -> list[int]:
    """Store the events found (`key -> (details, stays open)`) and close the recovered ones; returns the
    new events' ids, in the order given."""
    closed = list(closed)
    if closed:
        connection.execute(update(AlertEvent).where(AlertEvent.id.in_(closed))  # type: ignore[union-attr]
                           .values(closed_run_id=run_id, closed_at=now))
    ids = []
    for key, (details, stays_open) in opened.items():
        ids.append(connection.execute(insert(AlertEvent).values(
            project_id=project_id, run_id=run_id, kind=key.kind, keyword_id=key.keyword_id, engine_id=key.engine_id,
            subject=key.subject, details=details, opened_at=now,
            closed_run_id=None if stays_open else run_id, closed_at=None if stays_open else now,
        )).inserted_primary_key[0])
    return ids


def store_digest(connection: Connection, project_id: int, run_id: int, now: datetime, lang: str, title: str,
                 body: str, event_ids: Iterable[int], channels: Iterable[str]) -> int:
    digest_id = connection.execute(insert(AlertDigest).values(
        project_id=project_id, run_id=run_id, created_at=now, lang=lang, title=title, body=body,
    )).inserted_primary_key[0]
    event_ids = list(event_ids)
    if event_ids:
        connection.execute(update(AlertEvent).where(AlertEvent.id.in_(event_ids))  # type: ignore[union-attr]
                           .values(digest_id=digest_id))
    for channel in channels:
        connection.execute(insert(AlertDelivery).values(digest_id=digest_id, channel=channel, attempts=0))
    return int(digest_id)


@dataclass(frozen=True)
class PendingDelivery:
    digest_id: int
    channel: str
    title: str
    body: str
    attempts: int


def pending_deliveries(db: Engine, project_id: int) -> list[PendingDelivery]:
    """Digests some channel has not received yet and that have rounds left, oldest first."""
    with db.connect() as connection:
        rows = connection.execute(
            select(AlertDelivery.digest_id, AlertDelivery.channel, AlertDigest.title, AlertDigest.body,
                   AlertDelivery.attempts)
            .join(AlertDigest, AlertDigest.id == AlertDelivery.digest_id)
            .where(AlertDigest.project_id == project_id, AlertDelivery.delivered_at.is_(None),  # type: ignore[union-attr]
                   AlertDelivery.attempts < DELIVERY_ROUNDS)
            .order_by(AlertDelivery.digest_id, AlertDelivery.channel))
        return [PendingDelivery(*row) for row in rows]


def record_delivery(db: Engine, digest_id: int, channel: str, now: datetime, error: str | None) -> None:
    with db.begin() as connection:
        connection.execute(
            update(AlertDelivery)
            .where(AlertDelivery.digest_id == digest_id, AlertDelivery.channel == channel)
            .values(attempts=AlertDelivery.attempts + 1, last_error=error, delivered_at=None if error else now))


def list_events(db: Engine, project_id: int, *, limit: int = 50, open_only: bool = False) -> list[StoredEvent]:
    """The project's newest events first, with their keyword's text."""
    query = (select(AlertEvent.id, AlertEvent.kind, AlertEvent.keyword_id, AlertEvent.engine_id, AlertEvent.subject,
                    AlertEvent.run_id, AlertEvent.details, AlertEvent.opened_at, AlertEvent.closed_at,
                    AlertEvent.digest_id, Keyword.text)
             .outerjoin(Keyword, Keyword.id == AlertEvent.keyword_id)
             .where(AlertEvent.project_id == project_id)
             .order_by(AlertEvent.id.desc()).limit(limit))  # type: ignore[union-attr]
    if open_only:
        query = query.where(AlertEvent.closed_run_id.is_(None))  # type: ignore[union-attr]
    with db.connect() as connection:
        rows = connection.execute(query).all()
    return [StoredEvent(row.id, EventKey(row.kind, row.keyword_id, row.engine_id, row.subject), row.run_id,
                        row.details, row.opened_at, row.closed_at, row.text, row.digest_id) for row in rows]


def delivery_state(db: Engine, project_id: int, digest_ids: Iterable[int]
                   ) -> dict[int, list[tuple[str, bool, str | None]]]:
    """Per digest: (channel, delivered, last error) for each channel."""
    ids = set(digest_ids)
    if not ids:
        return {}
    found: dict[int, list[tuple[str, bool, str | None]]] = {}
    with db.connect() as connection:
        for digest_id, channel, delivered_at, error in connection.execute(
                select(AlertDelivery.digest_id, AlertDelivery.channel, AlertDelivery.delivered_at,
                       AlertDelivery.last_error)
                .join(AlertDigest, AlertDigest.id == AlertDelivery.digest_id)
                .where(AlertDigest.project_id == project_id, AlertDelivery.digest_id.in_(ids))):  # type: ignore[attr-defined]
            found.setdefault(digest_id, []).append((channel, delivered_at is not None, error))
    return found
