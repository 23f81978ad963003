"""The thin CLI, as a user runs it: help texts, usage errors, exit codes, `parse`, `db upgrade`, `run`,
`reparse`, `demo` and `daemon`. Usage errors are checked through `main()` in this process and through the
installed console script."""

from __future__ import annotations

import asyncio
import functools
import http.server
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from monitor.cli import main
from probes.simulator import ScriptedResponse, Simulator
from storage.db import make_engine, open_database
from storage.models import Observation, Run
from tests.conftest import realdata, write_config
from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CONSOLE_SCRIPT = Path(sys.executable).with_name("citewatch")


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=env)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`main()` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


# --- usage errors: a message and exit 2, never a traceback --------------------------------------------


USAGE_ERRORS = [
    ((), "Usage: citewatch [OPTIONS] COMMAND [ARGS]..."),
    (("frobnicate",), "No such command 'frobnicate'"),
    (("metrics", "--config", "demo/config.yaml"), "Missing option '--since'"),
    (("report", "--config", "demo/config.yaml"), "Missing option '--week'"),
    (("run", "--colour"), "No such option: --colour"),
    (("parse",), "Missing argument 'FILE'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_errors_through_main(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert message in out + err and "Traceback" not in out + err


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS[:3])
def test_usage_errors_through_the_console_script(args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.returncode == 2 and message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.strip() == f"citewatch {version('citewatch')}"
    assert cli("--version").stdout.strip() == out.strip()


def test_citewatch_errors_are_one_line_with_their_exit_code(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "check-config", "--config", str(tmp_path / "missing.yaml"))
    missing = tmp_path / "missing.yaml"
    assert (code, err) == (2, f"error: {missing}: cannot read config file: No such file or directory\n")


@pytest.mark.parametrize(("command", "expected"), [
    ((), ["check-config", "db", "run", "metrics", "report", "demo", "parse", "--version"]),
    (("run", "--help"), ["--config", "Run one batch now"]),
    (("metrics", "--help"), ["--since", "--until", "--format"]),
    (("report", "--help"), ["--week", "--out", "--lang"]),
    (("parse", "--help"), ["--kind", "--config", "FILE", "detected"]),
    (("demo", "--help"), ["--out", "--force"]),
])
def test_help_texts_document_every_command(command: tuple[str, ...], expected: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0
    for word in expected:
        assert word in result.stdout


# --- parse ---------------------------------------------------------------------------------------------


def test_parse_prints_answer_json_with_owners() -> None:
    fixture = FIXTURES / "openai" / "hengda_butterfly_3citations_dup_utm.json"
    result = cli("parse", "--kind", "openai", str(fixture), "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"text", "citations", "mentions", "search_queries", "model", "status"} <= answer.keys()
    cited = [c for c in answer["citations"] if c["cited"]]
    assert [c["position"] for c in cited] == list(range(1, len(cited) + 1))
    assert any(c["owner"] == "Hengda Valve" for c in cited)


@pytest.mark.parametrize(("kind", "fixture"), [
    ("openai", "openai/hengda_zh_cjk_emoji.json"),
    ("openai_chat", "openai_chat/chat_hengda_3citations_dup_utm.json"),
    ("openai_compatible", "openai_chat/deepseek_chat_zh_links.json"),
    ("perplexity", "perplexity/hengda_ball_valve_dup_markers.json"),
    ("perplexity_agent", "perplexity_agent/hengda_zh_markers.json"),
    ("gemini", "gemini/hengda_api6d_grounded.json"),
    ("anthropic", "anthropic/hengda_ball_valve_dup_sources.json"),
])
def test_parse_knows_every_assistant_kind(kind: str, fixture: str) -> None:
    result = cli("parse", "--kind", kind, str(FIXTURES / fixture), "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["kind"] == kind and answer["status"] == "ok" and answer["model"]
    cited = [c for c in answer["citations"] if c["cited"]]
    assert cited and [c["position"] for c in cited] == list(range(1, len(cited) + 1))
    assert all(c["position"] > len(cited) for c in answer["citations"] if not c["cited"])
    assert any(c["owner"] == "Hengda Valve" for c in cited)
    assert any(m["entity"] == "Hengda Valve" for m in answer["mentions"])


@pytest.mark.parametrize(("fixture", "kind"), [
    ("openai/hengda_zh_cjk_emoji.json", "openai"),
    ("openai_chat/chat_hengda_3citations_dup_utm.json", "openai_chat"),
    ("perplexity/hengda_ball_valve_dup_markers.json", "perplexity"),
    ("perplexity_agent/hengda_zh_markers.json", "perplexity_agent"),
    ("gemini/hengda_api6d_grounded.json", "gemini"),
    ("anthropic/hengda_ball_valve_dup_sources.json", "anthropic"),
])
def test_parse_detects_the_kind_where_the_payload_is_unambiguous(fixture: str, kind: str) -> None:
    result = cli("parse", str(FIXTURES / fixture))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == kind
    assert f"detected kind {kind}" in result.stderr


def test_parse_asks_for_the_kind_where_the_payload_is_ambiguous() -> None:
    # a plain chat completion, no search fields: OpenAI's chat API, any compatible server, or Kimi's last leg
    result = cli("parse", str(FIXTURES / "openai_chat" / "kimi_no_links.json"))
    assert result.returncode == 2 and result.stdout == ""
    assert "could come from openai_chat or openai_compatible or kimi; say which with --kind" in result.stderr


def test_parse_refuses_a_streamed_body(tmp_path: Path) -> None:
    stream = tmp_path / "answer.sse"
    stream.write_text('event: response.created\ndata: {"type": "response.created"}\n\n'
                      'data: {"type": "response.output_text.delta", "delta": "Hi"}\n\n', encoding="utf-8")
    chunks = tmp_path / "answer.chunks.jsonl"
    chunks.write_text('{"id": "1", "choices": [{"delta": {"content": "Hi"}}]}\n'
                      '{"id": "1", "choices": [{"delta": {"content": "!"}}]}\n', encoding="utf-8")
    for path, shape in ((stream, "server-sent events"), (chunks, "JSON lines")):
        for args in ((str(path),), ("--kind", "openai", str(path))):
            result = cli("parse", *args)
            assert result.returncode == 2, result.stderr
            assert f"{path}: a streamed response ({shape}" in result.stderr
            assert "only whole, non-streamed response bodies" in result.stderr


@pytest.mark.parametrize(("folder", "name"), [
    ("openai_json", "responses_web_search_stream_events.sse"),
    ("openai_json", "responses_web_search_gpt5mini_stream.chunks.jsonl"),
    ("perplexity_json", "sonar_citations_sf_population_stream.chunks.jsonl"),
    ("gemini_json", "stream_generate_content_grounding.sse"),
])
def test_parse_refuses_real_streams(folder: str, name: str) -> None:
    sample = realdata(folder) / name
    result = cli("parse", str(sample))
    assert result.returncode == 2 and "a streamed response" in result.stderr


def test_parse_real_sample_without_config() -> None:
    sample = realdata("openai_json") / "responses_web_search_gpt5_news_3citations.json"
    result = cli("parse", "--kind", "openai", str(sample))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert len([c for c in answer["citations"] if c["cited"]]) == 3
    assert all(c["owner"] is None for c in answer["citations"])


def test_parse_garbage_and_unknown_kind_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "page.html"
    garbage.write_text("<html>502 Bad Gateway</html>")
    result = cli("parse", "--kind", "openai", str(garbage))
    assert result.returncode == 2 and f"{garbage}: not a payload of kind openai" in result.stderr
    unknown = cli("parse", "--kind", "bing", str(garbage))
    assert unknown.returncode == 2 and "engine kind 'bing' is not available" in unknown.stderr
    undetectable = cli("parse", str(garbage))
    assert undetectable.returncode == 2 and "neither a JSON object nor a page a parser recognizes" in undetectable.stderr


def test_parse_refuses_a_kind_the_payload_is_not() -> None:
    openai_body = FIXTURES / "openai" / "hengda_refusal.json"
    result = cli("parse", "--kind", "gemini", str(openai_body))
    assert result.returncode == 2 and result.stdout == ""
    assert f"{openai_body}: looks like a payload of kind openai, not gemini" in result.stderr
    # an error envelope no parser recognizes is still read by the kind given
    envelope = cli("parse", "--kind", "gemini", str(FIXTURES / "gemini" / "api_error_invalid_key.json"))
    assert envelope.returncode == 0 and json.loads(envelope.stdout)["status"] == "error"


LOADED = """
import sys
from monitor.cli import main
try:
    main(["parse", "--kind", "openai", sys.argv[1]])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules)), file=sys.stderr)
"""


def test_parse_loads_no_database_scheduler_or_network_stack() -> None:
    fixture = FIXTURES / "openai" / "hengda_zh_cjk_emoji.json"
    result = subprocess.run([sys.executable, "-c", LOADED, str(fixture)], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert json.loads(result.stdout)["status"] == "ok"
    loaded = set(result.stderr.split())
    for heavy in ("sqlalchemy", "apscheduler", "alembic", "openai", "httpx", "sqlmodel", "psycopg", "apprise"):
        assert heavy not in loaded, f"`citewatch parse` imported {heavy}"


# --- db upgrade, run ----------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///fresh.db")
    result = cli("db", "upgrade", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "observation" in inspect(make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")).get_table_names()


def test_run_reports_failures_with_reasons_and_exits_0(tmp_path: Path, simulator: Simulator) -> None:
    simulator.enqueue(ScriptedResponse(status=500, body=b'{"error": {"message": "upstream overloaded"}}'))
    config = write_config(tmp_path / "c.yaml", simulator.base_url, "sqlite:///run.db", samples=1)
    result = cli("run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "3/3 observations stored" in result.stdout and "1 failed" in result.stdout
    assert "chatgpt: 1 of 3 probes failed" in result.stderr
    assert "    1× HTTP 500: " in result.stderr and "upstream overloaded" in result.stderr


def test_run_where_every_probe_fails_exits_4_with_the_reasons(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///dead.db", samples=2)
    result = cli("run", "--config", str(config))
    assert result.returncode == 4, result.stderr
    assert "6/6 observations stored (6 error)" in result.stdout
    assert "chatgpt: 6 of 6 probes failed" in result.stderr and "6× connection failed" in result.stderr
    assert "error: every probe of run 1 failed" in result.stderr and "Traceback" not in result.stderr


def acting_once_stored(db_url: str, stored: int, action: Callable[[], object]):  # type: ignore[no-untyped-def]
    """A FakeProbe factory answering with a real payload; once `stored` observations are in the database,
    the next fetch first does `action` (once): what goes wrong under the batch."""
    from probes.fake import FakeProbe

    payload = (FIXTURES / "openai" / "hengda_zh_cjk_emoji.json").read_bytes()
    counter = make_engine(db_url)
    done: list[bool] = []
    fetches = itertools.count()

    def count() -> int:
        with counter.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM observation")).scalar_one()

    async def answer(_request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)
        if next(fetches) >= stored:
            # the later fetches wait for the first answers to be stored, however slow storing is
            for _ in range(500):
                if done or count() >= stored:
                    break
                await asyncio.sleep(0.02)
        if not done and count() >= stored:  # outside the counting transaction, whose locks DROP TABLE waits for
            action()
            done.append(True)
        return payload

    return lambda _settings: FakeProbe(answer)


def drop_table(db_url: str, table: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def proxied(postgres_url: str, tmp_path: Path) -> tuple[TcpProxy, Path]:
    """A proxy in front of the test's PostgreSQL database, and a config whose storage goes through it."""
    server = make_url(postgres_url)
    proxy = TcpProxy(server.port or 5432).start()
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1",
                          server.set(port=proxy.port).render_as_string(hide_password=False), samples=4)
    return proxy, config


def away_for(proxy: TcpProxy, seconds: float) -> Callable[[], None]:
    """The server goes away (every connection cut) and is back `seconds` later, as after a restart."""
    def restart() -> None:
        proxy.stop()
        threading.Timer(seconds, proxy.start).start()
    return restart


def test_database_lost_mid_run_exits_3_and_marks_the_run_interrupted(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> None:
    from probes.registry import EngineKind

    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", db_url, samples=4)
    factory = acting_once_stored(db_url, 2, lambda: drop_table(db_url, "mention"))
    monkeypatch.setattr(EngineKind, "make_probe", lambda self, settings: factory(settings))
    code, out, err = run_main(capsys, "run", "--config", str(config))
    assert code == 3, err
    assert err.startswith("error: run 1 stopped and marked interrupted: database ")
    assert "mention" in err and "Traceback" not in err and "INSERT" not in err
    db = make_engine(db_url)
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
        stored = session.execute(select(Observation)).scalars().all()
    assert 0 < len(stored) < 12 and all(o.status == "ok" for o in stored)
    db.dispose()


def test_database_server_gone_mid_run_exits_3_and_the_run_is_marked_when_it_returns(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_url: str) -> None:
    from probes.registry import EngineKind

    proxy, config = proxied(postgres_url, tmp_path)
    # gone for longer than the writer waits (0.1 + 0.2 s), back before marking the run gives up
    factory = acting_once_stored(postgres_url, 2, away_for(proxy, 0.5))
    monkeypatch.setattr(EngineKind, "make_probe", lambda self, settings: factory(settings))
    monkeypatch.setattr("monitor.writer.RECONNECT_WAITS", (0.1, 0.2))
    monkeypatch.setattr("monitor.pipeline.RECONNECT_WAITS", (0.1, 0.2, 0.4, 0.8))
    try:
        code, _, err = run_main(capsys, "run", "--config", str(config))
    finally:
        proxy.stop()
    assert code == 3, err
    assert err.startswith("error: run 1 stopped and marked interrupted: database ") and "Traceback" not in err
    direct = make_engine(postgres_url)
    with Session(direct) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
        assert 2 <= len(session.execute(select(Observation)).scalars().all()) < 12
    direct.dispose()


@pytest.mark.parametrize("budget", [False, True])  # with a budget, every probe also reserves its cost first
def test_a_database_restart_between_writes_costs_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_url: str,
        budget: bool) -> None:
    from probes.registry import EngineKind

    proxy, config = proxied(postgres_url, tmp_path)
    if budget:
        config.write_text(config.read_text(encoding="utf-8").replace(
            "    retries: 0\n", "    retries: 0\n    price: {per_call: 0.001}\n    daily_budget: 100\n"), encoding="utf-8")
    # away long enough that the probes' next reservations certainly meet it
    factory = acting_once_stored(postgres_url, 2, away_for(proxy, 1.0 if budget else 0.3))
    monkeypatch.setattr(EngineKind, "make_probe", lambda self, settings: factory(settings))
    try:
        code, out, err = run_main(capsys, "run", "--config", str(config))
    finally:
        proxy.stop()
    assert code == 0, err
    assert "12/12 observations stored (12 ok)" in out
    direct = make_engine(postgres_url)
    with Session(direct) as session:
        assert session.execute(select(Run.status)).scalar_one() == "finished"
    direct.dispose()


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_a_run_and_marks_it_interrupted(signal_number: int, tmp_path: Path) -> None:
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario(), latency=0.3) as slow:
        config = write_config(tmp_path / "c.yaml", slow.base_url, "sqlite:///t.db", samples=10)
        # as from a terminal: a suite started in the background has SIGINT ignored, and its children with it
        run = subprocess.Popen([str(CONSOLE_SCRIPT), "run", "--config", str(config)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 30
            while len(slow.requests) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            run.send_signal(signal_number)
            _, err = run.communicate(timeout=30)
        finally:
            run.kill()
    assert run.returncode == 130, err
    assert err.strip() == "interrupted: the run is marked interrupted; what it stored is kept"  # one line
    db = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "interrupted"
        assert 0 < len(session.execute(select(Observation)).scalars().all()) < 30
    db.dispose()


def test_a_run_whose_process_was_killed_is_marked_interrupted_by_the_next_on_this_host(tmp_path: Path) -> None:
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario(), latency=0.3) as slow:
        config = write_config(tmp_path / "c.yaml", slow.base_url, "sqlite:///t.db", samples=10)
        killed = subprocess.Popen([str(CONSOLE_SCRIPT), "run", "--config", str(config)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(slow.requests) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.kill()  # SIGKILL: no chance to mark anything
        killed.wait(30)
        db = make_engine(f"sqlite:///{tmp_path / 't.db'}")
        with Session(db) as session:
            left = session.execute(select(Run)).scalars().one()
            assert (left.status, left.pid) == ("running", killed.pid)
        config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///t.db", samples=1)
        assert cli("run", "--config", str(config)).returncode == 4  # nothing answers; what matters is before
    with Session(db) as session:
        statuses = dict(session.execute(select(Run.id, Run.status).order_by(Run.id)).all())
    db.dispose()
    assert statuses == {left.id: "interrupted", left.id + 1: "finished"}  # at once, not after an hour


def test_a_killed_run_resumes_with_only_what_it_had_not_stored_and_counts_nothing_twice(tmp_path: Path) -> None:
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario(), latency=0.3) as slow:
        config = write_config(tmp_path / "c.yaml", slow.base_url, "sqlite:///t.db", samples=10)
        assert "nothing to resume: no run is stored" in cli("run", "--config", str(config), "--resume").stderr
        killed = subprocess.Popen([str(CONSOLE_SCRIPT), "run", "--config", str(config)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = make_engine(f"sqlite:///{tmp_path / 't.db'}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
            with Session(db) as session:
                if len(session.execute(select(Observation.id)).all()) >= 6:
                    break
        killed.kill()  # SIGKILL mid-run
        killed.wait(30)
        with Session(db) as session:
            stored_before = len(session.execute(select(Observation.id)).all())
            (run_id,) = session.execute(select(Run.id)).scalars().all()
        requests_before = len(slow.requests)
        resumed = cli("run", "--config", str(config), "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.startswith(f"run {run_id} resumed: {30 - stored_before}/{30 - stored_before} ")
        assert len(slow.requests) - requests_before == 30 - stored_before  # only what was not stored
    with Session(db) as session:
        samples = session.execute(select(Observation.keyword_id, Observation.sample_index)).all()
        assert session.execute(select(Run.status)).scalars().all() == ["finished"]
        scheduled = session.execute(text("SELECT sum(scheduled), sum(observed) FROM kpi_day")).one()
    db.dispose()
    assert len(samples) == len(set(samples)) == 30  # every sample once
    assert tuple(scheduled) == (30, 30)  # the plan counted once, each observation once
    again = cli("run", "--config", str(config), "--resume")
    assert again.returncode == 2 and f"nothing to resume: the newest run, {run_id}, is finished" in again.stderr


def test_reparse_names_the_known_engines_for_an_unknown_one(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///r.db")
    result = cli("reparse", "--config", str(config), "--engine", "nosuch")
    assert result.returncode == 2
    assert "error: --engine 'nosuch': no engine of that id" in result.stderr and "known: chatgpt" in result.stderr
    assert not (tmp_path / "r.db").exists()  # refused before any database was made
    cli("run", "--config", str(config))  # an engine since removed from config is known by its history
    config.write_text(config.read_text(encoding="utf-8").replace("id: chatgpt", "id: gpt"), encoding="utf-8")
    assert cli("reparse", "--config", str(config), "--engine", "chatgpt").returncode == 0


# --- demo ---------------------------------------------------------------------------------------------


def test_demo_ends_by_saying_where_the_report_is(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_main(capsys, "demo", "--out", str(tmp_path / "demo"))
    last = out.strip().splitlines()[-1]
    assert code == 0 and last == f"the report: {(tmp_path / 'demo' / 'report.html').resolve()}"
    assert (tmp_path / "demo" / "report.html").is_file()


def test_demo_refuses_a_folder_with_files_it_did_not_write(tmp_path: Path) -> None:
    from monitor.demo import MANIFEST, run_demo

    mine = tmp_path / "config.yaml"
    mine.write_text("# my own config\n", encoding="utf-8")
    result = cli("demo", "--out", str(tmp_path))
    assert result.returncode == 2
    assert f"demo --out {tmp_path}: the folder holds what the demo did not write (config.yaml)" in result.stderr
    assert mine.read_text(encoding="utf-8") == "# my own config\n"

    fresh = tmp_path / "fresh"
    # the folder rules need one day of the demo, no history and no PDF
    quick_demo = functools.partial(run_demo, history=0, pdf=False)
    with patch("monitor.demo.demo_days", lambda today: [date(2026, 11, 23)]):
        quick_demo(fresh)
        quick_demo(fresh)  # its own, unchanged files: a rerun is fine
        with pytest.raises(RuntimeError), patch("monitor.demo.publish_week", side_effect=RuntimeError("killed")):
            quick_demo(fresh)  # a demo that stops half-way keeps knowing the earlier demo's reports
        quick_demo(fresh)
        report = fresh / "report.md"
        report.write_text(report.read_text(encoding="utf-8") + "\nmy notes\n", encoding="utf-8")
        with pytest.raises(Exception, match=r"report.md \(changed since the demo wrote it\)"):
            quick_demo(fresh)
        quick_demo(fresh, force=True)
        assert "my notes" not in report.read_text(encoding="utf-8")
    assert (fresh / MANIFEST).is_file()


# --- read-only and unwritable places ------------------------------------------------------------------


def test_report_out_that_cannot_be_written_names_the_path(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///x.db")
    cli("run", "--config", str(config))
    a_file = tmp_path / "report.html"
    a_file.write_text("x")
    for out, why in ((a_file, "is a file, not a folder"), (Path("/proc/x"), "cannot create the folder")):
        result = cli("report", "--config", str(config), "--week", "2026-W47", "--out", str(out))
        assert result.returncode == 2, result.stderr
        assert f"error: report --out {out}: {why}" in result.stderr and "Traceback" not in result.stderr


DAEMON_CONFIG_TAIL = "schedule:\n  cron: '0 6 * * *'\n  timezone: Asia/Shanghai\n"


def test_daemon_starts_quietly_says_the_next_run_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///d.db")
    config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL, encoding="utf-8")
    daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None
        first = daemon.stderr.readline()
        time.sleep(0.5)
        daemon.send_signal(signal.SIGTERM)
        out, rest = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, first + rest
    assert first.startswith("citewatch daemon: schedule '0 6 * * *' (Asia/Shanghai); next run at 20")
    assert first.rstrip().endswith("+08:00")
    assert rest.strip() == "citewatch daemon: SIGTERM received; stopped cleanly"
    assert "alembic" not in first + rest and out == ""


def test_one_daemon_per_database_a_second_names_the_first_and_a_standby_takes_over(db_url: str,
                                                                                   tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", db_url)
    config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL, encoding="utf-8")
    command = [str(CONSOLE_SCRIPT), "daemon", "--config", str(config)]
    started = []

    def start(*extra: str) -> subprocess.Popen[str]:
        started.append(subprocess.Popen([*command, *extra], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True))
        return started[-1]

    try:
        first = start()
        assert first.stderr is not None and first.stderr.readline().startswith("citewatch daemon: schedule")
        second = start()
        _, refused = second.communicate(timeout=60)
        assert second.returncode == 5, refused
        assert "another citewatch daemon runs on database" in refused and f"pid {first.pid} on " in refused
        assert "--standby" in refused and "Traceback" not in refused
        standby = start("--standby")
        assert standby.stderr is not None
        waiting = standby.stderr.readline()
        assert waiting.startswith("citewatch daemon: standing by; pid ") and f"pid {first.pid} " in waiting
        first.kill()  # SIGKILL: nothing released by hand; the lock goes with the process
        first.wait(timeout=30)
        assert standby.stderr.readline().startswith("citewatch daemon: schedule")  # it took over
        standby.send_signal(signal.SIGTERM)
        _, rest = standby.communicate(timeout=30)
        assert standby.returncode == 0 and rest.strip().endswith("stopped cleanly"), rest
    finally:
        for process in started:
            process.kill()


def test_sighup_reloads_a_good_config_and_keeps_the_old_one_when_the_new_is_bad(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///d.db")
    good = config.read_text(encoding="utf-8")
    config.write_text(good + DAEMON_CONFIG_TAIL, encoding="utf-8")
    daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in daemon.stderr], daemon=True).start()  # type: ignore[union-attr]

    def next_line_with(text: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}")

    try:
        next_line_with("citewatch daemon: schedule '0 6 * * *'")
        config.write_text(good + "schedule:\n  cron: '30 7 * * 1'\n  timezone: Europe/Berlin\n", encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        reloaded = next_line_with("SIGHUP: config reloaded")
        assert "schedule '30 7 * * 1' (Europe/Berlin), next run at 20" in reloaded
        config.write_text(good + "schedule:\n  cron: 'every monday'\n", encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        refused = next_line_with("SIGHUP: the new config is refused, the old one is kept")
        assert str(config) in refused and "schedule: invalid schedule: expected 5 cron fields" in refused
        daemon.send_signal(signal.SIGTERM)
        next_line_with("stopped cleanly")
        assert daemon.wait(timeout=30) == 0
    finally:
        daemon.kill()


def test_status_shows_the_newest_run_per_engine_the_next_run_and_the_daemon(tmp_path: Path) -> None:
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario()) as sim:
        config = write_config(tmp_path / "c.yaml", sim.base_url, "sqlite:///s.db", samples=2)
        config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL, encoding="utf-8")
        assert cli("run", "--config", str(config)).returncode == 0
    daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None and daemon.stderr.readline().startswith("citewatch daemon: schedule")
        shown = cli("status", "--config", str(config), "--format", "json")
        text_form = cli("status", "--config", str(config)).stdout
    finally:
        daemon.kill()
        daemon.wait(30)
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    (engine,) = status["last_run"]["engines"]
    assert status["last_run"]["status"] == "finished" and status["last_run"]["id"] == 1
    assert (engine["engine"], engine["planned"], engine["stored"], engine["failed"]) == ("chatgpt", 6, 6, 0)
    assert engine["last_success"] is not None and status["database"]["bytes"] > 0
    assert status["daemon"]["pid"] == daemon.pid and status["schedule"]["next_run"].endswith("+08:00")
    assert f"daemon: pid {daemon.pid} on " in text_form and "  chatgpt: 6/6 stored (" in text_form
    after = cli("status", "--config", str(config)).stdout  # the daemon killed: its lock went with it
    assert "daemon: none holds this database" in after


class _Heartbeats(http.server.BaseHTTPRequestHandler):
    bodies: queue.Queue[tuple[str, dict]] = queue.Queue()
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.put((self.path, body))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_the_daemon_posts_a_heartbeat_after_every_run_and_goes_on_when_it_fails(tmp_path: Path) -> None:
    from probes.simulator import demo_scenario

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Heartbeats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret_url = f"http://127.0.0.1:{server.server_address[1]}/ping/0f1e2d3c-secret-token"
    try:
        with Simulator(demo_scenario()) as sim:
            config = write_config(tmp_path / "c.yaml", sim.base_url, "sqlite:///d.db", samples=1)
            config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL
                              + "health: {heartbeat_url_env: CITEWATCH_HEARTBEAT}\n", encoding="utf-8")
            for status in (200, 500):
                _Heartbeats.status = status
                daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now"],
                                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env=dict(os.environ, CITEWATCH_HEARTBEAT=secret_url))
                try:
                    path, body = _Heartbeats.bodies.get(timeout=60)
                    time.sleep(0.5)
                    daemon.send_signal(signal.SIGTERM)
                    _, err = daemon.communicate(timeout=30)
                finally:
                    daemon.kill()
                assert daemon.returncode == 0, err
                assert path == "/ping/0f1e2d3c-secret-token"
                assert (body["service"], body["project"], body["status"]) == ("citewatch", "Hengda Valve", "ok")
                assert (body["planned"], body["stored"], body["failed"]) == (3, 3, 0)
                assert "secret-token" not in err
                if status == 500:
                    assert "heartbeat to 127.0.0.1 failed: HTTP 500 (the daemon goes on)" in err
    finally:
        server.shutdown()


def test_daemon_json_logs_are_one_object_a_line_with_run_and_engine_ids(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///d.db", samples=1)
    config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL, encoding="utf-8")
    daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now",
                               "--log-format", "json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    events = []
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            events.append(json.loads(line))  # every line: a JSON object
            if events[-1].get("engine_id"):
                break
        daemon.send_signal(signal.SIGTERM)
        _, rest = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    events += [json.loads(line) for line in rest.splitlines()]
    assert daemon.returncode == 0
    assert events[0]["message"].startswith("citewatch daemon: schedule") and events[0]["level"] == "info"
    failing = next(e for e in events if e.get("engine_id"))
    assert (failing["engine_id"], failing["level"], failing["logger"]) == ("chatgpt", "warning", "citewatch.scheduler")
    assert isinstance(failing["run_id"], int) and failing["time"].endswith("+00:00")
    assert events[-1]["message"].endswith("stopped cleanly")


def test_daemon_sigterm_during_a_batch_stores_what_is_in_flight_and_resume_probes_the_rest(tmp_path: Path
                                                                                            ) -> None:
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario(), latency=0.2) as slow:
        config = write_config(tmp_path / "c.yaml", slow.base_url, "sqlite:///d.db", samples=4)
        config.write_text(config.read_text(encoding="utf-8").replace("    retries: 0\n",
                                                                     "    retries: 0\n    concurrency: 1\n")
                          + DAEMON_CONFIG_TAIL, encoding="utf-8")
        daemon = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now"], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while len(slow.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=60)
        finally:
            daemon.kill()
        requests_at_stop = len(slow.requests)
        assert daemon.returncode == 0, err
        assert "SIGTERM received; no new probes, those in flight get 60 s" in err
        assert "stopped and marked interrupted: `citewatch run --resume` probes the rest" in err
        assert err.rstrip().endswith("SIGTERM received; stopped cleanly") and "Traceback" not in err
        db = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
        with Session(db) as session:
            assert session.execute(select(Run.status)).scalar_one() == "interrupted"
            stored = len(session.execute(select(Observation)).scalars().all())
        assert stored == requests_at_stop < 12  # the one in flight was stored; none started after
        resumed = cli("run", "--config", str(config), "--resume")
        assert resumed.returncode == 0 and f"{12 - stored}/{12 - stored} observations stored" in resumed.stdout
    with Session(db) as session:
        assert session.execute(select(Run.status)).scalar_one() == "finished"
        assert len(session.execute(select(Observation)).scalars().all()) == 12
    db.dispose()


def test_a_daemon_killed_mid_run_is_restarted_marks_the_run_interrupted_and_finishes_it_once(tmp_path: Path
                                                                                           ) -> None:
    """SIGKILL leaves the run `running`; the next daemon (same host: the process is known gone) marks it
    interrupted and its first batch resumes it, probing only what was not stored."""
    from probes.simulator import demo_scenario

    with Simulator(demo_scenario(), latency=0.2) as slow:
        config = write_config(tmp_path / "c.yaml", slow.base_url, "sqlite:///k.db", samples=4)
        config.write_text(config.read_text(encoding="utf-8") + DAEMON_CONFIG_TAIL, encoding="utf-8")
        db = make_engine(f"sqlite:///{tmp_path / 'k.db'}")

        def stored() -> int:
            try:
                with Session(db) as session:
                    return len(session.execute(select(Observation.id)).all())
            except Exception:  # noqa: BLE001 (the schema is still being made)
                return 0

        first = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now"], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while stored() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()  # SIGKILL mid-run: nothing marked, the lock released with the process
        first.wait(30)
        before, requests_before = stored(), len(slow.requests)
        assert 3 <= before < 12
        second = subprocess.Popen([str(CONSOLE_SCRIPT), "daemon", "--config", str(config), "--now"], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while stored() < 12 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # the run's end is written after its last observation
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=60)
        finally:
            second.kill()
        assert second.returncode == 0, err
    with Session(db) as session:
        runs = session.execute(select(Run.id, Run.status)).all()
        samples = session.execute(select(Observation.keyword_id, Observation.sample_index)).all()
        scheduled = session.execute(text("SELECT sum(scheduled), sum(observed) FROM kpi_day")).one()
    db.dispose()
    assert [status for _, status in runs] == ["finished"], err  # the same run, interrupted, then finished
    assert len(samples) == len(set(samples)) == 12  # every sample once
    assert len(slow.requests) - requests_before <= 12 - before + 1  # only what was not stored (+ the one in flight)
    assert tuple(scheduled) == (12, 12)  # the plan counted once, each observation once


def test_reading_commands_read_a_database_in_a_read_only_folder(tmp_path: Path) -> None:
    import sqlite3

    from tests.monitor.read_only import read_only_folder

    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///data/ro.db")
    (tmp_path / "data").mkdir()
    cli("run", "--config", str(config))
    args = ("metrics", "--config", str(config), "--since", "2026-01-01", "--until", "2026-12-31", "--format", "json")
    # a writer (the daemon, as another user) has the database open, its last change still in the -wal file
    writer = sqlite3.connect(tmp_path / "data" / "ro.db")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    for table in ("kpi_day", "kpi_month"):  # what metrics read
        writer.execute(f"UPDATE {table} SET skipped = skipped + failed, failed = 0")
    writer.commit()
    try:
        with read_only_folder(tmp_path / "data") as run_there:
            reading = run_there(str(CONSOLE_SCRIPT), *args)
            writing = run_there(str(CONSOLE_SCRIPT), "run", "--config", str(config))
            report = run_there(str(CONSOLE_SCRIPT), "report", "--config", str(config), "--week", "2026-W47",
                               "--out", str(tmp_path / "data"))
    finally:
        writer.close()
    assert reading.returncode == 0, reading.stderr
    assert json.loads(reading.stdout)["overall"]["skipped"] == 6  # the -wal file was read too
    assert writing.returncode == 3 and f"cannot write in {tmp_path / 'data'}" in writing.stderr
    assert report.returncode == 2
    assert f"cannot write {tmp_path / 'data' / 'report.html'}: Read-only file system" in report.stderr


def test_reading_commands_say_when_a_migration_is_pending(tmp_path: Path) -> None:
    from alembic import command

    from storage.db import alembic_config

    config = write_config(tmp_path / "c.yaml", "http://127.0.0.1:9/v1", "sqlite:///old.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0002")
    engine.dispose()
    result = cli("metrics", "--config", str(config), "--since", "2026-11-16", "--until", "2026-11-22")
    assert result.returncode == 3
    assert "is at schema 0002, this version reads" in result.stderr and "citewatch db upgrade" in result.stderr
    open_database(f"sqlite:///{tmp_path / 'old.db'}").dispose()  # a writing command migrates it
    after = cli("metrics", "--config", str(config), "--since", "2026-11-16", "--until", "2026-11-22")
    assert after.returncode == 2 and "has nothing stored in this database (no project yet)" in after.stderr


def test_every_error_the_cli_reports_has_its_documented_exit_code() -> None:
    from citewatch import errors
    from monitor.cli import exit_code

    documented = {errors.UsageError: 2, errors.ConfigError: 2, errors.UnknownEngineKind: 2, errors.StorageError: 3,
                  errors.DatabaseUnavailable: 3, errors.SchemaMismatch: 3, errors.BatchFailed: 4}
    assert {cls: exit_code(cls("x") if cls is not errors.UnknownEngineKind else cls("x", []))
            for cls in documented} == documented
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in (0, 1, 2, 3, 4, 130):
        assert f"\n| {code} | " in readme
    # a ProbeError reaching the command line was not stored as an observation: that is a bug
    assert exit_code(errors.ProbeError("x")) == exit_code(errors.ParseError("x")) == 1
