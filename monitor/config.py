"""The only reader of config.yaml and of the environment.

`load_config(path)` returns a validated `Config` or raises `ConfigError` whose
problems name the file, the key path and, where the YAML gives one, the line.
API keys are read from the environment variables the config names, only when
a probe is built, and are never stored, logged or printed.
"""

from __future__ import annotations

import base64
import codecs
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from citewatch.errors import ConfigError
from citewatch.secrets import Secrets
from monitor.analysis.content_types import rules_from_config
from monitor.analysis.domain_classes import domain_rules_from_config
from probes import registry
from storage.urls import check_database_url

_KEY_PARAM = re.compile(r"(?:^|&)(?:key|api[-_]?key|token|access_token|secret)=", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityConfig(_Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    domains: list[str] = []
    people: list[str] = []
    titles: list[str] = []


class LocaleConfig(_Strict):
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    language: str | None = None
    city: str | None = None
    region: str | None = None


class KeywordConfig(_Strict):
    text: str = Field(min_length=1)
    prompt: str | None = None
    tags: list[str] = []
    weight: float = Field(default=1.0, gt=0)
    locale: LocaleConfig = LocaleConfig()
    engines: list[str] | None = None
    samples: int | None = Field(default=None, ge=1, le=100)
    # names the brand (left out of share of voice and mention rates); detected from the aliases when unset
    branded: bool | None = None

    @property
    def question(self) -> str:
        return self.prompt or self.text


class PriceConfig(_Strict):
    per_call: float = Field(default=0.0, ge=0)
    input_per_million: float = Field(default=0.0, ge=0)
    output_per_million: float = Field(default=0.0, ge=0)

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        return (
            self.per_call
            + (input_tokens or 0) * self.input_per_million / 1e6
            + (output_tokens or 0) * self.output_per_million / 1e6
        )


class BrowserConfig(_Strict):
    """How a browser kind (google_browser) loads Google: which page, as which device, through which proxy."""

    mode: Literal["ai_overview", "ai_mode"] = "ai_overview"
    viewport: Literal["desktop", "mobile"] = "desktop"
    user_agent: str | None = None
    # the proxy server's URL, without credentials: those come from the variable named by
    # proxy_credentials_env, as "user:password"
    proxy: str | None = None
    proxy_credentials_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    screenshot: bool = False  # keep a PNG of the expanded page beside the HTML
    executable: str = "/usr/bin/chromium"
    # seconds a results page without an overview yet is given for one to arrive (overviews can come late);
    # capped by 60% of the engine's timeout
    overview_wait: float = Field(default=5.0, gt=0, le=120)

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
            raise ValueError(f"{value!r} is not a proxy URL (http://, https:// or socks5://host:port)")
        if parts.username or parts.password:
            raise ValueError("proxy must not carry credentials; put user:password in the variable named by "
                             "proxy_credentials_env")
        return value


class SearchConfig(_Strict):
    """How an engine whose API takes search settings searches; each kind reads only its own
    (`probes.registry.EngineKind.search_options`). Absent: the kind's default."""

    forced: bool | None = None  # qwen: search even where the model would answer from memory (default true)
    strategy: Literal["turbo", "max", "agent"] | None = None  # qwen (default turbo)
    # glm (default search_std); Zhipu bills searches per engine
    engine: Literal["search_std", "search_pro", "search_pro_sogou", "search_pro_quark"] | None = None
    # anthropic: the web search server tool's version (default web_search_20250305; DeepSeek takes it too)
    tool: str | None = Field(default=None, pattern=r"^web_search_\d{8}$")


class EngineConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: str
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    samples: int = Field(default=3, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=256)
    requests_per_minute: float | None = Field(default=None, gt=0)
    # seconds for each request's whole response (headers and body), however slowly it arrives
    timeout: float = Field(default=60.0, gt=0)
    # a response body larger than this (after decompression) is a failed probe: no real answer comes near
    max_response_mb: float = Field(default=8.0, gt=0, le=1024)
    retries: int = Field(default=2, ge=0, le=10)
    price: PriceConfig = PriceConfig()
    # spend (same currency as price) after which the engine is not probed again that UTC day
    daily_budget: float | None = Field(default=None, gt=0)
    enabled: bool = True
    browser: BrowserConfig | None = None  # browser kinds only; their defaults where absent
    search: SearchConfig | None = None  # kinds whose search is tunable (qwen, glm) only

    @model_validator(mode="before")
    @classmethod
    def _one_page_at_a_time(cls, data: Any) -> Any:
        """A browser kind loads one page at a time unless told otherwise (each page is a Chromium context)."""
        if isinstance(data, dict) and "concurrency" not in data:
            entry = registry.KINDS.get(str(data.get("kind")))
            if entry is not None and entry.browser:
                return {**data, "concurrency": 1}
        return data

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in registry.KINDS:
            raise ValueError(f"unknown engine kind {value!r}; known kinds: {', '.join(registry.KINDS)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        try:
            parts.port  # noqa: B018 (raises ValueError for a port that is not a number from 0 to 65535)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
        if parts.username or parts.password or _KEY_PARAM.search(parts.query):
            # a URL ends up in logs and error text; keys belong in the variable named by api_key_env
            raise ValueError("base_url must not carry credentials; put the key in the variable named by "
                             "api_key_env")
        return value

    @model_validator(mode="after")
    def _kind_requirements(self) -> EngineConfig:
        problems = registry.KINDS[self.kind].requirement_problems(self.base_url, self.model)
        if self.browser is not None and not registry.KINDS[self.kind].browser:
            problems.append(f"browser: only for kinds that drive a browser "
                            f"({', '.join(k.name for k in registry.KINDS.values() if k.browser)})")
        if self.search is not None:
            taken = registry.KINDS[self.kind].search_options
            for name in sorted(self.search.model_fields_set - taken):
                users = [k.name for k in registry.KINDS.values() if name in k.search_options]
                problems.append(f"search.{name}: kind {self.kind} does not take it (only {', '.join(users)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StorageConfig(_Strict):
    url: str = "sqlite:///citewatch.db"

    @field_validator("url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        check_database_url(value)  # storage owns what a usable database URL is
        return value.strip()


class ContentRuleConfig(_Strict):
    type: str
    domain: str | None = None
    url_contains: str | None = None
    url_regex: str | None = None
    title_contains: str | None = None
    title_regex: str | None = None

    @model_validator(mode="after")
    def _valid_rule(self) -> ContentRuleConfig:
        # the analysis package owns what a valid rule is; config only reports where it is
        try:
            rules_from_config([self.model_dump(exclude_none=True)])
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("content rule #1: ")) from None
        return self


class ScheduleGroupConfig(_Strict):
    """Engines run together on their own cron (Google daily, assistants three times a week)."""

    name: str = Field(min_length=1)
    engines: list[str] = Field(min_length=1)
    cron: str
    timezone: str | None = None  # default: the schedule's

    @model_validator(mode="after")
    def _valid_cron(self) -> ScheduleGroupConfig:
        _check_cron(self.cron, self.timezone)
        return self


class ScheduleConfig(_Strict):
    # engines in no group run on this cron; a time zone name, or none for the server's
    cron: str = "0 6 * * *"
    timezone: str | None = None
    groups: list[ScheduleGroupConfig] = []
    # each run starts up to this many seconds late, at random: many daemons do not hit an API at once
    jitter: int = Field(default=0, ge=0, le=3600)
    # after downtime, the runs missed are merged into one, run at start if the newest was missed by less
    misfire_grace: int = Field(default=3600, ge=1)
    # after SIGTERM, how long probes in flight get to finish and be stored before the daemon leaves anyway
    stop_grace: float = Field(default=60.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _valid_cron(self) -> ScheduleConfig:
        _check_cron(self.cron, self.timezone)
        _require_unique([(("groups", i, "name"), group.name) for i, group in enumerate(self.groups)])
        _require_unique([(("groups", i, "engines", j), engine_id)
                         for i, group in enumerate(self.groups) for j, engine_id in enumerate(group.engines)])
        return self


def _check_cron(cron: str, timezone: str | None) -> None:
    from monitor.cron import cron_trigger

    try:
        cron_trigger(cron, timezone)
    except Exception as exc:  # noqa: BLE001 (apscheduler raises ValueError or a zoneinfo error)
        raise ValueError(f"invalid schedule: {exc}") from None


class DomainClassRuleConfig(_Strict):
    domain: str
    class_: str = Field(alias="class")

    @model_validator(mode="after")
    def _valid_rule(self) -> DomainClassRuleConfig:
        try:
            domain_rules_from_config([self.as_rule()])
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("domain class rule #1: ")) from None
        return self

    def as_rule(self) -> dict[str, str]:
        return {"domain": self.domain, "class": self.class_}


class MetricsConfig(_Strict):
    # a rate over fewer observations is marked low_sample
    min_sample: int = Field(default=10, ge=1)


class HealthConfig(_Strict):
    # the environment variable holding a URL the daemon POSTs a summary to after every run (a healthchecks
    # endpoint, a webhook): such URLs carry a token, so the config names the variable, never the URL
    heartbeat_url_env: str | None = None


def language_key(value: object) -> object:
    """zh-CN (the locale users write) and its spellings are the Chinese labels, "zh"."""
    return "zh" if isinstance(value, str) and value.lower() in ("zh-cn", "zh_cn", "zh-hans") else value


class ReportConfig(_Strict):
    language: Literal["en", "zh"] = "en"
    # the daemon renders the ISO week just ended on this cron ("0 7 * * 1": Mondays at 07:00), keeps it in
    # `archive` and sends it to alerts.channels (monitor.report.delivery); none: it does not
    schedule: str | None = None
    timezone: str | None = None  # default: schedule.timezone, else the server's
    archive: Path = Path("reports")  # a folder per ISO week; a relative path is from the config file's folder
    send: bool = True  # false: archived only

    _language = field_validator("language", mode="before")(classmethod(lambda cls, value: language_key(value)))

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            _check_cron(value, "UTC")  # the zone is checked on its own field
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return value if value is None else str(ZoneInfo(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None


Purpose = Literal["training", "search", "user_fetch", "agent", "other"]


class TrafficConfig(_Strict):
    """Reading the site's own logs (`citewatch ingest-logs`): the format, and what to add to the packaged
    lists of AI referrers and AI crawlers (monitor/traffic/data)."""

    format: str = "auto"  # detected per file from its first lines; or one of monitor.traffic.formats.FORMATS
    log_format: str | None = None  # format nginx: the server's `log_format` string
    fields: dict[str, str] = {}  # format jsonl: {time, client, method, path or uri, status, referrer, ...} -> key
    time_format: str = "auto"  # format jsonl: auto, iso, epoch, clf, or a strptime pattern
    referrers: dict[str, str] = {}  # more AI referrers: a host (subdomains too) or utm_source value -> source id
    bots: dict[str, Purpose] = {}  # more AI crawlers: a user-agent token -> its purpose
    page_extensions: list[str] = []  # path extensions that are pages besides .html, .php ... (e.g. pdf)

    @model_validator(mode="after")
    def _format_and_its_options(self) -> TrafficConfig:
        from monitor.traffic.formats import FORMATS

        if self.format != "auto" and self.format not in FORMATS:
            raise ValueError(f"format {self.format!r}: expected auto or one of {', '.join(FORMATS)}")
        if self.format == "nginx" and not self.log_format:
            raise ValueError("format nginx needs log_format: the server's log_format string")
        if self.format == "jsonl" and not self.fields:
            raise ValueError("format jsonl needs fields: which JSON key holds the time, client, path, status ...")
        return self

    def parser_options(self) -> dict[str, object]:
        """The options of the configured format (`monitor.traffic.formats.make_parser`)."""
        if self.format == "nginx":
            return {"log_format": self.log_format}
        if self.format == "jsonl":
            return {"fields": dict(self.fields), "time_format": self.time_format}
        return {}


AlertKind = Literal["citation_lost", "citation_gained", "competitor_gained", "share_of_voice_drop",
                    "inclusion_drop", "engine_failing"]
# which options each rule kind reads (monitor.alerts.rules says what they mean)
_RULE_OPTIONS: dict[str, set[str]] = {
    "citation_lost": {"confirm_runs"}, "citation_gained": {"confirm_runs"}, "competitor_gained": {"confirm_runs"},
    "share_of_voice_drop": {"min_drop", "window_days"}, "inclusion_drop": {"min_drop", "window_days"},
    "engine_failing": {"min_coverage"},
}
# hosts a channel may be written out for: nothing there needs a token kept from the config
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_CHANNEL_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class AlertRuleConfig(_Strict):
    kind: AlertKind
    # lost: successful runs a page must be absent from after it was cited; gained: before it is cited again
    confirm_runs: int = Field(default=2, ge=1, le=20)
    # percentage points a rate must fall by (and beyond sampling noise) for the drop rules
    min_drop: float | None = Field(default=None, gt=0, le=100)
    # the drop rules compare the last `window_days` with the same length before
    window_days: int = Field(default=7, ge=1, le=90)
    # engine_failing: the share of a run's probes of one engine that must succeed
    min_coverage: float = Field(default=0.5, gt=0, le=1)
    engines: list[str] = []  # only these engine ids (default: every engine)

    @model_validator(mode="after")
    def _options_of_kind(self) -> AlertRuleConfig:
        given = self.model_fields_set - {"kind", "engines"}
        if foreign := sorted(given - _RULE_OPTIONS[self.kind]):
            raise ValueError(f"{', '.join(foreign)} does not apply to {self.kind} "
                             f"(it takes: {', '.join(sorted(_RULE_OPTIONS[self.kind]))})")
        return self

    @property
    def drop_points(self) -> float:
        return self.min_drop if self.min_drop is not None else (10.0 if self.kind == "inclusion_drop" else 5.0)


class AlertsConfig(_Strict):
    # Apprise URLs (slack://, mailto://, msteams://, discord://, tgram://, wecombot://, dingtalk://, feishu://,
    # json://, ...). A URL carrying a token names an environment variable for it: slack://${SLACK_TOKENS}
    channels: list[str] = []
    rules: list[AlertRuleConfig] = []
    lang: Literal["en", "zh"] = "en"
    # tries per channel before a digest waits for the next run to be sent again
    attempts: int = Field(default=3, ge=1, le=10)

    _lang = field_validator("lang", mode="before")(classmethod(lambda cls, value: language_key(value)))

    @field_validator("channels")
    @classmethod
    def _channel_urls(cls, channels: list[str]) -> list[str]:
        for index, channel in enumerate(channels):
            if "://" not in channel:
                raise ValueError(f"channels[{index}] is not an Apprise URL (scheme://...)")
            if "$" in _CHANNEL_VARIABLE.sub("", channel):
                raise ValueError(f"channels[{index}]: write an environment variable as ${{NAME}}")
        return channels


def channel_variables(channel: str) -> list[str]:
    """The environment variables a channel URL names."""
    return _CHANNEL_VARIABLE.findall(channel)


def channel_url(channel: str) -> str | None:
    """The channel's URL with its variables filled from the environment; None when one is unset."""
    missing = [name for name in channel_variables(channel) if not os.environ.get(name)]
    if missing:
        return None
    return _CHANNEL_VARIABLE.sub(lambda match: os.environ[match.group(1)], channel)


class Config(_Strict):
    project: str | None = None
    brand: EntityConfig
    competitors: list[EntityConfig] = []
    keywords: list[KeywordConfig] = Field(min_length=1)
    engines: list[EngineConfig] = Field(min_length=1)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    content_types: list[ContentRuleConfig] = []
    domain_classes: list[DomainClassRuleConfig] = []
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    # a factory, not an instance: validating the default cron loads APScheduler, which only configs need
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    traffic: TrafficConfig = Field(default_factory=TrafficConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    # the file it was read from, for messages about it (set by load_config)
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        return str(self._source) if self._source else "the config"

    @property
    def project_name(self) -> str:
        return self.project or self.brand.name

    @property
    def entities(self) -> list[EntityConfig]:
        return [self.brand, *self.competitors]

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        _require_unique([(("engines", i, "id"), e.id) for i, e in enumerate(self.engines)])
        _require_unique([(("keywords", i, "text"), k.text) for i, k in enumerate(self.keywords)])
        _require_unique([(("brand", "name"), self.brand.name)]
                        + [(("competitors", i, "name"), e.name) for i, e in enumerate(self.competitors)])
        _require_known_engines({e.id for e in self.engines}, [
            *((("keywords", i, "engines"), keyword.engines or []) for i, keyword in enumerate(self.keywords)),
            *((("schedule", "groups", i, "engines"), group.engines) for i, group in enumerate(self.schedule.groups)),
            *((("alerts", "rules", i, "engines"), rule.engines) for i, rule in enumerate(self.alerts.rules)),
        ])
        return self


def _require_known_engines(engine_ids: set[str], lists: list[tuple[tuple[str | int, ...], list[str]]]) -> None:
    """Lists of engine ids (each with its key path) that must name engines of the config."""
    for at, named in lists:
        for engine_id in named:
            if engine_id not in engine_ids:
                raise PydanticCustomError("unknown_engine", "names engine {engine}, which is not in engines",
                                          {"at": at, "engine": repr(engine_id)})


def _require_unique(values: list[tuple[tuple[str | int, ...], str]]) -> None:
    """Values that must differ, each with its key path; the error carries both paths (`_describe`)."""
    first: dict[str, tuple[str | int, ...]] = {}
    for at, value in values:
        if value in first:
            raise PydanticCustomError("duplicate", "{value} is written twice (first at {first_path})",
                                      {"at": at, "first": first[value], "value": repr(value),
                                       "first_path": _key_path(list(first[value]))})
        first[value] = at


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file, resolving a relative SQLite path and report archive against the file's
    folder."""
    path = Path(path)
    source = _read_text(path)
    try:
        data = yaml.safe_load(source)
        root = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    duplicates = duplicate_keys(root)
    if duplicates:
        raise ConfigError(f"{path}: {len(duplicates)} duplicate key(s): YAML would silently keep only the last",
                          duplicates)
    unstorable = unstorable_values(root)
    if unstorable:
        raise ConfigError(f"{path}: {len(unstorable)} value(s) with characters no database stores as text",
                          unstorable)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys (brand, keywords, engines, ...)")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, root) for error in exc.errors()]
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the config", problems) from None
    config._source = path
    return _resolve_paths(config, path.parent)


def _read_text(path: Path) -> str:
    """The config's text: UTF-8 (with or without a byte-order mark), or UTF-16 with one (Windows Notepad's
    "Unicode"); anything else is refused with the line where it stops being UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    if b"\x00" in raw:  # no text editor writes NUL bytes in UTF-8; UTF-16 is full of them
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        kind = ("UTF-16 text without a byte-order mark" if raw[:2].count(b"\x00") == 1 and raw.count(b"\x00") * 4
                >= len(raw) else "a binary file, not text")
        raise ConfigError(f"{path}:{line}: this looks like {kind} (NUL bytes); save the file as UTF-8, which "
                          "keeps Chinese names as written")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8, "
                          "which keeps Chinese names as written") from None


def duplicate_keys(node: yaml.Node | None, path: str = "", seen: set[int] | None = None) -> list[str]:
    """Problems for every key written twice in one mapping (two `<<` merges included), with the key path
    and both lines. A mapping reached again through an alias is reported once, where it is written."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return []
    seen.add(id(node))
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            child = f"{path}.{key}" if path else str(key)
            if key is not None:
                if key in first_line:
                    problems.append(f"line {line}: {child}: duplicate key (first written at line {first_line[key]})")
                else:
                    first_line[key] = line
            problems.extend(duplicate_keys(value_node, child, seen))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems.extend(duplicate_keys(item, f"{path}[{index}]", seen))
    return problems


def unstorable_values(node: yaml.Node | None, path: str = "", seen: set[int] | None = None) -> list[str]:
    """Problems for every value holding a NUL or a lone surrogate (written as YAML escapes: "\\0",
    "\\ud800"), which PostgreSQL cannot store as text and UTF-8 cannot encode, with key path and line."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return []
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        bad = next((char for char in node.value if char == "\x00" or "\ud800" <= char <= "\udfff"), None)
        if bad is None:
            return []
        return [f"line {node.start_mark.line + 1}: {path or '(top level)'}: contains the character "
                f"U+{ord(bad):04X}, which no database stores as text"]
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            problems.extend(unstorable_values(key_node, child, seen) + unstorable_values(value_node, child, seen))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems.extend(unstorable_values(item, f"{path}[{index}]", seen))
    return problems


def _describe(error: Any, root: yaml.Node | None) -> str:
    context = error.get("ctx") or {}
    # checks across the config (duplicates, references) say where themselves
    loc = list(context["at"]) if "at" in context else [
        part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    line = _line_of(root, loc)
    where = f"line {line}: " if line else ""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    if "first" in context:
        message = message.removesuffix(")") + f", line {_line_of(root, list(context['first']))})"
    return f"{where}{_key_path(loc) or '(top level)'}: {message}"


def _key_path(loc: list[Any]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """The 1-based line of the deepest YAML node found along the key path."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            key_node, node = match
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _resolve_paths(config: Config, base: Path) -> Config:
    url = config.storage.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        absolute = (base / url[len(prefix):]).resolve()
        config = config.model_copy(update={"storage": StorageConfig(url=f"{prefix}{absolute}")})
    archive = (base / config.report.archive.expanduser()).resolve()  # an absolute archive stays as written
    return config.model_copy(update={"report": config.report.model_copy(update={"archive": archive})})


def api_key(engine: EngineConfig) -> str | None:
    """The engine's API key from its environment variable, or None where it names none."""
    if engine.api_key_env is None:
        return None
    return os.environ.get(engine.api_key_env) or None


def proxy_credentials(engine: EngineConfig) -> tuple[str, str] | None:
    """(user, password) for the engine's browser proxy, from the variable its config names."""
    name = engine.browser.proxy_credentials_env if engine.browser else None
    value = os.environ.get(name) if name else None
    if not value:
        return None
    user, _, password = value.partition(":")
    return user, password


def configured_secrets(config: Config) -> Secrets:
    """Every API key and proxy password the config's engines name (enabled or not), to be masked wherever an
    answer is kept."""
    passwords = [credentials[1] for engine in config.engines if (credentials := proxy_credentials(engine))]
    keys = [form for engine in config.engines for form in _key_forms(api_key(engine))]
    return Secrets([*keys, *passwords])


def _key_forms(key: str | None) -> list[str]:
    """A key and the forms a service may echo it in: a `login:password` pair (DataForSEO's basic auth) also
    as its password alone and as the base64 token of its Authorization header."""
    if not key:
        return []
    if ":" not in key:
        return [key]
    return [key, key.partition(":")[2], base64.b64encode(key.encode()).decode()]


def missing_api_keys(config: Config) -> list[str]:
    """Problems for enabled engines whose key variable is unset; names the variable, never a value."""
    problems = [
        f"engines[{engine.id}].api_key_env: environment variable {engine.api_key_env} is not set"
        for engine in config.engines
        if engine.enabled and engine.api_key_env and api_key(engine) is None
    ]
    return problems + [
        f"engines[{engine.id}].browser.proxy_credentials_env: environment variable "
        f"{engine.browser.proxy_credentials_env} is not set"
        for engine in config.engines
        if engine.enabled and engine.browser and engine.browser.proxy_credentials_env
        and proxy_credentials(engine) is None
    ]
