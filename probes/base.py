"""The one probe interface and the `Answer` every parser returns.

A probe does network I/O only: ``await probe.fetch(request)`` returns a
`RawResult`, the bytes exactly as the service sent them, in one or more named
parts. A parser is a pure function ``parse(raw: RawResult | bytes) -> Answer``
(bare bytes being a one-part result) with a ``PARSER_VERSION`` stored on each
observation, so history can be re-parsed when a parser improves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from citewatch.raw import RawResult
from citewatch.status import OK, AnswerStatus

# SERP features a Google result page can show, as stored (one row per feature and observation). Assistants
# that searched the web say so with WEB_SEARCH.
AI_OVERVIEW = "ai_overview"
AI_MODE = "ai_mode"
FEATURED_SNIPPET = "featured_snippet"
PEOPLE_ALSO_ASK = "people_also_ask"
AI_OVERVIEW_QUESTION = "ai_overview_question"  # a People Also Ask answer written as an AI Overview
VIDEO = "video"
IMAGES = "images"
TOP_STORIES = "top_stories"
LOCAL_PACK = "local_pack"
KNOWLEDGE_PANEL = "knowledge_panel"
SHOPPING = "shopping"
ADS = "ads"
WEB_SEARCH = "web_search"


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
    """One organic result, `rank` 1-based as Google counts it (ads and SERP features not counted)."""

    rank: int
    url: str
    title: str | None = None
    snippet: str | None = None


@dataclass
class Answer:
    """What a parser extracts from one raw result.

    For Google, `text` is the AI Overview (or AI Mode answer) and `citations` its sources: "has an
    answer" means an overview was shown. `features` are the SERP features the page showed (names above),
    `cost` what the service itself says the call cost, where it says so (it then replaces the price)."""

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
    cost: float | None = None

    @property
    def has_answer(self) -> bool:
        return self.status == OK and bool(self.text.strip())


class Probe(Protocol):
    """Network side of an engine. Implementations live in `probes/<kind>.py`; `probes.fake.FakeProbe`
    stands in for one in tests. `url` is where `fetch` sends its (first) request, with the body
    `request_body(request)` (a GET's query parameters; DataForSEO's list of one task): the benchmark's
    bare-client floor sends the same."""

    url: str

    def request_body(self, request: ProbeRequest) -> dict[str, Any] | list[Any]: ...

    async def fetch(self, request: ProbeRequest) -> RawResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ProbeSettings:
    """What a probe needs to talk to its engine; built by the pipeline from config (secrets included)."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never in a repr, a log or a traceback
    timeout: float = 60.0  # seconds for each request's whole response (`probes.bounded`)
    max_response_bytes: int = 8 * 1024 * 1024  # body size past which a response is refused
    browser: BrowserOptions | None = None  # for kinds that drive a browser
    search: SearchOptions = field(default_factory=lambda: SearchOptions())  # for kinds whose search is tunable


@dataclass(frozen=True)
class SearchOptions:
    """How an engine that takes search settings searches (engine config `search:`); None: the kind's default.
    Which kind reads which is declared in `probes.registry` (`EngineKind.search_options`)."""

    forced: bool | None = None  # qwen: search even where the model would answer from memory
    strategy: str | None = None  # qwen: "turbo" | "max" | "agent"
    engine: str | None = None  # glm: "search_std" | "search_pro" | "search_pro_sogou" | "search_pro_quark"
    tool: str | None = None  # anthropic: the web search server tool's version, e.g. "web_search_20250305"


@dataclass(frozen=True)
class BrowserOptions:
    """How a browser probe loads pages (engine config `browser:`)."""

    mode: str = "ai_overview"  # "ai_overview": the results page; "ai_mode": Google's AI Mode page
    viewport: str = "desktop"  # "desktop" | "mobile"
    user_agent: str | None = None
    proxy: str | None = None  # server URL, credentials never in it
    proxy_username: str | None = None
    proxy_password: str | None = field(default=None, repr=False)
    screenshot: bool = False
    executable: str = "/usr/bin/chromium"
    overview_wait: float = 5.0  # seconds a results page without an overview yet is given for one to arrive
