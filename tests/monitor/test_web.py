"""`citewatch serve`'s web view: read-only pages and JSON over stored data, engine text always escaped,
the archive closed to any other path, raw payloads as attachments, the token checked when one is set."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from starlette.testclient import TestClient

from citewatch.errors import UsageError
from citewatch.raw import PNG, RawPart, RawResult
from monitor.clock import fixed_clock
from monitor.config import Config, load_config
from monitor.metrics import period_metrics
from monitor.pipeline import sync_config
from monitor.web import make_app, serve_settings
from storage import repository
from storage.db import open_database
from storage.records import CitationRecord, EntityRow, KeywordRow, ObservationRecord

HOSTILE_TITLE = "<script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
DATA_URL = "data:text/html,<script>alert(2)</script>"
GOOD_URL = "https://hengdavalve.com/p?q=1&r=2"
EVIL_KEYWORD = "valve <b>price</b>"
EVIL_ERROR = "HTTP 500 <img src=x onerror=alert(3)>"
TOKEN = "t0ken-with-enough-entropy-42"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

CONFIG = """\
brand:
  name: Hengda Valve
  domains: [hengdavalve.com]
competitors:
  - name: Apex Flow Controls
    domains: [apexflow.com]
keywords:
  - text: industrial ball valve manufacturer
  - text: "{evil}"
engines:
  - id: chatgpt
    kind: openai
    model: gpt-5-mini
    base_url: http://127.0.0.1:9/v1
storage:
  url: {storage}
"""


@dataclass
class World:
    config: Config
    db: Engine  # read-only, as `citewatch serve` opens it
    keyword_id: int  # the hostile keyword's
    ok_id: int  # an answer citing the hostile title, a javascript: URL and a data: URL
    failed_id: int  # a failure with a hostile reason and a two-part raw payload
    no_raw_id: int
    other_project_id: int  # another project's observation in the same database
    raw: bytes


def _observation(run_id: int, keyword: str, sample: int, at: datetime, **fields: object) -> ObservationRecord:
    return ObservationRecord(run_id=run_id, keyword=keyword, engine_id="chatgpt", engine_kind="openai",
                             sample_index=sample, observed_at=at, **fields)  # type: ignore[arg-type]


def store_world(url: str, tmp_path: Path) -> World:
    config_path = tmp_path / "c.yaml"
    config_path.write_text(CONFIG.format(evil=EVIL_KEYWORD, storage=url), encoding="utf-8")
    config = load_config(config_path)
    writer = open_database(url)
    ids = sync_config(config, writer, fixed_clock(datetime(2026, 11, 16, tzinfo=UTC)))
    started = datetime(2026, 11, 20, 6, tzinfo=UTC)
    run_id = repository.start_run(writer, ids.project_id, {"chatgpt": {str(ids.keyword_ids[EVIL_KEYWORD]): 3}},
                                  started)
    raw = b'{"id": "resp-1", "output": "<script>x</script>"}'
    ok_id = repository.save_observation(writer, ids, _observation(
        run_id, EVIL_KEYWORD, 0, started, status="ok", raw=RawResult.single(raw), has_answer=True,
        answer_text="Hengda <img src=x onerror=alert(4)> makes valves.",
        citations=[
            CitationRecord(1, GOOD_URL, GOOD_URL, "hengdavalve.com", HOSTILE_TITLE, True, True, "annotation",
                           "Hengda Valve", "product"),
            CitationRecord(2, JS_URL, JS_URL, None, "click me", True, True, "annotation", None, "other"),
            CitationRecord(3, DATA_URL, DATA_URL, None, "data page", True, False, "search_result", None, "other"),
        ]))
    failed_id = repository.save_observation(writer, ids, _observation(
        run_id, EVIL_KEYWORD, 1, started.replace(minute=5), status="error", error=EVIL_ERROR,
        raw=RawResult((RawPart("response", b"first part"), RawPart("screenshot", b"\x89PNG\r\n\x1a\nimg", PNG)))))
    no_raw_id = repository.save_observation(writer, ids, _observation(
        run_id, EVIL_KEYWORD, 2, started.replace(minute=1), status="error", error="timeout"))
    other = repository.sync_project(writer, "other", [EntityRow("Other", "brand")], [KeywordRow("k")], started)
    other_run = repository.start_run(writer, other.project_id, {"chatgpt": {str(other.keyword_ids["k"]): 1}}, started)
    other_project_id = repository.save_observation(writer, other, _observation(
        other_run, "k", 0, started, status="ok", raw=RawResult.single(b"secret of another project")))
    writer.dispose()
    return World(config, open_database(url, read_only=True), ids.keyword_ids[EVIL_KEYWORD], ok_id, failed_id,
                 no_raw_id, other_project_id, raw)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    built = store_world(db_url, tmp_path)
    yield built
    built.db.dispose()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    built = store_world(f"sqlite:///{tmp_path / 'web.db'}", tmp_path)
    yield built
    built.db.dispose()


def client(world: World, archive: Path | None = None, token: str | None = None) -> TestClient:
    return TestClient(make_app(world.config, world.db, archive, token, clock=fixed_clock(NOW)))


# --- health -------------------------------------------------------------------------------------------------


def test_healthz_names_the_newest_observation(world: World) -> None:
    response = client(world).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "newest_observation": "2026-11-20T06:05:00+00:00"}


def test_healthz_is_503_when_the_database_does_not_answer(sqlite_world: World) -> None:
    gone = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    response = TestClient(make_app(sqlite_world.config, gone, None, TOKEN)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failed", "database": "unreachable", "newest_observation": None}


# --- metrics ------------------------------------------------------------------------------------------------


def test_metrics_json_is_period_metrics(world: World) -> None:
    http = client(world)
    project = world.config.project_name
    expected = period_metrics(world.db, project, date(2026, 11, 16), date(2026, 11, 22))
    explicit = http.get("/api/metrics", params={"since": "2026-11-16", "until": "2026-11-22"})
    assert explicit.status_code == 200 and explicit.headers["content-type"] == "application/json"
    assert explicit.json() == json.loads(json.dumps(expected))
    assert expected["overall"]["successful"] == 1 and expected["overall"]["failed"] == 2
    # the default: the last 7 full UTC days, ending yesterday (NOW is 2026-11-23)
    assert http.get("/api/metrics").json() == explicit.json()
    filtered = http.get("/api/metrics?since=2026-11-20&until=2026-11-20&engine=chatgpt&engine=chatgpt").json()
    assert filtered == json.loads(json.dumps(period_metrics(world.db, project, date(2026, 11, 20),
                                                            date(2026, 11, 20), engines=["chatgpt"])))


@pytest.mark.parametrize(("query", "name"), [
    ("since=2026-13-01", "since"), ("until=yesterday", "until"), ("since=20261116", "since"),
    ("since=0001-01-01", "since"), ("until=9999-12-31", "until"), ("since=2026-11-22&until=2026-11-16", "until"),
    ("engine=nope", "engine"), ("engine=chatgpt&engine=%3Cb%3E", "engine"),
])
def test_bad_metrics_parameters_are_400_naming_the_parameter(sqlite_world: World, query: str, name: str) -> None:
    http = client(sqlite_world)
    for path in ("/api/metrics", "/metrics"):
        response = http.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.json()["error"].startswith(f"{name}: ")


def test_metrics_page_shows_the_period_and_links_keywords(world: World) -> None:
    response = client(world).get("/metrics?since=2026-11-16&until=2026-11-22")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "2026-11-16 – 2026-11-22" in html and "ChatGPT" in html
    assert f'<a href="/keywords/{world.keyword_id}">valve &lt;b&gt;price&lt;/b&gt;</a>' in html
    assert "<b>price</b>" not in html
    assert 'href="/api/metrics?since=2026-11-16&amp;until=2026-11-22"' in html


# --- index and archive --------------------------------------------------------------------------------------


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0", encoding="utf-8")
    (outside / "report.html").write_text("outside report", encoding="utf-8")
    for week in ("2026-W46", "2026-W47"):
        (root / week).mkdir(parents=True)
        (root / week / "report.html").write_text(f"<html>{week}</html>", encoding="utf-8")
    (root / "2026-W47" / "report.md").write_text("# W47", encoding="utf-8")
    (root / "2026-W47" / "inclusion.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "2026-W47" / "notes.txt").write_text("not served", encoding="utf-8")
    (root / "2026-W47" / "report.json").symlink_to(outside / "passwd")
    (root / "2026-W45").mkdir()  # no report.html: not listed
    (root / "2026-W44").symlink_to(outside, target_is_directory=True)
    return root


def test_index_lists_archive_newest_first_and_keywords(sqlite_world: World, archive: Path) -> None:
    html = client(sqlite_world, archive).get("/").text
    assert html.index("/reports/2026-W47/report.html") < html.index("/reports/2026-W46/report.html")
    assert "/reports/2026-W47/report.md" in html and "/reports/2026-W47/inclusion.png" in html
    assert "2026-W45" not in html and "2026-W44" not in html and "notes.txt" not in html
    assert "report.json" not in html  # a symlink out of the archive
    assert f'href="/keywords/{sqlite_world.keyword_id}"' in html and "valve &lt;b&gt;price&lt;/b&gt;" in html
    assert 'href="/metrics"' in html


def test_archive_files_are_served(sqlite_world: World, archive: Path) -> None:
    http = client(sqlite_world, archive)
    page = http.get("/reports/2026-W47/report.html")
    assert page.status_code == 200 and page.text == "<html>2026-W47</html>"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    png = http.get("/reports/2026-W47/inclusion.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert http.get("/reports/2026-W47/report.md").text == "# W47"


@pytest.mark.parametrize("path", [
    "/reports/..%2F..%2Fetc/passwd",
    "/reports/2026-W47/..%2F..%2Foutside%2Fpasswd",
    "/reports/2026-W47/%2E%2E",
    "/reports/2026-W47/report.json",  # a symlink pointing outside
    "/reports/2026-W44/report.html",  # a week folder that is a symlink to outside
    "/reports/2026-W47/notes.txt",  # not an allowed name
    "/reports/2026-W45/report.html",  # allowed, absent
    "/reports/2026-w47/report.html",
    "/reports/%D9%A2%D9%A0%D9%A2%D9%A6-W47/report.html",  # Arabic-Indic digits match \\d
    "/reports/2026-W47/.png",
])
def test_nothing_outside_the_allowed_archive_files_is_served(sqlite_world: World, archive: Path, path: str) -> None:
    response = client(sqlite_world, archive).get(path)
    assert response.status_code == 404, path
    assert "root:x" not in response.text and "outside report" not in response.text


def test_no_archive_serves_no_report(sqlite_world: World) -> None:
    http = client(sqlite_world)
    assert http.get("/reports/2026-W47/report.html").status_code == 404
    assert "--archive" in http.get("/").text


# --- keyword drill-down and raw payloads --------------------------------------------------------------------


def test_drill_down_escapes_engine_text_and_links_only_http(world: World) -> None:
    response = client(world).get(f"/keywords/{world.keyword_id}")
    assert response.status_code == 200
    html = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE_TITLE not in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(3)&gt;" in html  # the error reason
    assert "Hengda &lt;img src=x onerror=alert(4)&gt; makes valves." in html  # the answer
    assert "valve &lt;b&gt;price&lt;/b&gt;" in html and "<b>price" not in html
    assert f'<a href="{GOOD_URL.replace("&", "&amp;")}" rel="noopener noreferrer nofollow">' in html
    assert "<span>javascript:alert(1)</span>" in html and 'href="javascript:' not in html
    assert 'href="data:' not in html and "data:text/html,&lt;script&gt;" in html
    assert "retrieved, not cited" in html
    # newest first: the failure at 06:05, the timeout at 06:01, the answer at 06:00
    assert html.index(f'id="o{world.failed_id}"') < html.index(f'id="o{world.no_raw_id}"') \
        < html.index(f'id="o{world.ok_id}"')
    assert f'href="/observations/{world.ok_id}/raw"' in html
    assert f'href="/observations/{world.failed_id}/raw/screenshot"' in html
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_drill_down_filters_by_engine_and_refuses_unknown_keywords(world: World) -> None:
    http = client(world)
    assert "2026-11-20 06:05:00 UTC" in http.get(f"/keywords/{world.keyword_id}?engine=chatgpt").text
    assert http.get(f"/keywords/{world.keyword_id}?engine=gemini").status_code == 400
    assert http.get(f"/keywords/{world.keyword_id}?page=0").json()["error"].startswith("page: ")
    assert http.get("/keywords/999999").status_code == 404
    assert http.get("/keywords/99999999999999999999").status_code == 404


def test_drill_down_pages_fifty_samples(sqlite_world: World, tmp_path: Path) -> None:
    url = str(sqlite_world.db.url)
    writer = open_database(url)
    ids = sync_config(sqlite_world.config, writer, fixed_clock(NOW))
    keyword = "industrial ball valve manufacturer"
    run_id = repository.start_run(writer, ids.project_id, {"chatgpt": {str(ids.keyword_ids[keyword]): 55}}, NOW)
    for sample in range(55):
        repository.save_observation(writer, ids, _observation(run_id, keyword, sample, NOW.replace(second=sample),
                                                              status="ok", answer_text=f"answer number {sample}."))
    writer.dispose()
    http = client(sqlite_world)
    first = http.get(f"/keywords/{ids.keyword_ids[keyword]}").text
    second = http.get(f"/keywords/{ids.keyword_ids[keyword]}?page=2").text
    assert first.count('class="sample"') == 50 and second.count('class="sample"') == 5
    assert "answer number 54." in first and "answer number 5." in first and "answer number 4." not in first
    assert "answer number 4." in second and "answer number 0." in second
    assert f"/keywords/{ids.keyword_ids[keyword]}?page=2" in first


def test_raw_payload_downloads_as_an_attachment(world: World) -> None:
    http = client(world)
    response = http.get(f"/observations/{world.ok_id}/raw")
    assert response.status_code == 200 and response.content == world.raw
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == f'attachment; filename="observation-{world.ok_id}-response.bin"'
    assert response.headers["x-content-type-options"] == "nosniff"
    screenshot = http.get(f"/observations/{world.failed_id}/raw/screenshot")
    assert screenshot.content == b"\x89PNG\r\n\x1a\nimg"
    assert screenshot.headers["content-disposition"].endswith(f'"observation-{world.failed_id}-screenshot.bin"')
    assert http.get(f"/observations/{world.failed_id}/raw").content == b"first part"


@pytest.mark.parametrize("path", ["/observations/{failed}/raw/nope", "/observations/{no_raw}/raw",
                                  "/observations/{other}/raw", "/observations/123456789/raw",
                                  "/observations/99999999999999999999/raw"])
def test_raw_payload_refused_where_there_is_none_or_another_projects(world: World, path: str) -> None:
    response = client(world).get(path.format(failed=world.failed_id, no_raw=world.no_raw_id,
                                             other=world.other_project_id))
    assert response.status_code == 404 and b"another project" not in response.content


# --- access token -------------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_token_required_everywhere_but_healthz(sqlite_world: World, archive: Path) -> None:
    http = client(sqlite_world, archive, TOKEN)
    for path in ("/", "/metrics", "/api/metrics", f"/keywords/{sqlite_world.keyword_id}",
                 f"/observations/{sqlite_world.ok_id}/raw", "/reports/2026-W47/report.html", "/nowhere"):
        refused = http.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == 'Basic realm="citewatch"'
        assert refused.headers["content-security-policy"] == CSP
        assert http.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code in (200, 404), path
    assert http.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert http.get("/", headers=basic("anyone", TOKEN)).status_code == 200
    assert http.get("/", headers=basic("", TOKEN)).status_code == 200
    for headers in ({"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer "}, basic(TOKEN, "wrong"),
                    {"Authorization": "Basic not-base64!"}, {"Authorization": f"Token {TOKEN}"}):
        assert http.get("/", headers=headers).status_code == 401, headers
    assert http.get(f"/?token={TOKEN}").status_code == 401  # a URL ends up in logs: never a credential
    health = http.get("/healthz")
    assert health.status_code == 200 and set(health.json()) == {"status", "database", "newest_observation"}


def test_without_a_token_nothing_is_asked(sqlite_world: World) -> None:
    assert client(sqlite_world).get("/").status_code == 200


def test_serve_settings_refuses_a_public_bind_without_a_token() -> None:
    for host in ("0.0.0.0", "::", "192.168.1.5", ""):
        with pytest.raises(UsageError, match="CITEWATCH_SERVE_TOKEN"):
            serve_settings(host, None, {})
    with pytest.raises(UsageError, match="MY_TOKEN"):
        serve_settings("0.0.0.0", "MY_TOKEN", {"CITEWATCH_SERVE_TOKEN": "set, but not the one named"})
    with pytest.raises(UsageError):
        serve_settings("0.0.0.0", None, {"CITEWATCH_SERVE_TOKEN": "   "})
    assert serve_settings("0.0.0.0", None, {"CITEWATCH_SERVE_TOKEN": TOKEN}) == TOKEN
    assert serve_settings("0.0.0.0", "MY_TOKEN", {"MY_TOKEN": TOKEN}) == TOKEN
    for host in ("127.0.0.1", "::1", "localhost", "LOCALHOST"):
        assert serve_settings(host, None, {}) is None
    assert serve_settings("127.0.0.1", None, {"CITEWATCH_SERVE_TOKEN": TOKEN}) == TOKEN  # then checked too


def test_serve_settings_never_echoes_a_token_given_as_the_variable_name() -> None:
    with pytest.raises(UsageError) as refused:
        serve_settings("0.0.0.0", "s3cret/token-value", {})
    assert "s3cret" not in str(refused.value) and "--token-env" in str(refused.value)
