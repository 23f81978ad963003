"""`report.schedule`: the week just ended is archived once, whole, and sent to every alert channel that has not
received it; to local json:// endpoints here."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from citewatch.errors import ConfigError, StorageError
from monitor.clock import fixed_clock
from monitor.config import Config, load_config
from monitor.pipeline import run_batch
from monitor.report.delivery import deliver_due, due_week, send_report
from probes.fake import FakeProbe
from tests.monitor.alert_helpers import json_endpoint, responses_payload

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE = "https://hengdavalve.com/products/ball-valves"
CONFIG = """\
brand: {{name: Hengda Valve, domains: [hengdavalve.com]}}
keywords: [{{text: industrial ball valve manufacturer}}]
engines:
  - {{id: chatgpt, kind: openai, model: gpt-5-mini, base_url: "http://127.0.0.1:9/v1", samples: 2, retries: 0}}
storage: {{url: "sqlite:///{db}"}}
schedule: {{timezone: Asia/Shanghai}}
alerts: {{channels: {channels}, attempts: 1}}
"""


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture(autouse=True)
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Chromium printing report.pdf (seconds a week): a test that wants one fakes it."""
    monkeypatch.setattr("monitor.report.publish.write_pdf", lambda html, pdf: "no browser in the tests")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a batch on Monday of 2026-W48 and one on Monday of W47 (the week before)."""
    folder = tmp_path_factory.mktemp("db")
    path = folder / "c.yaml"
    path.write_text(CONFIG.format(db=folder / "a.db", channels="[]"), encoding="utf-8")
    config = load_config(path)
    for day in (16, 23):
        asyncio.run(run_batch(config, load_db(config), fixed_clock(datetime(2026, 11, day, 6, tzinfo=UTC)),
                              probes=lambda engine: FakeProbe(responses_payload([PAGE]))))
    return folder / "a.db"


def load_db(config: Config):  # type: ignore[no-untyped-def]
    from storage.db import open_database

    return open_database(config.storage.url)


def configure(tmp_path: Path, database: Path, channels: list[str], report: str) -> Config:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(db=database, channels=json.dumps(channels)) + report, encoding="utf-8")
    return load_config(path)


WEEKLY = "report: {schedule: '0 7 * * 1'}\n"  # Mondays 07:00 in schedule.timezone, Asia/Shanghai


def test_config_keys_default_and_their_errors_name_the_field(tmp_path: Path, database: Path) -> None:
    config = configure(tmp_path, database, [], "")
    assert config.report.schedule is None and config.report.send is True
    assert config.report.archive == (tmp_path / "reports").resolve()  # beside the config file, not the cwd
    for report, problem in [
        ("report: {schedule: '0 7 * *'}", r"report\.schedule: invalid schedule: expected 5 cron fields"),
        ("report: {schedule: '0 7 1 * 1'}", r"report\.schedule: invalid schedule: .*not both"),
        ("report: {schedule: '0 7 * * 1', timezone: Mars/Olympus}", r"report\.timezone: unknown time zone"),
        ("report: {schedule: '0 7 * * 1', sned: false}", r"report\.sned: unknown key"),
    ]:
        with pytest.raises(ConfigError) as caught:
            configure(tmp_path, database, [], report + "\n")
        assert any(re.search(problem, line) for line in caught.value.problems), caught.value


@pytest.mark.parametrize(("now", "week"), [
    (datetime(2026, 11, 30, 7, 0, tzinfo=SHANGHAI), (2026, 48)),  # the firing itself
    (datetime(2026, 11, 30, 6, 59, tzinfo=SHANGHAI), (2026, 47)),  # before it: last Monday's, for W47
    (datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI), (2026, 48)),  # any day after it
    (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), (2026, 48)),  # already Monday in Shanghai
    (datetime(2027, 1, 4, 7, 0, tzinfo=SHANGHAI), (2026, 53)),  # a long year's week 53
])
def test_the_week_due_is_the_one_before_the_newest_firing_in_the_schedules_zone(
        tmp_path: Path, database: Path, now: datetime, week: tuple[int, int]) -> None:
    assert due_week(configure(tmp_path, database, [], WEEKLY), now) == week


def test_no_week_is_due_without_a_firing_in_two_weeks(tmp_path: Path, database: Path) -> None:
    config = configure(tmp_path, database, [], "report: {schedule: '0 7 1 * *'}\n")  # monthly, on the 1st
    assert due_week(config, datetime(2026, 11, 20, tzinfo=UTC)) is None
    assert due_week(config, datetime(2026, 12, 3, tzinfo=UTC)) == (2026, 48)  # Tuesday 1 December's
    assert due_week(configure(tmp_path, database, [], ""), datetime(2026, 12, 3, tzinfo=UTC)) is None


def test_the_week_is_archived_whole_once_it_is_over_in_utc_and_sent_with_its_html(
        tmp_path: Path, database: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "citewatch.report")
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], WEEKLY)
        db = load_db(config)
        # Monday 07:00 in Shanghai is still Sunday in UTC, the database's days: W48 is not over
        assert deliver_due(config, db, datetime(2026, 11, 30, 7, 0, tzinfo=SHANGHAI), no_sleep) is None
        assert "report 2026-W48 waits for the week's end in UTC (2026-11-30T00:00+00:00)" in caplog.text
        assert not config.report.archive.exists() and endpoint.bodies == []
        done = deliver_due(config, db, datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI), no_sleep)
    folder = config.report.archive / "2026-W48"
    assert done is not None and done.rendered and done.folder == folder and list(done.deliveries.values()) == [None]
    assert {"report.html", "report.md", "report.json", "sent.json"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in config.report.archive.iterdir()] == ["2026-W48"]  # no partial folder left
    assert json.loads((folder / "report.json").read_text(encoding="utf-8"))["week"] == "2026-W48"
    [body] = endpoint.bodies
    assert body["title"] == "AI search visibility report — Hengda Valve — 2026-W48"
    assert body["message"] == (folder / "report.md").read_text(encoding="utf-8")
    [attachment] = body["attachments"]
    assert attachment["filename"] == "citewatch-report-2026-W48.html" and attachment["mimetype"] == "text/html"
    assert base64.b64decode(attachment["base64"]) == (folder / "report.html").read_bytes()
    state = json.loads((folder / "sent.json").read_text(encoding="utf-8"))
    assert state["project"] == "Hengda Valve" and list(state["sent"]) == list(done.deliveries) and not state["failed"]
    db.dispose()


def test_a_failed_channel_is_retried_alone_and_a_delivered_week_is_not_sent_again(
        tmp_path: Path, database: Path) -> None:
    with json_endpoint() as good, json_endpoint() as down:
        down.status = 500
        config = configure(tmp_path, database, [good.url, down.url], WEEKLY)
        db = load_db(config)
        first = deliver_due(config, db, datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI), no_sleep)
        assert first is not None and [error is None for error in first.deliveries.values()] == [True, False]
        html = (first.folder / "report.html").stat()
        state = json.loads((first.folder / "sent.json").read_text(encoding="utf-8"))
        assert [failure["error"].endswith("error=500.") for failure in state["failed"].values()] == [True]

        down.status = 200  # back: the next hourly check sends to it only, without rendering again
        second = deliver_due(config, db, datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), no_sleep)
        assert second is not None and not second.rendered and list(second.deliveries.values()) == [None]
        assert (first.folder / "report.html").stat().st_mtime_ns == html.st_mtime_ns
        third = deliver_due(config, db, datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI), no_sleep)  # a restart
        assert third is not None and not third.rendered and third.deliveries == {}
        assert len(good.bodies) == 1 and len(down.bodies) == 1
        assert json.loads((first.folder / "sent.json").read_text(encoding="utf-8"))["failed"] == {}
        db.dispose()


def test_a_daemon_down_on_monday_catches_up_the_newest_week_missed(tmp_path: Path, database: Path) -> None:
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], WEEKLY)
        db = load_db(config)
        # down from before W47's report until Wednesday of W49: only W48's is made
        done = deliver_due(config, db, datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI), no_sleep)
        assert done is not None and done.week == "2026-W48" and done.rendered
        assert [p.name for p in config.report.archive.iterdir()] == ["2026-W48"]
        # down again until Monday of W51 before 07:00: W50's is not due yet, W49's is the newest missed
        done = deliver_due(config, db, datetime(2026, 12, 14, 6, 0, tzinfo=SHANGHAI), no_sleep)
        assert done is not None and done.week == "2026-W49"
        assert [body["title"][-8:] for body in endpoint.bodies] == ["2026-W48", "2026-W49"]
        db.dispose()


def test_the_title_in_chinese_and_archiving_without_sending(tmp_path: Path, database: Path) -> None:
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], "report: {schedule: '0 7 * * 1', language: zh-CN}\n")
        sent = send_report(config, _archived(config, database), "2026-W48", sleep=no_sleep)
        assert sent == {label: None for label in _labels(config)}
        assert endpoint.bodies[-1]["title"] == "AI 搜索可见度报告 — Hengda Valve — 2026-W48"
        quiet = configure(tmp_path, database, [endpoint.url],
                          f"report: {{schedule: '0 7 * * 1', send: false, archive: {tmp_path / 'quiet'}}}\n")
        db = load_db(quiet)
        done = deliver_due(quiet, db, datetime(2026, 12, 1, tzinfo=UTC), no_sleep)
        assert done is not None and done.rendered and (tmp_path / "quiet" / "2026-W48" / "report.html").is_file()
        assert len(endpoint.bodies) == 1  # only send_report's
        db.dispose()


def _archived(config: Config, database: Path) -> Path:
    db = load_db(config)
    done = deliver_due(config.model_copy(update={"report": config.report.model_copy(update={"send": False})}), db,
                       datetime(2026, 12, 1, tzinfo=UTC), no_sleep)
    db.dispose()
    assert done is not None
    return done.folder


def _labels(config: Config) -> list[str]:
    from monitor.alerts.deliver import channel_label

    return [channel_label(channel) for channel in config.alerts.channels]


def test_a_render_failure_is_logged_leaves_nothing_and_the_daemon_goes_on(
        tmp_path: Path, database: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.scheduler import Daemon

    def failing(*_args: object, **_kwargs: object) -> None:
        raise StorageError("the database cannot be reached: connection refused")

    monkeypatch.setattr("monitor.report.delivery.publish_week", failing)
    config = configure(tmp_path, database, [], "report: {schedule: '0 7 * * 1', timezone: UTC}\n")
    Daemon(config, load_db(config), say=lambda line: None, reload=None).weekly_report()  # the real clock
    assert "weekly report not delivered: the database cannot be reached: connection refused" in caplog.text
    assert list(config.report.archive.iterdir()) == []  # the partial folder is gone


def test_an_archive_shared_with_another_project_is_refused_not_sent(tmp_path: Path, database: Path) -> None:
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], WEEKLY)
        folder = _archived(config, database)
        other = config.model_copy(update={"project": "Apex Flow"})
        db = load_db(config)
        with pytest.raises(ConfigError, match="holds 'Hengda Valve''s reports: give project 'Apex Flow' a report"):
            deliver_due(other, db, datetime(2026, 12, 1, tzinfo=UTC), no_sleep)
        assert endpoint.bodies == [] and (folder / "report.html").is_file()
        db.dispose()


def test_a_printed_pdf_is_attached_rather_than_the_html(tmp_path: Path, database: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def printed(_html: Path, pdf: Path) -> None:
        pdf.write_bytes(b"%PDF-1.7 a week of visibility")

    monkeypatch.setattr("monitor.report.publish.write_pdf", printed)
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], WEEKLY)
        db = load_db(config)
        assert deliver_due(config, db, datetime(2026, 12, 1, tzinfo=UTC), no_sleep) is not None
        db.dispose()
    [attachment] = endpoint.bodies[0]["attachments"]
    assert attachment["filename"] == "citewatch-report-2026-W48.pdf" and attachment["mimetype"] == "application/pdf"
    assert base64.b64decode(attachment["base64"]) == b"%PDF-1.7 a week of visibility"


def test_report_send_through_the_console_script(tmp_path: Path, database: Path) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).with_name("citewatch")
    out = tmp_path / "out"
    with json_endpoint() as endpoint:
        config = configure(tmp_path, database, [endpoint.url], "")
        sent = subprocess.run([str(script), "report", "--config", str(config.source), "--week", "2026-W48", "--out",
                               str(out), "--send", "--no-pdf", "--lang", "zh-CN"], capture_output=True, text=True)
        assert sent.returncode == 0, sent.stderr
        assert re.search(r"^sent +json://127\.0\.0\.1:\d+#", sent.stdout, re.M)
        assert [body["title"] for body in endpoint.bodies] == ["AI 搜索可见度报告 — Hengda Valve — 2026-W48"]
        assert endpoint.bodies[0]["message"] == (out / "report.md").read_text(encoding="utf-8")
        assert not (out / "report.pdf").exists()
        endpoint.status = 500
        failed = subprocess.run([str(script), "report", "--config", str(config.source), "--week", "2026-W48", "--out",
                                 str(out), "--send", "--no-pdf"], capture_output=True, text=True)
        assert failed.returncode == 7 and "FAILED" in failed.stdout and "1 of 1 channel(s) failed" in failed.stderr
    silent = configure(tmp_path, database, [], "")
    refused = subprocess.run([str(script), "report", "--config", str(silent.source), "--week", "2026-W48", "--out",
                              str(out), "--send"], capture_output=True, text=True)
    assert refused.returncode == 2 and "has no alerts.channels" in refused.stderr and "Traceback" not in refused.stderr
