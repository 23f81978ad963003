"""SQLModel tables: one per entity in DESIGN.md.

Times are time-zone aware and stored in UTC (SQLModel converts on the way in
and out; SQLite keeps them without offset). Lists are JSON columns.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, SmallInteger, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from citewatch.status import RUN_RUNNING

# SQLite tables WITHOUT ROWID: rows stored in primary-key order, for small rows read by key ranges
_CLUSTERED = {"sqlite_with_rowid": False}


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    created_at: datetime


class TrackedEntity(SQLModel, table=True):
    """The brand or a competitor, synced from config."""

    __tablename__ = "tracked_entity"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str
    kind: str  # "brand" | "competitor"
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    people: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    titles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True


class Keyword(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "text"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    text: str
    prompt: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weight: float = 1.0
    country: str | None = None
    language: str | None = None
    # names the brand: left out of share of voice and mention rates, reported apart as brand recognition
    branded: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    active: bool = True


class Run(SQLModel, table=True):
    """One batch: keywords x engines x samples."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    started_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    status: str = RUN_RUNNING  # citewatch.status: running | finished | interrupted
    # the process running it (a run left `running` by a process that is gone is interrupted)
    host: str | None = None
    pid: int | None = None
    process_scope: str | None = None  # where the pid means something: boot and PID namespace (monitor.owner)
    # observations planned, per engine id and keyword id (as text): the denominator of coverage
    planned: dict[str, dict[str, int]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EngineSpend(SQLModel, table=True):
    """What an engine has spent on a UTC day, with what probes in flight have reserved: the one figure
    every process on the database checks `daily_budget` against."""

    __tablename__ = "engine_spend"
    project_id: int = Field(foreign_key="project.id", primary_key=True)
    engine_id: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    spent: float


class RawPayload(SQLModel, table=True):
    """A payload exactly as the engine sent it, compressed, keyed by the SHA-256 of the raw bytes.

    `codec` says how `data` is compressed (storage.compression): `zlib` (every payload stored before
    migration 0007) or `zstd`, with the dictionary version it needs in `dictionary_id` (None: none)."""

    __tablename__ = "raw_payload"
    hash: str = Field(primary_key=True, max_length=64)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime
    codec: str = Field(default="zlib", sa_column_kwargs={"server_default": "zlib"})
    dictionary_id: int | None = Field(default=None, foreign_key="payload_dictionary.id")


class PayloadDictionary(SQLModel, table=True):
    """A zstd dictionary trained on payloads of one engine kind. Versions are only ever added: the newest
    of a kind compresses new payloads, older ones stay for the payloads compressed with them."""

    __tablename__ = "payload_dictionary"
    __table_args__ = (Index("ix_payload_dictionary_engine_kind", "engine_kind", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    engine_kind: str
    created_at: datetime
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sample_count: int  # the payloads it was trained on
    hash: str = Field(max_length=64)  # SHA-256 of `data`: what readers cache a version's prepared form by


class Observation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("run_id", "keyword_id", "engine_id", "sample_index"),
        Index("ix_observation_engine_time", "engine_id", "observed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")  # indexed by the unique constraint it leads
    keyword_id: int = Field(foreign_key="keyword.id", index=True)
    engine_id: str
    engine_kind: str
    sample_index: int
    observed_at: datetime
    status: str  # citewatch.status: SUCCESSFUL, FAILED or SKIPPED
    error: str | None = None
    raw_hash: str | None = Field(default=None, foreign_key="raw_payload.hash")  # the first part's
    parser_version: int | None = None
    # the answer's text, zstd-compressed (storage.answers) with the engine kind's payload dictionary
    # `answer_dictionary_id` (None: none); `answer_chars` is its length in characters
    answer: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    answer_dictionary_id: int | None = Field(default=None, foreign_key="payload_dictionary.id")
    answer_chars: int | None = None
    has_answer: bool = False
    search_pool: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    model: str | None = None
    search_queries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float = 0.0


class ObservationPart(SQLModel, table=True):
    """One named part of an observation's raw result (`citewatch.raw`), in fetch order: the first response,
    a deferred overview, a page before and after "Show more", a screenshot."""

    __tablename__ = "observation_part"
    observation_id: int = Field(foreign_key="observation.id", primary_key=True)
    ordinal: int = Field(primary_key=True)
    name: str
    media_type: str
    raw_hash: str = Field(foreign_key="raw_payload.hash", max_length=64)


class ObservationFeature(SQLModel, table=True):
    """A SERP feature the answer's page showed (or `web_search` for an assistant that searched)."""

    __tablename__ = "observation_feature"
    __table_args__ = (Index("ix_observation_feature_name", "name"),)
    observation_id: int = Field(foreign_key="observation.id", primary_key=True)
    name: str = Field(primary_key=True)


class Source(SQLModel, table=True):
    """A page as cited or ranked, and what the analysis made of it: stored once, never changed
    (storage.sources). Organic results' sources have no normalized URL nor domain class."""

    __tablename__ = "source"
    id: int | None = Field(default=None, primary_key=True)
    hash: str = Field(max_length=32, unique=True)  # of every other column
    url: str
    normalized_url: str | None = None
    domain: str | None = None
    title: str | None = None
    owner_id: int | None = Field(default=None, foreign_key="tracked_entity.id")
    content_type: str = "other"
    domain_class: str | None = None


class InternedName(SQLModel, table=True):
    """A name stored once and referenced by id (storage.names): the rollups' text keys, citations' origins."""

    __tablename__ = "interned_name"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)


# Citations, mentions and organic results are keyed by their observation and their place in it (an
# answer's sources have distinct positions, its organic results distinct ranks, its mentions one row per
# entity): tens of millions of rows a year, with no id nor second index to carry.


class Citation(SQLModel, table=True):
    """A page an answer cited or retrieved. The engine's own URL (a redirect, for Gemini) stays in the raw
    payload; the row references the page it stands for."""

    __table_args__ = _CLUSTERED
    observation_id: int = Field(foreign_key="observation.id", primary_key=True)
    position: int = Field(primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    visible: bool = True
    cited: bool = True  # False: retrieved by the engine's search but not cited
    origin: int = Field(foreign_key="interned_name.id")  # the name: "annotation", "text", "search_result"...
    spans: list[list[int]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # position-adjusted word count (GEO); None where the engine ties no text to its sources
    visibility: float | None = None


class Mention(SQLModel, table=True):
    __table_args__ = _CLUSTERED
    observation_id: int = Field(foreign_key="observation.id", primary_key=True)
    entity_id: int = Field(foreign_key="tracked_entity.id", primary_key=True, index=True)
    alias: str
    count: int
    first_offset: int
    rank: int
    # 1, 2 or 3: the third of the answer's prose the first mention falls in (None: stored before migration 0012)
    third: int | None = Field(default=None, sa_type=SmallInteger)


class OrganicResult(SQLModel, table=True):
    __tablename__ = "organic_result"
    __table_args__ = _CLUSTERED
    observation_id: int = Field(foreign_key="observation.id", primary_key=True)
    rank: int = Field(primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    snippet: str | None = None


# --- KPI rollups (storage.tally), kept up to date as observations are stored, so a period's KPIs are sums
# over a few rows per day (or month) instead of scans of every observation and citation. Two grains with one
# schema: `kpi_day*` rows hold a day, `kpi_month*` rows a calendar month (`day` is its first day), so a long
# period reads its whole months from the monthly tables and only its edges from the daily ones. The day is
# the UTC date the observation's run started (periods place observations by their run, as coverage does).
# On SQLite the tables are WITHOUT ROWID: rows sit in key order, and a period is one contiguous range.
# Their text keys (engine, rank source, page type, domain class, domain) hold `interned_name` ids
# (storage.names): the columns keep the names the reads group by.

def _count(**kwargs: object) -> int:
    return Field(default=0, sa_column_kwargs={"server_default": "0"}, **kwargs)  # type: ignore[no-any-return]


class _RollupKey(SQLModel):
    day: date = Field(primary_key=True)
    engine_id: int = Field(primary_key=True)
    keyword_id: int = Field(foreign_key="keyword.id", primary_key=True)


class _KeywordCounts(_RollupKey):
    scheduled: int = _count()
    observed: int = _count()
    successful: int = _count()
    failed: int = _count()
    skipped: int = _count()
    answered: int = _count()
    included: int = _count()
    included_answered: int = _count()
    with_citations: int = _count()
    citations: int = _count()
    position_sum: int = _count()
    top3: int = _count()
    visible: int = _count()
    gaps: int = _count()
    pool: int = _count()
    brand_found: int = _count()
    brand_found_cited: int = _count()
    organic_pages: int = _count()
    organic_ranked: int = _count()
    organic_rank_sum: int = _count()
    organic_top3: int = _count()
    organic_top10: int = _count()
    organic_top10_not_cited: int = _count()
    visibility_total: float = _count()
    cost: float = _count()


class _RankCounts(_RollupKey):
    """How many answers had the brand's best citation (source `citation`) or best organic result (source
    `organic`) at each position: medians and best positions come from these histograms."""

    source: int = Field(primary_key=True)
    rank: int = Field(primary_key=True)
    answers: int = _count()


class _EntityCounts(_RollupKey):
    entity_id: int = Field(foreign_key="tracked_entity.id", primary_key=True)
    answers_naming: int = _count()
    mention_count: int = _count()
    mention_rank_sum: int = _count()
    first_third: int = _count()
    middle_third: int = _count()
    last_third: int = _count()
    cited_answers: int = _count()
    citations: int = _count()
    citations_weighted: float = _count()
    visibility: float = _count()
    cited_without_brand: int = _count()


class _ContentCounts(_RollupKey):
    content_type: int = Field(primary_key=True)
    domain_class: int = Field(primary_key=True)
    citations: int = _count()
    brand_answers: int = _count()


class _DomainCounts(_RollupKey):
    domain: int = Field(primary_key=True)
    answers: int = _count()
    answers_without_brand: int = _count()


class KpiDay(_KeywordCounts, table=True):
    __tablename__ = "kpi_day"
    __table_args__ = _CLUSTERED


class KpiDayRank(_RankCounts, table=True):
    __tablename__ = "kpi_day_rank"
    __table_args__ = _CLUSTERED


class KpiDayEntity(_EntityCounts, table=True):
    __tablename__ = "kpi_day_entity"
    __table_args__ = _CLUSTERED


class KpiDayContent(_ContentCounts, table=True):
    __tablename__ = "kpi_day_content"
    __table_args__ = _CLUSTERED


class KpiDayDomain(_DomainCounts, table=True):
    __tablename__ = "kpi_day_domain"
    __table_args__ = _CLUSTERED


class KpiMonth(_KeywordCounts, table=True):
    __tablename__ = "kpi_month"
    __table_args__ = _CLUSTERED


class KpiMonthRank(_RankCounts, table=True):
    __tablename__ = "kpi_month_rank"
    __table_args__ = _CLUSTERED


class KpiMonthEntity(_EntityCounts, table=True):
    __tablename__ = "kpi_month_entity"
    __table_args__ = _CLUSTERED


class KpiMonthContent(_ContentCounts, table=True):
    __tablename__ = "kpi_month_content"
    __table_args__ = _CLUSTERED


class KpiMonthDomain(_DomainCounts, table=True):
    __tablename__ = "kpi_month_domain"
    __table_args__ = _CLUSTERED


# --- alerts (monitor.alerts): what the rules found, the digests announcing it, and each channel's delivery


class AlertEvent(SQLModel, table=True):
    """A rule's finding. A state (a lost citation, a drop, a failing engine) stays open until the run that
    sees it recovered closes it, and is not announced again while open; a change (a citation gained) is
    closed by the run that found it."""

    __tablename__ = "alert_event"
    __table_args__ = (Index("ix_alert_event_open", "project_id", "kind", "closed_run_id"),
                      Index("ix_alert_event_run", "project_id", "run_id"))
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    run_id: int = Field(foreign_key="run.id")  # the run whose evaluation found it
    kind: str
    keyword_id: int | None = Field(default=None, foreign_key="keyword.id")
    engine_id: str | None = None
    subject: str = ""  # the URL, the competitor, or nothing: with kind, keyword and engine, the event's key
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime
    closed_run_id: int | None = Field(default=None, foreign_key="run.id")
    closed_at: datetime | None = None
    digest_id: int | None = Field(default=None, foreign_key="alert_digest.id")


class AlertDigest(SQLModel, table=True):
    """One message per run announcing its events, kept until every channel has it."""

    __tablename__ = "alert_digest"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    run_id: int = Field(foreign_key="run.id")
    created_at: datetime
    lang: str
    title: str
    body: str


class AlertDelivery(SQLModel, table=True):
    """A digest on one channel (named without its secrets: `monitor.alerts.deliver.channel_label`)."""

    __tablename__ = "alert_delivery"
    digest_id: int = Field(foreign_key="alert_digest.id", primary_key=True)
    channel: str = Field(primary_key=True)
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None


# --- traffic (monitor.traffic): AI referrals and AI crawler hits read from the site's logs, as daily counts;
# never an address (addresses are used in memory, for visits and verification, and dropped)


class TrafficFile(SQLModel, table=True):
    """A log file read, recognised by its first bytes (decompressed), not by its name: a rotated or
    compressed copy is the same file, and a growing one continues at `bytes_read`."""

    __tablename__ = "traffic_file"
    __table_args__ = (UniqueConstraint("project_id", "head_len", "head_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    head_hash: str  # sha256 of the first head_len bytes of the (decompressed) content
    head_len: int
    path: str  # where it was last read, for the operator
    format: str
    bytes_read: int = Field(default=0, sa_type=BigInteger)  # complete lines read, in (decompressed) bytes
    lines_read: int = Field(default=0, sa_type=BigInteger)
    malformed: int = Field(default=0, sa_type=BigInteger)
    first_read_at: datetime
    last_read_at: datetime


class _TrafficKey(SQLModel):
    project_id: int = Field(foreign_key="project.id", primary_key=True)
    day: date = Field(primary_key=True)  # UTC


class AiReferralDay(_TrafficKey, table=True):
    """Page views (HTML, answered 2xx/3xx, not from a bot) referred by an AI assistant, and the visits they
    began, per source and landing path (without query)."""

    __tablename__ = "ai_referral_day"
    __table_args__ = _CLUSTERED
    source: str = Field(primary_key=True)
    path: str = Field(primary_key=True)
    pageviews: int = _count()
    visits: int = _count()


class AiCrawlerDay(_TrafficKey, table=True):
    """Hits of an AI crawler or agent (an ai.robots.txt token) per purpose, verification and path."""

    __tablename__ = "ai_crawler_day"
    __table_args__ = _CLUSTERED
    bot: str = Field(primary_key=True)
    purpose: str = Field(primary_key=True)
    verification: str = Field(primary_key=True)  # verified | spoofed | unverifiable
    path: str = Field(primary_key=True)
    hits: int = _count()


class AnalyticsSessionDay(_TrafficKey, table=True):
    """Sessions from an analytics export (GA4), per source view, which are never added together."""

    __tablename__ = "analytics_session_day"
    __table_args__ = _CLUSTERED
    view: str = Field(primary_key=True)  # session | first_user
    source: str = Field(primary_key=True)  # an AI source id
    path: str = Field(primary_key=True)
    sessions: int = _count()


class BotRange(SQLModel, table=True):
    """An AI crawler operator's published address range, loaded by `citewatch update-bot-ranges`; for a bot
    listed here these replace the ranges shipped with citewatch."""

    __tablename__ = "bot_range"
    bot: str = Field(primary_key=True)  # the ai.robots.txt token
    network: str = Field(primary_key=True)  # CIDR
    source: str  # the file it came from, as the user named it
    updated_at: datetime
