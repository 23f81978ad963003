"""The offline demo: a local simulator, a demo config and database, two weeks of back-dated batches, a report.

Needs no API key and no network: every engine points at the simulator on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import RunSummary, run_batch
from monitor.report import build_report, write_report
from probes.simulator import Simulator, demo_scenario
from storage.db import open_database

DEMO_DB = "citewatch-demo.db"
DEMO_KINDS = ("openai", "perplexity_agent", "gemini", "anthropic", "openai_compatible")

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
  - id: chatgpt
    kind: openai
    model: gpt-5-mini
    base_url: {openai}
    samples: 3
    concurrency: 8
    timeout: 20
    price: {{input_per_million: 0.25, output_per_million: 2.0}}
  - id: perplexity
    kind: perplexity_agent
    model: perplexity/sonar
    base_url: {perplexity_agent}
    samples: 3
    concurrency: 8
    timeout: 20
    price: {{per_call: 0.005, input_per_million: 0.25, output_per_million: 2.5}}
  - id: gemini
    kind: gemini
    model: gemini-2.5-flash
    base_url: {gemini}
    samples: 3
    concurrency: 8
    timeout: 20
    price: {{input_per_million: 0.30, output_per_million: 2.50}}
  - id: claude
    kind: anthropic
    model: claude-sonnet-4-5
    base_url: {anthropic}
    samples: 3
    concurrency: 8
    timeout: 20
    price: {{per_call: 0.01, input_per_million: 3.0, output_per_million: 15.0}}
  - id: deepseek
    kind: openai_compatible
    model: deepseek-chat
    base_url: {openai_compatible}
    samples: 3
    concurrency: 8
    timeout: 20
storage:
  url: sqlite:///{db}
"""


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


def run_demo(out: str | Path, today: date | None = None, seed: int = 7) -> DemoResult:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(DEMO_DB + "*"):  # start from an empty demo database
        stale.unlink()
    today = today or datetime.now(UTC).date()
    scenario = demo_scenario(seed)
    # the engines trust the brand differently, as real ones do
    scenario.engine_bias.update({"perplexity_agent": 0.1, "gemini": -0.1, "anthropic": 0.05, "openai_compatible": -0.2})
    runs = []
    with Simulator(scenario) as simulator:
        config_path = out / "config.yaml"
        urls = {kind: simulator.base_url_for(kind) for kind in DEMO_KINDS}
        config_path.write_text(DEMO_CONFIG.format(port=simulator.port, db=DEMO_DB, **urls), encoding="utf-8")
        config = load_config(config_path)
        db = open_database(config.storage.url)
        days = demo_days(today)
        for index, day in enumerate(days):
            scenario.day = day.isoformat()
            # the brand's content work pays off: it is cited more often in the second week
            scenario.brand_citation_rate = 0.35 if index < 7 else 0.55
            clock = fixed_clock(datetime.combine(day, time(6, 0), UTC))
            runs.append(asyncio.run(run_batch(config, db, clock)))
    year, week, _ = days[-1].isocalendar()
    entities = [e.name for e in config.entities]
    report = build_report(db, config.project_name, entities, year, week)
    files = write_report(report, out, config.report.language)
    db.dispose()
    return DemoResult(out, config_path, out / DEMO_DB, f"{year}-W{week:02d}", days[0], days[-1], runs, files)
