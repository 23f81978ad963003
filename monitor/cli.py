"""The `citewatch` command: parses arguments, calls the library, turns errors into messages and exit codes.

Exit codes: 0 done (a batch with failed probes is still done), 1 unexpected
failure, 2 bad config or arguments, 3 storage problem.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from monitor.errors import CitewatchError, UsageError

app = typer.Typer(help="citewatch: AI search visibility monitor.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path to config.yaml.")]


def _load(config_path: Path):  # type: ignore[no-untyped-def]
    from monitor.config import load_config

    return load_config(config_path)


def _open(config):  # type: ignore[no-untyped-def]
    from storage.db import open_database

    return open_database(config.storage.url)


@app.command("check-config")
def check_config(config: ConfigOption = Path("config.yaml")) -> None:
    """Validate a config file, its engine kinds and the API key variables it names (values never printed)."""
    from monitor.pipeline import check_runnable, keyless_engines

    loaded = _load(config)
    check_runnable(loaded)
    for engine_id in keyless_engines(loaded):
        typer.echo(f"note: engines[{engine_id}] names no api_key_env: requests go without a key "
                   f"(right for a local simulator or a keyless gateway)", err=True)
    typer.echo(f"{config}: OK — project {loaded.project_name!r}, {len(loaded.keywords)} keywords, "
               f"{len(loaded.engines)} engines")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = Path("config.yaml")) -> None:
    """Create the database or migrate it to the newest schema."""
    loaded = _load(config)
    _open(loaded)
    from storage.db import normalize_url

    typer.echo(f"database at newest schema: {_redact(normalize_url(loaded.storage.url))}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def run(config: ConfigOption = Path("config.yaml")) -> None:
    """Run one batch now: every keyword on every engine, `samples` times each."""
    from monitor.pipeline import run_batch

    loaded = _load(config)
    db = _open(loaded)
    summary = asyncio.run(run_batch(loaded, db, progress=sys.stderr.isatty()))
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items()))
    typer.echo(f"run {summary.run_id}: {summary.stored}/{summary.planned} observations stored ({statuses}); "
               f"{summary.failed} failed, {summary.skipped} skipped by budget; cost {summary.cost:.4f}")
    for engine_id, failures in sorted(summary.failures_by_engine.items()):
        typer.echo(f"  {engine_id}: {failures} failed probe(s) — see `citewatch metrics` coverage", err=True)


@app.command()
def daemon(config: ConfigOption = Path("config.yaml")) -> None:
    """Run batches on the config's schedule (cron) until stopped."""
    import logging

    from monitor.pipeline import check_runnable
    from monitor.scheduler import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpx2", "httpcore", "httpcore2", "openai"):
        logging.getLogger(chatty).setLevel(logging.WARNING)  # they log full request URLs
    loaded = _load(config)
    check_runnable(loaded)
    run_forever(loaded, _open(loaded))


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
    summary = reparse_stored(loaded, _open(loaded), engine_id=engine, everything=all_)
    typer.echo(f"re-parsed {summary.reparsed} observation(s)")
    for (before, after), count in sorted(summary.status_changes.items()):
        typer.echo(f"  {count} changed status: {before} -> {after}")
    if summary.missing_payloads:
        typer.echo(f"  {summary.missing_payloads} raw payload(s) missing", err=True)


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a date such as 2026-11-23") from None


@app.command()
def metrics(
    config: ConfigOption = Path("config.yaml"),
    since: Annotated[str, typer.Option(help="First day (UTC), inclusive, YYYY-MM-DD.")] = ...,  # type: ignore[assignment]
    until: Annotated[str, typer.Option(help="Last day (UTC), inclusive, YYYY-MM-DD.")] = ...,  # type: ignore[assignment]
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """KPIs per engine and overall for a period (DESIGN.md definitions)."""
    from monitor.metrics import period_metrics

    if format not in ("table", "json"):
        raise UsageError(f"--format {format!r}: expected table or json")
    start, end = _parse_date(since, "--since"), _parse_date(until, "--until")
    if end < start:
        raise UsageError("--until is before --since")
    loaded = _load(config)
    result = period_metrics(_open(loaded), loaded.project_name, [e.name for e in loaded.entities], start, end)
    if format == "json":
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_table(result, loaded.brand.name)


def _print_table(result: dict, brand: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.report.render import number, pct

    table = Table(title=f"{result['period']['project']} {result['period']['since']} – {result['period']['until']}")
    for column in ("engine", "successful", "coverage", "answer rate", "inclusion", "95% interval", "median pos",
                   "top-3", f"mentions of {brand}", "cost"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for name, kpis in [*result["engines"].items(), ("overall", result["overall"])]:
        inclusion = kpis["inclusion_rate"]
        table.add_row(name, str(kpis["successful"]), pct(kpis["coverage"]), pct(kpis["answer_rate"]),
                      pct(inclusion["value"]), f"{pct(inclusion['low'])} – {pct(inclusion['high'])}",
                      number(kpis["citation_position"]["median"]), pct(kpis["citation_position"]["top3_share"]),
                      pct(kpis["mention_rate"][brand]), f"{kpis['cost']:.2f}")
    Console(width=160).print(table)


@app.command()
def report(
    config: ConfigOption = Path("config.yaml"),
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W47.")] = ...,  # type: ignore[assignment]
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.md and report.json.")] = Path("report"),
    lang: Annotated[str | None, typer.Option(help="Label language: en or zh (default: config).")] = None,
) -> None:
    """Write the weekly visibility report."""
    from monitor.report import build_report, parse_iso_week, write_report
    from monitor.report.i18n import LANGUAGES

    year, week_number = parse_iso_week(week)
    loaded = _load(config)
    language = lang or loaded.report.language
    if language not in LANGUAGES:
        raise UsageError(f"--lang {language!r}: expected one of {', '.join(LANGUAGES)}")
    data = build_report(_open(loaded), loaded.project_name, [e.name for e in loaded.entities], year, week_number)
    for path in write_report(data, out, language):
        typer.echo(f"wrote {path}")


@app.command()
def demo(out: Annotated[Path, typer.Option(help="Folder for the demo config, database and report.")] = Path("demo"),
         ) -> None:
    """Offline demo: simulated engines on 127.0.0.1, two weeks of back-dated runs, and the weekly report."""
    from monitor.demo import run_demo

    result = run_demo(out)
    stored = sum(r.stored for r in result.runs)
    typer.echo(f"demo: {len(result.runs)} runs, {stored} observations in {result.database}")
    for path in result.report_files:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: citewatch metrics --config {result.config_path} --since {result.since} --until {result.until}")


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="A saved raw payload (the response body).", metavar="FILE")],
    kind: Annotated[str, typer.Option(help="Engine kind that produced the payload, e.g. openai.")] = "openai",
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Resolve owners and mentions.")] = None,
) -> None:
    """Print the Answer parsed from a saved raw payload, as JSON."""
    from monitor.payloads import parse_payload

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror or exc}") from None
    typer.echo(json.dumps(parse_payload(raw, kind, _load(config) if config else None, str(file)),
                          ensure_ascii=False, indent=2))


def main() -> None:
    try:
        app(standalone_mode=False)
    except CitewatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Exit, typer.Abort) as exc:
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise

