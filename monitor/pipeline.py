"""fetch -> store raw -> parse -> analyse -> store: the one place that joins probes, analysis and storage.

A batch is keywords x engines x samples. Each observation is stored in its own
transaction as soon as it is known; a failed probe (timeout, HTTP error,
refused connection, unparseable payload, even a bug in a probe or in the
analysis) is stored with status `error` and the reason, and the batch goes on.
Only a failing database (or Ctrl-C) stops the batch, which is then marked
interrupted.

    run_batch
    ├── check_runnable          every enabled engine can be probed (kind available, key set)
    ├── plan, open_lanes        the tasks; per engine its probe, concurrency limit and rate limiter
    ├── start_batch             sync config to storage, close runs a crash left, open the run
    ├── DailyBudget             (monitor.budget) what each engine may still spend today, shared in storage
    ├── probe_one               one (keyword, engine, sample) -> ObservationRecord, never raises for a probe
    ├── ObservationWriter       (monitor.writer) stores records on a worker thread, in order
    └── finish or interrupt     the run's end in storage
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from citewatch.errors import (
    CitewatchError,
    ConfigError,
    NothingToResume,
    ParseError,
    ProbeError,
    StorageError,
    UnknownEngineKind,
)
from citewatch.opaque import elide_opaque
from citewatch.raw import RawResult
from citewatch.secrets import Secrets
from citewatch.status import ERROR, FAILED, RUN_INTERRUPTED, SKIPPED, SUCCESSFUL
from monitor import owner
from monitor.alerts.service import AlertOutcome
from monitor.alerts.service import after_run as alerts_after_run
from monitor.analysis.mentions import find_mentions
from monitor.budget import DailyBudget
from monitor.clock import Clock, system_clock
from monitor.config import (
    BrowserConfig,
    Config,
    EngineConfig,
    KeywordConfig,
    api_key,
    configured_secrets,
    missing_api_keys,
    proxy_credentials,
)
from monitor.enrich import Tracking, citation_records, mention_records, organic_records
from monitor.heap import fewer_collections
from monitor.throttle import RateLimiter, Sleep, fetch_with_retries
from monitor.writer import RECONNECT_WAITS, ObservationWriter
from probes import registry
from probes.base import (
    Answer,
    BrowserOptions,
    Locale,
    Probe,
    ProbeRequest,
    ProbeSettings,
    SearchOptions,
)
from storage import repository
from storage.records import EntityRow, KeywordRow, ObservationRecord, ProjectIds

# a run still 'running' with nothing stored for this long was killed (on its own host, a run whose process
# is gone is known at once: monitor.owner)
STALE_RUN = timedelta(hours=1)
# How many of an engine's most common failure reasons a summary keeps.
TOP_REASONS = 3

ProbeFactory = Callable[[EngineConfig], Probe]
# How Ctrl-C, SIGTERM and a cancelled task reach a batch.
STOPPED_FROM_OUTSIDE = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)
NO_SECRETS = Secrets()
log = logging.getLogger("citewatch.pipeline")


@dataclass(frozen=True)
class ProbeTask:
    """The unit of work: one sample of one keyword on one engine. `as_message` and `from_message` make it
    plain JSON (names, not objects), for a task queue handing tasks to other processes."""

    keyword: KeywordConfig
    engine: EngineConfig
    sample_index: int

    def as_message(self, run_id: int) -> dict[str, str | int]:
        return {"run": run_id, "keyword": self.keyword.text, "engine": self.engine.id, "sample": self.sample_index}

    @staticmethod
    def from_message(config: Config, message: dict[str, str | int]) -> tuple[int, ProbeTask]:
        """(run id, task) of a message, resolved against the config (ConfigError: it names neither)."""
        keyword = next((k for k in config.keywords if k.text == message["keyword"]), None)
        engine = next((e for e in config.engines if e.id == message["engine"]), None)
        if keyword is None or engine is None:
            raise ConfigError(f"{config.source}: the task names keyword {message['keyword']!r} and engine "
                              f"{message['engine']!r}; the config has no such "
                              f"{'keyword' if keyword is None else 'engine'}")
        return int(message["run"]), ProbeTask(keyword, engine, int(message["sample"]))


@dataclass
class RunSummary:
    run_id: int
    planned: int
    statuses: Counter[str] = field(default_factory=Counter)
    cost: float = 0.0
    stored_by_engine: Counter[str] = field(default_factory=Counter)
    failures_by_engine: Counter[str] = field(default_factory=Counter)
    # per engine, how often each failure reason was stored
    failure_reasons: dict[str, Counter[str]] = field(default_factory=dict)
    stopped: bool = False  # asked to stop: probes were left unstarted, the run is interrupted
    alerts: AlertOutcome | None = None  # what the alert rules found at its end

    @property
    def skipped(self) -> int:
        return self.statuses[SKIPPED]

    @property
    def failed(self) -> int:
        return sum(self.statuses[status] for status in FAILED)

    @property
    def stored(self) -> int:
        return sum(self.statuses.values())

    @property
    def all_failed(self) -> bool:
        """Every probe that was attempted failed (probes skipped by a budget were not attempted)."""
        return self.failed > 0 and self.failed == self.stored - self.skipped

    def count(self, record: ObservationRecord) -> None:
        self.statuses[record.status] += 1
        self.stored_by_engine[record.engine_id] += 1
        self.cost += record.cost
        if record.status in FAILED:
            self.failures_by_engine[record.engine_id] += 1
            self.failure_reasons.setdefault(record.engine_id, Counter())[record.error or "no reason given"] += 1

    def failures(self) -> list[tuple[str, str, list[str]]]:
        """Per engine with failures: its id, "N of M probes failed" and its most common reasons, counted."""
        return [
            (engine_id, f"{failed} of {self.stored_by_engine[engine_id]} probes failed",
             [f"{count}× {reason}" for reason, count in self.failure_reasons[engine_id].most_common(TOP_REASONS)])
            for engine_id, failed in sorted(self.failures_by_engine.items())
        ]


def plan(config: Config, engines: Collection[str] | None = None) -> list[ProbeTask]:
    """Every (keyword, engine, sample) of one batch, keyword overrides applied; only the `engines` named
    where some are (a schedule group's)."""
    tasks = []
    for keyword in config.keywords:
        for engine in config.engines:
            if not engine.enabled or (keyword.engines is not None and engine.id not in keyword.engines):
                continue
            if engines is not None and engine.id not in engines:
                continue
            samples = keyword.samples or engine.samples
            tasks.extend(ProbeTask(keyword, engine, index) for index in range(samples))
    return tasks


def check_runnable(config: Config) -> None:
    """Fail before anything is stored when an engine cannot be probed at all."""
    problems = missing_api_keys(config)
    available = registry.available_names()
    for engine in config.engines:
        if engine.enabled and engine.kind not in available:
            problems.append(f"engines[{engine.id}].kind: {UnknownEngineKind(engine.kind, available)}")
        options = browser_options(engine) if engine.enabled and engine.kind in available else None
        if options is not None and not os.access(options.executable, os.X_OK):
            problems.append(f"engines[{engine.id}].browser.executable: no browser at {options.executable} (on "
                            "Debian: apt-get install chromium)")
    if problems:
        raise ConfigError(f"{config.source}: cannot run this config", problems)


def sync_config(config: Config, db: Engine, clock: Clock, tracking: Tracking | None = None) -> ProjectIds:
    """Store the config's project, tracked entities and keywords (those gone from it become inactive)."""
    tracking = tracking or Tracking.from_config(config)
    return repository.sync_project(
        db,
        config.project_name,
        [EntityRow(e.name, e.kind, e.aliases, e.domains, e.people, e.titles) for e in tracking.entities],
        [
            KeywordRow(k.text, k.prompt, tuple(k.tags), k.weight, k.locale.country, k.locale.language,
                       is_branded(k, tracking))
            for k in config.keywords
        ],
        clock(),
    )


def is_branded(keyword: KeywordConfig, tracking: Tracking) -> bool:
    """A keyword or prompt naming the brand (any alias) would fake a perfect share of voice; config's
    `branded:` overrides the detection."""
    if keyword.branded is not None:
        return keyword.branded
    brand = tracking.entities[:1]
    return bool(find_mentions(keyword.text, brand) or (keyword.prompt and find_mentions(keyword.prompt, brand)))


def build_record(task: ProbeTask, run_id: int, tracking: Tracking, raw: RawResult | None,
                 error: ProbeError | None, latency_ms: int | None, clock: Clock, secrets: Secrets = NO_SECRETS
                 ) -> ObservationRecord:
    """Parse and analyse one probe's outcome into what storage keeps, every secret masked and every opaque
    token elided (in the raw parts too, before they are hashed). Pure but for the clock."""
    if raw is not None:
        raw = raw.map_text_parts(elide_opaque)
    if raw is not None and secrets:
        raw = raw.map_text_parts(secrets.mask_bytes)
    record = ObservationRecord(
        run_id=run_id,
        keyword=task.keyword.text,
        engine_id=task.engine.id,
        engine_kind=task.engine.kind,
        sample_index=task.sample_index,
        observed_at=clock(),
        status=ERROR,
        raw=raw,
        latency_ms=latency_ms,
        cost=task.engine.price.per_call if raw is not None else 0.0,
    )
    if error is not None:
        record.status, record.error = error.status, secrets.mask(error.reason)
        return record
    assert raw is not None
    answer = apply_payload(record, raw, task.engine.kind, tracking, secrets)
    if answer is not None:
        # what the service says it charged, where it says so; else the configured price
        record.cost = (answer.cost if answer.cost is not None
                       else task.engine.price.cost(answer.input_tokens, answer.output_tokens))
    return record


def apply_payload(record: ObservationRecord, raw: RawResult, kind_name: str, tracking: Tracking,
                  secrets: Secrets = NO_SECRETS) -> Answer | None:
    """Fill what the parser and the analysis say about `raw` into `record` (run and reparse share this),
    with `secrets` masked in every text. Returns the parsed answer, or None where the payload is
    unparseable or a bug in the parser or the analysis stopped it: the record then says why, and keeps
    nothing half-analysed."""
    kind = registry.kind(kind_name)
    record.parser_version = kind.parser_version
    record.search_pool = kind.retrieved_sources
    answer = _parse_and_analyse(record, raw, kind, tracking)
    if secrets:  # a key the raw payload held in another form (JSON escapes) is decoded into the texts
        record.map_texts(secrets.mask)
    return answer


def _parse_and_analyse(record: ObservationRecord, raw: RawResult, kind: registry.EngineKind,
                       tracking: Tracking) -> Answer | None:
    try:
        answer = kind.parse(raw)
        analysed = ((citation_records(answer, tracking), mention_records(answer, tracking.entities),
                     organic_records(answer, tracking)) if answer.status in SUCCESSFUL else ([], [], []))
    except ParseError as exc:
        record.status, record.error = ERROR, f"unparseable payload: {exc}"
        return None
    except Exception as exc:  # noqa: BLE001 (a bug must not cost the batch; a fixed version can reparse)
        record.status, record.error = ERROR, f"analysis failed: {type(exc).__name__}: {exc}"
        return None
    record.status = answer.status
    record.error = answer.status_reason
    record.answer_text = answer.text
    record.has_answer = answer.has_answer
    record.model = answer.model
    record.search_queries = answer.search_queries
    record.features = answer.features
    record.input_tokens, record.output_tokens = answer.input_tokens, answer.output_tokens
    record.citations, record.mentions, record.organic = analysed
    return answer


def skipped_record(task: ProbeTask, run_id: int, reason: str, clock: Clock) -> ObservationRecord:
    """A probe not attempted (budget): stored so the gap is visible, never counted as a failure."""
    return ObservationRecord(run_id=run_id, keyword=task.keyword.text, engine_id=task.engine.id,
                             engine_kind=task.engine.kind, sample_index=task.sample_index, observed_at=clock(),
                             status=SKIPPED, error=reason)


def probe_request(keyword: KeywordConfig) -> ProbeRequest:
    locale = Locale(keyword.locale.country, keyword.locale.language, keyword.locale.city, keyword.locale.region)
    return ProbeRequest(keyword=keyword.text, prompt=keyword.question, locale=locale)


def make_probe(engine: EngineConfig) -> Probe:
    """The real probe for an engine: its kind's probe with the key read from the environment."""
    search = engine.search.model_dump() if engine.search is not None else {}
    settings = ProbeSettings(engine.model, engine.base_url, api_key(engine), engine.timeout,
                             round(engine.max_response_mb * 2**20), browser_options(engine), SearchOptions(**search))
    return registry.kind(engine.kind).make_probe(settings)


def browser_options(engine: EngineConfig) -> BrowserOptions | None:
    """What a browser kind's probe needs from the engine's `browser:` config, proxy credentials read from
    the environment; None for other kinds."""
    if not registry.KINDS[engine.kind].browser:
        return None
    config = engine.browser or BrowserConfig()
    user, password = proxy_credentials(engine) or (None, None)
    return BrowserOptions(mode=config.mode, viewport=config.viewport, user_agent=config.user_agent,
                          proxy=config.proxy, proxy_username=user, proxy_password=password,
                          screenshot=config.screenshot, executable=config.executable,
                          overview_wait=config.overview_wait)


@dataclass
class Batch:
    """One batch being run: its run row, what it plans and what it has done so far."""

    project: str
    ids: ProjectIds
    run_id: int
    tasks: list[ProbeTask]
    tracking: Tracking
    summary: RunSummary
    secrets: Secrets = NO_SECRETS
    stopping: threading.Event = field(default_factory=threading.Event)  # set: no probe starts any more

    @property
    def engines(self) -> dict[str, EngineConfig]:
        return engines_of(self.tasks)


def engines_of(tasks: list[ProbeTask]) -> dict[str, EngineConfig]:
    """The engines a batch's tasks use, by id."""
    return {task.engine.id: task.engine for task in tasks}


def start_batch(config: Config, db: Engine, clock: Clock, tasks: list[ProbeTask], resume: bool = False,
                resume_within: timedelta | None = None) -> Batch:
    """Sync the config to storage, close runs a killed process left open, and open the batch's run (with
    `resume`, take up the interrupted one instead; with `resume_within`, where the newest run is
    interrupted and started no longer ago than that)."""
    tracking = Tracking.from_config(config)
    ids = sync_config(config, db, clock, tracking)
    repository.mark_stale_runs(db, ids.project_id, clock() - STALE_RUN, owner.is_gone)
    if resume or resume_within is not None:
        # the daemon resumes its schedule group's newest run (another group's may have run since)
        newest = repository.run_to_resume(db, ids.project_id, None if resume else engines_of(tasks))
        if resume or (newest is not None and newest[1] == RUN_INTERRUPTED
                      and newest[3] >= clock() - resume_within):  # type: ignore[operator]
            return _resumed_batch(config, db, ids, tasks, tracking, newest)
    planned: dict[str, Counter[str]] = {}
    for task in tasks:
        planned.setdefault(task.engine.id, Counter())[str(ids.keyword_ids[task.keyword.text])] += 1
    run_id = repository.start_run(db, ids.project_id, {e: dict(c) for e, c in planned.items()}, clock(),
                                  owner.this_process())
    return Batch(config.project_name, ids, run_id, tasks, tracking, RunSummary(run_id, len(tasks)),
                 configured_secrets(config))


def _resumed_batch(config: Config, db: Engine, ids: ProjectIds, tasks: list[ProbeTask], tracking: Tracking,
                   found: tuple[int, str, dict[str, dict[str, int]], datetime] | None) -> Batch:
    """The newest run (`found`, as repository.run_to_resume reads it), interrupted, reopened with the tasks
    it planned and did not store: nothing is probed or scheduled twice (its plan was counted when it
    started)."""
    if found is None or found[1] != RUN_INTERRUPTED:
        raise NothingToResume("nothing to resume: " + (f"the newest run, {found[0]}, is {found[1]}" if found
                                                       else "no run is stored for this project"))
    run_id, _, planned, _ = found
    stored = repository.stored_samples(db, run_id)
    left = [task for task in tasks if task.sample_index < planned.get(task.engine.id, {}).get(
                str(ids.keyword_ids[task.keyword.text]), 0)
            and (task.engine.id, ids.keyword_ids[task.keyword.text], task.sample_index) not in stored]
    repository.reopen_run(db, run_id, owner.this_process())
    return Batch(config.project_name, ids, run_id, left, tracking, RunSummary(run_id, len(left)),
                 configured_secrets(config))


@dataclass
class Lane:
    """What every probe of one engine shares: the probe, its concurrency limit and its rate limiter."""

    probe: Probe
    slots: asyncio.Semaphore
    limiter: RateLimiter


def open_lanes(engines: dict[str, EngineConfig], factory: ProbeFactory) -> dict[str, Lane]:
    return {
        engine_id: Lane(factory(engine), asyncio.Semaphore(engine.concurrency),
                        RateLimiter(engine.requests_per_minute))
        for engine_id, engine in engines.items()
    }


async def probe_one(task: ProbeTask, batch: Batch, lane: Lane, budget: DailyBudget, clock: Clock,
                    sleep: Sleep) -> ObservationRecord | None:
    """One probe's observation. Whatever goes wrong in the probe, the parser or the analysis becomes a
    failed observation with its reason (`apply_payload` catches the last two); only cancellation
    passes through."""
    engine = task.engine
    raw: RawResult | None = None
    error: ProbeError | None = None
    latency_ms: int | None = None
    async with lane.slots:
        if batch.stopping.is_set():
            return None  # never started: nothing is stored, so a resumed run probes it
        reservation = await budget.reserve(engine, clock())
        if isinstance(reservation, str):
            return skipped_record(task, batch.run_id, reservation, clock)
        try:
            raw, latency_ms = await fetch_with_retries(lane.probe, probe_request(task.keyword), engine.retries,
                                                       lane.limiter, sleep)
        except ProbeError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 (a bug in one probe must not cost the batch)
            cause = _cause(exc)  # an HTTP stack's task group: what went wrong inside it
            error = ProbeError(f"probe failed: {type(cause).__name__}: {cause}")
    record = build_record(task, batch.run_id, batch.tracking, raw, error, latency_ms, clock, batch.secrets)
    budget.settle(engine, record, reservation)
    return record


async def run_batch(config: Config, db: Engine, clock: Clock = system_clock, *, progress: bool = False,
                    sleep: Sleep = asyncio.sleep, probes: ProbeFactory = make_probe,
                    resume: bool = False, resume_within: timedelta | None = None,
                    stopping: threading.Event | None = None, engines: Collection[str] | None = None) -> RunSummary:
    """Run one batch now and store every observation; returns what happened. With `resume`, finish the
    newest run instead, where it was interrupted: only what it had not stored (NothingToResume otherwise).

    Once the run is stored, it ends `finished` or, whatever stops it (the database failing under it,
    Ctrl-C, a bug), `interrupted`; the error is raised after that (StorageError for the database). Once
    `stopping` is set, no probe starts: those in flight are stored, the run ends `interrupted` (and
    `summary.stopped` says so), and `run --resume` probes the rest. With `resume_within` (the daemon: its
    schedule's period), an interrupted newest run that recent and of the same engines is finished instead
    of starting a new one. `engines`: only those (a schedule group's)."""
    check_runnable(config)
    tasks = plan(config, engines)
    # built before anything is stored: an engine whose probe cannot be made stops the batch here
    lanes = open_lanes(engines_of(tasks), probes)
    try:
        batch = start_batch(config, db, clock, tasks, resume, resume_within)
        batch.stopping = stopping or batch.stopping
        writer = ObservationWriter(db, batch.ids, on_stored=batch.summary.count)
        try:
            await _probe_and_store(batch, lanes, writer, db, clock, sleep, progress)
            if batch.summary.stopped:
                repository.mark_run_interrupted(db, batch.run_id)
            else:
                repository.finish_run(db, batch.run_id, clock())
        except BaseException as exc:
            if isinstance(_cause(exc), STOPPED_FROM_OUTSIDE):  # not when a write failed: nothing after it
                _store_what_is_left(writer)
            raise _interrupted(db, batch.run_id, exc) from None
        alerting = config.alerts.rules or config.alerts.channels
        if alerting and not batch.summary.stopped:  # the run is finished: a Ctrl-C from here on leaves it so
            batch.summary.alerts = await asyncio.to_thread(_alert, config, db, batch, clock())
    finally:
        await _close(lanes)
    return batch.summary


def _alert(config: Config, db: Engine, batch: Batch, now: datetime) -> AlertOutcome | None:
    """The alert rules on the finished run; a failure there is logged, never the run's failure."""
    try:
        return alerts_after_run(config, db, batch.ids, batch.run_id, now)
    except Exception as exc:  # noqa: BLE001 (the run is stored; alerts must not take it down)
        log.error("run %s: alerts could not be evaluated: %s: %s", batch.run_id, type(exc).__name__, exc,
                  exc_info=not isinstance(exc, CitewatchError), extra={"run_id": batch.run_id})
        return None


def _store_what_is_left(writer: ObservationWriter) -> None:
    try:
        writer.store_left()
    except StorageError as exc:
        log.warning("observations of a stopped batch could not be stored: %s", exc)


async def _probe_and_store(batch: Batch, lanes: dict[str, Lane], writer: ObservationWriter, db: Engine,
                           clock: Clock, sleep: Sleep, progress: bool) -> None:
    budget = DailyBudget(db, batch.ids.project_id)

    async def probe_all(advance: Callable[[], None]) -> None:
        async def one(task: ProbeTask) -> None:
            record = await probe_one(task, batch, lanes[task.engine.id], budget, clock, sleep)
            if record is None:
                batch.summary.stopped = True
            else:
                writer.put(record)
            advance()

        async with asyncio.TaskGroup() as group:
            for task in batch.tasks:
                group.create_task(one(task))
        writer.close()

    with _progress(len(batch.tasks), progress) as advance, fewer_collections():
        # A failed write (database gone) cancels every probe; a failed probe is just an observation.
        async with asyncio.TaskGroup() as group:
            group.create_task(writer.run())
            group.create_task(probe_all(advance))


async def _close(lanes: dict[str, Lane]) -> None:
    for engine_id, lane in lanes.items():
        try:
            await lane.probe.aclose()
        except Exception as exc:  # noqa: BLE001 (a probe that fails to close has still done its work)
            log.warning("engine %s: closing its probe failed: %s: %s", engine_id, type(exc).__name__, exc)


def _interrupted(db: Engine, run_id: int, exc: BaseException, sleep: Callable[[float], None] = time.sleep,
                 ) -> BaseException:
    """Mark the run interrupted and return the error to raise: the cause, not a task group.

    A database that went away may come back within seconds (a restart, a failover): marking is tried
    again for a few seconds before the run is left to `mark_stale_runs` of a later batch."""
    exc = _cause(exc)
    for wait in (*RECONNECT_WAITS, None):
        try:
            repository.mark_run_interrupted(db, run_id)
            break
        except StorageError as marking:
            if wait is not None:
                sleep(wait)
            elif isinstance(exc, StorageError):
                return type(exc)(f"run {run_id} stopped: {exc}; it could not be marked interrupted either "
                                 f"({marking}); the next batch on this host marks it, or elsewhere one started after "
                                 f"{STALE_RUN} of quiet")
            else:
                return exc
    if isinstance(exc, StorageError):
        return type(exc)(f"run {run_id} stopped and marked interrupted: {exc}")
    return exc


def _cause(exc: BaseException) -> BaseException:
    """The error a task group stands for: its storage failure if it holds one (that is what stopped the
    others), else its first error."""
    while isinstance(exc, BaseExceptionGroup):
        leaves = [_cause(inner) for inner in exc.exceptions]
        exc = next((leaf for leaf in leaves if isinstance(leaf, StorageError)), leaves[0])
    return exc


@contextlib.contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal (rich, gone when done); elsewhere a no-op."""
    if not show:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task("probes", total=total)
        yield lambda: bar.advance(task)
