"""APScheduler wiring only: run a batch on the config's cron schedule until stopped.

SIGTERM or SIGINT stops the schedule: a batch in flight starts no more probes, those in flight get
`schedule.stop_grace` seconds to be stored, and the run is marked interrupted (`citewatch run --resume`
probes the rest). A second signal stops at once: that run stays `running` until the next start on this
host marks it interrupted. One daemon per database holds `storage.daemon_lock` while it runs; with
`standby` a second one waits for it. SIGHUP reloads the config. (Grace periods and health come with the rest
of issue 11.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.blocking import BlockingScheduler

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


def build_scheduler(config: Config, job: Callable[[], object], *, now: bool = False) -> BlockingScheduler:
    """A scheduler with one job: `job` on the config's cron (and at once with `now`), never two at once,
    missed runs merged."""
    scheduler = BlockingScheduler(timezone=config.schedule.timezone)
    trigger = cron_trigger(config.schedule.cron, config.schedule.timezone)
    first = {"next_run_time": datetime.now(trigger.timezone)} if now else {}
    scheduler.add_job(job, trigger, id="batch", max_instances=1, coalesce=True, misfire_grace_time=3600, **first)
    return scheduler


def next_run(config: Config, now: datetime | None = None) -> datetime | None:
    """When the schedule fires next after `now` (the server's time by default)."""
    trigger = cron_trigger(config.schedule.cron, config.schedule.timezone)
    return trigger.get_next_fire_time(None, now or datetime.now(trigger.timezone))


def schedule_period(config: Config, now: datetime) -> timedelta:
    """The time between the next two scheduled runs after `now` (a day where the schedule says nothing)."""
    first = next_run(config, now)
    second = next_run(config, first + timedelta(seconds=1)) if first is not None else None
    return (second - first) if first is not None and second is not None else timedelta(days=1)


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
        _Daemon(config, db, say, reload).run(now=now)


class _Daemon:
    """The schedule of one daemon: its batches, the config they run (SIGHUP replaces it) and how it stops."""

    def __init__(self, config: Config, db: Engine, say: Callable[[str], None],
                 reload: Callable[[], Config] | None) -> None:
        self.config, self.db, self.say, self.reload = config, db, say, reload
        self.in_flight = threading.Event()
        self.stopping = threading.Event()  # set by SIGTERM: the batch in flight starts no more probes
        self.scheduler: BlockingScheduler | None = None

    def run(self, *, now: bool) -> None:
        self.scheduler = build_scheduler(self.config, self.batch, now=now)
        upcoming = next_run(self.config)
        try:
            signal.signal(signal.SIGTERM, self.stop)  # before saying it runs: from then on a signal stops it cleanly
            signal.signal(signal.SIGINT, self.stop)
            if self.reload is not None:
                signal.signal(signal.SIGHUP, self.hang_up)
            self.say(f"citewatch daemon: schedule {self.config.schedule.cron!r} ({self.config.schedule.timezone}); "
                     f"{'a batch now, then ' if now else ''}next run at "
                     f"{upcoming.isoformat(timespec='minutes') if upcoming else 'never'}")
            self.scheduler.start()
        except _Stop as received:
            self.stopped_by(str(received))

    def batch(self) -> None:
        from monitor.pipeline import run_batch

        config = self.config
        self.in_flight.set()
        beat: dict[str, object]
        try:
            # a run interrupted within the schedule's period (a crash, a stop) is finished, not begun again
            summary = asyncio.run(run_batch(config, self.db, stopping=self.stopping,
                                            resume_within=schedule_period(config, datetime.now(UTC))))
            log.info("run %s: %s/%s stored, %s failed, %s skipped%s", summary.run_id, summary.stored,
                     summary.planned, summary.failed, summary.skipped,
                     "; stopped and marked interrupted: `citewatch run --resume` probes the rest"
                     if summary.stopped else "", extra={"run_id": summary.run_id})
            for engine_id, headline, reasons in summary.failures():
                log.warning("run %s: engine %s: %s: %s", summary.run_id, engine_id, headline, "; ".join(reasons),
                            extra={"run_id": summary.run_id, "engine_id": engine_id})
            beat = {"status": "failed" if summary.all_failed else "ok", "run": summary.run_id,
                    "planned": summary.planned, "stored": summary.stored, "failed": summary.failed,
                    "skipped": summary.skipped}
        except CitewatchError as exc:  # the database failed under the batch: said, and tried again next time
            log.error("%s", exc)
            beat = {"status": "failed", "error": type(exc).__name__}
        finally:
            self.in_flight.clear()
        url = heartbeat.heartbeat_url(config)
        if url is not None:
            heartbeat.send(url, {"service": "citewatch", "project": config.project_name, **beat})
        # from the trigger, not the job: the scheduler's job store is locked while it shuts down
        upcoming = next_run(config)
        if upcoming is not None:
            log.info("next run at %s", upcoming.isoformat(timespec="minutes"))

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
        self.scheduler.reschedule_job("batch", trigger=cron_trigger(new.schedule.cron, new.schedule.timezone))
        upcoming = next_run(new)
        log.info("SIGHUP: config reloaded; schedule %r (%s), next run at %s", new.schedule.cron,
                 new.schedule.timezone, upcoming.isoformat(timespec="minutes") if upcoming else "never")


def _stop_now(signum: int, _frame: object) -> None:
    # The batch's thread cannot be cancelled from here: leave at once; the next start marks its run.
    os.write(2, f"citewatch daemon: {signal.Signals(signum).name} again; stopping now\n".encode())
    os._exit(128 + signum)
