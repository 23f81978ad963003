"""What the alert rules (monitor.alerts.rules) read and say, shared with storage (storage.alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Pair = tuple[int, str]  # (keyword id, engine id)

CITATION_LOST = "citation_lost"
CITATION_GAINED = "citation_gained"
COMPETITOR_GAINED = "competitor_gained"
SHARE_OF_VOICE_DROP = "share_of_voice_drop"
INCLUSION_DROP = "inclusion_drop"
ENGINE_FAILING = "engine_failing"


@dataclass
class PairRun:
    """One keyword on one engine in one run where at least one sample succeeded: the tracked pages its
    successful samples cited, together (a page is absent from the run when every sample left it out)."""

    run_id: int
    observed_at: datetime
    cited: dict[int, dict[str, str]] = field(default_factory=dict)  # owner id -> normalized URL -> URL shown


@dataclass(frozen=True)
class EventKey:
    """What makes two events the same: an open event is not announced again."""

    kind: str
    keyword_id: int | None
    engine_id: str | None
    subject: str = ""  # the page's normalized URL, the competitor's name, or nothing


@dataclass
class Evaluation:
    """What the rules found in one run: events to open (with their details, and whether they stay open
    until a recovery) and the states they saw recovered (with what recovered them)."""

    opened: dict[EventKey, tuple[dict[str, Any], bool]] = field(default_factory=dict)
    recovered: dict[EventKey, dict[str, Any]] = field(default_factory=dict)

    def add(self, other: Evaluation) -> None:
        self.opened.update(other.opened)
        self.recovered.update(other.recovered)
