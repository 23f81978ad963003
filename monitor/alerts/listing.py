"""`citewatch alerts`: the stored events, newest first, with their digest's delivery per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from storage import alerts as stored
from storage.repository import project_id


def gather(db: Engine, project: str, *, limit: int, open_only: bool) -> list[dict[str, Any]]:
    pid = project_id(db, project)
    if pid is None:
        return []
    events = stored.list_events(db, pid, limit=limit, open_only=open_only)
    deliveries = stored.delivery_state(db, pid, {e.digest_id for e in events if e.digest_id is not None})
    return [{
        "id": event.id,
        "kind": event.key.kind,
        "keyword": event.keyword,
        "engine": event.key.engine_id,
        "subject": event.key.subject or None,
        "run": event.run_id,
        "opened_at": _iso(event.opened_at),
        "open": event.closed_at is None,
        "closed_at": _iso(event.closed_at),
        "details": event.details,
        "delivered": [{"channel": channel, "delivered": delivered, "error": error}
                      for channel, delivered, error in deliveries.get(event.digest_id, [])]
                     if event.digest_id is not None else None,
    } for event in events]


def render(events: list[dict[str, Any]]) -> str:
    if not events:
        return "no alert events"
    lines = []
    for event in events:
        where = " · ".join(part for part in (event["keyword"], event["engine"]) if part) or "all engines"
        state = "open" if event["open"] else f"closed {event['closed_at']}"
        what = event["details"].get("url") or event["details"].get("competitor") or ""
        sent = event["delivered"]
        delivery = ("not announced" if sent is None else "no channel" if not sent else
                    f"sent to {sum(d['delivered'] for d in sent)}/{len(sent)} channel(s)")
        lines.append(f"#{event['id']} {event['opened_at']} run {event['run']} {event['kind']} ({state}): {where}"
                     f"{' ' + what if what else ''}; {delivery}")
    return "\n".join(lines)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
