"""`citewatch status`: what an operator checks first. The newest run per engine (planned, stored, failures,
last success), the next scheduled run, which daemon holds the database, and the database's size."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from citewatch.status import FAILED, SKIPPED, SUCCESSFUL
from monitor.config import Config
from monitor.scheduler import next_runs, schedules
from storage import repository
from storage.daemon_lock import current_holder
from storage.db import shown


def gather(config: Config, db: Engine, now: datetime | None = None) -> dict[str, Any]:
    """Everything `status` shows, as JSON-ready values (times in ISO 8601)."""
    holder = current_holder(db)
    upcoming = next_runs(config, now)
    run = repository.newest_run_status(db, config.project_name, [e.id for e in config.engines if e.enabled])
    return {
        "database": {"url": shown(db), "bytes": repository.database_size(db)},
        "daemon": None if holder is None else {
            "host": holder.host, "pid": holder.pid, "since": _iso(holder.since)},
        "schedule": {"next_run": _iso(min((t for t in upcoming.values() if t), default=None)), "groups": [
            {"name": s.name, "cron": s.cron, "timezone": s.zone, "engines": list(s.engines) if s.engines else None,
             "next_run": _iso(upcoming[s.name])} for s in schedules(config)]},
        "last_run": None if run is None else {
            "id": run.run_id, "status": run.status, "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "host": run.host, "pid": run.pid,
            "engines": [{
                "engine": engine.engine_id, "run": engine.run_id, "planned": engine.planned,
                "stored": sum(engine.statuses.values()),
                "successful": sum(engine.statuses.get(status, 0) for status in SUCCESSFUL),
                "failed": sum(engine.statuses.get(status, 0) for status in FAILED),
                "skipped": engine.statuses.get(SKIPPED, 0),
                "statuses": dict(sorted(engine.statuses.items())),
                "last_success": _iso(engine.last_success),
            } for engine in run.engines],
        },
    }


def render(status: dict[str, Any]) -> str:
    """The text `status` prints."""
    database, daemon, schedule, run = status["database"], status["daemon"], status["schedule"], status["last_run"]
    lines = [f"database {database['url']}: {_size(database['bytes'])}",
             "daemon: " + (f"pid {daemon['pid']} on {daemon['host']}, since {daemon['since']}" if daemon
                           else "none holds this database"),
             f"next run: {schedule['next_run'] or 'never'}"]
    lines += [f"  {group['name']}: {group['cron']!r} ({group['timezone']})"
              + (f" for {', '.join(group['engines'])}" if group["engines"] else "")
              + f", next {group['next_run'] or 'never'}" for group in schedule["groups"]]
    if run is None:
        lines.append("last run: none yet")
        return "\n".join(lines)
    lines.append(f"last run {run['id']}: {run['status']}, started {run['started_at']}"
                 + (f", finished {run['finished_at']}" if run["finished_at"] else ""))
    for engine in run["engines"]:
        detail = ", ".join(f"{count} {name}" for name, count in engine["statuses"].items()) or "nothing stored"
        other_run = f" in run {engine['run']}" if engine["run"] != run["id"] else ""
        lines.append(f"  {engine['engine']}: {engine['stored']}/{engine['planned']} stored{other_run} ({detail}); "
                     f"last success {engine['last_success'] or 'never'}")
    return "\n".join(lines)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return ""  # unreachable
