"""`citewatch ingest-logs` and `citewatch traffic`: files counted once whatever their name or compression,
rotated sets in order, growing files continued, spoofed crawlers told apart, failures losing nothing, and
the JSON contract, through the installed console script."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import fixed_clock
from monitor.config import load_config
from monitor.metrics import ai_referral_traffic
from monitor.traffic import ingest as ingest_module
from monitor.traffic.ingest import iter_summaries, reading_order
from monitor.traffic.service import ingest_logs
from storage import traffic
from storage.db import open_database

CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
CHATGPT_USER = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
# inside the ranges OpenAI publishes for each (shipped in monitor/traffic/data/bot_ranges.json)
GPTBOT_ADDRESS, CHATGPT_USER_ADDRESS = "20.171.206.5", "4.151.71.180"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG = """\
brand: {{name: Hengda Valve, domains: [hengdavalve.com]}}
keywords: [{{text: ball valve}}]
engines: [{{id: chatgpt, kind: openai}}]
storage: {{url: "{storage}"}}
traffic: {{format: combined}}
"""


def line(moment: datetime, client: str, path: str, referrer: str = "-", agent: str = CHROME, status: int = 200,
         zone: int = 0) -> str:
    local = moment.astimezone(UTC) + timedelta(hours=zone)
    stamp = local.strftime("%d/%b/%Y:%H:%M:%S") + f" {'+' if zone >= 0 else '-'}{abs(zone):02d}00"
    return f'{client} - - [{stamp}] "GET {path} HTTP/1.1" {status} 512 "{referrer}" "{agent}"\n'


def day_of_traffic(start: datetime = T0) -> str:
    """Two AI visits (three page views) from ChatGPT, one from Perplexity (+8 hours zone), an asset and a 404
    that do not count, a person from Google, GPTBot twice, ChatGPT-User fetching a product page, a bot
    from elsewhere, and one garbage line."""
    return "".join([
        line(start, "203.0.113.5", "/products/ball-valve", "https://chatgpt.com/"),
        line(start + timedelta(minutes=5), "203.0.113.5", "/about", "https://chatgpt.com/"),  # same visit
        line(start + timedelta(minutes=50), "203.0.113.5", "/contact", "https://chatgpt.com/"),  # a new visit
        line(start + timedelta(minutes=1), "198.51.100.7", "/static/app.js", "https://chatgpt.com/"),  # an asset
        line(start + timedelta(minutes=2), "198.51.100.8", "/gone", "https://chatgpt.com/", status=404),
        line(start + timedelta(minutes=3), "198.51.100.9", "/zh/products?utm_source=perplexity", zone=8),
        line(start + timedelta(minutes=4), "192.0.2.1", "/", "https://www.google.com/"),
        line(start + timedelta(minutes=6), GPTBOT_ADDRESS, "/products/ball-valve", agent=GPTBOT),
        line(start + timedelta(minutes=7), GPTBOT_ADDRESS, "/sitemap.xml", agent=GPTBOT),
        line(start + timedelta(minutes=8), CHATGPT_USER_ADDRESS, "/products/ball-valve", agent=CHATGPT_USER),
        line(start + timedelta(minutes=9), "192.0.2.70", "/", "https://chatgpt.com/", agent="python-requests/2.32"),
        "\x00\x01 not a log line\n",
    ])


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(storage=db_url), encoding="utf-8")
    return path


def ingest(config_path: Path, *paths: Path) -> list[ingest_module.FileSummary]:
    config = load_config(config_path)
    db = open_database(config.storage.url)
    try:
        return ingest_logs(config, db, list(paths), clock=fixed_clock(T0))
    finally:
        db.dispose()


def figures(config_path: Path, since: str = "2026-11-23", until: str = "2026-11-29") -> dict:
    config = load_config(config_path)
    db = open_database(config.storage.url)
    try:
        return ai_referral_traffic(db, config.project_name, datetime.fromisoformat(since).date(),
                                   datetime.fromisoformat(until).date())
    finally:
        db.dispose()


def test_a_day_of_traffic_is_counted_as_the_definitions_say(config_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(day_of_traffic(), encoding="utf-8")
    (summary,) = ingest(config_path, log)
    assert (summary.state, summary.format, summary.lines, summary.malformed) == ("new", "combined", 12, 1)
    assert summary.samples[0].startswith("line 12: ")
    result = figures(config_path)
    referrals = result["ai_referrals"]
    assert referrals["total"] == {"pageviews": 4, "visits": 3}
    assert referrals["by_source"] == {"chatgpt": {"pageviews": 3, "visits": 2},
                                      "perplexity": {"pageviews": 1, "visits": 1}}
    # a visit belongs to the page it began on; query strings are not part of a landing page
    assert referrals["by_landing_page"]["/products/ball-valve"] == {"pageviews": 1, "visits": 1}
    assert referrals["by_landing_page"]["/about"] == {"pageviews": 1, "visits": 0}
    assert referrals["by_landing_page"]["/zh/products"] == {"pageviews": 1, "visits": 1}
    crawlers = result["ai_crawlers"]
    # no published ranges are loaded for these bots in a test database: unverifiable, counted, not spoofed
    assert crawlers["by_bot"] == {"GPTBot": 2, "ChatGPT-User": 1} and crawlers["total"] == 3
    assert crawlers["by_purpose"]["training"] == 2 and crawlers["by_purpose"]["user_fetch"] == 1
    assert result["user_fetches"] == {"/products/ball-valve": {"ChatGPT-User": 1}}


def test_a_file_is_counted_once_whatever_its_name_or_compression(config_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(day_of_traffic(), encoding="utf-8")
    ingest(config_path, log)
    once = figures(config_path)
    renamed = tmp_path / "access.log.1"
    shutil.copy(log, renamed)
    compressed = tmp_path / "access.log.2.gz"
    compressed.write_bytes(gzip.compress(log.read_bytes()))
    summaries = ingest(config_path, log, renamed, compressed)
    assert [s.state for s in summaries] == ["already read"] * 3
    assert figures(config_path) == once


@pytest.mark.parametrize("workers", [1, 2])
def test_a_growing_file_continues_where_it_stopped_and_waits_for_a_whole_line(
        config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    if workers > 1:  # each worker reading a byte range of the file
        monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(ingest_module, "RANGE_BYTES", 300)
        monkeypatch.setattr(ingest_module.os, "cpu_count", lambda: workers)
    text = day_of_traffic()
    lines = text.splitlines(keepends=True)
    log = tmp_path / "access.log"
    log.write_text("".join(lines[:5]) + lines[5][:30], encoding="utf-8")  # the sixth line half written
    (first,) = ingest(config_path, log)
    assert first.lines == 5
    log.write_text(text, encoding="utf-8")  # the rest arrives
    (second,) = ingest(config_path, log)
    assert (second.state, second.lines) == ("continued", 7)
    whole = tmp_path / "whole"
    whole.mkdir()
    other = whole / "config.yaml"
    storage = load_config(config_path).storage.url
    other.write_text(CONFIG.format(storage=storage.replace("test.db", "whole.db")) if "sqlite" in storage
                     else CONFIG.format(storage=storage), encoding="utf-8")
    if "sqlite" in storage:
        shutil.copy(log, whole / "access.log")
        ingest(other, whole / "access.log")
        assert figures(other) == figures(config_path)  # read in two goes, counted as in one


def test_a_rotated_set_is_read_oldest_first_and_a_visit_spans_files(config_path: Path, tmp_path: Path) -> None:
    assert [p.name for p in reading_order([Path("a.log"), Path("a.log.1"), Path("a.log.10.gz"), Path("a.log.2.gz"),
                                           Path("b.log-20261202.gz"), Path("b.log-20261201.gz"), Path("b.log")])] == [
        "a.log.10.gz", "a.log.2.gz", "a.log.1", "a.log", "b.log-20261201.gz", "b.log-20261202.gz", "b.log"]
    # one reader's visit: a page view at the end of the older file, the next ten minutes later in the newer
    older = tmp_path / "access.log.1.gz"
    older.write_bytes(gzip.compress(line(T0, "203.0.113.5", "/a", "https://claude.ai/").encode()))
    newer = tmp_path / "access.log"
    newer.write_text(line(T0 + timedelta(minutes=10), "203.0.113.5", "/b", "https://claude.ai/"), encoding="utf-8")
    summaries = ingest(config_path, newer, older)
    assert [s.path.name for s in summaries] == ["access.log.1.gz", "access.log"]
    assert figures(config_path)["ai_referrals"]["by_source"] == {"claude": {"pageviews": 2, "visits": 1}}


def test_a_database_failure_mid_file_loses_nothing_and_the_next_ingest_resumes(
        config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(day_of_traffic(T0 + timedelta(hours=h)) for h in range(0, 24, 2)), encoding="utf-8")
    monkeypatch.setattr(ingest_module, "BLOCK_BYTES", 1024)
    monkeypatch.setattr(ingest_module, "FLUSH_LINES", 10)
    real_add, calls = traffic.add_counts, []

    def failing_add(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 7:  # the fourth chunk's crawler counts: its referral counts roll back with it
            raise OSError("disk full")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(traffic, "add_counts", failing_add)
    with pytest.raises(Exception, match="disk full"):
        ingest(config_path, log)
    monkeypatch.setattr(traffic, "add_counts", real_add)
    partial = figures(config_path)["ai_referrals"]["total"]["pageviews"]
    (resumed,) = ingest(config_path, log)
    assert resumed.state == "continued" and 0 < partial < 4 * 12
    assert figures(config_path)["ai_referrals"]["total"] == {"pageviews": 4 * 12, "visits": 3 * 12}
    assert figures(config_path)["ai_crawlers"]["total"] == 3 * 12


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=dict(os.environ, OPENAI_API_KEY="unused"))


def test_spoofed_crawlers_through_the_console_script(config_path: Path, tmp_path: Path) -> None:
    ranges = tmp_path / "gptbot.json"  # OpenAI's published shape
    ranges.write_text(json.dumps({"creationTime": "2026-12-01T00:00:00", "prefixes": [
        {"ipv4Prefix": "20.171.206.0/24"}, {"ipv6Prefix": "2001:db8::/32"}]}), encoding="utf-8")
    loaded = cli("update-bot-ranges", "--config", str(config_path), str(ranges), cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == f"GPTBot: 2 address ranges from {ranges}"
    log = tmp_path / "access.log"
    log.write_text(day_of_traffic() + line(T0, "203.0.113.99", "/", agent=GPTBOT)  # GPTBot's name, not its address
                   + line(T0, "2001:db8::5", "/about", agent=GPTBOT)  # inside the new ranges
                   + line(T0, "74.7.227.5", "/about", agent=GPTBOT), encoding="utf-8")  # in the shipped ones only
    done = cli("ingest-logs", "--config", str(config_path), str(log), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "15 lines, 1 malformed, 4 AI referral page views (3 visits), 6 AI crawler hits" in done.stdout
    shown = cli("traffic", "--config", str(config_path), "--since", "2026-11-23", "--until", "2026-11-29",
                "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert set(result) >= {"period", "ai_referrals", "ai_crawlers"}
    assert result["period"] == {"since": "2026-11-23", "until": "2026-11-29"}
    # counted apart, never as GPTBot: the stranger, and an address the new list no longer holds
    assert result["ai_crawlers"]["spoofed"] == 2
    assert result["ai_crawlers"]["by_bot"] == {"GPTBot": 3, "ChatGPT-User": 1}
    assert result["previous"]["ai_referrals"]["total"] == {"pageviews": 0, "visits": 0}
    csv_out = cli("traffic", "--config", str(config_path), "--since", "2026-11-23", "--until", "2026-11-29",
                  "--format", "csv", cwd=tmp_path).stdout.splitlines()
    assert csv_out[0] == "dimension,name,pageviews,visits,previous_visits,change"
    assert "source,chatgpt,3,2,0,new" in csv_out
    table = cli("traffic", "--config", str(config_path), "--since", "2026-11-23", "--until", "2026-11-29",
                cwd=tmp_path).stdout
    assert "chatgpt" in table and "GPTBot" in table and "spoofed" in table
    bad = cli("update-bot-ranges", "--config", str(config_path), str(log), cwd=tmp_path)
    assert bad.returncode == 2 and "--bot" in bad.stderr and "Traceback" not in bad.stderr


def test_worker_processes_count_what_one_process_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(day_of_traffic(T0 + timedelta(hours=h)) for h in range(24)), encoding="utf-8")
    compressed = tmp_path / "copy.log.gz"
    compressed.write_bytes(gzip.compress(log.read_bytes()))
    monkeypatch.setattr(ingest_module, "BLOCK_BYTES", 4096)  # many blocks, several in flight
    configs = {name: tmp_path / f"{name}.yaml" for name in ("alone", "ranges", "blocks")}
    for name, path in configs.items():
        path.write_text(CONFIG.format(storage=f"sqlite:///{tmp_path / name}.db"), encoding="utf-8")
    (alone,) = ingest(configs["alone"], log)
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)  # every file is big enough for workers
    monkeypatch.setattr(ingest_module, "RANGE_BYTES", 1000)  # ranges that cut lines: each belongs to one
    monkeypatch.setattr(ingest_module.os, "cpu_count", lambda: 2)
    (ranges,) = ingest(configs["ranges"], log)  # a plain file: each worker reads its own byte ranges
    (blocks,) = ingest(configs["blocks"], compressed)  # a compressed one: blocks read here, scanned there
    for parallel, config in ((ranges, configs["ranges"]), (blocks, configs["blocks"])):
        assert (parallel.lines, parallel.malformed, parallel.samples) == (
            alone.lines, alone.malformed, alone.samples)
        assert figures(config) == figures(configs["alone"])
    assert figures(configs["alone"])["ai_referrals"]["total"]["pageviews"] == 4 * 24 and alone.malformed == 24


GA4_EXPORT = """\
# ----------------------------------------
# Traffic acquisition: Session source / medium
# Account: Hengda Valve
# Start date: 20261123
# End date: 20261129
# ----------------------------------------
Date,Session source / medium,Landing page + query string,Session default channel group,\
First user source / medium,Sessions
20261124,chatgpt.com / referral,/products/ball-valve?x=1,Referral,google / organic,12
20261124,perplexity / (not set),/,Referral,perplexity / (not set),3
20261125,chat.mistral.ai / referral,/about,AI Assistant,chat.mistral.ai / referral,2
20261125,assistant.example / referral,/about,AI Assistant,assistant.example / referral,1
20261125,google / organic,/,Organic Search,google / organic,"1,204"
Grand total,,,,,1222
"""


def test_a_ga4_export_keeps_its_source_views_apart_and_is_counted_once(config_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "ga4.csv"
    export.write_text(GA4_EXPORT, encoding="utf-8")
    (summary,) = ingest(config_path, export)
    # five data rows, each in both views; AI sessions: 18 by the session's source, 5 by the first user's
    assert (summary.format, summary.state, summary.lines, summary.sessions) == ("ga4", "new", 10, 18 + 5)
    assert list(iter_summaries([summary])) == [f"{export}: new, ga4, 10 rows, 23 sessions from AI sources (both views)"]
    sessions = figures(config_path)["analytics_sessions"]
    # the session's source and the first user's source describe the same sessions: two views, never summed
    # a source GA4 files under "AI Assistant" that our lists do not know keeps the name GA4 gives it
    assert sessions["session"] == {"chatgpt": 12, "perplexity": 3, "mistral": 2, "assistant.example": 1}
    # (the session's channel says nothing of the first user's source)
    assert sessions["first_user"] == {"perplexity": 3, "mistral": 2}
    (again,) = ingest(config_path, export)
    assert again.state == "already read" and figures(config_path)["analytics_sessions"] == sessions
    undated = tmp_path / "undated.csv"
    undated.write_text("Session source / medium,Sessions\nchatgpt.com / referral,4\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"undated.csv: the export has no Date column"):
        ingest(config_path, undated)
    broken = tmp_path / "broken.csv"
    broken.write_text("Date,Session source,Sessions\n20261124,chatgpt.com,many\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"broken.csv: line 2: Sessions is not a number"):
        ingest(config_path, broken)


def test_serve_through_the_console_script(tmp_path: Path) -> None:
    import socket
    import time as clock

    import httpx

    config_path = tmp_path / "config.yaml"  # the web view's reads are tested on both databases (test_web)
    config_path.write_text(CONFIG.format(storage=f"sqlite:///{tmp_path / 'serve.db'}"), encoding="utf-8")
    refused = cli("serve", "--config", str(config_path), "--host", "0.0.0.0", cwd=tmp_path)
    assert refused.returncode == 2 and "token" in refused.stderr and "Traceback" not in refused.stderr
    log = tmp_path / "access.log"
    log.write_text(day_of_traffic(), encoding="utf-8")
    ingest(config_path, log)  # the project exists now
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(CONSOLE_SCRIPT), "serve", "--config", str(config_path), "--port", str(port)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, OPENAI_API_KEY="unused"))
    try:
        for _ in range(100):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                clock.sleep(0.1)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{port}/api/metrics?since=2026-11-23&until=2026-11-29", timeout=10)
        assert metrics.status_code == 200
        assert metrics.json()["ai_referral_traffic"]["ai_referrals"]["total"] == {"pageviews": 4, "visits": 3}
    finally:
        server.terminate()
        server.wait(timeout=10)
