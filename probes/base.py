"""The one probe interface and the `Answer` every parser returns.

A probe does network I/O only: ``await probe.fetch(request)`` returns the raw
payload bytes exactly as the service sent them. A parser is a pure function
``parse(raw: bytes) -> Answer`` with a ``PARSER_VERSION`` stored on each
observation, so history can be re-parsed when a parser improves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from citewatch.status import OK, AnswerStatus


@dataclass(frozen=True)
class Locale:
    country: str | None = None
    language: str | None = None
    city: str | None = None
    region: str | None = None

    def approximate_location(self) -> dict[str, str]:
        """The approximate location search APIs take: country (upper case), city and region, those set."""
        location = {"country": self.country.upper() if self.country else None, "city": self.city,
                    "region": self.region}
        return {key: value for key, value in location.items() if value}


@dataclass(frozen=True)
class ProbeRequest:
    """What one probe call asks: the prompt text and where the asker is."""

    keyword: str
    prompt: str
    locale: Locale = Locale()


@dataclass
class Citation:
    """One source an answer lists.

    `position` is 1-based in the order the engine lists (or first cites) its
    sources; a URL cited twice keeps one position and accumulates spans.
    `cited` is False for sources the engine retrieved but never cited.
    """

    url: str
    position: int
    title: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    cited: bool = True
    visible: bool = True
    origin: str = "annotation"  # "annotation" | "text" (URL written in the prose) | "search_result"


@dataclass
class OrganicResult:
    rank: int
    url: str
    title: str | None = None


@dataclass
class Answer:
    """What a parser extracts from one raw payload."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    organic: list[OrganicResult] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    model: str | None = None
    search_queries: list[str] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    status: AnswerStatus = OK
    status_reason: str | None = None

    @property
    def has_answer(self) -> bool:
        return self.status == OK and bool(self.text.strip())


class Probe(Protocol):
    """Network side of an engine. Implementations live in `probes/<kind>.py`; `probes.fake.FakeProbe`
    stands in for one in tests. `url` is where `fetch` sends its (first) request, with the body
    `request_body(request)`: the benchmark's bare-client floor sends the same."""

    url: str

    def request_body(self, request: ProbeRequest) -> dict[str, Any]: ...

    async def fetch(self, request: ProbeRequest) -> bytes: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ProbeSettings:
    """What a probe needs to talk to its engine; built by the pipeline from config (secrets included)."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never in a repr, a log or a traceback
    timeout: float = 60.0  # seconds for each request's whole response (`probes.bounded`)
    max_response_bytes: int = 8 * 1024 * 1024  # body size past which a response is refused
