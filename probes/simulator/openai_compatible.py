"""OpenAI-compatible Chat Completions wire format (DeepSeek, Qwen, Ollama ...): POST {base_url}/chat/completions.

A plain answer with no annotations: the model writes its sources as markdown
links ``([title](url))`` after the sentence that cites them, which is how the
`openai_compatible` parser finds them.
"""

from __future__ import annotations

from probes.simulator.openai_chat import chat_completion, handles, prompt_of
from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, error_page

BASE_SUFFIX = "/v1"  # the probe's base_url is http://127.0.0.1:PORT/openai_compatible/v1
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias
DEMO = DemoEngine("deepseek", "deepseek-chat",
                  {}, brand_bias=-0.2)
DEFAULT_MODEL = "deepseek-chat"

__all__ = ["BASE_SUFFIX", "DEMO", "failures", "handles", "model_of", "prompt_of", "render"]


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def render(answer: SimulatedAnswer) -> dict:
    text = ""
    for segment in answer.segments:
        text += ("" if not text else " ") + segment.sentence
        for url, title in segment.sources:
            label = title.replace("[", "(").replace("]", ")")
            text += f" ([{label}]({url}))"
    body = chat_completion(answer, answer.model, {"role": "assistant", "content": text}, text)
    # Compatible servers report plain usage and no service tier.
    usage = body["usage"]
    body["usage"] = {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    body["system_fingerprint"] = None
    del body["service_tier"]
    return body


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How a compatible server fails (the simulator's outages): overloaded, and an internal error."""
    return [
        error_page(503, {"error": {"message": "Server overloaded, please try again later.",
                                   "type": "service_unavailable_error", "param": None, "code": "server_overloaded"}}),
        error_page(500, {"error": {"message": "Internal server error", "type": "internal_error", "param": None,
                                   "code": None}}),
    ]
