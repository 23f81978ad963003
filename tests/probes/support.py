"""Helpers shared by the probe and parser tests: fixture bodies, the citations of an answer,
real samples, and the scaffolding of the probe tests (a header-recording server, recorded waits).

Imported as ``from tests.probes.support import ...``, the way the tests import ``tests.conftest``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from citewatch.raw import RESPONSE, RawResult
from monitor.config import EngineConfig
from monitor.throttle import RateLimiter, fetch_with_retries
from probes.base import Answer, Citation, Probe, ProbeRequest
from tests.conftest import realdata

# --- fixture bodies -----------------------------------------------------------------------


def load_json(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def raw_of(body: Any) -> bytes:
    """A JSON body as the services send it: UTF-8, non-ASCII characters unescaped."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def parse_file(parse: Callable[[bytes], Answer], folder: Path, name: str) -> Answer:
    return parse((folder / name).read_bytes())


def parse_body(parse: Callable[[bytes], Answer], body: dict[str, Any]) -> Answer:
    return parse(raw_of(body))


# --- what a parser returned ---------------------------------------------------------------


def cited(answer: Answer) -> list[Citation]:
    return [c for c in answer.citations if c.cited]


def retrieved(answer: Answer) -> list[Citation]:
    return [c for c in answer.citations if not c.cited]


def span_texts(answer: Answer, citation: Citation) -> list[str]:
    return [answer.text[s:e] for s, e in citation.spans]


# --- real public samples (read in place, never copied) ----------------------------------------


def real_file(folder: str, name: str) -> Path:
    """One file of a real-samples folder; the test skips where the folder or the file is absent."""
    path = realdata(folder) / name
    if not path.is_file():
        pytest.skip(f"real sample {name} is absent from {path.parent}")
    return path


# --- probe test scaffolding ----------------------------------------------------------------


class RecordingSleep:
    """Stands in for the sleep of `fetch_with_retries`: records the waits asked for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def fetch_retrying(probe: Probe, request: ProbeRequest, engine: EngineConfig,
                         sleep: RecordingSleep | None = None) -> bytes:
    """One fetch under the shared retry policy, with no rate limit and recorded waits; closes the probe.
    Returns the raw payload."""
    try:
        raw, _latency_ms = await fetch_with_retries(probe, request, engine.retries, RateLimiter(None),
                                                    sleep or RecordingSleep())
        return raw
    finally:
        await probe.aclose()


@contextmanager
def recording_server(status: int, body: bytes, suffix: str = "") -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny real HTTP server on 127.0.0.1 that answers every POST with `status` and `body`.

    It records each request's path, headers (names lower-cased) and body bytes, which the
    simulator does not keep. Yields its base URL (with `suffix` appended) and the records.
    """
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": self.rfile.read(length)})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{suffix}", seen
    finally:
        server.shutdown()
        server.server_close()


def body_of(result: RawResult) -> bytes:
    """The body of a one-request probe's result: its only part, `response`."""
    assert [part.name for part in result.parts] == [RESPONSE], result.parts
    return result.first.data
