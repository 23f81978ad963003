"""Re-parse stored raw payloads with the current parsers (after a parser fix or a layout change).

Each observation is rewritten in its own transaction: its text, status,
citations, mentions and organic results come from the new parse; when it was
made, its latency and its cost stay as recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from citewatch.status import ERROR
from monitor.clock import Clock, system_clock
from monitor.config import Config, configured_secrets
from monitor.enrich import Tracking
from monitor.pipeline import apply_payload, sync_config
from probes import registry
from storage import repository
from storage.records import ObservationRecord


@dataclass
class ReparseSummary:
    reparsed: int = 0
    missing_payloads: int = 0
    status_changes: Counter[tuple[str, str]] = field(default_factory=Counter)


def reparse(config: Config, db: Engine, *, engine_id: str | None = None, everything: bool = False,
            clock: Clock = system_clock) -> ReparseSummary:
    """Re-parse observations whose parser is older than the current one (all of them with `everything`)."""
    tracking = Tracking.from_config(config)
    secrets = configured_secrets(config)
    ids = sync_config(config, db, clock, tracking)
    versions = {name: registry.kind(name).parser_version for name in registry.available_names()}
    summary = ReparseSummary()
    for stored in repository.payloads_to_reparse(db, config.project_name, versions, engine_id, everything):
        raw = repository.load_raw_result(db, stored.observation_id, stored.raw_hash)
        if raw is None:
            summary.missing_payloads += 1
            continue
        record = ObservationRecord(run_id=0, keyword=stored.keyword, engine_id=stored.engine_id,
                                   engine_kind=stored.engine_kind, sample_index=0, observed_at=clock(),
                                   status=ERROR)
        apply_payload(record, raw, stored.engine_kind, tracking, secrets)
        before = repository.replace_parsed(db, ids, stored.observation_id, record)
        summary.reparsed += 1
        if before != record.status:
            summary.status_changes[(before, record.status)] += 1
    return summary
