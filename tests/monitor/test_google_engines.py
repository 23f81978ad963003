"""A Google engine end to end: SerpApi (simulated on 127.0.0.1, deferred overviews included) through run,
storage of multi-part raw results, reparse of that history, and the KPIs that become possible."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from citewatch.raw import RawResult
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.metrics import period_metrics
from monitor.pipeline import run_batch
from monitor.reparse import reparse
from probes import registry
from probes.simulator import Simulator
from storage import repository
from storage.db import open_database
from storage.models import Citation, Observation, ObservationFeature, ObservationPart, OrganicResult
from tests.conftest import CONFIG_TEMPLATE

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
KEY_VARIABLE = "CITEWATCH_SERPAPI_TEST_KEY"
KEY = "serpapi-test-key-0123456789"


def google_config(path: Path, sim: Simulator, storage: str) -> Path:
    """The test config with one SerpApi engine instead of the assistant, and more keywords (so that some
    overviews are deferred and some pages have none)."""
    text = CONFIG_TEMPLATE.format(base_url=sim.base_url, storage=storage, samples=2, timeout=5, retries=0)
    head, _, _ = text.partition("engines:")
    keywords = "".join(f"  - text: ball valve question {n}\n" for n in range(6))
    engines = (f"engines:\n  - {{id: google, kind: serpapi, base_url: '{sim.base_url_for('serpapi')}', "
               f"api_key_env: {KEY_VARIABLE}, samples: 2, retries: 0, price: {{per_call: 0.015}}}}\n")
    path.write_text(head + keywords + engines + f"storage:\n  url: {storage}\n", encoding="utf-8")
    return path


async def test_google_through_serpapi_stores_parts_reparses_and_reports(
        tmp_path: Path, db_url: str, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    config = load_config(google_config(tmp_path / "c.yaml", simulator, db_url))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0))
    assert summary.failed == 0 and summary.stored == 9 * 2
    assert summary.cost == pytest.approx(18 * 0.015)

    deferred = [request for request in simulator.requests if request["body"].get("engine") == "google_ai_overview"]
    assert deferred and all(request["body"]["page_token"] for request in deferred)
    with Session(db) as session:
        parts = session.execute(select(ObservationPart.observation_id, ObservationPart.name)
                                .order_by(ObservationPart.observation_id, ObservationPart.ordinal)).all()
        answered = session.execute(select(func.count()).where(Observation.has_answer.is_(True))).scalar_one()
        overview_rows = session.execute(select(func.count()).select_from(ObservationFeature)
                                        .where(ObservationFeature.name == "ai_overview")).scalar_one()
        organic = session.execute(select(func.count()).select_from(OrganicResult)).scalar_one()
        citations = session.execute(select(func.count()).select_from(Citation)).scalar_one()
        first_hash = session.execute(select(Observation.id, Observation.raw_hash)
                                     .order_by(Observation.id)).all()
    two_part = {oid for oid, name in parts if name == "ai_overview"}
    assert len(two_part) == len(deferred)  # every deferred overview was fetched and kept as a second part
    assert 0 < answered < 18 and overview_rows == answered  # some pages showed no overview
    assert organic > 18 and citations > 0
    # the stored result is exactly what the probe fetched, every part in order, and it still parses alike
    oid, digest = next((oid, digest) for oid, digest in first_hash if oid in two_part)
    stored = repository.load_raw_result(db, oid, digest)
    assert isinstance(stored, RawResult) and [p.name for p in stored.parts] == ["response", "ai_overview"]

    # a newer parser version re-reads the multi-part history: same statuses, same sources
    parser = registry.KINDS["serpapi"].parser_module
    monkeypatch.setattr(parser, "PARSER_VERSION", parser.PARSER_VERSION + 1)
    result = reparse(config, db, clock=fixed_clock(T0))
    assert result.reparsed == 18 and result.missing_payloads == 0 and result.status_changes == {}
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Citation)).scalar_one() == citations
        assert session.execute(select(func.count()).where(Observation.has_answer.is_(True))).scalar_one() == answered

    kpis = period_metrics(db, config.project_name, date(2026, 12, 1), date(2026, 12, 1))["engines"]["google"]
    db.dispose()
    assert kpis["answer_rate"]["value"] == pytest.approx(answered / 18)  # AI Overview presence
    assert kpis["inclusion_rate"]["n"] == 18 and kpis["inclusion_rate"]["low"] is not None
    organic = kpis["organic_rank"]
    assert organic["n"] == 18 and organic["ranked"] > 0  # the brand's pages rank organically
    assert 1 <= organic["mean_best_rank"] <= 10 and organic["top10_share"]["value"] > 0

    # as a user reads it: the organic columns beside the overview's figures
    table = subprocess.run([str(Path(sys.executable).with_name("citewatch")), "metrics", "--config",
                            str(tmp_path / "c.yaml"), "--since", "2026-12-01", "--until", "2026-12-01"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, KEY_VARIABLE: KEY})
    assert table.returncode == 0, table.stderr
    assert "organic rank" in table.stdout and "organic top-10" in table.stdout
    google_row = next(line for line in table.stdout.splitlines() if "│ google" in line)
    assert f"{organic['mean_best_rank']:.1f}" in google_row

