"""The traffic commands' work, between the CLI and storage: `ingest-logs` and `update-bot-ranges` (`traffic`
reads `monitor.metrics.ai_referral_traffic`, which metrics and the report share)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from citewatch.errors import UsageError
from monitor.clock import Clock, system_clock
from monitor.config import Config
from monitor.traffic.classify import Classifier, load_bot_ranges
from monitor.traffic.ingest import FileSummary, Ingest, ParserChoice
from storage import repository, traffic

# an operator's downloadable file -> the ai.robots.txt token its ranges are for (where --bot is not given)
RANGE_FILES = {
    "gptbot.json": "GPTBot",
    "searchbot.json": "OAI-SearchBot",
    "chatgpt-user.json": "ChatGPT-User",
    "perplexitybot.json": "PerplexityBot",
    "perplexity-user.json": "Perplexity-User",
}


def classifier_options(config: Config, db: Engine) -> dict[str, Any]:
    """The `Classifier` arguments: the packaged lists with the config's additions; ranges loaded by
    update-bot-ranges replace the packaged ones bot by bot."""
    settings = config.traffic
    stored = traffic.stored_bot_ranges(db)
    return dict(referrers=dict(settings.referrers), bots=dict(settings.bots),
                bot_ranges={"ranges": stored} if stored else None, page_extensions=list(settings.page_extensions))


def ingest_logs(config: Config, db: Engine, paths: Sequence[Path], format_name: str | None = None,
                clock: Clock = system_clock, show_progress: bool = False) -> list[FileSummary]:
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: not a file")
    # a project not stored yet (logs read before the first run) is created; `run` syncs the rest of it
    project_id = repository.project_id(db, config.project_name) or repository.sync_project(
        db, config.project_name, [], [], clock()).project_id
    options = config.traffic.parser_options() if format_name in (None, config.traffic.format) else {}
    choice = ParserChoice(format_name or config.traffic.format, options)
    with _progress(show_progress) as advance:
        return Ingest(db, project_id, classifier_options(config, db), choice, clock, advance).files(paths)


@contextlib.contextmanager
def _progress(show: bool) -> Iterator[Callable[[Path, int, int], None] | None]:
    """A progress bar per file on a terminal (rich, gone when done); elsewhere nothing."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        tasks: dict[Path, Any] = {}

        def advance(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(path.name, total=total)
            bar.update(tasks[path], completed=done)

        yield advance


def update_bot_ranges(config: Config, db: Engine, file: Path, bot: str | None, now: datetime) -> tuple[str, int]:
    """Load an operator's published ranges for one bot from a file the user downloaded."""
    token = bot or RANGE_FILES.get(file.name.lower())
    if token is None:
        raise UsageError(f"{file}: cannot tell which bot these ranges are for; name it with --bot "
                         f"(e.g. --bot GPTBot); files known by name: {', '.join(sorted(RANGE_FILES))}")
    known = Classifier(**classifier_options(config, db)).bots
    if token not in known:
        raise UsageError(f"--bot {token!r}: not a known AI crawler token; expected one of "
                         f"{', '.join(sorted(known))} (or add it under traffic.bots in the config)")
    try:
        networks = load_bot_ranges(file, token)
    except OSError as exc:
        raise UsageError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{file}: {exc}") from None
    if not networks:
        raise UsageError(f"{file}: no address range found; nothing changed")
    return token, traffic.replace_bot_ranges(db, token, networks, file.name, now)
