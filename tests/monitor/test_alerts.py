"""Alerts: rules evaluated at the end of every run, events stored once, one digest per run delivered through
Apprise to a local json:// endpoint, and `citewatch alerts`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from citewatch.alerts import CITATION_LOST, EventKey, PairRun
from citewatch.errors import ConfigError, ProbeError
from monitor.alerts import rules
from monitor.alerts.digest import Entry, render_digest
from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.pipeline import run_batch
from probes.base import ProbeRequest
from probes.fake import FakeProbe
from storage.db import open_database
from storage.models import AlertDelivery, AlertEvent
from tests.monitor.alert_helpers import Endpoint, json_endpoint, responses_payload

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PAGE = "https://hengdavalve.com/products/ball-valves"
OTHER = "https://valve-world.net/top-10-ball-valve-makers"

CONFIG = """\
brand:
  name: Hengda Valve
  aliases: [Hengda]
  domains: [hengdavalve.com]
competitors:
  - name: Apex Flow Controls
    domains: [apexflow.com]
keywords:
  - text: industrial ball valve manufacturer
engines:
  - id: chatgpt
    kind: openai
    model: gpt-5-mini
    base_url: http://127.0.0.1:9/v1
    samples: 2
    retries: 0
storage:
  url: {storage}
alerts:
  channels: [{channel}]
  lang: {lang}
  attempts: 1
  rules:
    - {{kind: citation_lost, confirm_runs: 2}}
    - {{kind: citation_gained, confirm_runs: 2}}
    - {{kind: engine_failing, min_coverage: 0.5}}
"""


def write(tmp_path: Path, db_url: str, channel: str, lang: str = "en") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(storage=db_url, channel=channel, lang=lang), encoding="utf-8")
    return path


class Script:
    """What the answers of the next run cite, one list of URLs per answer in the order asked (the last
    repeats), or an error for every probe."""

    def __init__(self) -> None:
        self.samples: list[list[str]] | ProbeError = [[]]
        self.asked = 0

    def answer(self, _request: ProbeRequest) -> bytes:
        if isinstance(self.samples, ProbeError):
            raise self.samples
        index = min(self.asked, len(self.samples) - 1)
        self.asked += 1
        return responses_payload([*self.samples[index], OTHER])


async def run(config, db, script: Script, hour: int, samples) -> object:  # type: ignore[no-untyped-def]
    script.samples, script.asked = samples, 0
    return await run_batch(config, db, fixed_clock(T0 + timedelta(hours=hour)),
                           probes=lambda engine: FakeProbe(script.answer))


def messages(endpoint: Endpoint) -> list[str]:
    return [body["title"] + "\n" + body["message"] for body in endpoint.bodies]


async def test_a_flap_raises_nothing_a_real_loss_exactly_one_alert_and_a_return_a_gain(tmp_path: Path,
                                                                                    db_url: str) -> None:
    with json_endpoint() as endpoint:
        config = load_config(write(tmp_path, db_url, endpoint.url))
        db = open_database(config.storage.url)
        script = Script()
        await run(config, db, script, 0, [[PAGE]])       # cited
        await run(config, db, script, 1, [[]])           # absent once
        await run(config, db, script, 2, [[PAGE], []])   # one sample of two cites it: present
        await run(config, db, script, 3, [[]])           # absent
        assert endpoint.bodies == []                     # the flap (present, absent, present) said nothing
        await run(config, db, script, 4, ProbeError("HTTP 503: busy"))  # failed probes are not absence
        assert len(endpoint.bodies) == 1 and "engine(s) failing" in endpoint.bodies[0]["title"]
        assert PAGE not in endpoint.bodies[0]["message"]
        summary = await run(config, db, script, 5, [[]])  # absent from 2 successful runs: lost
        assert summary.alerts is not None and [e.key.kind for e in summary.alerts.entries if not e.recovered] \
            == [CITATION_LOST]
        lost = messages(endpoint)[1]
        assert "1 citation(s) lost" in lost and f"`{PAGE}`" in lost and "industrial ball valve manufacturer" in lost
        assert "last seen 2026-11-23" in lost and "`valve-world.net`" in lost  # who is cited instead
        assert "Engines recovered" in lost  # the failing engine's recovery, in the same digest
        await run(config, db, script, 6, [[]])           # still absent: not announced again
        assert len(endpoint.bodies) == 2
        await run(config, db, script, 7, [[PAGE]])       # back: a gain, and the lost event closes
        assert len(endpoint.bodies) == 3 and "1 citation(s) gained" in endpoint.bodies[2]["title"]
        with Session(db) as session:
            events = session.execute(select(AlertEvent).order_by(AlertEvent.id)).scalars().all()
            assert [(e.kind, e.closed_run_id is None) for e in events] == [
                ("engine_failing", False), ("citation_lost", False), ("citation_gained", False)]
            undelivered = session.execute(select(func.count()).select_from(AlertDelivery)
                                          .where(AlertDelivery.delivered_at.is_(None))).scalar_one()
        assert undelivered == 0
        await run(config, db, script, 8, [[]])
        await run(config, db, script, 9, [[]])           # lost again after it came back: announced again
        assert len(endpoint.bodies) == 4 and "1 citation(s) lost" in endpoint.bodies[3]["title"]
        db.dispose()


async def test_a_failed_delivery_keeps_the_event_and_the_next_run_sends_it(tmp_path: Path) -> None:
    with json_endpoint() as endpoint:
        config = load_config(write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", endpoint.url))
        db = open_database(config.storage.url)
        script = Script()
        endpoint.status = 500
        summary = await run(config, db, script, 0, ProbeError("HTTP 503: busy"))
        assert summary.alerts is not None and len(summary.alerts.entries) == 1
        [(channel, error)] = summary.alerts.deliveries.items()
        assert channel.startswith("json://127.0.0.1:") and error and "500" in error
        with Session(db) as session:
            assert session.execute(select(AlertEvent.kind)).scalars().all() == ["engine_failing"]
        endpoint.status = 200
        await run(config, db, script, 1, ProbeError("HTTP 503: busy"))  # still failing: nothing new
        assert [body["title"] for body in endpoint.bodies] == [
            "citewatch · Hengda Valve: 1 engine(s) failing (run 1)"]  # the first digest, late but whole
        db.dispose()


async def test_the_digest_in_chinese(tmp_path: Path) -> None:
    with json_endpoint() as endpoint:
        config = load_config(write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", endpoint.url, lang="zh-CN"))
        db = open_database(config.storage.url)
        script = Script()
        for hour, samples in enumerate(([[PAGE]], [[]], [[]])):
            await run(config, db, script, hour, samples)
        [body] = endpoint.bodies
        assert body["title"] == "citewatch · Hengda Valve：失去引用 1 条（第 3 次运行）"
        assert "失去的引用" in body["message"] and "最后出现于 2026年11月23日" in body["message"]
        assert "改为引用：`valve-world.net`" in body["message"]
        db.dispose()


def test_scraped_text_cannot_inject_markdown_into_a_digest() -> None:
    hostile = "https://evil.example/](http://phish.example)`**boom**"
    entry = Entry(EventKey(CITATION_LOST, 1, "chatgpt", hostile), {
        "url": hostile, "last_seen": "2026-11-23T06:00:00+00:00", "absent_runs": 2,
        "instead": ["[click](http://phish.example)"]}, "kw")
    _, body = render_digest("P", "B", 1, [entry], "en")
    assert "`https://evil.example/](http://phish.example)%60**boom**`" in body
    assert "`[click](http://phish.example)`" in body  # inside a code span: shown, not a link
    spoofed = Entry(EventKey(CITATION_LOST, 1, "chatgpt", "x"), {
        "url": "https://moc.\u202elive.com/a|b<c>", "last_seen": "2026-11-23", "absent_runs": 2}, "kw")
    _, body = render_digest("P", "B", 1, [spoofed], "en")
    assert "`https://moc.⟨U+202E⟩live.com/a%7Cb%3Cc%3E`" in body  # a right-to-left override shown, not obeyed


def test_a_digest_lists_at_most_fifteen_entries_a_section() -> None:
    entries = [Entry(EventKey("citation_gained", n, "chatgpt", f"https://hengdavalve.com/{n}"),
                     {"url": f"https://hengdavalve.com/{n}"}, f"keyword {n:02d}") for n in range(40)]
    title, body = render_digest("P", "B", 1, entries, "zh")
    assert "新增引用 40 条" in title and body.count("\n- ") == 16
    assert body.endswith("……另有 25 条（`citewatch alerts` 可查看全部）")


def test_channels_are_named_without_their_secrets() -> None:
    from monitor.alerts.deliver import channel_label

    assert channel_label("tgram://123456789:AAHsecretTOKEN/987").startswith("tgram://…#")
    assert channel_label("slack://${SLACK_TOKENS}/#seo").startswith("slack://${SLACK_TOKENS}#")
    assert channel_label("json://127.0.0.1:8080/hook").startswith("json://127.0.0.1:8080#")


def test_two_rules_of_one_kind_over_one_engine_do_not_close_what_the_other_opens() -> None:
    from citewatch.alerts import Evaluation

    key = EventKey("inclusion_drop", None, "google")
    general = Evaluation({key: ({"to": 0.3}, True)}, {})  # a 10-point rule finds the drop
    strict = Evaluation({}, {key: {"to": 0.3}})  # a 20-point rule for google does not
    found = Evaluation()
    for result in (general, strict):
        found.add(result)
    assert rules.settled(found).recovered == {} and key in rules.settled(found).opened


def pair_runs(*cited: bool) -> list[PairRun]:
    return [PairRun(index, T0 + timedelta(days=index), {1: {PAGE: PAGE}} if present else {})
            for index, present in enumerate(cited, start=1)]


@pytest.mark.parametrize(("sequence", "lost"), [
    ((True, False, True), False),           # flapping
    ((True, False), False),                 # one absence is not enough with confirm_runs 2
    ((True, False, False), True),
    ((True, False, False, False), True),    # still lost (the open event keeps it from being announced again)
    ((False, False, False), False),         # never cited
])
def test_citation_lost_needs_confirm_runs_absences(sequence: tuple[bool, ...], lost: bool) -> None:
    history = {(7, "chatgpt"): pair_runs(*sequence)}
    found = rules.lost_citations(history, len(sequence), brand_id=1, confirm_runs=2)
    assert bool(found.opened) == lost
    assert (EventKey(CITATION_LOST, 7, "chatgpt", PAGE) in found.recovered) == sequence[-1]


def test_rules_only_judge_what_the_run_observed() -> None:
    # the keyword's newest successful run is not this one (all its probes failed in run 4): nothing changes
    history = {(7, "chatgpt"): pair_runs(True, False, False)}
    assert not rules.lost_citations(history, 4, brand_id=1, confirm_runs=2).opened


def test_a_competitor_newly_cited_where_the_brand_is_not() -> None:
    runs = pair_runs(False, False, False)
    runs[-1].cited = {2: {"https://apexflow.com/x": "https://apexflow.com/x"}}
    found = rules.gained_competitors({(7, "chatgpt"): runs}, 3, brand_id=1, competitors={2: "Apex"},
                                     confirm_runs=2)
    assert list(found.opened) == [EventKey("competitor_gained", 7, "chatgpt", "Apex")]
    runs[-1].cited[1] = {PAGE: PAGE}  # the brand is cited beside it: no alert
    assert not rules.gained_competitors({(7, "chatgpt"): runs}, 3, 1, {2: "Apex"}, 2).opened


def test_a_drop_must_pass_the_threshold_and_the_noise_test() -> None:
    def scope(before: float, now: float, n: int, significant: bool):  # type: ignore[no-untyped-def]
        return ({"value": now, "n": n}, {"value": before, "n": n},
                {"absolute": now - before, "z": -3.0 if significant else -1.0, "significant": significant})

    found = rules.rate_drops("inclusion_drop", {"chatgpt": scope(0.6, 0.3, 100, True),
                                                "gemini": scope(0.6, 0.3, 8, False),
                                                "claude": scope(0.6, 0.55, 900, True),
                                                None: scope(0.5, 0.45, 1000, True)}, 10, 7, "z-test")
    assert [key.engine_id for key in found.opened] == ["chatgpt"]
    assert found.opened[EventKey("inclusion_drop", None, "chatgpt")][0]["test"] == "z-test"
    assert set(key.engine_id for key in found.recovered) == {"gemini", "claude", None}


def test_alert_config_errors_name_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "sqlite:///x.db", "json://127.0.0.1:1/")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{kind: engine_failing, min_coverage: 0.5}",
                                 "{kind: engine_failing, confirm_runs: 3}"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\.rules\[2\].*confirm_runs does not apply to engine_failing"):
        load_config(path)
    path.write_text(text.replace("{kind: citation_lost, confirm_runs: 2}",
                                 "{kind: citation_lost, engines: [gemini]}"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\.rules\[0\]\.engines.*gemini"):
        load_config(path)
    path.write_text(text.replace("json://127.0.0.1:1/", "slack://$TOKEN"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\.channels.*\$\{NAME\}"):
        load_config(path)


CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")


def citewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


async def test_cli_lists_events_and_tests_every_channel(tmp_path: Path) -> None:
    with json_endpoint() as endpoint:
        path = write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", endpoint.url)
        config = load_config(path)
        db = open_database(config.storage.url)
        await run(config, db, Script(), 0, ProbeError("HTTP 503: busy"))
        db.dispose()
        listed = citewatch("alerts", "--config", str(path), "--format", "json")
        assert listed.returncode == 0, listed.stderr
        [event] = json.loads(listed.stdout)
        assert event["kind"] == "engine_failing" and event["open"] and event["engine"] == "chatgpt"
        assert event["delivered"] == [{"channel": event["delivered"][0]["channel"], "delivered": True, "error": None}]
        assert "engine_failing (open): chatgpt" in citewatch("alerts", "--config", str(path)).stdout

        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(f"channels: [{endpoint.url}]",
                                     f"channels: [{endpoint.url}, 'json://${{HOOK_HOST}}/x']"), encoding="utf-8")
        tested = citewatch("alerts", "test", "--config", str(path), env={"HOOK_HOST": "127.0.0.1:9"})
        assert tested.returncode == 7, tested.stdout + tested.stderr
        lines = tested.stdout.splitlines()
        assert lines[0].startswith("ok     json://127.0.0.1:")
        assert lines[1].startswith("FAILED json://${HOOK_HOST}#")  # named by its variable, never its value
        assert "1 of 2 channel(s) failed" in tested.stderr
        assert endpoint.bodies[-1]["title"] == "citewatch · Hengda Valve: test message"


def test_check_config_and_doctor_say_what_a_channel_lacks(tmp_path: Path) -> None:
    from monitor.doctor import diagnose

    path = write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", "'tgram://123456:abcdefghijk/987', 'json://${HOOK}/x'")
    checked = citewatch("check-config", "--config", str(path), env={"HOOK": ""})
    assert checked.returncode == 0, checked.stderr
    assert "alerts.channels[0] is written out in the config" in checked.stderr
    assert "alerts.channels[1] names HOOK, not set here" in checked.stderr
    os.environ.pop("HOOK", None)
    findings = {f.check.split("#")[0]: f for f in diagnose(load_config(path), T0) if f.check.startswith("alert")}
    assert findings["alert channel tgram://…"].ok  # Apprise knows Telegram's URL; its token is not shown
    assert not findings["alert channel json://${HOOK}"].ok and findings["alert channel json://${HOOK}"].detail == \
        "HOOK not set"


def test_a_heartbeat_url_of_another_scheme_goes_through_apprise() -> None:
    from monitor import heartbeat

    with json_endpoint() as endpoint:
        summary = {"service": "citewatch", "project": "Hengda Valve", "status": "ok", "run": 3, "stored": 12}
        assert heartbeat.send(endpoint.url, summary)
        endpoint.status = 500
        assert not heartbeat.send(endpoint.url, summary)
    [body] = endpoint.bodies
    assert body["title"] == "citewatch Hengda Valve: run 3 ok" and "stored 12" in body["message"]


async def test_the_daemon_warns_of_an_engine_whose_last_success_is_too_old(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    from monitor.scheduler import Daemon

    config = load_config(write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", "json://127.0.0.1:9/x"))
    db = open_database(config.storage.url)
    await run(config, db, Script(), -24 * 5, [[PAGE]])  # five days ago; a daily schedule allows two days
    Daemon(config, db, say=lambda line: None, reload=None).warn_stale(config)
    assert any(r.message.startswith("engine chatgpt is stale: last successful answer 2026-11-18")
               for r in caplog.records)
    db.dispose()


@pytest.mark.parametrize("url", [
    "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#seo", "mailto://user:pass@example.com",
    "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "tgram://123456789:abcdefg_hijklmnop/987654321",
    "wecombot://a1b2c3d4-e5f6-7890-abcd-ef1234567890", "dingtalk://abcdefghijklmnop/",
    "feishu://abcdefgh-1234-5678-9012-abcdefghijkl", "lark://abcdefgh-1234-5678-9012-abcdefghijkl",
])
def test_the_chat_services_our_users_use_are_channels_apprise_can_send_to(url: str) -> None:
    import apprise

    assert apprise.Apprise().add(url)  # what `doctor` checks; nothing is sent


async def test_open_events_of_an_engine_gone_from_the_config_are_closed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", "json://127.0.0.1:9/x"))
    db = open_database(config.storage.url)
    script = Script()
    await run(config, db, script, 0, [[PAGE]])
    with Session(db) as session, session.begin():
        session.add(AlertEvent(project_id=1, run_id=1, kind="engine_failing", engine_id="retired-engine",
                               details={}, opened_at=T0))
    await run(config, db, script, 1, [[PAGE]])
    with Session(db) as session:
        event = session.execute(select(AlertEvent).where(AlertEvent.engine_id == "retired-engine")).scalar_one()
    assert event.closed_run_id == 2
    db.dispose()
