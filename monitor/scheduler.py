"""APScheduler wiring only: run batches on the config's schedules until stopped.

`schedule.cron` runs every enabled engine, or with `schedule.groups` each group of engines runs on its own
cron (and `schedule.cron` the engines in none), with optional jitter; batches never overlap, and runs
missed while the daemon was down are merged into one.

SIGTERM or SIGINT stops the schedule: a batch in flight starts no more probes, those in flight get
`schedule.stop_grace` seconds to be stored, and the run is marked interrupted (`citewatch run --resume`
probes the rest). A second signal stops at once: that run stays `running` until the next start on this
host marks it interrupted. One daemon per database holds `storage.daemon_lock` while it runs; with
`standby` a second one waits for it. SIGHUP reloads the config.

With `report.schedule` a job archives and sends the weekly report (monitor.report.delivery) on that cron,
at start (a week missed while the daemon was down) and hourly (a channel that failed, a week not over in
UTC yet); it shares the batches' one worker, so a report never reads a batch half stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from tzlocal import get_localzone

from citewatch.errors import CitewatchError, ConfigError
from monitor import heartbeat
from monitor.config import Config
from monitor.cron import cron_trigger
from storage.db import shown

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("citewatch.scheduler")


class _Stop(Exception):
    """Raised in the main thread by SIGTERM or SIGINT to leave the scheduler's loop."""


@dataclass(frozen=True)
class Schedule:
    """One cron and the engines its batches probe (None: every enabled engine)."""

    name: str
    cron: str
    timezone: str | None  # None: the server's
    engines: tuple[str, ...] | None

    @property
    def zone(self) -> str:
        return self.timezone or str(get_localzone())

    def trigger(self, jitter: int | None = None) -> CronTrigger:
        return cron_trigger(self.cron, self.timezone, jitter)

    def period(self, now: datetime) -> timedelta:
        """The time between its next two runs after `now` (a day where the cron says nothing)."""
        trigger = self.trigger()
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(None, first + timedelta(seconds=1)) if first is not None else None
        return (second - first) if first is not None and second is not None else timedelta(days=1)


def schedules(config: Config) -> list[Schedule]:
    """The config's schedule groups (their enabled engines), and `schedule.cron` for the enabled engines in
    none of them."""
    settings = config.schedule
    enabled = {e.id for e in config.engines if e.enabled}
    groups = [Schedule(g.name, g.cron, g.timezone or settings.timezone, tuple(e for e in g.engines if e in enabled))
              for g in settings.groups if enabled & set(g.engines)]  # a group of disabled engines never runs
    grouped = {engine_id for group in settings.groups for engine_id in group.engines}
    rest = tuple(e.id for e in config.engines if e.enabled and e.id not in grouped)
    if not groups:
        return [Schedule("default", settings.cron, settings.timezone, None)]
    return ([Schedule("default", settings.cron, settings.timezone, rest)] if rest else []) + groups


def build_scheduler(config: Config, job: Callable[[Schedule], object], *, now: bool = False,
                    scheduler: BaseScheduler | None = None, executor: BaseExecutor | None = None,
                    report: Callable[[], object] | None = None) -> BaseScheduler:
    """A scheduler with a job per schedule: `job(schedule)` on its cron (and at once with `now`). Batches
    never overlap (one worker: a group firing while another runs waits for it), and the runs missed while
    the daemon was down are merged into one, run at start if the newest was missed by less than
    `schedule.misfire_grace` seconds. With `report.schedule`, `report()` too (see the module's docstring).
    (`scheduler` and `executor`: a test's, driven by a fake clock.)"""
    scheduler = scheduler or BlockingScheduler()
    scheduler.configure(timezone=get_localzone(), executors={"default": executor or ThreadPoolExecutor(1)})
    add_jobs(scheduler, config, job, now=now, report=report)
    return scheduler


def add_jobs(scheduler: BaseScheduler, config: Config, job: Callable[[Schedule], object], *, now: bool = False,
             report: Callable[[], object] | None = None) -> None:
    for schedule in schedules(config):
        trigger = schedule.trigger(config.schedule.jitter)
        first = {"next_run_time": datetime.now(trigger.timezone)} if now else {}
        scheduler.add_job(job, trigger, args=[schedule], id=f"batch:{schedule.name}", max_instances=1,
                          coalesce=True, misfire_grace_time=config.schedule.misfire_grace, **first)
    if report is not None and config.report.schedule is not None:
        from monitor.report.delivery import report_trigger

        # each run does only what is left, so it may run late (None: however late) and often
        hourly = CronTrigger(minute=0, timezone=UTC)
        scheduler.add_job(report, OrTrigger([report_trigger(config), hourly]), id="report", max_instances=1,
                          coalesce=True, misfire_grace_time=None, next_run_time=datetime.now(UTC))


def describe(config: Config) -> str:
    """The schedules as one line: "schedule '0 6 * * *' (UTC); google: '0 5 * * *' (Asia/Shanghai)", and
    the weekly report's."""
    parts = [f"{'schedule' if s.name == 'default' else s.name} {s.cron!r} ({s.zone})"
             + (f" for {', '.join(s.engines)}" if s.engines and s.name != "default" else "")
             for s in schedules(config)]
    report = config.report
    if report.schedule is not None:
        zone = report.timezone or config.schedule.timezone or get_localzone()
        parts.append(f"report {report.schedule!r} ({zone}) into {report.archive}")
    return "; ".join(parts)


def next_run(config: Config, now: datetime | None = None) -> datetime | None:
    """When a schedule fires next after `now` (the server's time by default)."""
    upcoming = [fire for fire in next_runs(config, now).values() if fire is not None]
    return min(upcoming) if upcoming else None


def next_runs(config: Config, now: datetime | None = None) -> dict[str, datetime | None]:
    """Per schedule, when it fires next after `now` (without jitter)."""
    found = {}
    for schedule in schedules(config):
        trigger = schedule.trigger()
        found[schedule.name] = trigger.get_next_fire_time(None, now or datetime.now(trigger.timezone))
    return found


def schedule_period(config: Config, now: datetime, engine_id: str | None = None) -> timedelta:
    """The time between the next two runs after `now` of the schedule of `engine_id` (the first schedule
    where none is named; a day where the schedule says nothing)."""
    found = schedules(config)
    schedule = next((s for s in found if s.engines is None or engine_id in s.engines), found[0]) \
        if engine_id is not None else found[0]
    return schedule.period(now)


def run_forever(config: Config, db: Engine, say: Callable[[str], None], *, now: bool = False,
                standby: bool = False, reload: Callable[[], Config] | None = None) -> None:
    """Hold the database's daemon lock (waiting for it with `standby`), then run the schedule. SIGHUP calls
    `reload` for a new config: a good one is used from the next batch on, a bad one logged and refused."""
    from storage.daemon_lock import daemon_lock

    def waiting(holder: object) -> None:
        say(f"citewatch daemon: standing by; {holder} holds database {shown(db)}")

    def stop_waiting(signum: int, _frame: object) -> None:  # a standby holds nothing yet: it leaves at once
        say(f"citewatch daemon: {signal.Signals(signum).name} received while standing by; stopped")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_waiting)
    signal.signal(signal.SIGINT, stop_waiting)
    with daemon_lock(db, wait=standby, on_wait=waiting):
        Daemon(config, db, say, reload).run(now=now)


class Daemon:
    """The schedule of one daemon: its batches, the config they run (SIGHUP replaces it) and how it stops."""

    def __init__(self, config: Config, db: Engine, say: Callable[[str], None],
                 reload: Callable[[], Config] | None) -> None:
        self.config, self.db, self.say, self.reload = config, db, say, reload
        self.in_flight = threading.Event()
        self.stopping = threading.Event()  # set by SIGTERM: the batch in flight starts no more probes
        self.scheduler: BaseScheduler | None = None

    def run(self, *, now: bool) -> None:
        self.scheduler = build_scheduler(self.config, self.batch, now=now, report=self.weekly_report)
        upcoming = next_run(self.config)
        try:
            signal.signal(signal.SIGTERM, self.stop)  # before saying it runs: from then on a signal stops it cleanly
            signal.signal(signal.SIGINT, self.stop)
            if self.reload is not None:
                signal.signal(signal.SIGHUP, self.hang_up)
            self.say(f"citewatch daemon: {describe(self.config)}; {'a batch now, then ' if now else ''}next run at "
                     f"{upcoming.isoformat(timespec='minutes') if upcoming else 'never'}")
            self.scheduler.start()
        except _Stop as received:
            self.stopped_by(str(received))

    def batch(self, schedule: Schedule) -> None:
        from monitor.pipeline import run_batch

        config = self.config
        self.in_flight.set()
        beat: dict[str, object]
        try:
            # a run of this schedule interrupted within its period (a crash, a stop) is finished, not begun again
            summary = asyncio.run(run_batch(config, self.db, stopping=self.stopping, engines=schedule.engines,
                                            resume_within=schedule.period(datetime.now(UTC))))
            log.info("run %s (%s): %s/%s stored, %s failed, %s skipped%s", summary.run_id, schedule.name,
                     summary.stored,
                     summary.planned, summary.failed, summary.skipped,
                     "; stopped and marked interrupted: `citewatch run --resume` probes the rest"
                     if summary.stopped else "", extra={"run_id": summary.run_id})
            for engine_id, headline, reasons in summary.failures():
                log.warning("run %s: engine %s: %s: %s", summary.run_id, engine_id, headline, "; ".join(reasons),
                            extra={"run_id": summary.run_id, "engine_id": engine_id})
            beat = {"status": "failed" if summary.all_failed else "ok", "run": summary.run_id,
                    "schedule": schedule.name, "planned": summary.planned, "stored": summary.stored,
                    "failed": summary.failed, "skipped": summary.skipped}
        except CitewatchError as exc:  # the database failed under the batch: said, and tried again next time
            log.error("%s", exc)
            beat = {"status": "failed", "error": type(exc).__name__}
        finally:
            self.in_flight.clear()
        self.warn_stale(config)
        url = heartbeat.heartbeat_url(config)
        if url is not None:
            heartbeat.send(url, {"service": "citewatch", "project": config.project_name, **beat})
        # from the trigger, not the job: the scheduler's job store is locked while it shuts down
        upcoming = next_run(config)
        if upcoming is not None:
            log.info("next run at %s", upcoming.isoformat(timespec="minutes"))

    def weekly_report(self) -> None:
        """Archive and send the week's report where one is due; a failure is logged, and tried again at the
        next hourly check."""
        from monitor.report.delivery import deliver_due

        try:
            deliver_due(self.config, self.db, datetime.now(UTC))
        except (CitewatchError, OSError) as exc:  # the database, the archive folder or the report's files
            log.error("weekly report not delivered: %s", exc)

    def warn_stale(self, config: Config) -> None:
        """A warning per engine whose last successful answer is older than two periods of its schedule."""
        from monitor.doctor import freshness

        try:
            findings = freshness(config, self.db, datetime.now(UTC))
        except CitewatchError as exc:
            log.warning("freshness not checked: %s", exc)
            return
        for finding in findings:
            if not finding.ok:
                engine_id = finding.check.removeprefix("freshness ")
                log.warning("engine %s is stale: %s", engine_id, finding.detail, extra={"engine_id": engine_id})

    def stop(self, signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, _stop_now)
        signal.signal(signal.SIGINT, _stop_now)
        raise _Stop(signal.Signals(signum).name)

    def stopped_by(self, received: str) -> None:
        """No new probes; those in flight get the grace period to be stored; then leave."""
        self.stopping.set()
        grace = self.config.schedule.stop_grace
        if self.in_flight.is_set():
            self.say(f"citewatch daemon: {received} received; no new probes, those in flight get {grace:g} s to "
                     "finish and be stored (send it again to stop at once)")
            deadline = time.monotonic() + grace
            while self.in_flight.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.in_flight.is_set():
                self.say(f"citewatch daemon: {received}: the grace period is over; stopping now (the next start "
                         "marks the run interrupted)")
                os._exit(0)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.say(f"citewatch daemon: {received} received; stopped cleanly")

    def hang_up(self, _signum: int, _frame: object) -> None:
        # not in the handler: it interrupts the scheduler's own thread, which may hold its job store
        threading.Thread(target=self.reload_config, name="citewatch-reload", daemon=True).start()

    def reload_config(self) -> None:
        try:
            new = self.reload()  # type: ignore[misc]
            if str(new.storage.url) != str(self.config.storage.url):
                raise ConfigError("storage.url cannot change while the daemon runs: restart it to move")
        except CitewatchError as exc:
            one_line = str(exc).replace("\n  - ", "; ").replace("\n", "; ")  # a log line per event
            log.error("SIGHUP: the new config is refused, the old one is kept: %s", one_line)
            return
        self.config = new  # the next batch runs it
        assert self.scheduler is not None
        self.scheduler.remove_all_jobs()
        add_jobs(self.scheduler, new, self.batch, report=self.weekly_report)
        upcoming = next_run(new)
        log.info("SIGHUP: config reloaded; %s, next run at %s", describe(new),
                 upcoming.isoformat(timespec="minutes") if upcoming else "never")


def _stop_now(signum: int, _frame: object) -> None:
    # The batch's thread cannot be cancelled from here: leave at once; the next start marks its run.
    os.write(2, f"citewatch daemon: {signal.Signals(signum).name} again; stopping now\n".encode())
    os._exit(128 + signum)
