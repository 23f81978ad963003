"""A local server on 127.0.0.1 that speaks the engines' wire formats, for the offline demo and tests.

Answers are generated from a `Scenario` (the brand, competitors and the pages
they own) and are deterministic per seed: the k-th call with a given prompt on
a given day always gets the same answer. Tests can script exact responses
(status, headers, body, delay) that are served first, in order.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Site:
    """A tracked entity as the simulator sees it: its name and the pages an answer may cite."""

    name: str
    pages: tuple[tuple[str, str], ...]  # (url, title)


@dataclass
class Scenario:
    brand: Site
    competitors: tuple[Site, ...]
    neutral_pages: tuple[tuple[str, str], ...]
    seed: int = 7
    # probability that an answer cites the brand, moved by the demo to show a trend over time
    brand_citation_rate: float = 0.5
    day: str = "2026-01-01"


@dataclass(frozen=True)
class ScriptedResponse:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    delay: float = 0.0


@dataclass
class _Segment:
    sentence: str
    sources: list[tuple[str, str]] = field(default_factory=list)


class Simulator:
    """Run with `with Simulator(scenario) as sim:`; `sim.base_url` is e.g. http://127.0.0.1:PORT/v1."""

    def __init__(self, scenario: Scenario | None = None, latency: float = 0.0) -> None:
        self.scenario = scenario or demo_scenario()
        self.latency = latency
        self.script: deque[ScriptedResponse] = deque()
        self.requests: list[dict] = []
        self._calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "simulator not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Simulator:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="citewatch-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *responses: ScriptedResponse) -> None:
        self.script.extend(responses)

    def respond(self, path: str, body: dict) -> ScriptedResponse:
        with self._lock:
            self.requests.append({"path": path, "body": body})
            if self.script:
                return self.script.popleft()
            prompt = _prompt_of(body)
            key = (self.scenario.day, prompt)
            call_index = self._calls[key]
            self._calls[key] += 1
        segments = compose_answer(self.scenario, prompt, call_index)
        model = str(body.get("model") or "gpt-sim")
        if path.rstrip("/").endswith("/responses"):
            payload = render_openai_responses(segments, model, self.scenario, prompt, call_index)
            return ScriptedResponse(body=json.dumps(payload, ensure_ascii=False).encode(), delay=self.latency)
        return ScriptedResponse(status=404, body=b'{"error": {"message": "unknown path"}}')


def _prompt_of(body: dict) -> str:
    value = body.get("input", "")
    if isinstance(value, list):  # a list of input messages
        value = " ".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return str(value)


def _make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            reply = sim.respond(urlsplit(self.path).path, body if isinstance(body, dict) else {})
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


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


_OPENERS = (
    "For {kw}, buyers usually compare a few established manufacturers.",
    "When sourcing {kw}, start with certified suppliers that publish test data.",
    "Here is a short overview of {kw} and who makes them well.",
)
_BRAND_LINES = (
    "{name} is often recommended for its API 6D certified product range and short lead times.",
    "{name} publishes detailed pressure test reports, which procurement teams value.",
    "Many distributors shortlist {name} because it exports to over 60 countries.",
)
_COMPETITOR_LINES = (
    "{name} is a well-known alternative with a broad catalogue.",
    "{name} competes on price for standard sizes.",
    "Some engineers prefer {name} for cryogenic service.",
)
_NEUTRAL_LINES = (
    "Check the pressure class, body material and end connection before ordering.",
    "Independent standards such as API 608 and ISO 17292 define the key tests.",
    "Ask for material certificates (EN 10204 3.1) with every shipment.",
)


def compose_answer(scenario: Scenario, prompt: str, call_index: int) -> list[_Segment]:
    """An abstract answer: sentences and the sources each one cites. Wire formats render it."""
    rng = _rng(scenario.seed, scenario.day, prompt, call_index)
    keyword = prompt.rstrip("?").strip() or "industrial valves"
    segments = [_Segment(rng.choice(_OPENERS).format(kw=keyword))]
    picks: list[_Segment] = []
    if rng.random() < scenario.brand_citation_rate:
        picks.append(_Segment(rng.choice(_BRAND_LINES).format(name=scenario.brand.name), [rng.choice(scenario.brand.pages)]))
    elif rng.random() < 0.3:  # named without being cited
        picks.append(_Segment(rng.choice(_BRAND_LINES).format(name=scenario.brand.name)))
    for competitor in scenario.competitors:
        if rng.random() < 0.55:
            picks.append(_Segment(rng.choice(_COMPETITOR_LINES).format(name=competitor.name), [rng.choice(competitor.pages)]))
    rng.shuffle(picks)
    segments.extend(picks)
    for _ in range(rng.randint(1, 2)):
        segments.append(_Segment(rng.choice(_NEUTRAL_LINES), [rng.choice(scenario.neutral_pages)]))
    return segments


def _domain(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def render_openai_responses(segments: list[_Segment], model: str, scenario: Scenario, prompt: str,
                            call_index: int) -> dict:
    """The Responses API body: web_search_call items, then a message with url_citation annotations."""
    text = ""
    annotations = []
    for segment in segments:
        text += ("" if not text else " ") + segment.sentence
        for url, title in segment.sources:
            cited_url = f"{url}?utm_source=openai"
            link = f"[{_domain(url)}]({cited_url})"
            text += " (" + link + ")"
            start = len(text) - len(link) - 1
            annotations.append({"type": "url_citation", "start_index": start, "end_index": start + len(link),
                                "title": title, "url": cited_url})
    cited = [url for s in segments for url, _ in s.sources]
    extra = [url for url, _ in scenario.neutral_pages if url not in cited][:2]
    ident = hashlib.sha256(f"{scenario.seed}|{scenario.day}|{prompt}|{call_index}".encode()).hexdigest()[:24]
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": 1764547200,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": f"{model}-2025-08-07" if not model[-1].isdigit() else model,
        "output": [
            {
                "id": f"ws_{ident}",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": prompt,
                           "sources": [{"type": "url", "url": u} for u in cited + extra]},
            },
            {
                "id": f"msg_{ident}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}],
            },
        ],
        "tools": [{"type": "web_search"}],
        "usage": {"input_tokens": 120 + len(prompt) // 4, "output_tokens": len(text) // 4,
                  "total_tokens": 120 + len(prompt) // 4 + len(text) // 4},
    }


def demo_scenario(seed: int = 7) -> Scenario:
    """The demo brand: a Chinese valve maker selling abroad, and two competitors."""
    return Scenario(
        brand=Site("Hengda Valve", (
            ("https://www.hengdavalve.com/products/api-6d-ball-valve", "API 6D Trunnion Ball Valve | Hengda Valve"),
            ("https://www.hengdavalve.com/blog/how-to-choose-a-butterfly-valve", "How to Choose a Butterfly Valve"),
            ("https://www.hengdavalve.com/research/cryogenic-seat-leakage-study.pdf", "Cryogenic Seat Leakage Study"),
            ("https://www.youtube.com/watch?v=hengda-factory-tour", "Hengda Valve factory tour - YouTube"),
        )),
        competitors=(
            Site("Apex Flow Controls", (
                ("https://www.apexflow.com/products/gate-valves", "Gate Valves | Apex Flow Controls"),
                ("https://blog.apexflow.com/valve-selection-guide", "Valve Selection Guide"),
            )),
            Site("NorthStar Valves", (
                ("https://northstarvalves.de/en/cryogenic", "Cryogenic Valves - NorthStar"),
                ("https://northstarvalves.de/en/news/2026-expansion", "NorthStar expands capacity"),
            )),
        ),
        neutral_pages=(
            ("https://en.wikipedia.org/wiki/Ball_valve", "Ball valve - Wikipedia"),
            ("https://www.reddit.com/r/engineering/comments/valves", "Which valve brands do you trust? : r/engineering"),
            ("https://www.api.org/products-and-services/standards", "API Standards"),
            ("https://www.valvemagazine.com/news/market-outlook-2026", "Valve market outlook 2026"),
        ),
        seed=seed,
    )
