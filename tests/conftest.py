"""Shared fixtures: isolated databases (SQLite file per test; a fresh PostgreSQL database per test),
a running simulator, and configs pointing at it.

PostgreSQL tests skip with a visible reason where no server answers on
127.0.0.1:5432, unless CITEWATCH_REQUIRE_SERVICES=1 (set by .ci/run), which
turns those skips into failures.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from monitor.demo import DemoResult, run_demo
from probes.simulator import Simulator, demo_scenario
from storage.db import open_database

PG_ADMIN_URL = os.environ.get("CITEWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("CITEWATCH_REQUIRE_SERVICES") == "1"
REALDATA = Path(os.environ.get("CITEWATCH_REALDATA", Path(__file__).resolve().parents[1] / "../shared/realdata"))


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # a Unix socket path
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    """Tests never reach the internet: any connection to a non-loopback address fails loudly."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(method):  # type: ignore[no-untyped-def]
        def connect(sock: socket.socket, address: object):  # type: ignore[no-untyped-def]
            if not _is_local(address):
                raise ConnectionRefusedError(f"test tried to reach {address!r}: tests stay on 127.0.0.1")
            return method(sock, address)
        return connect

    socket.socket.connect = guarded(real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded(real_connect_ex)  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]


def skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CITEWATCH_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


DEMO_TODAY = date(2026, 11, 30)  # a Monday: the demo covers 2026-W47 and 2026-W48


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The offline demo (`citewatch demo`), run once per session for every test that only reads it (~12 s);
    a test that writes copies its folder first."""
    return run_demo(tmp_path_factory.mktemp("demo"), today=DEMO_TODAY)


def realdata(folder: str) -> Path:
    """A folder of real public samples; tests using it skip where it is absent."""
    path = REALDATA / folder
    if not path.is_dir():
        pytest.skip(f"real samples not found at {path}")
    return path


def _postgres_admin() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return engine
    except Exception:  # noqa: BLE001 (any driver error means: no server here)
        engine.dispose()
        return None


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    engine = _postgres_admin()
    yield engine
    if engine is not None:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine | None) -> Iterator[str]:
    if postgres_admin is None:
        skip_or_fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"citewatch_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:  # type: ignore[union-attr]
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with postgres_admin.connect() as connection:  # type: ignore[union-attr]
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The storage suite runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(demo_scenario()) as sim:
        yield sim


CONFIG_TEMPLATE = """\
brand:
  name: Hengda Valve
  aliases: [Hengda, 恒达阀门]
  domains: [hengdavalve.com]
competitors:
  - name: Apex Flow Controls
    aliases: [Apex Flow]
    domains: [apexflow.com]
  - name: NorthStar Valves
    aliases: [NorthStar]
    domains: [northstarvalves.de]
keywords:
  - text: industrial ball valve manufacturer
  - text: api 6d ball valve supplier china
    weight: 2
  - text: 球阀 制造商
    locale: {{country: cn, language: zh}}
engines:
  - id: chatgpt
    kind: openai
    model: gpt-5-mini
    base_url: {base_url}
    samples: {samples}
    timeout: {timeout}
    retries: {retries}
storage:
  url: {storage}
"""


def write_config(path: Path, base_url: str, storage: str, samples: int = 2, timeout: float = 5,
                 retries: int = 0) -> Path:
    path.write_text(CONFIG_TEMPLATE.format(base_url=base_url, storage=storage, samples=samples, timeout=timeout,
                                           retries=retries), encoding="utf-8")
    return path
