"""The one list of engine kinds: what serves each (probe, parser, simulator) and what it can do, as data.

Config validation, `check-config`, the pipeline, `parse`, `reparse`, the
simulator, the demo and the benchmark all read this list, so a new kind needs
its own modules and one entry here. Modules are named, not imported: a kind's
probe (and the HTTP or SDK stack under it) is loaded only when that kind is
used, so `citewatch parse` never loads the openai SDK, and `import
probes.registry` costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from types import ModuleType
from typing import Any

from citewatch.errors import UnknownEngineKind
from citewatch.raw import RawResult
from probes.base import Answer, Probe, ProbeSettings

# The fields of a keyword's locale a probe can send (what the engine's API takes).
LOCATION = frozenset({"country", "region", "city"})
LANGUAGE = frozenset({"language", "country"})  # the country only beside a language: zh-CN
SEARCH_LOCALE = LOCATION | LANGUAGE  # Google: gl, hl and a location


@dataclass(frozen=True)
class EngineKind:
    """One engine kind. `probe` is "module:Class"; `parser` is the kind's parser module, which holds
    `parse(raw)`, `PARSER_VERSION` and `recognizes(body)` (for `citewatch parse` without --kind).
    A kind with no probe is planned: config accepts it, `run` refuses it."""

    name: str
    service: str
    probe: str | None = None
    parser: str | None = None
    simulator: str | None = None  # module speaking the wire format (`probes.simulator`), if any
    needs_api_key: bool = True
    needs_base_url: bool = False  # no default address to fall back on
    needs_model: bool = False
    spans: bool = False  # ties citations to the text they support
    retrieved_sources: bool = False  # lists pages searched but not cited
    locale: frozenset[str] = frozenset()
    serp: bool = False  # a Google results page: the answer is its AI Overview (or AI Mode answer)
    browser: bool = False  # drives a browser (engine config `browser:`; concurrency defaults to 1)
    search_options: frozenset[str] = frozenset()  # the `probes.base.SearchOptions` fields it reads (`search:`)

    @property
    def available(self) -> bool:
        return self.probe is not None and self.parser is not None

    def make_probe(self, settings: ProbeSettings) -> Probe:
        self._require_available()
        probe_class: Callable[[ProbeSettings], Probe] = _load(self.probe)  # type: ignore[arg-type]
        return probe_class(settings)

    @cached_property
    def parser_module(self) -> ModuleType:
        self._require_available()
        return import_module(str(self.parser))

    @property
    def parse(self) -> Callable[[RawResult | bytes], Answer]:
        return self.parser_module.parse  # type: ignore[no-any-return]

    @property
    def parser_version(self) -> int:
        return int(self.parser_module.PARSER_VERSION)

    def recognizes(self, body: dict[str, Any]) -> bool:
        """Whether a decoded JSON body looks like this kind's payload (for `parse` without --kind); a body
        so odd that the check itself fails is not this kind's."""
        try:
            return bool(self.parser_module.recognizes(body))
        except Exception:  # noqa: BLE001 (any shape of untrusted JSON reaches here)
            return False

    def recognizes_page(self, raw: bytes) -> bool:
        """Whether saved bytes that are not JSON (a results page) are this kind's payload."""
        check = getattr(self.parser_module, "recognizes_page", None)
        try:
            return bool(check and check(raw))
        except Exception:  # noqa: BLE001 (untrusted bytes)
            return False

    def requirement_problems(self, base_url: str | None, model: str | None) -> list[str]:
        """What an engine of this kind lacks in config (kinds with no default address or model)."""
        problems = []
        if self.needs_base_url and not base_url:
            problems.append(f"kind {self.name} needs base_url (the server's root, e.g. http://127.0.0.1:11434/v1)")
        if self.needs_model and not model:
            problems.append(f"kind {self.name} needs model (the name the server expects, e.g. qwen3)")
        return problems

    def _require_available(self) -> None:
        if not self.available:
            raise UnknownEngineKind(self.name, available_names())


def _load(spec: str) -> Any:
    module, _, attribute = spec.partition(":")
    return getattr(import_module(module), attribute)


_ENTRIES = (
    EngineKind("openai", "OpenAI Responses API, web_search tool",
               probe="probes.openai_responses:OpenAIResponsesProbe", parser="probes.parsers.openai_responses",
               simulator="probes.simulator.openai_responses", spans=True, retrieved_sources=True, locale=LOCATION),
    EngineKind("openai_chat", "Chat Completions with OpenAI's search models",
               probe="probes.openai_chat:OpenAIChatProbe", parser="probes.parsers.openai_chat",
               simulator="probes.simulator.openai_chat", spans=True, locale=LOCATION),
    EngineKind("perplexity_agent", "Perplexity Agent API, web_search tool",
               probe="probes.perplexity_agent:PerplexityAgentProbe", parser="probes.parsers.perplexity_agent",
               simulator="probes.simulator.perplexity_agent", spans=True, retrieved_sources=True, locale=LOCATION),
    EngineKind("perplexity", "Perplexity Sonar chat completions (replaced by the Agent API)",
               probe="probes.perplexity:PerplexityProbe", parser="probes.parsers.perplexity",
               simulator="probes.simulator.perplexity", spans=True, retrieved_sources=True, locale=LOCATION),
    EngineKind("gemini", "Gemini generateContent, google_search tool",
               probe="probes.gemini:GeminiProbe", parser="probes.parsers.gemini",
               simulator="probes.simulator.gemini", spans=True, retrieved_sources=True, locale=LANGUAGE),
    EngineKind("anthropic", "Anthropic Messages API, web search server tool",
               probe="probes.anthropic:AnthropicProbe", parser="probes.parsers.anthropic",
               simulator="probes.simulator.anthropic", spans=True, retrieved_sources=True, locale=LOCATION,
               search_options=frozenset({"tool"})),
    EngineKind("openai_compatible", "any OpenAI-compatible chat endpoint (DeepSeek, Qwen, Kimi, Ollama, vLLM)",
               probe="probes.openai_chat:OpenAICompatibleProbe", parser="probes.parsers.openai_compatible",
               simulator="probes.simulator.openai_compatible", needs_api_key=False, needs_base_url=True,
               needs_model=True),
    EngineKind("serpapi", "Google results with AI Overviews through SerpApi (engine=google)",
               probe="probes.serpapi:SerpApiProbe", parser="probes.parsers.serpapi",
               simulator="probes.simulator.serpapi", spans=True, serp=True, locale=SEARCH_LOCALE),
    EngineKind("serpapi_ai_mode", "Google AI Mode through SerpApi (engine=google_ai_mode)",
               probe="probes.serpapi:SerpApiAiModeProbe", parser="probes.parsers.serpapi_ai_mode",
               simulator="probes.simulator.serpapi_ai_mode", spans=True, serp=True, locale=SEARCH_LOCALE),
    EngineKind("dataforseo", "Google results with AI Overviews through DataForSEO (organic live advanced)",
               probe="probes.dataforseo:DataForSeoProbe", parser="probes.parsers.dataforseo",
               spans=True, serp=True, locale=SEARCH_LOCALE),
    EngineKind("dataforseo_ai_mode", "Google AI Mode through DataForSEO (ai_mode live advanced)",
               probe="probes.dataforseo:DataForSeoAiModeProbe", parser="probes.parsers.dataforseo_ai_mode",
               spans=True, serp=True, locale=SEARCH_LOCALE),
    EngineKind("google_browser", "Google results in Debian's Chromium driven by Playwright",
               probe="probes.google_browser:GoogleBrowserProbe", parser="probes.parsers.google_html",
               simulator="probes.simulator.google_browser",
               needs_api_key=False, serp=True, browser=True, locale=LANGUAGE),
    EngineKind("qwen", "Qwen (通义千问) through DashScope's native API, with its search sources",
               probe="probes.qwen:QwenProbe", parser="probes.parsers.qwen", spans=True, retrieved_sources=True,
               simulator="probes.simulator.qwen", search_options=frozenset({"forced", "strategy"})),
    EngineKind("glm", "GLM (智谱清言) through Zhipu's chat completions, web_search tool",
               probe="probes.glm:GlmProbe", parser="probes.parsers.glm", spans=True, retrieved_sources=True,
               simulator="probes.simulator.glm", search_options=frozenset({"engine"})),
    EngineKind("ernie", "ERNIE (文心一言) through Baidu Qianfan AI Search, Baidu web search",
               probe="probes.ernie:ErnieProbe", parser="probes.parsers.ernie", simulator="probes.simulator.ernie",
               spans=True, retrieved_sources=True),
    EngineKind("kimi", "Kimi (月之暗面) through Moonshot's chat completions, $web_search builtin function",
               probe="probes.kimi:KimiProbe", parser="probes.parsers.kimi", simulator="probes.simulator.kimi"),
    EngineKind("doubao", "Doubao (豆包) through Volcengine Ark's Responses API, web_search tool",
               probe="probes.doubao:DoubaoProbe", parser="probes.parsers.doubao", locale=LOCATION,
               simulator="probes.simulator.doubao"),
    # a kind with no probe yet is planned: accepted by config, refused by `run` and `check-config`
)

KINDS: dict[str, EngineKind] = {entry.name: entry for entry in _ENTRIES}


def available_names() -> list[str]:
    return [name for name, entry in KINDS.items() if entry.available]


def kind(name: str) -> EngineKind:
    """The kind called `name`, if this version can run it; else UnknownEngineKind naming those it can."""
    entry = KINDS.get(name)
    if entry is None or not entry.available:
        raise UnknownEngineKind(name, available_names())
    return entry


def recognizing(body: dict[str, Any]) -> list[str]:
    """The available kinds whose parser recognizes a decoded JSON payload (one, where it is unambiguous)."""
    return [name for name in available_names() if KINDS[name].recognizes(body)]


def recognizing_page(raw: bytes) -> list[str]:
    """The available kinds whose parser recognizes saved bytes that are not JSON (a results page)."""
    return [name for name in available_names() if KINDS[name].recognizes_page(raw)]
