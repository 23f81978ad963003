"""A local server on 127.0.0.1 that speaks the engines' wire formats, for the offline demo and tests.

Answers are generated from a `Scenario` (the brand, competitors and the pages
they own) and are deterministic per seed: the k-th call with a given prompt on
a given day always gets the same answer. Each wire format is mounted under its
engine kind: `sim.base_url_for("openai")` is http://127.0.0.1:PORT/openai/v1.
Tests can script exact responses (status, headers, body, delay) that are
served first, in order, whatever the path. Where the scenario has outages
(`Scenario.failure_rate`), a call they take gets the service's own failure
(`formats.failed`) instead of its answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from probes.simulator.formats import FORMATS, failed, rendered
from probes.simulator.scenario import Page, Scenario, demo_scenario, fault, simulated_answer


@dataclass(frozen=True)
class ScriptedResponse:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    delay: float = 0.0


class LocalServer:
    """An HTTP server on a free port of 127.0.0.1, answering from a daemon thread, with every wire format
    mounted under its kind: `with Server(...) as server:`, then `server.base_url_for(kind)`. Subclasses
    say which server (and so which handler) in `_make_server`."""

    _server: ThreadingHTTPServer | None = None
    thread_name = "citewatch-local-server"

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, f"{type(self).__name__} not started"
        return int(self._server.server_address[1])

    def base_url_for(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}{FORMATS[kind].BASE_SUFFIX}"

    def start(self) -> Self:
        server = self._make_server()
        self._server = server
        threading.Thread(target=server.serve_forever, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Simulator(LocalServer):
    """Run with `with Simulator(scenario) as sim:`; `sim.base_url` is e.g. http://127.0.0.1:PORT/v1."""

    thread_name = "citewatch-simulator"

    def __init__(self, scenario: Scenario | None = None, latency: float = 0.0) -> None:
        self.scenario = scenario or demo_scenario()
        self.latency = latency
        self.script: deque[ScriptedResponse] = deque()
        self.requests: list[dict] = []
        self._calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _make_server(self) -> ThreadingHTTPServer:
        return _Server(("127.0.0.1", 0), _make_handler(self))

    @property
    def base_url(self) -> str:
        """The OpenAI Responses mount, the demo's default engine."""
        return self.base_url_for("openai")

    def enqueue(self, *responses: ScriptedResponse) -> None:
        self.script.extend(responses)

    def respond(self, path: str, body: dict) -> ScriptedResponse:
        if path == "/favicon.ico":  # a browser asks on its own, whenever: never let it take a scripted reply
            return ScriptedResponse(status=404, body=b"")
        with self._lock:
            self.requests.append({"path": path, "body": body})
            if self.script:
                return self.script.popleft()
            kind, wire = _format_for(path)
            if wire is None:
                return ScriptedResponse(status=404, body=b'{"error": {"message": "unknown path"}}')
            earlier = wire.earlier_call(path, body) if hasattr(wire, "earlier_call") else None
            if earlier is not None:  # a follow-up (a deferred part): the same answer again, not a new call
                prompt, call_index = earlier
            else:
                prompt = wire.prompt_of(path, body)
                key = (kind, self.scenario.day, prompt)
                call_index = self._calls[key]
                self._calls[key] += 1
        answer = simulated_answer(self.scenario, prompt, wire.model_of(path, body), call_index, kind)
        payload = rendered(wire, answer, path, body)
        pick = fault(self.scenario, prompt, call_index, kind)
        if pick is not None:  # an outage: this call fails as the service fails
            payload = failed(wire, answer, payload, pick)
        if isinstance(payload, Page):
            return ScriptedResponse(status=payload.status, body=payload.body, delay=self.latency,
                                    headers=(("Content-Type", payload.content_type), *payload.headers))
        return ScriptedResponse(body=json.dumps(payload, ensure_ascii=False).encode(), delay=self.latency)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default of 5 resets connections under a concurrent benchmark
    daemon_threads = True


def _format_for(path: str) -> tuple[str, ModuleType | None]:
    """The kind mounted at the path's first segment, and its wire format if it serves that path."""
    kind, _, rest = path.lstrip("/").partition("/")
    wire = FORMATS.get(kind)
    return kind, (wire if wire is not None and wire.handles("/" + rest) else None)


def _make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms a response
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            self._reply(sim.respond(urlsplit(self.path).path, body if isinstance(body, dict) else {}))

        def do_GET(self) -> None:  # noqa: N802
            # a GET's query parameters stand for a body (SerpApi's searches, result pages for a browser)
            url = urlsplit(self.path)
            self._reply(sim.respond(url.path, dict(parse_qsl(url.query, keep_blank_values=True))))

        def _reply(self, reply: ScriptedResponse) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            try:
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass  # keep test and demo output clean

    return Handler
