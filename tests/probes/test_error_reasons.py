"""The reason stored for an HTTP error is what the service's error envelope says, with its type: the same
failure reads the same on every probe (so `run` can count them), without request ids or the raw JSON."""

from __future__ import annotations

import json

import pytest

from citewatch.errors import ProbeError
from probes.anthropic import AnthropicProbe
from probes.base import ProbeRequest, ProbeSettings
from probes.gemini import GeminiProbe
from probes.http import error_message
from probes.perplexity_agent import PerplexityAgentProbe
from probes.simulator import ScriptedResponse, Simulator
from tests.probes.support import body_of


@pytest.mark.parametrize(("probe_class", "kind", "body", "reason"), [
    (AnthropicProbe, "anthropic", {"type": "error", "request_id": "req_011CU9",
                                   "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
     "HTTP 401: invalid x-api-key (authentication_error)"),
    (GeminiProbe, "gemini", {"error": {"code": 401, "message": "API key not valid.", "status": "UNAUTHENTICATED"}},
     "HTTP 401: API key not valid. (UNAUTHENTICATED)"),
    (PerplexityAgentProbe, "perplexity_agent", {"error": {"message": "Invalid API key", "code": 401}},
     "HTTP 401: Invalid API key (401)"),
])
async def test_the_reason_is_the_envelopes_message(probe_class, kind: str, body: dict, reason: str) -> None:  # type: ignore[no-untyped-def]
    with Simulator() as sim:
        sim.enqueue(*[ScriptedResponse(status=401, body=json.dumps({**body, "id": n}).encode()) for n in range(2)])
        probe = probe_class(ProbeSettings(model="m", base_url=sim.base_url_for(kind), timeout=5))
        reasons = []
        try:
            for _ in range(2):
                with pytest.raises(ProbeError) as caught:
                    body_of(await probe.fetch(ProbeRequest(keyword="ball valve", prompt="ball valve")))
                reasons.append(caught.value.reason)
        finally:
            await probe.aclose()
    assert reasons == [reason, reason]


@pytest.mark.parametrize(("text", "message"), [
    ("<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
    ('{"error": "upstream timeout"}', "upstream timeout"),
    ('[{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}]',
     "Quota exceeded (RESOURCE_EXHAUSTED)"),
    ('{"message": "Too many requests"}', "Too many requests"),
    ('{"error": {"message": ""}}', '{"error": {"message": ""}}'),
    ("[]", "[]"),
])
def test_error_message_of_bodies(text: str, message: str) -> None:
    assert error_message(text) == message
