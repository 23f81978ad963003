"""After every finished run (the daemon's or `citewatch run`'s): evaluate the alert rules, store what they
found, and send one digest to every channel. Joins storage, the pure rules and Apprise.

An event is stored before anything is sent, so a channel that fails loses nothing: its delivery is tried
again at the end of later runs (storage.alerts.DELIVERY_ROUNDS in all). Nothing here stops a run or the
daemon: a failure is logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from citewatch.alerts import (
    CITATION_GAINED,
    CITATION_LOST,
    COMPETITOR_GAINED,
    ENGINE_FAILING,
    INCLUSION_DROP,
    SHARE_OF_VOICE_DROP,
    Evaluation,
    EventKey,
    Pair,
)
from citewatch.errors import CitewatchError
from monitor import kpis
from monitor.alerts import rules
from monitor.alerts.deliver import channel_label, send
from monitor.alerts.digest import Entry, render_digest
from monitor.config import AlertRuleConfig, Config
from monitor.metrics import engine_changes
from storage import alerts as stored
from storage.records import ProjectIds

log = logging.getLogger("citewatch.alerts")
# a keyword's runs read beyond `confirm_runs`: a page lost while alerts were off or a run was not
# evaluated is still found
EXTRA_RUNS = 3


@dataclass
class AlertOutcome:
    """What one evaluation found and how its delivery went."""

    entries: list[Entry] = field(default_factory=list)  # announced by this run's digest
    closed: int = 0  # open events this run saw recovered
    deliveries: dict[str, str | None] = field(default_factory=dict)  # channel label -> error (None: sent)


def after_run(config: Config, db: Engine, ids: ProjectIds, run_id: int, now: datetime,
              sleep: Callable[[float], None] = time.sleep) -> AlertOutcome:
    """Evaluate the rules on the finished run `run_id`, store the events, send the digest (and any earlier
    one a channel has not received)."""
    outcome = AlertOutcome()
    try:
        if config.alerts.rules:
            outcome = _store(config, db, ids, run_id, now, evaluate(config, db, ids, run_id, now))
    finally:  # earlier digests are still sent when this run's evaluation failed
        _deliver_pending(config, db, ids.project_id, now, sleep, outcome)
    return outcome


def evaluate(config: Config, db: Engine, ids: ProjectIds, run_id: int, now: datetime) -> Evaluation:
    """Every configured rule on the run, merged."""
    brand_id = _brand_id(config, ids)
    competitors = {entity_id: name for name, entity_id in ids.entity_ids.items() if entity_id != brand_id}
    coverage = stored.run_coverage(db, run_id)
    history: dict[Pair, list[Any]] = {}
    history_rules = [rule for rule in config.alerts.rules if rule.kind in rules.HISTORY_KINDS]
    if history_rules:
        deepest = max(rule.confirm_runs for rule in history_rules) + EXTRA_RUNS
        history = stored.pair_history(db, stored.recent_engine_runs(db, ids.project_id, run_id, coverage, deepest))
    found = Evaluation()
    for index, rule in enumerate(config.alerts.rules):
        try:
            if rule.kind == CITATION_LOST:
                result = rules.lost_citations(history, run_id, brand_id, rule.confirm_runs)
            elif rule.kind == CITATION_GAINED:
                result = rules.gained_citations(history, run_id, brand_id, rule.confirm_runs)
            elif rule.kind == COMPETITOR_GAINED:
                result = rules.gained_competitors(history, run_id, brand_id, competitors, rule.confirm_runs)
            elif rule.kind == ENGINE_FAILING:
                result = rules.failing_engines(coverage, rule.min_coverage)
            else:
                result = _drops(config, db, rule, sorted(coverage), now)
        except Exception as exc:  # noqa: BLE001 (one rule failing leaves the others' findings)
            log.error("alerts.rules[%s] (%s) could not be evaluated: %s: %s", index, rule.kind, type(exc).__name__,
                      exc, exc_info=not isinstance(exc, CitewatchError), extra={"run_id": run_id})
            continue
        found.add(rules.only_engines(result, rule.engines))
    return rules.settled(found)


def _drops(config: Config, db: Engine, rule: AlertRuleConfig, engines: list[str], now: datetime) -> Evaluation:
    until = now.date()
    current, before, change = engine_changes(db, config.project_name, until - timedelta(days=rule.window_days - 1),
                                             until, min_sample=config.metrics.min_sample)

    def rate(kpis_of: dict[str, Any]) -> Any:
        if rule.kind == INCLUSION_DROP:
            return kpis_of.get("inclusion_rate")
        return kpis_of.get("share_of_voice", {}).get("citations", {}).get(config.brand.name)

    scopes = {engine_id: (rate(current["engines"].get(engine_id, {})), rate(before["engines"].get(engine_id, {})),
                          rate(change["engines"].get(engine_id) or {}))
              for engine_id in engines}
    scopes[None] = (rate(current["overall"]), rate(before["overall"]), rate(change["overall"] or {}))
    kind = INCLUSION_DROP if rule.kind == INCLUSION_DROP else SHARE_OF_VOICE_DROP
    return rules.rate_drops(kind, scopes, rule.drop_points, rule.window_days, kpis.CHANGE_TEST)


def _store(config: Config, db: Engine, ids: ProjectIds, run_id: int, now: datetime, found: Evaluation
           ) -> AlertOutcome:
    """The new events (not open already, not stored by an earlier evaluation of this run) and the closing of
    recovered ones, with the run's digest, in one transaction."""
    open_now = stored.open_events(db, ids.project_id)
    already = stored.events_of_run(db, ids.project_id, run_id)
    opened = {key: value for key, value in found.opened.items() if key not in open_now and key not in already}
    closing = {key: details for key, details in found.recovered.items() if key in open_now}
    # a keyword or engine gone from the config cannot recover: its open events are closed, unannounced
    keywords_now, engines_now = set(ids.keyword_ids.values()), {e.id for e in config.engines if e.enabled}
    gone = [event_id for key, event_id in open_now.items()
            if (key.keyword_id is not None and key.keyword_id not in keywords_now)
            or (key.engine_id is not None and key.engine_id not in engines_now)]
    _add_cited_instead(config, db, run_id, ids, opened)
    keywords = stored.keyword_texts(db, {key.keyword_id for key in opened if key.keyword_id is not None})
    entries = [Entry(key, details, keywords.get(key.keyword_id)) for key, (details, _) in opened.items()]
    entries += [Entry(key, details, None, recovered=True) for key, details in closing.items()
                if key.kind == ENGINE_FAILING]  # a health state's end is news; a citation back is a gain
    channels = [channel_label(channel) for channel in config.alerts.channels]
    with db.begin() as connection:
        event_ids = stored.store_events(connection, ids.project_id, run_id, now, opened,
                                        [open_now[key] for key in closing] + gone)
        if entries:
            title, body = render_digest(config.project_name, config.brand.name, run_id, entries, config.alerts.lang)
            stored.store_digest(connection, ids.project_id, run_id, now, config.alerts.lang, title, body, event_ids,
                                channels)
    for entry in entries:
        log.info("alert %s%s: %s %s %s", entry.key.kind, " recovered" if entry.recovered else "",
                 entry.keyword or "", entry.key.engine_id or "", entry.details.get("url", ""),
                 extra={"run_id": run_id, "engine_id": entry.key.engine_id})
    return AlertOutcome(entries, len(closing))


def _brand_id(config: Config, ids: ProjectIds) -> int:
    return ids.entity_ids[ids.brand or config.brand.name]


def _add_cited_instead(config: Config, db: Engine, run_id: int, ids: ProjectIds,
                       opened: dict[EventKey, tuple[dict[str, Any], bool]]) -> None:
    pairs = {(key.keyword_id, key.engine_id) for key in opened
             if key.kind in (CITATION_LOST, COMPETITOR_GAINED) and key.keyword_id is not None}
    instead = stored.cited_domains(db, run_id, pairs, exclude_owner=_brand_id(config, ids))  # type: ignore[arg-type]
    for key, (details, _) in opened.items():
        if key.kind in (CITATION_LOST, COMPETITOR_GAINED):
            details["instead"] = instead.get((key.keyword_id, key.engine_id), [])  # type: ignore[arg-type]


def _deliver_pending(config: Config, db: Engine, project_id: int, now: datetime, sleep: Callable[[float], None],
                     outcome: AlertOutcome) -> None:
    """Send every digest some configured channel has not received (this run's, and earlier ones')."""
    by_label = {channel_label(channel): channel for channel in config.alerts.channels}
    failing: set[str] = set()
    for pending in stored.pending_deliveries(db, project_id):
        channel = by_label.get(pending.channel)
        if channel is None or pending.channel in failing:  # no longer configured, or down: left for later
            continue
        error = send(channel, pending.title, pending.body, config.alerts.attempts, sleep)
        stored.record_delivery(db, pending.digest_id, pending.channel, now, error)
        outcome.deliveries[pending.channel] = error
        if error is None:
            log.info("alert digest %s sent to %s", pending.digest_id, pending.channel)
        else:
            failing.add(pending.channel)
            later = ("tried again after the next run" if pending.attempts + 1 < stored.DELIVERY_ROUNDS
                     else "the last round: given up")
            log.warning("alert digest %s not delivered to %s (round %s of %s; %s): %s", pending.digest_id,
                        pending.channel, pending.attempts + 1, stored.DELIVERY_ROUNDS, later, error)
