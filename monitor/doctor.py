"""`citewatch doctor`: every check an operator would make by hand before trusting an unattended daemon.

The config, the API key variables, the database (reachable, at this version's schema), the browser (it
launches), each engine's freshness (its last successful answer no older than its schedule allows) and, on
request, each engine answering one real request. Each check is a Finding; any problem makes the command
exit non-zero.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from citewatch.errors import CitewatchError
from monitor.config import Config, channel_url, channel_variables, missing_api_keys
from monitor.heartbeat import heartbeat_url
from monitor.pipeline import browser_options, make_probe, probe_request
from monitor.scheduler import schedule_period
from storage import repository
from storage.db import check_schema, make_engine, shown

# an engine is stale when its last success is older than two scheduled periods and this much more
STALE_GRACE = timedelta(hours=1)
BROWSER_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def diagnose(config: Config, now: datetime, *, probe: bool = False) -> list[Finding]:
    findings = [Finding("config", True, f"{config.source}: project {config.project_name!r}, "
                                        f"{len(config.keywords)} keywords, {len(config.engines)} engines")]
    missing = missing_api_keys(config)
    findings.append(Finding("api keys", not missing, "; ".join(missing) or "every key variable named is set"))
    if config.health.heartbeat_url_env:
        is_set = heartbeat_url(config) is not None
        findings.append(Finding("heartbeat", is_set, f"{config.health.heartbeat_url_env} is "
                                                      f"{'set' if is_set else 'not set: no heartbeat is sent'}"))
    findings.extend(_alert_channels(config))
    findings.extend(_database(config, now))
    findings.extend(_browsers(config))
    if probe:
        findings.extend(asyncio.run(_engines_answer(config)))
    return findings


def _alert_channels(config: Config) -> list[Finding]:
    """Each alert channel's variables set and its URL one Apprise can send to (nothing is sent: that is
    `citewatch alerts test`)."""
    import apprise

    from monitor.alerts.deliver import channel_label

    findings = []
    for channel in config.alerts.channels:
        url = channel_url(channel)
        if url is None:
            detail = f"{', '.join(channel_variables(channel))} not set"
        else:
            detail = "Apprise can send to it" if apprise.Apprise().add(url) else "Apprise does not recognise the URL"
        findings.append(Finding(f"alert channel {channel_label(channel)}", detail == "Apprise can send to it", detail))
    return findings


def _database(config: Config, now: datetime) -> list[Finding]:
    try:
        db = make_engine(config.storage.url, read_only=True)
    except CitewatchError as exc:
        return [Finding("database", False, str(exc))]
    try:
        check_schema(db)
        findings = [Finding("database", True, f"{shown(db)}: reachable, at this version's schema, "
                                              f"{repository.database_size(db):,} bytes")]
        return findings + freshness(config, db, now)
    except CitewatchError as exc:
        return [Finding("database", False, str(exc))]
    finally:
        db.dispose()


def freshness(config: Config, db, now: datetime) -> list[Finding]:  # type: ignore[no-untyped-def]
    """Per enabled engine: its last successful answer, against two periods of its schedule."""
    enabled = [e.id for e in config.engines if e.enabled]
    run = repository.newest_run_status(db, config.project_name, enabled)
    if run is None:
        return [Finding("freshness", True, "no run yet")]
    last = {engine.engine_id: engine.last_success for engine in run.engines}
    findings = []
    for engine_id in enabled:
        success = last.get(engine_id)
        if success is None:
            findings.append(Finding(f"freshness {engine_id}", False, "no successful answer yet"))
            continue
        allowed = 2 * schedule_period(config, now, engine_id) + STALE_GRACE
        age = now - success
        findings.append(Finding(f"freshness {engine_id}", age <= allowed,
                                f"last successful answer {success.isoformat(timespec='minutes')}, "
                                f"{_hours(age)} ago (the schedule allows {_hours(allowed)})"))
    return findings


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"


def _browsers(config: Config) -> list[Finding]:
    options = {o.executable: o for o in (browser_options(e) for e in config.engines if e.enabled) if o}
    return [asyncio.run(_launch(executable)) for executable in options]


async def _launch(executable: str) -> Finding:
    from playwright.async_api import async_playwright

    from citewatch.browser import LAUNCH_ARGS

    try:
        async with async_playwright() as playwright:
            browser = await asyncio.wait_for(playwright.chromium.launch(
                executable_path=executable, args=LAUNCH_ARGS, headless=True), BROWSER_TIMEOUT_S)
            version = browser.version
            await browser.close()
    except Exception as exc:  # noqa: BLE001 - any launch failure is the finding
        return Finding(f"browser {executable}", False, f"does not launch: {type(exc).__name__}: {exc}")
    return Finding(f"browser {executable}", True, f"launches (version {version})")


async def _engines_answer(config: Config) -> list[Finding]:
    """One real request per enabled engine, with the first keyword (this costs what one probe costs)."""
    keyword = config.keywords[0]
    findings = []
    for engine in (e for e in config.engines if e.enabled):
        probe = make_probe(engine)
        try:
            raw = await probe.fetch(probe_request(keyword))
            findings.append(Finding(f"engine {engine.id}", True, f"answered {keyword.text!r} "
                                    f"({sum(len(part.data) for part in raw.parts):,} bytes)"))
        except Exception as exc:  # noqa: BLE001 - any failure of the request is the finding
            findings.append(Finding(f"engine {engine.id}", False, f"{type(exc).__name__}: {exc}"))
        finally:
            await probe.aclose()
    return findings
