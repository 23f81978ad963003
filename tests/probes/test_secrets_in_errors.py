"""A server that echoes the API key in its error text must not get the key into the stored reason."""

from __future__ import annotations

import json

import pytest

from citewatch.errors import ProbeError
from probes.anthropic import AnthropicProbe
from probes.base import ProbeRequest, ProbeSettings
from probes.gemini import GeminiProbe
from probes.openai_chat import OpenAIChatProbe
from probes.openai_responses import OpenAIResponsesProbe
from probes.perplexity import PerplexityProbe
from probes.perplexity_agent import PerplexityAgentProbe
from probes.serpapi import SerpApiAiModeProbe, SerpApiProbe
from probes.simulator import ScriptedResponse, Simulator

KEY = "sk-test-0123456789abcdef"


@pytest.mark.parametrize(("probe_class", "kind"), [
    (OpenAIResponsesProbe, "openai"), (OpenAIChatProbe, "openai_chat"), (PerplexityProbe, "perplexity"),
    (PerplexityAgentProbe, "perplexity_agent"), (GeminiProbe, "gemini"), (AnthropicProbe, "anthropic"),
    (SerpApiProbe, "serpapi"), (SerpApiAiModeProbe, "serpapi_ai_mode"),
])
# padding puts the key where the stored reason is cut short: masking must come before the cut
@pytest.mark.parametrize("padding", [0, 235, 255])
async def test_key_echoed_by_server_is_masked(probe_class, kind: str, padding: int) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"error": {"message": f"{'x' * padding}Incorrect API key provided: {KEY}"}}).encode()
    with Simulator() as sim:
        sim.enqueue(ScriptedResponse(status=401, body=body))
        probe = probe_class(ProbeSettings(model="m", base_url=sim.base_url_for(kind), api_key=KEY, timeout=5))
        try:
            with pytest.raises(ProbeError) as caught:
                await probe.fetch(ProbeRequest(keyword="ball valve", prompt="ball valve"))
        finally:
            await probe.aclose()
    assert caught.value.reason.startswith("HTTP 401")
    assert KEY[:8] not in caught.value.reason
