"""APScheduler wiring only: run a batch on the config's cron schedule until stopped.

SIGTERM or SIGINT stops the schedule; a batch in flight finishes first (a second signal stops at once,
and the next start marks that run interrupted). The full daemon (locks, grace periods, health) is
issue 11's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.blocking import BlockingScheduler

from citewatch.errors import CitewatchError
from monitor.config import Config
from monitor.cron import cron_trigger

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("citewatch.scheduler")


class _Stop(Exception):
    """Raised in the main thread by SIGTERM or SIGINT to leave the scheduler's loop."""


def build_scheduler(config: Config, job: Callable[[], object]) -> BlockingScheduler:
    """A scheduler with one job: `job` on the config's cron, never two at once, missed runs merged."""
    scheduler = BlockingScheduler(timezone=config.schedule.timezone)
    scheduler.add_job(job, cron_trigger(config.schedule.cron, config.schedule.timezone),
                      id="batch", max_instances=1, coalesce=True, misfire_grace_time=3600)
    return scheduler


def next_run(config: Config, now: datetime | None = None) -> datetime | None:
    """When the schedule fires next after `now` (the server's time by default)."""
    trigger = cron_trigger(config.schedule.cron, config.schedule.timezone)
    return trigger.get_next_fire_time(None, now or datetime.now(trigger.timezone))


def run_forever(config: Config, db: Engine, say: Callable[[str], None]) -> None:
    from monitor.pipeline import run_batch

    in_flight = threading.Event()
    scheduler: BlockingScheduler

    def batch() -> None:
        in_flight.set()
        try:
            summary = asyncio.run(run_batch(config, db))
            log.info("run %s: %s/%s stored, %s failed, %s skipped", summary.run_id, summary.stored,
                     summary.planned, summary.failed, summary.skipped)
        except CitewatchError as exc:  # the database failed under the batch: said, and tried again next time
            log.error("%s", exc)
        finally:
            in_flight.clear()
        job = scheduler.get_job("batch")
        if job is not None and job.next_run_time is not None:
            log.info("next run at %s", job.next_run_time.isoformat(timespec="minutes"))

    def stop(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, _stop_now)
        signal.signal(signal.SIGINT, _stop_now)
        raise _Stop(signal.Signals(signum).name)

    scheduler = build_scheduler(config, batch)
    upcoming = next_run(config)
    say(f"citewatch daemon: schedule {config.schedule.cron!r} ({config.schedule.timezone}); next run at "
        f"{upcoming.isoformat(timespec='minutes') if upcoming else 'never'}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        scheduler.start()
    except _Stop as received:
        scheduler.shutdown(wait=False)
        if in_flight.is_set():
            say(f"citewatch daemon: {received} received; the batch in flight finishes first "
                "(send it again to stop at once)")
        else:
            say(f"citewatch daemon: {received} received; stopped cleanly")


def _stop_now(signum: int, _frame: object) -> None:
    # The batch's thread cannot be cancelled from here: leave at once; the next start marks its run.
    os.write(2, f"citewatch daemon: {signal.Signals(signum).name} again; stopping now\n".encode())
    os._exit(128 + signum)
