"""fetch -> store raw -> parse -> analyse -> store: the one place that joins probes, analysis and storage.

A batch is keywords x engines x samples. Each observation is stored in its own
transaction as soon as it is known; a failed probe (timeout, HTTP error,
refused connection, unparseable payload, even a bug in the analysis) is stored
with status `error` and the reason, and the batch goes on. Only a failing
database stops the batch, which is then marked interrupted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import Engine

from monitor.clock import Clock, system_clock
from monitor.config import Config, EngineConfig, KeywordConfig, api_key, missing_api_keys
from monitor.enrich import Tracking, citation_records, mention_records, organic_records
from monitor.errors import ConfigError
from monitor.heap import fewer_collections
from probes import registry
from probes.base import Answer, Locale, ParseError, Probe, ProbeError, ProbeRequest, ProbeSettings
from storage import repository
from storage.models import FAILED_STATUSES, SKIPPED_STATUS, SUCCESSFUL_STATUSES
from storage.repository import EntityRow, KeywordRow, ObservationRecord, ProjectIds

Sleep = Callable[[float], Awaitable[None]]
MAX_BACKOFF_S = 60.0
# a run still 'running' with nothing stored for this long was killed
STALE_RUN = timedelta(hours=1)


@dataclass(frozen=True)
class ProbeTask:
    keyword: KeywordConfig
    engine: EngineConfig
    sample_index: int


@dataclass
class RunSummary:
    run_id: int
    planned: int
    statuses: Counter[str] = field(default_factory=Counter)
    cost: float = 0.0
    failures_by_engine: Counter[str] = field(default_factory=Counter)

    @property
    def skipped(self) -> int:
        return self.statuses[SKIPPED_STATUS]

    @property
    def failed(self) -> int:
        return sum(self.statuses[status] for status in FAILED_STATUSES)

    @property
    def stored(self) -> int:
        return sum(self.statuses.values())


def plan(config: Config) -> list[ProbeTask]:
    """Every (keyword, engine, sample) of one batch, keyword overrides applied."""
    tasks = []
    for keyword in config.keywords:
        for engine in config.engines:
            if not engine.enabled or (keyword.engines is not None and engine.id not in keyword.engines):
                continue
            samples = keyword.samples or engine.samples
            tasks.extend(ProbeTask(keyword, engine, index) for index in range(samples))
    return tasks


def check_runnable(config: Config) -> None:
    """Fail before anything is stored when an engine cannot be probed at all."""
    problems = missing_api_keys(config)
    for engine in config.engines:
        if engine.enabled and engine.kind not in registry.KINDS:
            problems.append(f"engines[{engine.id}]: kind {engine.kind!r} is not available in this version; "
                            f"available: {', '.join(registry.KINDS)}")
    if problems:
        raise ConfigError("cannot run this config", problems)


def keyless_engines(config: Config) -> list[str]:
    """Enabled engines whose service normally wants a key but whose config names no key variable."""
    return [
        engine.id for engine in config.engines
        if engine.enabled and engine.api_key_env is None and engine.kind in registry.KINDS
        and registry.KINDS[engine.kind].needs_api_key
    ]


def sync_config(config: Config, db: Engine, clock: Clock) -> ProjectIds:
    tracking = Tracking.from_config(config)
    return repository.sync_project(
        db,
        config.project_name,
        [EntityRow(e.name, e.kind, e.aliases, e.domains, e.people, e.titles) for e in tracking.entities],
        [
            KeywordRow(k.text, k.prompt, tuple(k.tags), k.weight, k.locale.country, k.locale.language)
            for k in config.keywords
        ],
        clock(),
    )


class DailyBudget:
    """Stops probing an engine once its spend for the UTC day reaches its `daily_budget`.

    Probes already in flight when the budget is reached still finish, so the
    spend can pass the budget by at most `concurrency` calls."""

    def __init__(self, engines: dict[str, EngineConfig], spent_today: dict[str, float]) -> None:
        self._limits = {i: e.daily_budget for i, e in engines.items() if e.daily_budget is not None}
        self._spent = {i: spent_today.get(i, 0.0) for i in engines}

    def exhausted(self, engine_id: str) -> str | None:
        limit = self._limits.get(engine_id)
        if limit is not None and self._spent[engine_id] >= limit:
            return f"skipped: daily budget {limit:g} spent ({self._spent[engine_id]:.4f} so far today)"
        return None

    def add(self, engine_id: str, cost: float) -> None:
        self._spent[engine_id] += cost


class RateLimiter:
    """Spaces request starts so that an engine never sees more than `per_minute` of them."""

    def __init__(self, per_minute: float | None) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Honour Retry-After; otherwise exponential backoff with jitter (0.5 s, 1 s, 2 s, ...)."""
    if retry_after is not None:
        return min(retry_after, MAX_BACKOFF_S)
    return min(0.5 * 2**attempt, MAX_BACKOFF_S) * random.uniform(0.8, 1.2)


async def fetch_with_retries(probe: Probe, request: ProbeRequest, engine: EngineConfig, limiter: RateLimiter,
                             sleep: Sleep = asyncio.sleep) -> tuple[bytes, int]:
    """One probe call with the engine's retry policy: (raw payload, latency in ms of the attempt that
    answered). Raises the last ProbeError when retries run out."""
    attempt = 0
    while True:
        await limiter.wait()
        started = time.monotonic()
        try:
            raw = await probe.fetch(request)
            return raw, round((time.monotonic() - started) * 1000)
        except ProbeError as exc:
            too_long = exc.retry_after is not None and exc.retry_after > MAX_BACKOFF_S
            if not exc.retryable or attempt >= engine.retries or too_long:
                if too_long:
                    exc.reason = f"{exc.reason} (Retry-After {exc.retry_after:g}s: longer than a run waits)"
                if attempt:
                    exc.reason = f"{exc.reason} (after {attempt + 1} attempts)"
                raise
            await sleep(backoff_seconds(attempt, exc.retry_after))
            attempt += 1


def build_record(task: ProbeTask, run_id: int, tracking: Tracking, raw: bytes | None, error: ProbeError | None,
                 latency_ms: int | None, clock: Clock) -> ObservationRecord:
    """Parse and analyse one probe's outcome into what storage keeps. Pure but for the clock."""
    record = ObservationRecord(
        run_id=run_id,
        keyword=task.keyword.text,
        engine_id=task.engine.id,
        engine_kind=task.engine.kind,
        sample_index=task.sample_index,
        observed_at=clock(),
        status="error",
        raw=raw,
        latency_ms=latency_ms,
        cost=task.engine.price.per_call if raw is not None else 0.0,
    )
    if error is not None:
        record.status, record.error = error.status, error.reason
        return record
    assert raw is not None
    answer = apply_payload(record, raw, task.engine.kind, tracking)
    if answer is not None:
        record.cost = task.engine.price.cost(answer.input_tokens, answer.output_tokens)
    return record


def apply_payload(record: ObservationRecord, raw: bytes, kind_name: str, tracking: Tracking) -> Answer | None:
    """Fill what the parser and the analysis say about `raw` into `record` (run and reparse share this).
    Returns the parsed answer, or None where the payload is unparseable (the record says why)."""
    kind = registry.kind(kind_name)
    record.parser_version = kind.parser_version
    try:
        answer = kind.parse(raw)
    except ParseError as exc:
        record.status, record.error = "error", f"unparseable payload: {exc}"
        return None
    record.status = answer.status
    record.error = answer.status_reason
    record.answer_text = answer.text
    record.has_answer = answer.has_answer
    record.model = answer.model
    record.search_queries = answer.search_queries
    record.features = answer.features
    record.input_tokens, record.output_tokens = answer.input_tokens, answer.output_tokens
    if answer.status in SUCCESSFUL_STATUSES:
        record.citations = citation_records(answer, tracking)
        record.mentions = mention_records(answer, tracking.entities)
        record.organic = organic_records(answer, tracking)
    return answer


def skipped_record(task: ProbeTask, run_id: int, reason: str, clock: Clock) -> ObservationRecord:
    """A probe not attempted (budget): stored so the gap is visible, never counted as a failure."""
    return ObservationRecord(run_id=run_id, keyword=task.keyword.text, engine_id=task.engine.id,
                             engine_kind=task.engine.kind, sample_index=task.sample_index, observed_at=clock(),
                             status=SKIPPED_STATUS, error=reason)


def _request(keyword: KeywordConfig) -> ProbeRequest:
    locale = Locale(keyword.locale.country, keyword.locale.language, keyword.locale.city, keyword.locale.region)
    return ProbeRequest(keyword=keyword.text, prompt=keyword.question, locale=locale)


async def run_batch(config: Config, db: Engine, clock: Clock = system_clock, *, progress: bool = False,
                    sleep: Sleep = asyncio.sleep) -> RunSummary:
    """Run one batch now and store every observation; returns what happened."""
    check_runnable(config)
    ids = sync_config(config, db, clock)
    repository.mark_stale_runs(db, ids.project_id, clock() - STALE_RUN)
    tasks = plan(config)
    planned: dict[str, Counter[str]] = {}
    for task in tasks:
        planned.setdefault(task.engine.id, Counter())[str(ids.keyword_ids[task.keyword.text])] += 1
    run_id = repository.start_run(db, ids.project_id, {e: dict(c) for e, c in planned.items()}, clock())
    summary = RunSummary(run_id=run_id, planned=len(tasks))
    tracking = Tracking.from_config(config)
    engines = {t.engine.id: t.engine for t in tasks}
    probes = {
        engine_id: registry.kind(engine.kind).make_probe(
            ProbeSettings(engine.model, engine.base_url, api_key(engine), engine.timeout)
        )
        for engine_id, engine in engines.items()
    }
    limits = {engine_id: asyncio.Semaphore(engine.concurrency) for engine_id, engine in engines.items()}
    limiters = {engine_id: RateLimiter(engine.requests_per_minute) for engine_id, engine in engines.items()}
    day_start = datetime.combine(clock().date(), dt_time(), UTC)
    budget = DailyBudget(engines, repository.spend_by_engine(db, config.project_name, day_start,
                                                             day_start + timedelta(days=1)))
    writer = ObservationWriter(db, ids)
    bar = _progress_bar(len(tasks)) if progress else None

    async def one(task: ProbeTask) -> None:
        engine_id = task.engine.id
        raw: bytes | None = None
        error: ProbeError | None = None
        latency_ms: int | None = None
        async with limits[engine_id]:
            skip_reason = budget.exhausted(engine_id)
            if skip_reason is None:
                try:
                    raw, latency_ms = await fetch_with_retries(probes[engine_id], _request(task.keyword),
                                                               task.engine, limiters[engine_id], sleep)
                except ProbeError as exc:
                    error = exc
        if skip_reason is not None:
            record = skipped_record(task, run_id, skip_reason, clock)
        else:
            try:
                record = build_record(task, run_id, tracking, raw, error, latency_ms, clock)
            except Exception as exc:  # noqa: BLE001 (a bug in analysis must not cost the batch)
                # stored as a failed probe with its raw payload, which a fixed version can reparse
                record = build_record(task, run_id, tracking, raw,
                                      ProbeError(f"analysis failed: {type(exc).__name__}: {exc}"), latency_ms, clock)
            budget.add(engine_id, record.cost)
        writer.put(record)
        summary.statuses[record.status] += 1
        summary.cost += record.cost
        if record.status in FAILED_STATUSES:
            summary.failures_by_engine[engine_id] += 1
        if bar is not None:
            bar[0].advance(bar[1])

    async def probe_all() -> None:
        async with asyncio.TaskGroup() as group:
            for task in tasks:
                group.create_task(one(task))
        writer.close()

    try:
        with bar[0] if bar else nullcontext(), fewer_collections():
            # A failed write (database gone) cancels every probe; a failed probe is just an observation.
            async with asyncio.TaskGroup() as group:
                group.create_task(writer.run())
                group.create_task(probe_all())
    except BaseException as exc:
        repository.mark_run_interrupted(db, run_id)
        if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            raise exc.exceptions[0] from None
        raise
    finally:
        for probe in probes.values():
            await probe.aclose()
    repository.finish_run(db, run_id, clock())
    return summary


class ObservationWriter:
    """Stores observations one at a time, in order, on a worker thread: a slow database (another
    writer holding SQLite's lock, PostgreSQL round trips) never stalls the probes in flight.

    Each observation is stored in its own transaction. One writer keeps up: on the benchmark's
    2 cores, more threads on PostgreSQL cost more in contention than they saved in waiting."""

    _DONE = None

    def __init__(self, db: Engine, ids: ProjectIds) -> None:
        self._db, self._ids = db, ids
        self._queue: asyncio.Queue[ObservationRecord | None] = asyncio.Queue()

    def put(self, record: ObservationRecord) -> None:
        self._queue.put_nowait(record)

    def close(self) -> None:
        self._queue.put_nowait(self._DONE)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewatch-writer") as thread:
            done = False
            while not done:
                # one hand-off to the thread per batch of waiting records, each still its own transaction
                batch = [await self._queue.get()]
                while not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                done = self._DONE in batch
                records = [record for record in batch if record is not self._DONE]
                await loop.run_in_executor(thread, self._save_all, records)

    def _save_all(self, records: list[ObservationRecord]) -> None:
        # one pool checkout (and liveness ping) per hand-off: a database restarted between
        # observations costs nothing, and a busy batch pays the ping once for many observations
        with self._db.connect() as connection:
            for record in records:
                repository.save_observation(connection, self._ids, record)


def _progress_bar(total: int):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        transient=True)
    return progress, progress.add_task("probes", total=total)
