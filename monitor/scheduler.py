"""APScheduler wiring only: run a batch on the config's cron schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler

from monitor.config import Config
from monitor.cron import cron_trigger

log = logging.getLogger("citewatch.scheduler")


def build_scheduler(config: Config, job: Callable[[], object]) -> BlockingScheduler:
    """A scheduler with one job: `job` on the config's cron, never two at once, missed runs merged."""
    scheduler = BlockingScheduler(timezone=config.schedule.timezone)
    scheduler.add_job(job, cron_trigger(config.schedule.cron, config.schedule.timezone),
                      id="batch", max_instances=1, coalesce=True, misfire_grace_time=3600)
    return scheduler


def run_forever(config: Config, db) -> None:  # type: ignore[no-untyped-def]
    from monitor.pipeline import run_batch

    def batch() -> None:
        summary = asyncio.run(run_batch(config, db))
        log.info("run %s: %s/%s stored, %s failed, %s skipped", summary.run_id, summary.stored, summary.planned,
                 summary.failed, summary.skipped)

    scheduler = build_scheduler(config, batch)
    log.info("citewatch daemon: schedule %r (%s)", config.schedule.cron, config.schedule.timezone)
    scheduler.start()
