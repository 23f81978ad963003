"""Which probe and which parser serve each engine kind: capabilities as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from probes.base import Answer, Probe, ProbeSettings
from probes.openai_responses import OpenAIResponsesProbe
from probes.parsers import openai_responses


@dataclass(frozen=True)
class EngineKind:
    name: str
    make_probe: Callable[[ProbeSettings], Probe]
    parse: Callable[[bytes], Answer]
    parser_version: int
    needs_api_key: bool = True


KINDS: dict[str, EngineKind] = {
    "openai": EngineKind("openai", OpenAIResponsesProbe, openai_responses.parse, openai_responses.PARSER_VERSION),
}


def kind(name: str) -> EngineKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(
            f"engine kind {name!r} is not available in this version; available: {', '.join(sorted(KINDS))}"
        ) from None
