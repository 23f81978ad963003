from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler

from citewatch.errors import ConfigError
from monitor.config import Config, load_config
from monitor.scheduler import Schedule, build_scheduler, schedules

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_fires_on_the_configured_cron_and_time_zone(tmp_path: Path) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8").replace(
        'cron: "0 6 * * *"\n  timezone: UTC', 'cron: "30 8 * * 1"\n  timezone: Asia/Shanghai')
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    scheduler = build_scheduler(load_config(path), lambda schedule: None)
    job = scheduler.get_job("batch:default")
    fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    # Monday 08:30 in Shanghai is 00:30 UTC, and the example config's jitter delays it by up to 300 s
    late = (fire.astimezone(UTC) - datetime(2026, 11, 30, 0, 30, tzinfo=UTC)).total_seconds()
    assert job.trigger.jitter == 300 and 0 <= late <= 300
    assert job.max_instances == 1 and job.coalesce is True


def test_bad_cron_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text((ROOT / "config.yaml").read_text(encoding="utf-8").replace('"0 6 * * *"', '"every day"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith("line ") and "schedule: invalid schedule" in p for p in caught.value.problems)


@pytest.mark.parametrize(("weekday", "expected_day"), [
    ("1", 30), ("0", 6), ("7", 6), ("2-4", 1), ("sat", 5), ("*/2", 1), ("5,6", 4)])
def test_cron_weekdays_count_from_sunday_like_cron(weekday: str, expected_day: int) -> None:
    from monitor.cron import cron_trigger

    trigger = cron_trigger(f"0 6 * * {weekday}", "UTC")
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))  # Monday
    assert (fire.month, fire.day) == ((11, 30) if expected_day == 30 else (12, expected_day))


def test_day_of_month_and_weekday_together_are_refused() -> None:
    from monitor.cron import cron_trigger

    with pytest.raises(ValueError, match="not both"):
        cron_trigger("0 6 1 * 1", "UTC")


# --- the daemon's schedules under a fake clock: APScheduler's own loop, stepped by hand --------------------

GROUPS = """
schedule:
  cron: "0 6 * * *"
  timezone: UTC
  misfire_grace: 3600
  groups:
    - {name: google, engines: [google], cron: "0 6 * * *", timezone: Asia/Shanghai}
    - {name: assistants, engines: [chatgpt, claude], cron: "0 7 * * 1,3,5"}
"""
ENGINES = """
engines:
  - {id: chatgpt, kind: openai, model: gpt-5-mini, base_url: "http://127.0.0.1:9/v1"}
  - {id: claude, kind: anthropic, model: claude-sonnet-4-5, base_url: "http://127.0.0.1:9"}
  - {id: google, kind: serpapi, base_url: "http://127.0.0.1:9"}
  - {id: gemini, kind: gemini, model: gemini-2.5-flash, base_url: "http://127.0.0.1:9"}
"""


def grouped_config(tmp_path: Path, schedule: str = GROUPS) -> Config:
    path = tmp_path / "c.yaml"
    path.write_text("brand: {name: Hengda Valve}\nkeywords: [{text: ball valve}]\n" + ENGINES + schedule,
                    encoding="utf-8")
    return load_config(path)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """APScheduler reads the time from `datetime.now` in its scheduler and executor modules: both read this."""
    fake = FakeClock(datetime(2026, 11, 29, 23, 0, tzinfo=UTC))  # a Sunday night

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return fake.now.astimezone(tz) if tz else fake.now.replace(tzinfo=None)

    monkeypatch.setattr("apscheduler.schedulers.base.datetime", FakeDatetime)
    monkeypatch.setattr("apscheduler.executors.base.datetime", FakeDatetime)
    return fake


class SteppedScheduler(BaseScheduler):
    """A scheduler whose loop is `step()`: run what is due at the fake clock's time."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        return None

    def step(self) -> float | None:
        return self._process_jobs()


def fired_over(config: Config, clock: FakeClock, until: datetime) -> list[tuple[str, datetime]]:
    """Each batch started, by schedule name and fake time, stepping the clock from wakeup to wakeup."""
    fired: list[tuple[str, datetime]] = []
    scheduler = build_scheduler(config, lambda schedule: fired.append((schedule.name, clock.now)),
                                scheduler=SteppedScheduler(), executor=DebugExecutor())
    scheduler.start()
    while clock.now < until:
        wait = scheduler.step()
        clock.now += timedelta(seconds=wait if wait is not None else 3600)
    scheduler.shutdown(wait=False)
    return fired


def test_each_engine_group_runs_on_its_own_cron_and_time_zone(tmp_path: Path, clock: FakeClock) -> None:
    config = grouped_config(tmp_path)
    assert [(s.name, s.engines) for s in schedules(config)] == [
        ("default", ("gemini",)), ("google", ("google",)), ("assistants", ("chatgpt", "claude"))]
    fired = fired_over(config, clock, datetime(2026, 12, 7, 0, 0, tzinfo=UTC))  # a week
    by_name: dict[str, list[str]] = {}
    for name, at in fired:
        by_name.setdefault(name, []).append(at.strftime("%a %H:%M"))
    assert by_name["google"] == [f"{day} 22:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert by_name["assistants"] == ["Mon 07:00", "Wed 07:00", "Fri 07:00"]
    assert by_name["default"] == [f"{day} 06:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]


def test_runs_missed_while_down_are_merged_into_one_or_skipped_past_the_grace(tmp_path: Path,
                                                                           clock: FakeClock) -> None:
    fired: list[tuple[str, datetime]] = []
    config = grouped_config(tmp_path, 'schedule: {cron: "0 6 * * *", timezone: UTC, misfire_grace: 3600}\n')
    scheduler = build_scheduler(config, lambda schedule: fired.append((schedule.name, clock.now)),
                                scheduler=SteppedScheduler(), executor=DebugExecutor())
    scheduler.start()
    clock.now = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)  # down for three daily runs, back 30 min after the last
    scheduler.step()
    assert fired == [("default", clock.now)]  # one run, not three
    clock.now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)  # down again, back two hours after a run: too late
    scheduler.step()
    assert len(fired) == 1
    clock.now = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # the next one runs on time
    scheduler.step()
    assert fired[-1] == ("default", clock.now) and len(fired) == 2
    scheduler.shutdown(wait=False)


def test_jitter_delays_each_run_by_at_most_its_seconds(tmp_path: Path, clock: FakeClock) -> None:
    config = grouped_config(tmp_path, 'schedule: {cron: "0 6 * * *", timezone: UTC, jitter: 600}\n')
    fired = fired_over(config, clock, datetime(2026, 12, 20, 0, 0, tzinfo=UTC))
    delays = [(at - at.replace(hour=6, minute=0, second=0, microsecond=0)).total_seconds() for _, at in fired]
    assert len(delays) == 20 and all(0 <= delay <= 600 for delay in delays) and len(set(delays)) > 1


def test_batches_of_two_groups_due_at_once_never_overlap(tmp_path: Path, clock: FakeClock) -> None:
    import threading
    import time as real_time

    config = grouped_config(tmp_path, GROUPS.replace('"0 7 * * 1,3,5"', '"0 22 * * *"').replace(
        '"0 6 * * *", timezone: Asia/Shanghai', '"0 22 * * *", timezone: UTC'))
    running, overlaps, done = [0], [0], threading.Semaphore(0)

    def batch(schedule: Schedule) -> None:
        running[0] += 1
        overlaps[0] = max(overlaps[0], running[0])
        real_time.sleep(0.2)
        running[0] -= 1
        done.release()

    scheduler = build_scheduler(config, batch, scheduler=SteppedScheduler())
    scheduler.start()
    clock.now = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # google and assistants both due
    scheduler.step()
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    scheduler.shutdown(wait=True)
    assert overlaps[0] == 1


def test_a_group_in_config_names_engines_that_exist_and_each_engine_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"schedule\.groups\[1\]\.engines.*bing"):
        grouped_config(tmp_path, GROUPS.replace("[chatgpt, claude]", "[chatgpt, bing]"))
    with pytest.raises(ConfigError, match=r"google.* is written twice"):
        grouped_config(tmp_path, GROUPS.replace("[chatgpt, claude]", "[chatgpt, google]"))


def test_without_a_schedule_the_daemon_runs_daily_at_six_in_the_servers_time_zone(tmp_path: Path) -> None:
    from tzlocal import get_localzone

    [schedule] = schedules(grouped_config(tmp_path, ""))
    assert (schedule.cron, schedule.zone, schedule.engines) == ("0 6 * * *", str(get_localzone()), None)


async def test_a_group_batch_probes_its_engines_and_resumes_only_its_own_interrupted_run(tmp_path: Path) -> None:
    import threading

    from sqlmodel import Session, select

    from monitor.clock import fixed_clock
    from monitor.pipeline import run_batch
    from probes.fake import FakeProbe
    from storage.db import open_database
    from storage.models import Run
    from tests.monitor.alert_helpers import responses_payload

    config = grouped_config(tmp_path, f"storage: {{url: 'sqlite:///{tmp_path / 'g.db'}'}}\n" + GROUPS)
    db = open_database(config.storage.url)
    probes = lambda engine: FakeProbe(responses_payload(["https://hengdavalve.com/"]))  # noqa: E731
    at = fixed_clock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    stopped = threading.Event()
    stopped.set()  # a SIGTERM before its first probe: the assistants' run is left interrupted
    first = await run_batch(config, db, at, probes=probes, engines=("chatgpt", "claude"), stopping=stopped)
    google = await run_batch(config, db, at, probes=probes, engines=("google",), resume_within=timedelta(days=1))
    resumed = await run_batch(config, db, at, probes=probes, engines=("chatgpt", "claude"),
                              resume_within=timedelta(days=1))
    assert first.stopped and google.run_id != first.run_id
    with Session(db) as session:
        runs = {run.id: (sorted(run.planned), run.status) for run in session.exec(select(Run))}
    assert runs[google.run_id] == (["google"], "finished")
    # google's batch left the assistants' interrupted run alone; the assistants' next batch finished it
    assert resumed.run_id == first.run_id and runs[first.run_id] == (["chatgpt", "claude"], "finished")
    db.dispose()


def test_a_probe_task_travels_as_plain_json_and_comes_back_the_same(tmp_path: Path) -> None:
    import json

    from monitor.pipeline import ProbeTask, plan

    config = grouped_config(tmp_path)
    for task in plan(config):
        run_id, back = ProbeTask.from_message(config, json.loads(json.dumps(task.as_message(7))))
        assert (run_id, back) == (7, task)
    with pytest.raises(ConfigError, match="no such engine"):
        ProbeTask.from_message(config, {"run": 7, "keyword": "ball valve", "engine": "bing", "sample": 0})


# --- report.schedule: the weekly report's job ----------------------------------------------------------------

REPORT = "report: {schedule: '30 7 * * 1', timezone: Europe/Berlin}\n"  # Monday 06:30 UTC in winter


def test_the_report_job_exists_only_with_report_schedule(tmp_path: Path) -> None:
    from monitor.scheduler import describe

    def report() -> None:
        return None

    assert build_scheduler(grouped_config(tmp_path), lambda schedule: None, report=report).get_job("report") is None
    config = grouped_config(tmp_path, GROUPS + REPORT)
    assert build_scheduler(config, lambda schedule: None).get_job("report") is None  # no report callable given
    job = build_scheduler(config, lambda schedule: None, report=report).get_job("report")
    assert job is not None and job.func is report and job.max_instances == 1
    assert describe(config).endswith(f"; report '30 7 * * 1' (Europe/Berlin) into {tmp_path / 'reports'}")


def test_the_report_job_runs_at_start_on_its_cron_in_its_zone_and_hourly(tmp_path: Path, clock: FakeClock,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import apscheduler.schedulers.base

    monkeypatch.setattr("monitor.scheduler.datetime", apscheduler.schedulers.base.datetime)  # the fake clock
    clock.now = datetime(2026, 11, 29, 23, 20, tzinfo=UTC)
    reported: list[datetime] = []
    scheduler = build_scheduler(grouped_config(tmp_path, 'schedule: {cron: "0 6 * * *", timezone: UTC}\n' + REPORT),
                                lambda schedule: None, report=lambda: reported.append(clock.now),
                                scheduler=SteppedScheduler(), executor=DebugExecutor())
    scheduler.start()
    while clock.now < datetime(2026, 11, 30, 8, 0, tzinfo=UTC):
        clock.now += timedelta(seconds=scheduler.step() or 3600)
    scheduler.shutdown(wait=False)
    # at start (a week missed while down), every hour (a channel to retry), and on its cron
    assert [at.strftime("%H:%M") for at in reported] == [
        "23:20", "00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00", "06:30", "07:00"]


def test_a_reloaded_config_keeps_the_report_job_on_its_new_schedule(tmp_path: Path) -> None:
    from monitor.scheduler import Daemon

    config = grouped_config(tmp_path, GROUPS + REPORT)
    daemon = Daemon(config, db=None, say=lambda line: None,  # type: ignore[arg-type]
                    reload=lambda: grouped_config(tmp_path, GROUPS + "report: {schedule: '0 9 * * 2'}\n"))
    daemon.scheduler = build_scheduler(config, daemon.batch, report=daemon.weekly_report,
                                       scheduler=SteppedScheduler())
    daemon.reload_config()
    job = daemon.scheduler.get_job("report")
    assert job is not None and "day_of_week='tue', hour='9', minute='0'" in str(job.trigger)
