from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from citewatch.errors import ConfigError
from monitor.config import load_config
from monitor.scheduler import build_scheduler

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_fires_on_the_configured_cron_and_time_zone(tmp_path: Path) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8").replace(
        'cron: "0 6 * * *"\n  timezone: UTC', 'cron: "30 8 * * 1"\n  timezone: Asia/Shanghai')
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    scheduler = build_scheduler(load_config(path), lambda: None)
    job = scheduler.get_job("batch")
    fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    # Monday 08:30 in Shanghai is 00:30 UTC
    assert fire.astimezone(UTC) == datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
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
