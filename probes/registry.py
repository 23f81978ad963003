"""Which probe and which parser serve each engine kind: capabilities as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from probes.anthropic import AnthropicProbe
from probes.base import Answer, Probe, ProbeSettings
from probes.gemini import GeminiProbe
from probes.openai_chat import OpenAIChatProbe, OpenAICompatibleProbe
from probes.openai_responses import OpenAIResponsesProbe
from probes.parsers import anthropic, gemini, openai_chat, openai_responses, perplexity, perplexity_agent
from probes.perplexity import PerplexityProbe
from probes.perplexity_agent import PerplexityAgentProbe


@dataclass(frozen=True)
class EngineKind:
    name: str
    make_probe: Callable[[ProbeSettings], Probe]
    parse: Callable[[bytes], Answer]
    parser_version: int
    needs_api_key: bool = True


KINDS: dict[str, EngineKind] = {
    "openai": EngineKind("openai", OpenAIResponsesProbe, openai_responses.parse, openai_responses.PARSER_VERSION),
    "gemini": EngineKind("gemini", GeminiProbe, gemini.parse, gemini.PARSER_VERSION),
    "anthropic": EngineKind("anthropic", AnthropicProbe, anthropic.parse, anthropic.PARSER_VERSION),
    "perplexity": EngineKind("perplexity", PerplexityProbe, perplexity.parse, perplexity.PARSER_VERSION),
    "perplexity_agent": EngineKind("perplexity_agent", PerplexityAgentProbe, perplexity_agent.parse,
                                   perplexity_agent.PARSER_VERSION),
    "openai_chat": EngineKind("openai_chat", OpenAIChatProbe, openai_chat.parse, openai_chat.PARSER_VERSION),
    "openai_compatible": EngineKind("openai_compatible", OpenAICompatibleProbe, openai_chat.parse_compatible,
                                    openai_chat.PARSER_VERSION, needs_api_key=False),
}


def kind(name: str) -> EngineKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(
            f"engine kind {name!r} is not available in this version; available: {', '.join(sorted(KINDS))}"
        ) from None
