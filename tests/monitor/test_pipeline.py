"""The runner: every probe outcome becomes an observation; failures are stored as `error`, never as 'not cited'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from citewatch.errors import ConfigError
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import plan, run_batch
from monitor.throttle import backoff_seconds
from probes.base import ProbeRequest, ProbeSettings
from probes.simulator import ScriptedResponse, Simulator
from storage.db import open_database
from storage.models import Citation, Mention, Observation, RawPayload, Run, Source
from tests.conftest import write_config

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


async def no_sleep(_: float) -> None:
    return None


def observations(db) -> list[Observation]:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        return list(session.execute(select(Observation).order_by(Observation.id)).scalars())


async def test_batch_stores_every_sample_with_citations_mentions_and_raw(tmp_path: Path, simulator: Simulator,
                                                                          db_url: str) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, db_url, samples=2))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0))
    assert (summary.planned, summary.stored, summary.failed) == (6, 6, 0)
    stored = observations(db)
    assert {(o.sample_index, o.status) for o in stored} == {(0, "ok"), (1, "ok")}
    assert all(o.raw_hash and o.model and o.model.startswith("gpt-5-mini") for o in stored)
    assert all(o.search_queries for o in stored)
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Citation)).scalar() > 0
        assert session.execute(select(func.count()).select_from(Mention)).scalar() > 0
        run = session.execute(select(Run)).scalar_one()
    assert run.status == "finished" and len(stored) == 6
    assert sorted(run.planned["chatgpt"].values()) == [2, 2, 2]
    # the request carried the keyword's locale to the web_search tool
    zh = [r["body"] for r in simulator.requests if r["body"]["input"] == "球阀 制造商"]
    assert zh and zh[0]["tools"][0]["user_location"] == {"type": "approximate", "country": "CN"}
    db.dispose()


async def test_a_stopped_run_is_finished_by_the_next_batch_within_the_period_and_not_after(
        tmp_path: Path, simulator: Simulator, db_url: str) -> None:
    """The daemon's next batch (resume_within: its schedule's period) finishes a run stopped within that
    period, probing only what it had not stored; an older interrupted run is left, and a new one begun."""
    import threading

    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, db_url, samples=2))
    db = open_database(config.storage.url)
    requests = simulator.requests

    class StopAfter(threading.Event):  # set once `count` more probes were sent: a SIGTERM mid-batch
        def __init__(self, count: int) -> None:
            super().__init__()
            self.at = len(requests) + count

        def is_set(self) -> bool:
            return len(requests) >= self.at

    day = timedelta(days=1)
    first = await run_batch(config, db, fixed_clock(T0), stopping=StopAfter(2))
    assert first.stopped and 0 < first.stored < 6
    sent = len(requests)
    resumed = await run_batch(config, db, fixed_clock(T0 + timedelta(hours=20)), resume_within=day)
    assert resumed.run_id == first.run_id and resumed.planned == 6 - first.stored == len(requests) - sent
    third = await run_batch(config, db, fixed_clock(T0 + 3 * day), stopping=StopAfter(2))
    fourth = await run_batch(config, db, fixed_clock(T0 + 5 * day), resume_within=day)
    assert third.stopped and fourth.run_id not in (first.run_id, third.run_id) and fourth.planned == 6
    with Session(db) as session:
        statuses = session.execute(select(Run.status).order_by(Run.id)).scalars().all()
    assert statuses == ["finished", "interrupted", "finished"]  # the old interrupted run left as it was
    assert len(observations(db)) == 6 + third.stored + 6
    db.dispose()


@pytest.mark.parametrize(
    ("scripted", "expected_error"),
    [
        (ScriptedResponse(status=500, body=b'{"error": {"message": "upstream exploded"}}'), "HTTP 500"),
        (ScriptedResponse(body=b"<html>not json</html>"), "unparseable payload"),
        (ScriptedResponse(body=b'{"object": "response", "output": "nope"}'), "unparseable payload"),
        (ScriptedResponse(status=401, body=b'{"error": {"message": "bad key"}}'), "HTTP 401"),
    ],
    ids=["http-500", "garbage-html", "wrong-shape", "http-401"],
)
async def test_failing_probe_is_stored_as_error_and_batch_goes_on(tmp_path: Path, simulator: Simulator,
                                                                  scripted: ScriptedResponse,
                                                                  expected_error: str) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    config = config.model_copy(update={"engines": [config.engines[0].model_copy(update={"concurrency": 1})]})
    simulator.enqueue(scripted)
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0), sleep=no_sleep)
    stored = observations(db)
    assert summary.stored == 3 and summary.failed == 1
    (failed,) = [o for o in stored if o.status == "error"]
    assert expected_error in failed.error
    assert failed.has_answer is False and failed.answer is None
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Citation).where(
            Citation.observation_id == failed.id)).scalar() == 0
        if "unparseable" in expected_error:  # the raw payload is kept for a later reparse
            assert session.get(RawPayload, failed.raw_hash) is not None
    db.dispose()


async def test_timeout_is_an_error_with_reason(tmp_path: Path, simulator: Simulator) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1, timeout=0.3))
    simulator.enqueue(*[ScriptedResponse(delay=1.0, body=b"{}")] * 3)
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0))
    assert summary.failed == 3
    assert {o.error for o in observations(db)} == {"timeout after 0.3s"}
    db.dispose()


async def test_retry_after_429_then_success(tmp_path: Path, simulator: Simulator) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1, retries=2))
    config = config.model_copy(update={"keywords": config.keywords[:1]})
    simulator.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "7"),), body=b"{}"))
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0), sleep=record_sleep)
    assert summary.failed == 0 and waits == [7.0]
    db.dispose()


async def test_connection_refused_is_an_error(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0), sleep=no_sleep)
    assert summary.failed == 3
    assert all(o.error.startswith("connection failed") for o in observations(db))
    db.dispose()


def test_plan_applies_keyword_overrides(tmp_path: Path) -> None:
    config = load_config(ROOT / "config.yaml")
    tasks = plan(config)
    per_keyword = {k.text: sum(t.keyword.text == k.text for t in tasks) for k in config.keywords}
    assert per_keyword["cryogenic valve brands"] == 5
    assert per_keyword["industrial ball valve manufacturer"] == config.engines[0].samples


async def test_missing_api_key_stops_before_anything_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                simulator: Simulator) -> None:
    path = write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db")
    path.write_text(path.read_text().replace("    kind: openai\n", "    kind: openai\n    api_key_env: CW_NO_KEY\n"))
    monkeypatch.delenv("CW_NO_KEY", raising=False)
    config = load_config(path)
    db = open_database(config.storage.url)
    with pytest.raises(ConfigError) as caught:
        await run_batch(config, db, fixed_clock(T0))
    assert "CW_NO_KEY is not set" in str(caught.value)
    assert observations(db) == []
    db.dispose()


def test_backoff_honours_retry_after_and_grows() -> None:
    assert backoff_seconds(0, 3.0) == 3.0
    assert backoff_seconds(0, 10_000) == 60.0
    assert 0.4 <= backoff_seconds(0, None) <= 0.6
    assert 1.6 <= backoff_seconds(2, None) <= 2.4


SLOW_SIMULATOR = """
import sys, time
from probes.simulator import Simulator, demo_scenario
sim = Simulator(demo_scenario(), latency=0.15).start()
print(sim.base_url, flush=True)
time.sleep(600)
"""


def test_killed_run_leaves_only_whole_observations(tmp_path: Path) -> None:
    """SIGKILL in the middle of a batch: every stored observation is complete, and the next run
    marks the killed one as interrupted."""
    server = subprocess.Popen([sys.executable, "-c", SLOW_SIMULATOR], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        base_url = server.stdout.readline().strip()  # type: ignore[union-attr]
        db_path = tmp_path / "killed.db"
        config_path = write_config(tmp_path / "c.yaml", base_url, f"sqlite:///{db_path}", samples=20)
        runner = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config_path)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        db = open_database(f"sqlite:///{db_path}") if False else None
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if db_path.exists():
                try:
                    db = db or open_database(f"sqlite:///{db_path}")
                    if len(observations(db)) >= 5:
                        break
                except Exception:  # noqa: BLE001 (schema may still be being created)
                    continue
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
    finally:
        server.kill()
        server.wait(10)
    assert db is not None
    stored = observations(db)
    assert 5 <= len(stored) < 60
    with Session(db) as session:
        for observation in stored:
            assert observation.status == "ok" and observation.raw_hash
            assert session.get(RawPayload, observation.raw_hash) is not None
            cited = session.execute(select(func.count()).select_from(Citation).where(
                Citation.observation_id == observation.id)).scalar()
            assert cited > 0, "an observation was stored without its citations"
        assert session.execute(select(Run.status)).scalar_one() == "running"
    config = load_config(config_path)
    # the next batch (against a dead server: all errors) marks the killed run
    import asyncio

    two_hours_later = datetime.now(UTC) + timedelta(hours=2)  # the killed run has been quiet that long
    asyncio.run(run_batch(config.model_copy(update={"keywords": config.keywords[:1]}), db,
                          fixed_clock(two_hours_later), sleep=no_sleep))
    with Session(db) as session:
        assert [r.status for r in session.execute(select(Run).order_by(Run.id)).scalars()] == [
            "interrupted", "finished"]
    db.dispose()


async def test_daily_budget_skips_probes_and_they_are_not_failures(tmp_path: Path, simulator: Simulator) -> None:
    from datetime import date

    from monitor.metrics import period_metrics

    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    engine = config.engines[0].model_copy(update={"concurrency": 1, "daily_budget": 2.0,
                                                  "price": config.engines[0].price.model_copy(
                                                      update={"per_call": 1.0})})
    config = config.model_copy(update={"engines": [engine]})
    db = open_database(config.storage.url)
    first = await run_batch(config, db, fixed_clock(T0))
    assert (first.statuses["ok"], first.skipped, first.failed) == (2, 1, 0)
    second = await run_batch(config, db, fixed_clock(T0.replace(hour=18)))  # same UTC day: budget already spent
    assert second.skipped == 3 and len(simulator.requests) == 2
    next_day = await run_batch(config, db, fixed_clock(T0.replace(day=24)))
    assert next_day.statuses["ok"] == 2
    skipped = [o for o in observations(db) if o.status == "skipped"]
    assert len(skipped) == 5 and all("daily budget 2 spent" in o.error for o in skipped)
    kpis = period_metrics(db, config.project_name, date(2026, 11, 23), date(2026, 11, 23))["engines"]["chatgpt"]
    # skipped probes were scheduled: they lower coverage, and are counted apart
    assert (kpis["successful"], kpis["failed"], kpis["skipped"], kpis["scheduled"]) == (2, 0, 4, 6)
    assert kpis["coverage"]["value"] == pytest.approx(2 / 6) and kpis["coverage"]["n"] == 6
    assert kpis["cost"] == 2.0
    db.dispose()


async def test_a_bug_in_analysis_is_an_error_observation_with_its_payload(
        tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import pipeline

    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    real = pipeline.citation_records
    calls = []

    def flaky(answer, tracking):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(answer, tracking)

    monkeypatch.setattr(pipeline, "citation_records", flaky)
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0))
    assert (summary.stored, summary.failed) == (3, 1)
    (failed,) = [o for o in observations(db) if o.status == "error"]
    assert failed.error == "analysis failed: RuntimeError: boom" and failed.raw_hash
    db.dispose()


async def test_a_failing_database_stops_the_batch_and_marks_only_its_run(
        tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import repository

    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=3))
    db = open_database(config.storage.url)
    real = repository.save_observation
    writes = []

    def failing(*args):  # type: ignore[no-untyped-def]
        writes.append(1)
        if len(writes) == 2:
            raise OSError("disk full")
        return real(*args)

    monkeypatch.setattr(repository, "save_observation", failing)
    with pytest.raises(OSError, match="disk full"):
        await run_batch(config, db, fixed_clock(T0))
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
    assert len(observations(db)) == 1 and len(writes) == 2  # nothing written after the failure
    db.dispose()


async def test_retry_after_longer_than_a_run_waits_gives_up(tmp_path: Path, simulator: Simulator) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", simulator.base_url, f"sqlite:///{tmp_path}/t.db",
                                      samples=1, retries=3))
    config = config.model_copy(update={"keywords": config.keywords[:1]})
    simulator.enqueue(ScriptedResponse(status=429, headers=(("Retry-After", "3600"),), body=b"{}"))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0), sleep=no_sleep)
    assert summary.failed == 1
    assert observations(db)[0].error.endswith("(Retry-After 3600s: longer than a run waits)")
    db.dispose()


# --- FakeProbe: pipeline behaviour without an HTTP server --------------------------------------------------


def fixture_payload(name: str) -> bytes:
    return (ROOT / "tests" / "fixtures" / "openai" / name).read_bytes()


async def test_fake_probe_outcomes_become_observations_in_order(tmp_path: Path) -> None:
    from citewatch.errors import ProbeError
    from probes.fake import FakeProbe

    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    config = config.model_copy(update={"engines": [config.engines[0].model_copy(update={"concurrency": 1})]})
    probe = FakeProbe(fixture_payload("hengda_zh_cjk_emoji.json"), ProbeError("HTTP 503: busy"),
                      b"<html>not json</html>")
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0), probes=lambda engine: probe)
    stored = observations(db)
    assert [(o.status, o.error) for o in stored] == [
        ("ok", None), ("error", "HTTP 503: busy"),
        ("error", "unparseable payload: body is not JSON (JSONDecodeError: Expecting value: line 1 column 1 "
                  "(char 0)); starts with '<html>not json</html>'")]
    assert [r.prompt for r in probe.requests] == [k.question for k in config.keywords]
    assert probe.closed and summary.failure_reasons["chatgpt"]["HTTP 503: busy"] == 1
    db.dispose()


async def test_a_crashing_probe_is_a_failed_observation_and_the_batch_goes_on(tmp_path: Path) -> None:
    from probes.fake import FakeProbe

    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=2))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0),
                              probes=lambda engine: FakeProbe(TypeError("'NoneType' object is not iterable")))
    assert (summary.stored, summary.failed, summary.all_failed) == (6, 6, True)
    assert {o.error for o in observations(db)} == {"probe failed: TypeError: 'NoneType' object is not iterable"}
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "finished"
    db.dispose()


async def test_a_new_kind_needs_only_its_module_and_one_registry_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from monitor.cli import main
    from probes import registry
    from probes.registry import EngineKind

    monkeypatch.setitem(registry.KINDS, "acme", EngineKind(
        "acme", "a made-up engine", probe="tests.monitor.acme_kind:AcmeProbe", parser="tests.monitor.acme_kind",
        needs_api_key=False))
    path = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db", samples=1)
    path.write_text(path.read_text(encoding="utf-8").replace("kind: openai", "kind: acme"), encoding="utf-8")
    config = load_config(path)  # config validation reads the registry
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0))
    assert (summary.stored, summary.failed) == (3, 0)
    with Session(db) as session:
        owners = session.execute(select(Source.owner_id).join(Citation)
                                 .where(Source.owner_id.is_not(None))).scalars().all()
    assert len(owners) == 3 and {o.engine_kind for o in observations(db)} == {"acme"}
    db.dispose()
    payload = tmp_path / "acme.json"
    payload.write_bytes((await registry.kind("acme").make_probe(ProbeSettings()).fetch(ProbeRequest("x", "x"))).first.data)
    with pytest.raises(SystemExit):
        main(["parse", str(payload), "--config", str(path)])  # the kind is detected by its parser
    out, err = capsys.readouterr()
    assert "detected kind acme" in err and json.loads(out)["citations"][0]["owner"] == "Hengda Valve"


async def test_a_probe_that_cannot_be_made_stops_the_batch_before_anything_is_stored(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db"))
    db = open_database(config.storage.url)

    def unbuildable(engine):  # type: ignore[no-untyped-def]
        raise ConfigError("cannot probe this engine", ["engines[chatgpt]: no model"])

    with pytest.raises(ConfigError):
        await run_batch(config, db, fixed_clock(T0), probes=unbuildable)
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Run)).scalar() == 0
    db.dispose()


async def test_a_run_that_cannot_be_finished_is_marked_interrupted(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from citewatch.errors import StorageError
    from probes.fake import FakeProbe
    from storage import repository

    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    db = open_database(config.storage.url)

    def fails(*args: object) -> None:
        raise StorageError("database sqlite:///t.db: disk I/O error")

    monkeypatch.setattr(repository, "finish_run", fails)
    with pytest.raises(StorageError, match="^run 1 stopped and marked interrupted: database sqlite"):
        await run_batch(config, db, fixed_clock(T0),
                        probes=lambda engine: FakeProbe(fixture_payload("hengda_zh_cjk_emoji.json")))
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
    db.dispose()


async def test_a_probe_that_fails_to_close_costs_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from probes.fake import FakeProbe

    class LeakyProbe(FakeProbe):
        async def aclose(self) -> None:
            raise OSError("socket already closed")

    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=1))
    db = open_database(config.storage.url)
    summary = await run_batch(config, db, fixed_clock(T0),
                              probes=lambda engine: LeakyProbe(fixture_payload("hengda_zh_cjk_emoji.json")))
    assert (summary.stored, summary.failed) == (3, 0)
    assert "engine chatgpt: closing its probe failed: OSError: socket already closed" in caplog.text
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "finished"
    db.dispose()


async def test_a_stopped_batch_stores_every_answer_it_already_has(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from probes.fake import FakeProbe
    from storage import repository

    save = repository.save_observation

    def slow_save(*args):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # a busy database: answers wait in the writer's queue
        return save(*args)

    monkeypatch.setattr(repository, "save_observation", slow_save)
    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/t.db",
                                      samples=4))
    payload = fixture_payload("hengda_zh_cjk_emoji.json")
    answered = []

    async def answer(_request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.01)
        if len(answered) == 7:
            batch.cancel()  # Ctrl-C: asyncio.run cancels the batch while the eighth probe is in flight
            await asyncio.sleep(10)
        answered.append(1)
        return payload

    db = open_database(config.storage.url)
    batch = asyncio.ensure_future(run_batch(config, db, fixed_clock(T0), probes=lambda engine: FakeProbe(answer)))
    with pytest.raises(asyncio.CancelledError):
        await batch
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
    assert len(observations(db)) == len(answered) == 7
    db.dispose()


async def test_an_engines_search_block_reaches_its_probes_request() -> None:
    from monitor.config import EngineConfig
    from monitor.pipeline import make_probe

    request = ProbeRequest("球阀", "哪些厂家生产API 6D球阀？")
    qwen = make_probe(EngineConfig(id="qwen", kind="qwen", search={"forced": False, "strategy": "max"}))
    glm = make_probe(EngineConfig(id="glm", kind="glm", search={"engine": "search_pro_quark"}))
    default = make_probe(EngineConfig(id="qwen2", kind="qwen"))
    try:
        options = qwen.request_body(request)["parameters"]["search_options"]  # type: ignore[attr-defined]
        assert (options["forced_search"], options["search_strategy"]) == (False, "max")
        tool = glm.request_body(request)["tools"][0]["web_search"]  # type: ignore[attr-defined]
        assert tool["search_engine"] == "search_pro_quark"
        options = default.request_body(request)["parameters"]["search_options"]  # type: ignore[attr-defined]
        assert (options["forced_search"], options["search_strategy"]) == (True, "turbo")
    finally:
        for probe in (qwen, glm, default):
            await probe.aclose()
