"""The weekly report the daemon delivers (`report.schedule`): the ISO week just ended is rendered once into
the archive, then sent to every alert channel that has not received it.

    <report.archive>/2026-W48/   report.html, report.md, report.json ... (what `citewatch report` writes)
                                 sent.json: the project, when each channel (by its label) received the
                                 report, and the last error of each that has not

The state sits beside the report rather than in a table: it is about those files, which are moved, served
(`citewatch serve --archive`) and deleted together, and a week deleted from the archive is rendered again
while it is due. A week is written into a hidden folder and renamed into place, so an archived week is
whole or absent, and it is never written again.

Weeks are UTC weeks, as the database's days are UTC days: where the schedule's Monday comes before the end
of Sunday in UTC (east of UTC), the report waits for that end and goes out at the next hourly check.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from citewatch.errors import ConfigError, UsageError
from monitor.alerts.deliver import channel_label, send
from monitor.config import Config
from monitor.cron import cron_trigger
from monitor.report.i18n import LABELS
from monitor.report.publish import publish_week

log = logging.getLogger("citewatch.report")
STATE = "sent.json"


@dataclass
class Delivery:
    """What one check did with the week due."""

    week: str
    folder: Path
    rendered: bool = False  # by this check (False: archived before)
    deliveries: dict[str, str | None] = field(default_factory=dict)  # channel label -> error (None: sent)


def report_trigger(config: Config) -> CronTrigger:
    """`report.schedule` in `report.timezone`, else `schedule.timezone`, else the server's zone."""
    assert config.report.schedule is not None
    return cron_trigger(config.report.schedule, config.report.timezone or config.schedule.timezone)


def due_week(config: Config, now: datetime) -> tuple[int, int] | None:
    """The ISO week that the newest firing of `report.schedule` up to `now` reports on: the week before the
    one it fell in, in the schedule's zone. Only firings of this week and the last count (a daemon down
    longer catches up the newest week only); None before them or without a schedule."""
    if config.report.schedule is None:
        return None
    trigger = report_trigger(config)
    local = now.astimezone(trigger.timezone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), day_start(), trigger.timezone)
    for start in (monday, monday - timedelta(days=7)):
        fired = trigger.get_next_fire_time(None, start)
        if fired is not None and fired <= now:
            year, week, _ = (fired.date() - timedelta(days=7)).isocalendar()
            return year, week
    return None


def week_end(year: int, week: int) -> datetime:
    """When the week is over in UTC."""
    return datetime.combine(date.fromisocalendar(year, week, 7) + timedelta(days=1), day_start(), UTC)


def deliver_due(config: Config, db: Engine, now: datetime, sleep: Callable[[float], None] = time.sleep
                ) -> Delivery | None:
    """Archive the week due (once) and send it where it has not gone yet (with `report.send`); None when no
    week is due, or the one due is not over in UTC yet."""
    due = due_week(config, now)
    if due is None:
        return None
    year, week = due
    delivery = Delivery(f"{year}-W{week:02d}", config.report.archive / f"{year}-W{week:02d}")
    if now < week_end(year, week):
        log.info("report %s waits for the week's end in UTC (%s), as the database's days are UTC days",
                 delivery.week, week_end(year, week).isoformat(timespec="minutes"))
        return None
    if not delivery.folder.is_dir():
        _archive(config, db, year, week, delivery.folder, now)
        delivery.rendered = True
    if config.report.send:
        _send_pending(config, delivery, now, sleep)
    return delivery


def _archive(config: Config, db: Engine, year: int, week: int, folder: Path, now: datetime) -> None:
    """Render the week into a hidden folder beside `folder` and rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        partial.chmod(folder.parent.stat().st_mode & 0o777)  # mkdtemp's is private; the archive's may not be
        published = publish_week(config, db, year, week, partial)
        _write_state(partial, {"project": config.project_name, "rendered": now.isoformat(timespec="seconds"),
                               "sent": {}, "failed": {}})
        partial.rename(folder)  # refused where another process archived the week meanwhile: its copy stays
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("report %s archived in %s (%s)", folder.name, folder, ", ".join(path.name for path in published.files))
    if published.no_pdf:
        log.info("report %s: no report.pdf (%s); report.html goes to the channels instead", folder.name,
                 published.no_pdf)


def _send_pending(config: Config, delivery: Delivery, now: datetime, sleep: Callable[[float], None]) -> None:
    """Send the archived week to each channel without a success in sent.json, recording each outcome."""
    state = _read_state(delivery.folder)
    if state.setdefault("project", config.project_name) != config.project_name:
        raise ConfigError(f"report.archive {delivery.folder.parent} holds {state['project']!r}'s reports: give "
                          f"project {config.project_name!r} a report.archive of its own")
    sent, failed = state.setdefault("sent", {}), state.setdefault("failed", {})
    pending = [channel for channel in config.alerts.channels if channel_label(channel) not in sent]
    if not pending:
        return
    message = _message(config, delivery.folder, delivery.week, config.report.language)
    for channel in pending:
        label = channel_label(channel)
        error = message.send(channel, config.alerts.attempts, sleep)
        if error is None:
            sent[label] = now.isoformat(timespec="seconds")
            failed.pop(label, None)
            log.info("report %s sent to %s", delivery.week, label)
        else:
            failed[label] = {"at": now.isoformat(timespec="seconds"), "error": error}
            log.warning("report %s not delivered to %s (tried again at the next hourly check, until the next "
                        "report is due): %s", delivery.week, label, error)
        _write_state(delivery.folder, state)  # after each channel: a crash re-sends to none that had it
        delivery.deliveries[label] = error


def send_report(config: Config, folder: Path, week: str, language: str | None = None,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, str | None]:
    """Send the report written in `folder` to every alert channel, whatever it received before (what
    `citewatch report --send` does); the error of each channel by its label (None: sent)."""
    message = _message(config, folder, week, language or config.report.language)
    return {channel_label(channel): message.send(channel, config.alerts.attempts, sleep)
            for channel in config.alerts.channels}


@dataclass(frozen=True)
class _Message:
    title: str
    body: str  # report.md
    attach: Path  # report.pdf where one was made, else report.html
    attach_name: str  # a name of its own in a mailbox of weekly reports

    def send(self, channel: str, attempts: int, sleep: Callable[[float], None]) -> str | None:
        return send(channel, self.title, self.body, attempts, sleep, attach=self.attach,
                    attach_name=self.attach_name)


def _message(config: Config, folder: Path, week: str, language: str) -> _Message:
    try:
        body = (folder / "report.md").read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {folder / 'report.md'}: {exc.strerror or exc}") from None
    pdf = folder / "report.pdf"
    attach = pdf if pdf.is_file() else folder / "report.html"
    title = f"{LABELS[language]['title']} — {config.project_name} — {week}"
    return _Message(title, body, attach, f"citewatch-report-{week}{attach.suffix}")


def _read_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:  # a week archived by hand: sent to every channel
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({exc}); delete it to send the week to every channel again") from None
    if not isinstance(state, dict):
        raise UsageError(f"{path}: not a JSON object; delete it to send the week to every channel again")
    return state


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    """Written whole or not at all: a crash leaves the last state."""
    partial = folder / f".{STATE}.partial"
    partial.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / STATE)
