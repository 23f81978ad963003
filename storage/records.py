"""What storage takes and gives back, as plain dataclasses: no database library is imported here, so
analysis and `citewatch parse` can build records without loading SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from citewatch.raw import RawResult


@dataclass(frozen=True)
class EntityRow:
    name: str
    kind: str
    aliases: Sequence[str] = ()
    domains: Sequence[str] = ()
    people: Sequence[str] = ()
    titles: Sequence[str] = ()


@dataclass(frozen=True)
class KeywordRow:
    text: str
    prompt: str | None = None
    tags: Sequence[str] = ()
    weight: float = 1.0
    country: str | None = None
    language: str | None = None
    branded: bool = False


@dataclass(frozen=True)
class RunOwner:
    """The process that runs a run: its host name, process id, and where that id means something (its
    machine's boot and PID namespace; see monitor.owner)."""

    host: str | None
    pid: int | None
    scope: str | None = None


@dataclass(frozen=True)
class ProjectIds:
    project_id: int
    entity_ids: dict[str, int]
    keyword_ids: dict[str, int]
    brand: str | None = None  # the brand's entity name (the others are competitors)


@dataclass
class CitationRecord:
    position: int
    url: str
    normalized_url: str
    domain: str | None
    title: str | None
    visible: bool
    cited: bool
    origin: str
    owner: str | None
    content_type: str
    spans: list[tuple[int, int]] = field(default_factory=list)
    visibility: float | None = None
    domain_class: str = "other"


@dataclass
class MentionRecord:
    entity: str
    alias: str
    count: int
    first_offset: int
    rank: int
    third: int | None = None  # 1, 2 or 3: the third of the prose the first mention is in (None: stored before 0012)


@dataclass
class OrganicRecord:
    rank: int
    url: str
    domain: str | None
    owner: str | None
    title: str | None
    snippet: str | None = None
    content_type: str = "other"


@dataclass
class ObservationRecord:
    """Everything known about one probe call, ready to store."""

    run_id: int
    keyword: str
    engine_id: str
    engine_kind: str
    sample_index: int
    observed_at: datetime
    status: str
    error: str | None = None
    raw: RawResult | None = None
    parser_version: int | None = None
    answer_text: str | None = None
    answer_chars: int | None = None  # the answer's length, where its text was not read back (rollups)
    has_answer: bool = False
    # the engine reports the pages its search retrieved (cited or not): the answer has a search pool
    search_pool: bool = False
    model: str | None = None
    search_queries: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float = 0.0
    # what was reserved of the engine's daily budget for this probe, and on which UTC day (storage then
    # replaces the reservation by the cost, in the observation's own transaction)
    reserved: float = 0.0
    reserved_day: date | None = None
    citations: list[CitationRecord] = field(default_factory=list)
    mentions: list[MentionRecord] = field(default_factory=list)
    organic: list[OrganicRecord] = field(default_factory=list)

    def map_texts(self, change: Callable[[str], str]) -> None:
        """Apply `change` to every text the observation stores from the engine's answer (not its keyword
        or engine ids, which come from config): to mask secrets, or to make text storable."""
        def each(text: str | None) -> str | None:
            return None if text is None else change(text)

        self.error, self.answer_text, self.model = each(self.error), each(self.answer_text), each(self.model)
        self.search_queries = [change(query) for query in self.search_queries]
        self.features = [change(feature) for feature in self.features]
        for source in [*self.citations, *self.organic]:
            source.url, source.title, source.domain = change(source.url), each(source.title), each(source.domain)
        for result in self.organic:
            result.snippet = each(result.snippet)
        for citation in self.citations:
            citation.normalized_url = change(citation.normalized_url)
        for mention in self.mentions:
            mention.alias = change(mention.alias)


@dataclass(frozen=True)
class StoredPayload:
    observation_id: int
    keyword: str
    engine_id: str
    engine_kind: str
    raw_hash: str
    parser_version: int | None


@dataclass(frozen=True)
class ObservationFact:
    id: int
    engine_id: str
    keyword: str
    weight: float
    status: str
    has_answer: bool
    cost: float = 0.0
    observed_at: datetime | None = None
    error: str | None = None  # why a failed probe failed


@dataclass(frozen=True)
class CitationFact:
    observation_id: int
    owner: str
    normalized_url: str
    url: str
    title: str | None
    position: int
    visible: bool
    content_type: str
    cited: bool = True
    visibility: float | None = None


@dataclass
class PeriodFacts:
    """One period's observations (the runs started in it, the project's active keywords) and their
    citations of tracked entities (cited and retrieved-only): the pages the report lists."""

    observations: list[ObservationFact]
    citations: list[CitationFact]


@dataclass(frozen=True)
class KeywordInfo:
    id: int
    text: str
    weight: float
    tags: tuple[str, ...]
    branded: bool


@dataclass(frozen=True)
class EntityInfo:
    id: int
    name: str
    kind: str  # "brand" | "competitor"


@dataclass
class PeriodRollups:
    """A period's daily rollups summed per engine and keyword (`storage.kpi_reads`): what every KPI of
    `monitor.kpis` is computed from."""

    keywords: dict[int, KeywordInfo]
    entities: dict[int, EntityInfo]  # brand first
    # (engine, on branded keywords) -> every count
    totals: dict[tuple[str, bool], dict[str, float]] = field(default_factory=dict)
    # (engine, keyword) -> the counts a keyword's weight and row need (storage.kpi_reads.PER_KEYWORD)
    day: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    # (engine, "citation" | "organic") -> the brand's best position -> answers; and the same per keyword
    rank_totals: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    ranks: dict[tuple[str, int, str], dict[int, int]] = field(default_factory=dict)
    # (engine, on branded keywords, entity) -> counts
    entity: dict[tuple[str, bool, int], dict[str, float]] = field(default_factory=dict)
    # (engine, keyword, entity) -> answers citing the entity and not the brand (where any)
    instead: dict[tuple[str, int, int], int] = field(default_factory=dict)
    content: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=dict)  # (engine, type, class)
    # keyword id (None: all keywords) -> [(domain, answers citing it, of which not citing the brand)]
    domains: dict[int | None, list[tuple[str, int, int]]] = field(default_factory=dict)
    tag_domains: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)  # the same per tag


@dataclass(frozen=True)
class EngineRunStatus:
    """One engine's share of a run: planned, stored by status, and its newest successful observation."""

    engine_id: str
    planned: int
    statuses: dict[str, int]
    last_success: datetime | None
    run_id: int  # the newest run that planned the engine


@dataclass(frozen=True)
class RunStatus:
    """The newest run of a project, per engine (`citewatch status`)."""

    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    host: str | None
    pid: int | None
    engines: list[EngineRunStatus]


@dataclass
class TrafficCounts:
    """A period's traffic counts (storage.traffic.period_counts), summed over its days."""

    referrals: list[tuple[str, str, int, int]]  # (source, path, pageviews, visits)
    crawlers: list[tuple[str, str, str, str, int]]  # (bot, purpose, verification, path, hits)
    sessions: list[tuple[str, str, str, int]]  # (view, source, path, sessions)
