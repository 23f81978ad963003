"""The `citewatch` command: parses arguments, calls the library, turns errors into messages and exit codes.

Exit codes (README, "Exit codes"): 0 done (a batch with some failed probes is done), 1 unexpected
failure (a bug: the traceback is printed), 2 bad command-line input or config, 3 storage problem,
4 a batch ran but every probe in it failed, 5 another daemon holds the database, 6 `doctor` found a
problem, 7 `alerts test` could not reach a channel, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from citewatch.errors import (
    BatchFailed,
    CitewatchError,
    ConfigError,
    DaemonRunning,
    StorageError,
    UsageError,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.alerts.service import AlertOutcome
    from monitor.config import Config
    from monitor.pipeline import RunSummary

# Periods (and the one before them) must stay inside what Python's dates can hold.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
EXIT_CODES: dict[type[CitewatchError], int] = {UsageError: 2, ConfigError: 2, StorageError: 3, BatchFailed: 4,
                                               DaemonRunning: 5}
DOCTOR_FOUND_PROBLEMS = 6
CHANNEL_FAILED = 7

# rich_markup_mode=None: usage errors and help come out as click prints them, plain text a script can read
app = typer.Typer(help="citewatch: AI search visibility monitor.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
alerts_app = typer.Typer(help="Alert events, and a test message to every channel.", rich_markup_mode=None)
app.add_typer(alerts_app, name="alerts")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path to config.yaml.")]
SinceOption = Annotated[str, typer.Option(help="First day (UTC), inclusive, YYYY-MM-DD.")]
UntilOption = Annotated[str, typer.Option(help="Last day (UTC), inclusive, YYYY-MM-DD.")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"citewatch {version('citewatch')}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """citewatch: AI search visibility monitor."""


def _load(config_path: Path) -> Config:
    from monitor.config import load_config

    return load_config(config_path)


def _open(config: Config, *, read_only: bool = False) -> Engine:
    from storage.db import open_database

    return open_database(config.storage.url, read_only=read_only)


def _open_project(config: Config) -> Engine:
    """The database opened read-only, for a command that reads the config's project."""
    from storage import repository

    db = _open(config, read_only=True)
    projects = repository.project_names(db)
    if config.project_name not in projects:
        db.dispose()
        held = ", ".join(repr(name) for name in projects) or "no project yet"
        raise ConfigError(f"project {config.project_name!r} has nothing stored in this database ({held}); "
                          "check `project:` (or brand.name) in the config, or run `citewatch run` first")
    return db


@app.command("check-config")
def check_config(config: ConfigOption = Path("config.yaml")) -> None:
    """Validate a config file, its engine kinds, its storage URL and the API key variables it names (values
    never printed)."""
    from monitor.checks import config_notes, engine_lines
    from monitor.pipeline import check_runnable

    loaded = _load(config)
    check_runnable(loaded)
    for note in config_notes(loaded):
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"{config}: OK — project {loaded.project_name!r}, {len(loaded.keywords)} keywords, "
               f"{len(loaded.engines)} engines")
    for line in engine_lines(loaded):
        typer.echo(f"  {line}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = Path("config.yaml")) -> None:
    """Create the database or migrate it to the newest schema."""
    from storage.urls import redacted

    loaded = _load(config)
    _open(loaded).dispose()
    typer.echo(f"database at newest schema: {redacted(loaded.storage.url)}")


@db_app.command("compact")
def db_compact(config: ConfigOption = Path("config.yaml"),
               kind: Annotated[str | None, typer.Option(help="Only this engine kind.")] = None) -> None:
    """Train a zstd dictionary per engine kind on its stored payloads (a new version; older payloads stay
    readable) and recompress the kind's payloads and answer texts with it. Interrupted, it loses nothing;
    run again, it goes on where it stopped. The file shrinks after VACUUM (SQLite) or VACUUM FULL (PostgreSQL)."""
    from storage.payload_store import recompress_answers, recompress_payloads, train_payload_dictionaries

    db = _open(_load(config))
    for trained in train_payload_dictionaries(db, kind):
        if trained.dictionary_id is None:
            typer.echo(f"{trained.engine_kind}: {trained.sample_count} distinct payloads, too few to train on")
            continue
        done = recompress_payloads(db, trained.engine_kind, trained.dictionary_id)
        answers = recompress_answers(db, trained.engine_kind, trained.dictionary_id)
        typer.echo(f"{trained.engine_kind}: dictionary {trained.dictionary_id} from {trained.sample_count} payloads; "
                   f"{done.payloads} payloads recompressed, {done.bytes_before:,} -> {done.bytes_after:,} bytes; "
                   f"{answers.payloads} answers, {answers.bytes_before:,} -> {answers.bytes_after:,} bytes")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups(config: ConfigOption = Path("config.yaml")) -> None:
    """Count every stored observation again into the daily KPI rollups (they are kept up to date as
    observations are stored; this is for a database changed by hand, and to check them)."""
    from storage import rollups

    db = _open(_load(config))
    with db.begin() as connection:
        counted = rollups.rebuild(connection)
    typer.echo(f"rollups rebuilt from {counted} observations")


@app.command()
def run(config: ConfigOption = Path("config.yaml"),
        resume: Annotated[bool, typer.Option(
            "--resume", help="Finish the newest run, where it was interrupted: only the probes it had not "
                             "stored (exits 2 where it was not interrupted).")] = False) -> None:
    """Run one batch now: every keyword on every engine, `samples` times each. Exits 4 when every probe
    failed."""
    from monitor.pipeline import check_runnable, run_batch

    loaded = _load(config)
    check_runnable(loaded)  # before the database is made or touched
    db = _open(loaded)
    try:
        summary = asyncio.run(_stopped_by_sigterm(run_batch(loaded, db, progress=sys.stderr.isatty(),
                                                            resume=resume)))
    except KeyboardInterrupt:
        typer.echo("interrupted: the run is marked interrupted; what it stored is kept", err=True)
        raise
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items()))
    typer.echo(f"run {summary.run_id}{' resumed' if resume else ''}: {summary.stored}/{summary.planned} "
               f"observations stored ({statuses}); "
               f"{summary.failed} failed, {summary.skipped} skipped by budget; cost {summary.cost:.4f}")
    for engine_id, headline, reasons in summary.failures():
        typer.echo(f"  {engine_id}: {headline}; most common reasons:", err=True)
        for reason in reasons:
            typer.echo(f"    {reason}", err=True)
    if summary.alerts is not None:
        _print_alerts(summary.alerts)
    if summary.all_failed:
        raise BatchFailed(f"every probe of run {summary.run_id} failed: nothing was observed "
                          "(the reasons are above, and stored on each observation)")


async def _stopped_by_sigterm(batch: Coroutine[Any, Any, RunSummary]) -> RunSummary:
    """SIGTERM (a service manager, `kill`) stops a run as Ctrl-C does: the batch is cancelled at its next
    await, marks the run interrupted, and KeyboardInterrupt follows. Handled in the event loop, so it works
    where SIGINT is ignored (a process started in the background by a script) and never lands mid-write."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        main.cancel()  # type: ignore[union-attr]

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await batch
    except asyncio.CancelledError:
        if terminated:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


@app.command()
def daemon(config: ConfigOption = Path("config.yaml"),
           now: Annotated[bool, typer.Option("--now", help="Also run one batch right away.")] = False,
           standby: Annotated[bool, typer.Option(
               "--standby", help="Where another daemon holds the database, wait and take over when it stops.")]
           = False,
           log_format: Annotated[str, typer.Option(
               "--log-format", help="text, or json: one JSON object per line, with run_id and engine_id fields.")]
           = "text") -> None:
    """Run batches on the config's schedule (cron) until stopped (SIGTERM or Ctrl-C: a batch in flight
    finishes first). One daemon per database: a second one exits 5 naming the first, or with --standby
    waits for it."""
    import logging

    from monitor import logs
    from monitor.pipeline import check_runnable
    from monitor.scheduler import run_forever

    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format {log_format!r}: use text or json")
    logs.configure(json_lines=log_format == "json")
    loaded = _load(config)
    check_runnable(loaded)

    def reload() -> Config:
        again = _load(config)
        check_runnable(again)
        return again

    say = (logging.getLogger("citewatch.daemon").info if log_format == "json"  # every line a JSON object
           else lambda line: typer.echo(line, err=True))
    run_forever(loaded, _open(loaded), say=say, now=now, standby=standby, reload=reload)


@app.command()
def status(config: ConfigOption = Path("config.yaml"),
           format_: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """The newest run per engine (planned, stored, failures, last success), the next scheduled run, the
    daemon holding the database, and its size. Reads the database only."""
    from monitor import status as operations

    if format_ not in ("text", "json"):
        raise UsageError(f"--format {format_!r}: use text or json")
    loaded = _load(config)
    db = _open(loaded, read_only=True)
    gathered = operations.gather(loaded, db)
    typer.echo(json.dumps(gathered, ensure_ascii=False, indent=2) if format_ == "json"
               else operations.render(gathered))


@app.command()
def doctor(config: ConfigOption = Path("config.yaml"),
           probe: Annotated[bool, typer.Option(
               "--probe", help="Also send each enabled engine one real request (it costs what a probe costs).")]
           = False) -> None:
    """Check what an unattended daemon needs: the config, the API key variables, the database (reachable,
    migrated), the browser (it launches), each engine's freshness and, with --probe, each engine answering.
    Exits 6 when any check finds a problem."""
    from datetime import UTC, datetime

    from monitor.doctor import diagnose

    findings = diagnose(_load(config), datetime.now(UTC), probe=probe)
    for finding in findings:
        typer.echo(f"{'ok     ' if finding.ok else 'PROBLEM'} {finding.check}: {finding.detail}")
    problems = sum(not finding.ok for finding in findings)
    if problems:
        typer.echo(f"{problems} problem(s) found", err=True)
        raise typer.Exit(DOCTOR_FOUND_PROBLEMS)


def _print_alerts(outcome: AlertOutcome) -> None:
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(
        Counter(("recovered " if e.recovered else "") + e.key.kind for e in outcome.entries).items()))
    typer.echo(f"alerts: {kinds or 'nothing new'}" + (f"; {outcome.closed} recovered" if outcome.closed else ""))
    for channel, error in sorted(outcome.deliveries.items()):
        typer.echo(f"  {channel}: {'sent' if error is None else 'NOT SENT: ' + error}", err=error is not None)


@alerts_app.callback(invoke_without_command=True)
def alerts(ctx: typer.Context, config: ConfigOption = Path("config.yaml"),
           open_only: Annotated[bool, typer.Option("--open", help="Only events still open (not recovered).")]
           = False,
           limit: Annotated[int, typer.Option(help="How many of the newest events.", min=1)] = 50,
           format_: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """The alert events stored, newest first: what each rule found, when, whether it is still open, and
    whether its digest reached every channel."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.alerts import listing

    if format_ not in ("text", "json"):
        raise UsageError(f"--format {format_!r}: use text or json")
    loaded = _load(config)
    events = listing.gather(_open_project(loaded), loaded.project_name, limit=limit, open_only=open_only)
    typer.echo(json.dumps(events, ensure_ascii=False, indent=2) if format_ == "json" else listing.render(events))


@alerts_app.command("test")
def alerts_test(config: ConfigOption = Path("config.yaml")) -> None:
    """Send a test message to every channel in `alerts.channels` and say which failed (exits 7 if any)."""
    from monitor.alerts.deliver import channel_label, send
    from monitor.alerts.digest import test_message

    loaded = _load(config)
    if not loaded.alerts.channels:
        raise UsageError(f"{loaded.source}: alerts.channels is empty: nothing to test")
    title, body = test_message(loaded.project_name, loaded.alerts.lang)
    failed = 0
    for channel in loaded.alerts.channels:
        error = send(channel, title, body, attempts=1)
        failed += error is not None
        typer.echo(f"{'ok    ' if error is None else 'FAILED'} {channel_label(channel)}"
                   f"{'' if error is None else ': ' + error}")
    if failed:
        typer.echo(f"{failed} of {len(loaded.alerts.channels)} channel(s) failed", err=True)
        raise typer.Exit(CHANNEL_FAILED)


@app.command()
def reparse(
    config: ConfigOption = Path("config.yaml"),
    engine: Annotated[str | None, typer.Option(help="Only this engine id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-parse every stored payload, not only older parsers'.")]
    = False,
) -> None:
    """Re-parse stored raw payloads with the current parsers (history kept, figures refreshed)."""
    from monitor.reparse import reparse as reparse_stored

    loaded = _load(config)
    configured = {e.id for e in loaded.engines}
    if engine is not None and engine not in configured:
        known = sorted(configured | set(_stored_engine_ids(loaded)))
        if engine not in known:
            raise UsageError(f"--engine {engine!r}: no engine of that id in {config} or in the stored history; "
                             f"known: {', '.join(known) or 'none'}")
    summary = reparse_stored(loaded, _open(loaded), engine_id=engine, everything=all_)
    typer.echo(f"re-parsed {summary.reparsed} observation(s)")
    for (before, after), count in sorted(summary.status_changes.items()):
        typer.echo(f"  {count} changed status: {before} -> {after}")
    if summary.missing_payloads:
        typer.echo(f"  {summary.missing_payloads} raw payload(s) missing", err=True)


def _stored_engine_ids(config: Config) -> list[str]:
    """The engine ids of the project's history, read without making or migrating anything."""
    from storage import repository

    try:
        db = _open(config, read_only=True)
    except StorageError:
        return []  # no database yet (or not at this schema): no history to name
    try:
        return repository.stored_engine_ids(db, config.project_name)
    finally:
        db.dispose()


def _period_of(since: str, until: str, format_: str) -> tuple[date, date]:
    """The first and last day of a reading command's period, once its --format is checked."""
    if format_ not in ("table", "json", "csv"):
        raise UsageError(f"--format {format_!r}: expected table, json or csv")
    start, end = _parse_date(since, "--since"), _parse_date(until, "--until")
    if end < start:
        raise UsageError("--until is before --since")
    return start, end


def _parse_date(value: str, option: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a date such as 2026-11-23") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(f"{option} {value!r}: expected a date from {FIRST_DAY} to {LAST_DAY}")
    return day


@app.command()
def metrics(
    config: ConfigOption = Path("config.yaml"),
    since: SinceOption = ...,  # type: ignore[assignment]
    until: UntilOption = ...,  # type: ignore[assignment]
    format: Annotated[str, typer.Option("--format", help="table, json, or csv (the per-keyword table).")] = "table",
    engine: Annotated[list[str] | None, typer.Option("--engine", help="Only this engine id (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only keywords with this tag (repeatable).")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", help="Only this keyword (repeatable).")] = None,
) -> None:
    """KPIs per engine and overall for a period (DESIGN.md definitions), beside the period of the same length
    before it, with the change and whether it is beyond sampling noise. Reads the database only."""
    from monitor.metrics import period_metrics, select_keywords

    start, end = _period_of(since, until, format)
    loaded = _load(config)
    _check_filters(loaded, engine or [], tag or [], keyword or [])
    db = _open_project(loaded)
    keyword_ids = select_keywords(db, loaded.project_name, keyword or [], tag or [])
    result = period_metrics(db, loaded.project_name, start, end, engines=engine or [], keyword_ids=keyword_ids,
                            min_sample=loaded.metrics.min_sample)
    if format == "json":
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif format == "csv":
        from monitor.metrics import keyword_csv

        typer.echo(keyword_csv(result["keywords"]), nl=False)
    else:
        _print_table(result, loaded.brand.name)


def _check_filters(config: Config, engines: list[str], tags: list[str], keywords: list[str]) -> None:
    """A filter naming nothing in config is a typo: say so rather than print empty figures."""
    known = {
        "--engine": (engines, {e.id for e in config.engines}),
        "--tag": (tags, {t for k in config.keywords for t in k.tags}),
        "--keyword": (keywords, {k.text for k in config.keywords}),
    }
    for option, (given, names) in known.items():
        unknown = [name for name in given if name not in names]
        if unknown:
            raise UsageError(f"{option} {unknown[0]!r}: not in {config.source}; "
                             f"expected one of {', '.join(sorted(names)) or '(none)'}")


def _print_table(result: dict, brand: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.report.numbers import number, pct

    table = Table(title=f"{result['period']['project']} {result['period']['since']} – {result['period']['until']}")
    # for Google engines the answer rate is the AI Overview presence rate, and the organic columns read the
    # same results pages
    for column in ("engine", "successful", "coverage", "answer rate", "inclusion", "95% interval", "change",
                   "median pos", "top-3", f"mentions of {brand}", "organic rank", "organic top-10", "cost"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    changes = result["change"]
    for name, kpis in [*result["engines"].items(), ("overall", result["overall"])]:
        inclusion, organic = kpis["inclusion_rate"], kpis["organic_rank"]
        moved = (changes["overall"] if name == "overall" else changes["engines"].get(name, {})).get(
            "inclusion_rate")
        table.add_row(name, str(kpis["successful"]), pct(kpis["coverage"]), pct(kpis["answer_rate"]),
                      pct(inclusion) + (" *" if inclusion["low_sample"] else ""),
                      f"{pct(inclusion['low'])} – {pct(inclusion['high'])}", _moved(moved),
                      number(kpis["citation_position"]["median"]), pct(kpis["citation_position"]["top3_share"]),
                      pct(kpis["mention_rate"].get(brand)), number(organic["mean_best_rank"]),
                      pct(organic["top10_share"]), f"{kpis['cost']:.2f}")
    Console(width=200).print(table)
    typer.echo("* fewer observations than metrics.min_sample; change: points against the period before, "
               "! where beyond sampling noise (two-proportion z-test, 95%)")


def _moved(change: dict | None) -> str:
    if not change:
        return "–"
    return f"{change['absolute'] * 100:+.1f} pp" + (" !" if change.get("significant") else "")


@app.command()
def report(
    config: ConfigOption = Path("config.yaml"),
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W47.")] = ...,  # type: ignore[assignment]
    out: Annotated[Path, typer.Option(help="Folder for the report's files (made where missing).")] = Path("report"),
    lang: Annotated[str | None, typer.Option(help="Label language: en or zh-CN (default: config).")] = None,
    send: Annotated[bool, typer.Option("--send", help="Also send it to alerts.channels (the Markdown as the "
                                       "body, report.pdf or report.html attached); exits 7 if a channel "
                                       "failed.")] = False,
    pdf: Annotated[bool, typer.Option(help="Print report.pdf with Chromium where it is installed.")] = True,
) -> None:
    """Write the weekly visibility report (report.html, .md, .json, keywords.csv and report.pdf). Reads the
    database only."""
    from monitor.config import language_key
    from monitor.report import parse_iso_week
    from monitor.report.i18n import LANGUAGES
    from monitor.report.publish import publish_week

    year, week_number = parse_iso_week(week)
    loaded = _load(config)
    language = language_key(lang) if lang else loaded.report.language
    if language not in LANGUAGES:
        raise UsageError(f"--lang {lang!r}: expected en or zh-CN")
    if send and not loaded.alerts.channels:
        raise UsageError(f"--send: {config} has no alerts.channels to send the report to")
    published = publish_week(loaded, _open_project(loaded), year, week_number, out, language, pdf=pdf)
    overall = published.report["metrics"]["overall"]
    if overall["successful"] == 0:
        attempted = overall["failed"] + overall["skipped"]
        typer.echo(f"note: {published.report['week']} has no successful observation for {loaded.project_name!r} "
                   f"({attempted} stored, none successful): the report's rates are empty", err=True)
    for path in published.files:
        typer.echo(f"wrote {path}")
    if published.no_pdf:
        typer.echo(f"note: no report.pdf: {published.no_pdf}", err=True)
    if send:
        from monitor.report.delivery import send_report

        results = send_report(loaded, Path(out), published.report["week"], language)
        for label, error in results.items():
            typer.echo(f"{'sent  ' if error is None else 'FAILED'} {label}{'' if error is None else ': ' + error}")
        failed = sum(error is not None for error in results.values())
        if failed:
            typer.echo(f"{failed} of {len(results)} channel(s) failed", err=True)
            raise typer.Exit(CHANNEL_FAILED)


@app.command("ingest-logs")
def ingest_logs(
    paths: Annotated[list[Path], typer.Argument(help="Access logs (plain or .gz; a rotated set is read oldest "
                                                "first) or a GA4 export (.csv).", metavar="PATH...")],
    config: ConfigOption = Path("config.yaml"),
    format: Annotated[str | None, typer.Option("--format", help="The log format (default: traffic.format in "
                                               "the config, else detected per file).")] = None,
) -> None:
    """Count AI referral traffic and AI crawler hits from the site's own logs, as daily totals (no address
    is stored). A file already read is recognised by its content and not counted again; a grown one
    continues where it stopped."""
    from monitor.traffic.formats import FORMATS
    from monitor.traffic.ingest import iter_summaries
    from monitor.traffic.service import ingest_logs as ingest

    if format is not None and format != "auto" and format not in FORMATS:
        raise UsageError(f"--format {format!r}: expected auto or one of {', '.join(FORMATS)}")
    loaded = _load(config)
    db = _open(loaded)
    try:
        summaries = ingest(loaded, db, paths, format, show_progress=sys.stderr.isatty())
    finally:
        db.dispose()
    for line in iter_summaries(summaries):
        typer.echo(line)


@app.command()
def traffic(
    config: ConfigOption = Path("config.yaml"),
    since: SinceOption = ...,  # type: ignore[assignment]
    until: UntilOption = ...,  # type: ignore[assignment]
    format: Annotated[str, typer.Option("--format", help="table, json, or csv (visits by source and landing "
                                        "page).")] = "table",
) -> None:
    """AI referral visits by source and landing page, and AI crawler hits by bot and purpose, beside the
    period of the same length before it. Reads the database only."""
    from monitor.metrics import ai_referral_traffic
    from monitor.traffic.tables import traffic_csv, traffic_table

    start, end = _period_of(since, until, format)
    loaded = _load(config)
    db = _open(loaded, read_only=True)
    try:
        figures = ai_referral_traffic(db, loaded.project_name, start, end)
    finally:
        db.dispose()
    if format == "json":
        typer.echo(json.dumps(figures, ensure_ascii=False, indent=2))
    elif format == "csv":
        typer.echo(traffic_csv(figures), nl=False)
    else:
        typer.echo(traffic_table(figures), nl=False)


@app.command("update-bot-ranges")
def update_bot_ranges(
    file: Annotated[Path, typer.Argument(help="The operator's published ranges as downloaded (OpenAI's "
                                         "gptbot.json, Perplexity's perplexitybot.json, Google's "
                                         "googlebot.json) or a plain list of CIDRs.", metavar="FILE")],
    config: ConfigOption = Path("config.yaml"),
    bot: Annotated[str | None, typer.Option(help="The crawler's user-agent token, e.g. GPTBot (default: "
                                            "from the file's name).")] = None,
) -> None:
    """Replace one AI crawler's published address ranges, which tell a verified crawler from a spoofed one.
    Nothing is fetched: download the file from the operator first."""
    from datetime import UTC, datetime

    from monitor.traffic.service import update_bot_ranges as update

    loaded = _load(config)
    db = _open(loaded)
    try:
        token, count = update(loaded, db, file, bot, datetime.now(UTC))
    finally:
        db.dispose()
    typer.echo(f"{token}: {count} address ranges from {file}")


@app.command()
def serve(
    config: ConfigOption = Path("config.yaml"),
    host: Annotated[str, typer.Option(help="Address to listen on; beyond 127.0.0.1 a token is required.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8787,
    archive: Annotated[Path | None, typer.Option(help="Folder of weekly reports (one folder per ISO week, "
                                                 "e.g. 2026-W47/report.html) to serve.")] = None,
    token_env: Annotated[str | None, typer.Option(help="Environment variable holding the access token "
                                                  "(default CITEWATCH_SERVE_TOKEN); required beyond "
                                                  "loopback, checked on every request but /healthz.")] = None,
) -> None:
    """Serve, read-only: the latest metrics (HTML and /api/metrics), the report archive, every stored sample
    per keyword with its raw payload, and /healthz."""
    import os

    import uvicorn

    from monitor.web import make_app, serve_settings

    token = serve_settings(host, token_env, os.environ)  # before anything is opened: a refusal costs nothing
    loaded = _load(config)
    db = _open_project(loaded)
    try:
        typer.echo(f"serving {loaded.project_name!r} on http://{host}:{port}/"
                   + (" (token required)" if token else ""), err=True)
        uvicorn.run(make_app(loaded, db, archive, token), host=host, port=port, server_header=False,
                    proxy_headers=False, log_level="info")
    finally:
        db.dispose()


@app.command()
def demo(out: Annotated[Path, typer.Option(help="Folder for the demo config, database and report.")] = Path("demo"),
         force: Annotated[bool, typer.Option("--force", help="Write into a folder that holds other files, "
                                             "overwriting the demo's own file names.")] = False,
         ) -> None:
    """Offline demo: simulated engines on 127.0.0.1, two weeks of back-dated runs, and the weekly report.
    Refuses a folder holding anything it did not write, unless --force."""
    from monitor.demo import run_demo

    result = run_demo(out, force=force)
    stored = sum(r.stored for r in result.runs)
    typer.echo(f"demo: {len(result.runs)} runs, {stored} observations in {result.database}")
    for path in result.report_files:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: citewatch metrics --config {result.config_path} --since {result.since} --until {result.until}")
    report = next(path for path in result.report_files if path.name == "report.html")
    typer.echo(f"the report: {report.resolve()}")


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="A saved raw payload (the response body).", metavar="FILE")],
    kind: Annotated[str | None, typer.Option(help="Engine kind that produced the payload, e.g. openai "
                                             "(default: detected from the payload).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Resolve owners and mentions.")] = None,
) -> None:
    """Print the Answer parsed from a saved raw payload (a whole, non-streamed response body), as JSON."""
    from monitor.payloads import parse_payload

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror or exc}") from None
    answer = parse_payload(raw, kind, _load(config) if config else None, str(file))
    if kind is None:
        typer.echo(f"{file}: detected kind {answer['kind']}", err=True)
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def exit_code(error: CitewatchError) -> int:
    """The exit code of an error that reaches the command line; 1 for one no code is defined for."""
    return next((EXIT_CODES[cls] for cls in type(error).__mro__ if cls in EXIT_CODES), 1)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script. Click reports usage errors itself (exit 2); citewatch's own errors are
    printed here as one message with their exit code, never as a traceback."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="citewatch")
    except CitewatchError as exc:
        code = exit_code(exc)
        if code == 1:
            raise  # not a user's mistake: one that reaches here unmapped is a bug, shown with its traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(code)
