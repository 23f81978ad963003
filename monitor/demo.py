"""The offline demo: a local simulator, a demo config and database, two weeks of back-dated batches, a report.

Needs no API key and no network: every engine points at the simulator on 127.0.0.1. The engines are
the registry's kinds whose simulator format says how the demo shows them (its `DEMO`).

The demo writes only into a folder that is empty or that holds what an earlier demo wrote, unchanged
(a manifest keeps the hash of every file it wrote), so it never overwrites a user's own config or
report; `force` lets it overwrite its own file names anyway, and it never deletes anything else.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from citewatch.errors import UsageError
from monitor.clock import fixed_clock
from monitor.config import Config, load_config
from monitor.output import prepare_folder, write_text
from monitor.pipeline import RunSummary, run_batch
from monitor.report.publish import publish_week
from probes.simulator import Simulator, demo_scenario
from probes.simulator.formats import FORMATS
from probes.simulator.scenario import DemoEngine, Scenario
from storage.db import SQLITE_SIDE_FILES, open_database

DEMO_DB = "citewatch-demo.db"
DB_FILES = (DEMO_DB, *(DEMO_DB + suffix for suffix in SQLITE_SIDE_FILES))
MANIFEST = ".citewatch-demo.json"
ENGINE = """\
  - id: {id}
    kind: {kind}
    model: {model}
    base_url: {base_url}
    samples: 3
    concurrency: 8
    timeout: 20
"""

DEMO_CONFIG = """\
# citewatch demo config, written by `citewatch demo`. Every engine points at the
# local simulator that the demo started on 127.0.0.1:{port}; it stopped when the demo
# ended, so `citewatch run` with this file records failed probes. Use it with
# `citewatch metrics` and `citewatch report`, or copy it as a start for your own.
project: Hengda Valve (demo)
brand:
  name: Hengda Valve
  aliases: [Hengda, 恒达阀门, 恒达, Hengda Valves]
  domains: [hengdavalve.com]
competitors:
  - name: Apex Flow Controls
    aliases: [Apex Flow, ApexFlow]
    domains: [apexflow.com]
  - name: NorthStar Valves
    aliases: [NorthStar, North Star Valves]
    domains: [northstarvalves.de]
keywords:
  - text: industrial ball valve manufacturer
    prompt: Which industrial ball valve manufacturers should I consider?
    tags: [ball-valve]
  - text: api 6d ball valve supplier china
    prompt: Who are reliable API 6D ball valve suppliers in China?
    tags: [ball-valve, export]
    weight: 2
  - text: stainless steel gate valve price
    tags: [gate-valve]
  - text: butterfly valve for water treatment
    prompt: How do I choose a butterfly valve for water treatment?
    tags: [butterfly-valve]
  - text: cryogenic valve brands
    prompt: What are the best cryogenic valve brands?
    tags: [cryogenic]
  - text: 球阀 制造商
    prompt: 有哪些值得信赖的工业球阀制造商？
    tags: [ball-valve, zh]
    locale: {{country: cn, language: zh}}
engines:
{engines}storage:
  url: sqlite:///{db}
"""

# (engine kind, prompt, brand page): one citation the brand loses in the second week (cited in every answer
# of the first, in none of the second) and one it gains (the reverse), for the report's lost and gained pages
LOST = ("perplexity_agent", "How do I choose a butterfly valve for water treatment?",
        "https://www.hengdavalve.com/blog/how-to-choose-a-butterfly-valve")
GAINED = ("openai", "What are the best cryogenic valve brands?",
          "https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf")


@dataclass
class DemoResult:
    out: Path
    config_path: Path
    database: Path
    week: str
    since: date
    until: date
    runs: list[RunSummary]
    report_files: list[Path]


def demo_days(today: date) -> list[date]:
    """The 14 days of the two full ISO weeks before the one containing `today`."""
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(days=14)
    return [first + timedelta(days=i) for i in range(14)]


def demo_engines() -> dict[str, DemoEngine]:
    """The kinds the demo shows, by kind name."""
    return {kind: wire.DEMO for kind, wire in FORMATS.items() if hasattr(wire, "DEMO")}


def engines_yaml(base_url_for: dict[str, str]) -> str:
    lines = []
    for kind, demo in demo_engines().items():
        lines.append(ENGINE.format(id=demo.engine_id, kind=kind, model=demo.model, base_url=base_url_for[kind]))
        if demo.price:
            price = ", ".join(f"{key}: {value:g}" for key, value in demo.price.items())
            lines.append(f"    price: {{{price}}}\n")
    return "".join(lines)


def _manifest(out: Path) -> dict[str, str] | None:
    """The files an earlier demo wrote into `out`, with their hashes; None where it wrote none."""
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if isinstance(files, dict) else None


def foreign_files(out: Path, manifest: dict[str, str] | None) -> list[str]:
    """What in `out` the demo did not write (per its `manifest`), or changed since it did (named for the
    user)."""
    foreign = []
    for entry in sorted(out.iterdir()):
        name = entry.name
        if manifest is not None and (name == MANIFEST or name in DB_FILES):
            continue
        if manifest is not None and name in manifest and entry.is_file() and _digest(entry) == manifest[name]:
            continue
        changed = manifest is not None and name in manifest
        foreign.append(f"{name} (changed since the demo wrote it)" if changed else name)
    return foreign


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(out: Path, files: list[Path]) -> None:
    """Write the manifest: the hash of every file the demo wrote, so a rerun knows them for its own."""
    manifest = {"written_by": "citewatch demo", "files": {path.name: _digest(path) for path in files}}
    write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")


async def _no_wait(seconds: float) -> None:
    """The demo's days are simulated: a retry's backoff need not pass in real time (the retry still runs)."""
    await asyncio.sleep(0)


HISTORY_WEEKS = 10  # weekly batches before the two daily weeks, so the report's 12-week charts have history


def _history(config: Config, db: Engine, scenario: Scenario, first_day: date, weeks: int) -> None:
    """One batch on the Wednesday of each of the `weeks` weeks before `first_day`: the brand cited a little
    more often week by week, the page it loses still cited."""
    for back in range(weeks, 0, -1):
        day = first_day - timedelta(weeks=back) + timedelta(days=2)
        scenario.day = day.isoformat()
        scenario.brand_citation_rate = 0.35 - 0.012 * back
        scenario.always_cited, scenario.never_cited = frozenset({LOST}), frozenset({GAINED})
        asyncio.run(run_batch(config, db, fixed_clock(datetime.combine(day, time(6, 0), UTC)), sleep=_no_wait))


def run_demo(out: str | Path, today: date | None = None, seed: int = 7, *, force: bool = False,
             history: int = HISTORY_WEEKS, pdf: bool = True) -> DemoResult:
    """Run the demo into `out`: `history` weekly batches, then the two daily weeks, then the last week's
    report (with report.pdf where `pdf` and Chromium is installed)."""
    out = prepare_folder(Path(out), "demo --out")
    manifest = _manifest(out)
    foreign = foreign_files(out, manifest)
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UsageError(f"demo --out {out}: the folder holds what the demo did not write ({shown}); "
                         "give an empty or new folder, or add --force to overwrite the demo's own file names "
                         "(config.yaml, report.*, citewatch-demo.db)")
    for name in DB_FILES:  # start from an empty demo database
        (out / name).unlink(missing_ok=True)
    today = today or datetime.now(UTC).date()
    scenario = demo_scenario(seed)
    # the engines trust the brand differently, as real ones do
    scenario.engine_bias.update({kind: demo.brand_bias for kind, demo in demo_engines().items()})
    # answers as real engines give them: more sources around the brand's, brand pages searched and not
    # cited, and a few calls failing as each service fails
    scenario.more_sources, scenario.brand_found_rate, scenario.failure_rate = True, 0.3, 0.06
    runs = []
    with Simulator(scenario) as simulator:
        config_path = out / "config.yaml"
        urls = {kind: simulator.base_url_for(kind) for kind in demo_engines()}
        write_text(config_path, DEMO_CONFIG.format(port=simulator.port, db=DEMO_DB, engines=engines_yaml(urls)))
        # the earlier demo's reports stay the demo's until these replace them (an interrupted demo
        # must not leave its own files looking foreign)
        earlier = [out / name for name in manifest or {} if name != config_path.name and (out / name).is_file()]
        _record(out, [config_path, *earlier])
        config = load_config(config_path)
        db = open_database(config.storage.url)
        days = demo_days(today)
        _history(config, db, scenario, days[0], history)
        for index, day in enumerate(days):
            scenario.day = day.isoformat()
            week_two = index >= 7
            # the brand's content work pays off: it is cited more often in the second week
            scenario.brand_citation_rate = 0.55 if week_two else 0.35
            scenario.always_cited = frozenset({GAINED if week_two else LOST})
            scenario.never_cited = frozenset({LOST if week_two else GAINED})
            clock = fixed_clock(datetime.combine(day, time(6, 0), UTC))
            runs.append(asyncio.run(run_batch(config, db, clock, sleep=_no_wait)))
    year, week, _ = days[-1].isocalendar()
    files = publish_week(config, db, year, week, out, pdf=pdf).files
    _record(out, [config_path, *files])
    db.dispose()
    return DemoResult(out, config_path, out / DEMO_DB, f"{year}-W{week:02d}", days[0], days[-1], runs, files)
