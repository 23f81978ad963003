"""A local engine that misbehaves on purpose, for the fault tests and `bench/hostile_batch.py`.

It speaks every simulated wire format (mounted like the simulator: /<kind>/...), and what it does
depends on a word in the prompt:

- ``endless``: HTTP 200 and a body that never ends, sent as fast as the client reads it;
- ``trickle``: HTTP 200 and a valid answer sent one byte every `trickle_gap` seconds;
- ``bomb``: HTTP 200, ``Content-Encoding: gzip``, a small body that inflates to gigabytes;
- ``garbled``: HTTP 200, ``Content-Encoding: gzip``, a body that is not gzip;
- ``truncated``: HTTP 200, the normal answer gzipped, cut in half by closing the connection;
- ``gzipped``, ``deflated``, ``rawdeflate``: the normal answer below, compressed so (raw deflate is what
  some servers send as "deflate"), in pieces of 7 bytes;
- ``redirect``: HTTP 307 to `redirect_to`;
- ``envelope``: HTTP 200 carrying an error envelope that repeats the API key;
- anything else: the simulator's normal answer, with NUL characters, a lone surrogate and the API key
  written into the answer text and the titles (after every keyword and brand name).

Every request is recorded (path, headers, body) in `requests`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import MetaData, create_engine, select

from probes.simulator.formats import FORMATS, rendered
from probes.simulator.scenario import Scenario, demo_scenario, simulated_answer
from probes.simulator.server import LocalServer
from storage import repository
from storage.urls import SQLITE, with_driver

# What the normal answers carry beside the key: JSON escapes, so that the decoded text holds a NUL and a
# lone surrogate (neither storable as is: PostgreSQL refuses NUL, UTF-8 cannot encode a lone surrogate).
HOSTILE_ESCAPES = "\\u0000\\ud83d"
CHUNK = b" " * 65536
# normal answers compressed, sent in small pieces: the word in the prompt -> (Content-Encoding, zlib wbits)
COMPRESSIONS = {"gzipped": ("gzip", 16 + zlib.MAX_WBITS), "deflated": ("deflate", zlib.MAX_WBITS),
                "rawdeflate": ("deflate", -zlib.MAX_WBITS)}
KEY_VARIABLE = "CITEWATCH_HOSTILE_KEY"  # the variable the configs below name for the key
CONFIG = """\
brand: {{name: Hengda Valve, aliases: [Hengda, 恒达阀门], domains: [hengdavalve.com]}}
competitors:
  - {{name: Apex Flow Controls, aliases: [Apex Flow], domains: [apexflow.com]}}
keywords:
{keywords}
engines:
  - {{id: hostile, kind: {kind}, model: m1, base_url: "{base_url}", api_key_env: {key_variable}, samples: {samples},
     concurrency: {concurrency}, timeout: {timeout}, retries: 0}}
storage: {{url: "{storage}"}}
"""


def _gzip_bomb(inflated_mb: int) -> bytes:
    """A gzip body about a thousandth of `inflated_mb` MB, which inflates to that many MB of spaces."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip header and trailer
    megabyte = b" " * (1 << 20)
    parts = [compressor.compress(megabyte) for _ in range(inflated_mb)]
    return b"".join(parts) + compressor.flush()


class HostileServer(LocalServer):
    """`with HostileServer(secret) as server:`; `server.base_url_for("openai")` is where a probe points."""

    thread_name = "hostile-server"

    def __init__(self, secret: str, scenario: Scenario | None = None, trickle_gap: float = 1.0,
                 redirect_to: str = "http://127.0.0.1:9/", bomb_mb: int = 1024,
                 escapes: str = HOSTILE_ESCAPES) -> None:
        self.secret = secret
        self.escapes = escapes
        self.scenario = scenario or demo_scenario()
        self.trickle_gap = trickle_gap
        self.redirect_to = redirect_to
        self.bomb_mb = bomb_mb
        self.requests: list[dict[str, Any]] = []
        self.endless_bytes_sent = 0
        self._bomb: bytes | None = None
        self._lock = threading.Lock()
        self._bomb_lock = threading.Lock()  # building a bomb takes seconds: other requests go on meanwhile

    def _make_server(self) -> ThreadingHTTPServer:
        return _QuietServer(("127.0.0.1", 0), _make_handler(self))

    def bomb(self) -> bytes:
        with self._bomb_lock:
            if self._bomb is None:
                self._bomb = _gzip_bomb(self.bomb_mb)
            return self._bomb

    def normal_answer(self, kind: str, path: str, body: dict[str, Any]) -> bytes:
        """The simulator's answer for this request, with NUL, a lone surrogate and the key written in."""
        wire = FORMATS[kind]
        prompt = wire.prompt_of(path, body)
        answer = simulated_answer(self.scenario, prompt, wire.model_of(path, body), 0, kind)
        text = json.dumps(rendered(wire, answer, path, body), ensure_ascii=False)
        # every answer names the keyword (its first sentence); titles of the brand's pages name the brand
        for word in (prompt.rstrip("?？").strip(), self.scenario.brand.name):
            text = text.replace(word, f"{word}{self.escapes} key {self.secret} ")
        return text.encode("utf-8")

    def envelope(self) -> bytes:
        message = f"Incorrect API key provided: {self.secret}. You can find your API key at your dashboard."
        # the fields of every kind's error envelope at once: {"error": {...}} (OpenAI, Gemini), "type": "error"
        # (Anthropic), "status": "failed" (Perplexity's Agent API), "code" and "message" (DashScope)
        # and once more with every character escaped, as some JSON writers do
        escaped = "".join(f"\\u{ord(char):04x}" for char in self.secret)
        return json.dumps({"type": "error", "error": {"message": message, "type": "invalid_request_error"},
                           "status": "failed", "code": "InvalidApiKey", "message": message}
                          ).encode()[:-1] + f', "param": "{escaped}"}}'.encode()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-answer is what these behaviours provoke


def write_hostile_config(path: Path, server: HostileServer, storage: str, keywords: list[str], kind: str = "openai",
                         samples: int = 1, timeout: float = 5, concurrency: int = 4) -> Path:
    """A config whose one engine is this server, speaking `kind`, its key in `KEY_VARIABLE`."""
    path.write_text(CONFIG.format(keywords="\n".join(f"  - text: {keyword}" for keyword in keywords), kind=kind,
                                  base_url=server.base_url_for(kind), key_variable=KEY_VARIABLE, samples=samples,
                                  concurrency=concurrency, timeout=timeout, storage=storage), encoding="utf-8")
    return path


def _make_handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            self._serve(raw, body)

        def do_GET(self) -> None:  # noqa: N802
            # a GET's query parameters are its body (SerpApi)
            self._serve(b"", dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

        def _serve(self, raw: bytes, body: Any) -> None:
            path = urlsplit(self.path).path
            kind, _, rest = path.lstrip("/").partition("/")
            with server._lock:
                server.requests.append({"path": self.path, "body": raw,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
            wire = FORMATS.get(kind)
            if wire is None or not wire.handles("/" + rest) or not isinstance(body, dict):
                self._send(404, b'{"error": {"message": "unknown path"}}')
                return
            prompt = wire.prompt_of(path, body)
            try:
                self._answer(kind, path, body, prompt)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: that is what these behaviours are for

        def _answer(self, kind: str, path: str, body: dict[str, Any], prompt: str) -> None:
            if "endless" in prompt:
                self._endless()
            elif "trickle" in prompt:
                self._trickle(server.normal_answer(kind, path, body))
            elif any(word in prompt for word in COMPRESSIONS):
                word = next(word for word in COMPRESSIONS if word in prompt)
                encoding, wbits = COMPRESSIONS[word]
                compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
                payload = compressor.compress(server.normal_answer(kind, path, body)) + compressor.flush()
                self._send(200, payload, (("Content-Encoding", encoding),), piece=7)
            elif "truncated" in prompt:
                whole = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                payload = whole.compress(server.normal_answer(kind, path, body)) + whole.flush()
                self._cut_short(payload[:len(payload) // 2], (("Content-Encoding", "gzip"),))
            elif "garbled" in prompt:
                self._send(200, b"\x1f\x8b\x08\x00 this is not gzip at all", (("Content-Encoding", "gzip"),))
            elif "bomb" in prompt:
                self._send(200, server.bomb(), (("Content-Encoding", "gzip"),))
            elif "redirect" in prompt:
                self._send(307, b"", (("Location", server.redirect_to),))
            elif "envelope" in prompt:
                self._send(200, server.envelope())
            else:
                self._send(200, server.normal_answer(kind, path, body))

        def _send(self, status: int, payload: bytes, headers: tuple[tuple[str, str], ...] = (),
                  piece: int = 0) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for start in range(0, len(payload), piece or len(payload) or 1):
                self.wfile.write(payload[start:start + (piece or len(payload))])
                self.wfile.flush()

        def _cut_short(self, payload: bytes, headers: tuple[tuple[str, str], ...]) -> None:
            """A body with no length, ended by closing the connection: a cut is not an error to HTTP."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True

        def _endless(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")  # no length: the body ends when the connection does
            self.end_headers()
            self.wfile.write(b'{"output": [{"type": "message", "content": [{"type": "output_text", "text": "')
            while True:
                self.wfile.write(CHUNK)
                with server._lock:
                    server.endless_bytes_sent += len(CHUNK)

        def _trickle(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for byte in _bytes(payload):
                self.wfile.write(byte)
                self.wfile.flush()
                time.sleep(server.trickle_gap)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _bytes(payload: bytes) -> Iterator[bytes]:
    for index in range(len(payload)):
        yield payload[index:index + 1]


def places_holding(url: str, needle: str) -> list[str]:
    """Every place of the database at `url` that holds `needle`: "table.column" for a value (raw payloads
    decompressed, whatever their codec; JSON values serialized), and for SQLite the database file and its
    WAL byte for byte."""
    found: list[str] = []
    engine = create_engine(with_driver(url))
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    values = dict(row._mapping)
                    if table.name == "raw_payload":  # its bytes as the engine sent them, whatever the codec
                        values["data"] = repository.load_raw(engine, values["hash"])
                    for column, value in values.items():
                        if _holds(value, needle):
                            found.append(f"{table.name}.{column}")
    finally:
        engine.dispose()
    if url.startswith(SQLITE):
        path = Path(url[len(SQLITE):])
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists() and needle.encode() in file.read_bytes():
                found.append(file.name)
    return sorted(set(found))


def _holds(value: object, needle: str) -> bool:
    if isinstance(value, (bytes, memoryview)):
        data = bytes(value)
        return needle.encode() in data or needle in _decoded_json(data)
    if isinstance(value, (list, dict)):
        return needle in json.dumps(value, ensure_ascii=False)
    return isinstance(value, str) and needle in value


# A small Python process that runs the command and reports its peak memory. The peak the kernel reports
# for a child counts the memory of the process it was forked from (until its exec), so a command started
# straight from a large test process would be charged for that process; started from this one, it is not.
_MEASURER = """
import json, os, resource, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "wall": time.monotonic() - started,
               "peak_mb": usage.ru_maxrss / 1024}, out)
"""


@dataclass(frozen=True)
class Measured:
    exit_code: int
    wall: float
    peak_mb: float
    stdout: str
    stderr: str


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str], limit_mb: int | None = None) -> Measured:
    """Run a command; its exit code, wall time, peak memory (RSS) and output. `limit_mb` caps its address
    space, so that a command whose memory runs away fails instead of taking the machine down."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        measurer = [sys.executable, "-c", _MEASURER, report.name, *argv]
        if limit_mb is not None:
            measurer = ["prlimit", f"--as={limit_mb * 1024 * 1024}", "--", *measurer]
        result = subprocess.run(measurer, cwd=cwd, env=env, capture_output=True, text=True)
        figures = json.loads(Path(report.name).read_text() or "{}")
    if not figures:
        raise RuntimeError(f"the command could not be measured: {result.stderr[-2000:]}")
    return Measured(figures["exit"], figures["wall"], figures["peak_mb"], result.stdout, result.stderr)


def _decoded_json(data: bytes) -> str:
    """The strings of a JSON payload as they read once decoded (a key written with escapes shows)."""
    try:
        return json.dumps(json.loads(data), ensure_ascii=False)
    except ValueError:
        return ""
