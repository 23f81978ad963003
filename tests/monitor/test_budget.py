"""Daily budgets are kept in the database: runs at once share one budget, and what is reserved for a probe
becomes what it cost once stored."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from citewatch.raw import RawResult
from monitor.budget import DailyBudget, Reservation
from monitor.config import EngineConfig, PriceConfig
from probes.simulator import Simulator, demo_scenario
from storage.db import open_database
from storage.models import EngineSpend, Observation
from storage.records import ObservationRecord
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
BUDGETED = """    concurrency: 1
    price: {per_call: 0.001}
    daily_budget: 0.005
"""


def test_runs_at_once_spend_one_budget_between_them(db_url: str, tmp_path: Path) -> None:
    with Simulator(demo_scenario(), latency=0.05) as sim:
        config = write_config(tmp_path / "c.yaml", sim.base_url, db_url, samples=10)
        text = config.read_text(encoding="utf-8").replace("    retries: 0\n", "    retries: 0\n" + BUDGETED)
        config.write_text(text, encoding="utf-8")
        open_database(db_url).dispose()  # the schema first: what is raced here is the budget
        runs = [subprocess.Popen([str(CONSOLE_SCRIPT), "run", "--config", str(config)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    db = open_database(db_url)
    with Session(db) as session:
        spent = session.execute(select(func.sum(Observation.cost))).scalar_one()
        probed = session.execute(select(func.count()).where(Observation.status != "skipped")).scalar_one()
        ledger = session.execute(select(EngineSpend.spent)).scalar_one()
    db.dispose()
    assert probed == 5 and round(spent, 6) == 0.005  # not 0.005 per run
    assert round(ledger, 6) == 0.005  # reservations became the costs stored


def test_the_expected_cost_learns_the_token_cost_of_answers() -> None:
    engine = EngineConfig(id="e", kind="openai", daily_budget=1.0,
                          price=PriceConfig(per_call=0.01, output_per_million=2.0))
    budget = DailyBudget(db=None, project_id=1)  # type: ignore[arg-type]
    assert budget.expected_cost(engine) == 0.01
    for cost in (0.011, 0.013):  # answers of 500 and 1,500 output tokens
        record = ObservationRecord(run_id=1, keyword="k", engine_id="e", engine_kind="openai", sample_index=0,
                                   observed_at=None, status="ok", raw=RawResult.single(b"{}"), cost=cost)  # type: ignore[arg-type]
        budget.settle(engine, record, Reservation(date(2026, 12, 5), 0.01))
        assert record.reserved == 0.01  # storage replaces this much of the day's spend by the cost
    assert round(budget.expected_cost(engine), 6) == 0.012

