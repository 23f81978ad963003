"""Perplexity Agent API wire format (POST {base_url}/v1/agent, alias /v1/responses).

The request is a Responses-style one (`prompt_of` is the `openai` format's); a
preset named instead of a model answers with a third-party model, as the real
presets may.
"""

from __future__ import annotations

from probes.simulator.openai_responses import prompt_of
from probes.simulator.perplexity import numbered_answer
from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, error_page

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/perplexity_agent, like https://api.perplexity.ai
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias
DEMO = DemoEngine("perplexity", "perplexity/sonar",
                  {"per_call": 0.005, "input_per_million": 0.25, "output_per_million": 2.5}, brand_bias=0.1)
PRESET_MODEL = "openai/gpt-5.1"

__all__ = ["BASE_SUFFIX", "DEMO", "failures", "handles", "model_of", "prompt_of", "render"]


def handles(path: str) -> bool:
    return path in ("/v1/agent", "/v1/responses")


def model_of(path: str, body: dict) -> str:
    if body.get("model"):
        return str(body["model"])
    return PRESET_MODEL if body.get("preset") else "perplexity/sonar"


def render(answer: SimulatedAnswer) -> dict:
    """An Agent API body: a search_results item (ids numbering the results, the fan-out queries, two
    pages retrieved and never marked), then a message whose text carries [id] markers and no annotations,
    as the live API sends it."""
    text, results = numbered_answer(answer)
    prompt, ident = answer.prompt, answer.ident
    input_tokens, output_tokens = 900 + len(prompt) // 4, len(text) // 4
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": 1764547200,
        "completed_at": 1764547203,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": answer.model,
        "output": [
            {"type": "search_results", "queries": [prompt, f"{prompt} manufacturers"],
             "results": [{"id": number, **result} for number, result in enumerate(results, start=1)]},
            {"type": "message", "id": f"msg_{ident}", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": text, "annotations": []}]},
        ],
        "tools": [{"type": "web_search"}],
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "total_tokens": input_tokens + output_tokens,
                  "tool_calls_details": {"search_web": {"cost_usd": 0.001, "invocation": 1}}},
    }


# what the CDN in front of the API answers when the origin is down
_BAD_GATEWAY = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
                b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How the API fails (the simulator's outages): the CDN's bad gateway page, and a rate limit."""
    return [
        Page(_BAD_GATEWAY, status=502),
        error_page(429, {"error": {"message": "Rate limit exceeded. Please try again later.",
                                   "type": "rate_limit_exceeded", "code": 429}}),
    ]
