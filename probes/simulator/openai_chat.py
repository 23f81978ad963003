"""OpenAI Chat Completions wire format for the search models (POST {base_url}/chat/completions).

Sources are written as ``([domain](url?utm_source=openai))`` after the
sentence that cites them, each covered by a ``url_citation`` annotation in
the nested Chat Completions shape. `chat_completion` and `prompt_of` are shared
with the `openai_compatible` format.
"""

from __future__ import annotations

import re
from typing import Any

from probes.simulator.scenario import SimulatedAnswer, domain_of

BASE_SUFFIX = "/v1"  # the probe's base_url is http://127.0.0.1:PORT/openai_chat/v1
DEFAULT_MODEL = "gpt-4o-search-preview"
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def handles(path: str) -> bool:
    return path.endswith("/chat/completions")


def prompt_of(path: str, body: dict) -> str:
    """The last user message's text (a string, or text parts)."""
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content", "")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content)
    return ""


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def with_utm(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "utm_source=openai"


def chat_completion(answer: SimulatedAnswer, model: str, message: dict[str, Any], text: str) -> dict[str, Any]:
    """The Chat Completions envelope around one assistant message, with every top-level key a real one has."""
    prompt_tokens = 12 + len(answer.prompt) // 4
    completion_tokens = max(1, len(text) // 4)
    return {
        "id": f"chatcmpl-{answer.ident}",
        "object": "chat.completion",
        "created": 1764547200,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "",
    }


def render(answer: SimulatedAnswer) -> dict:
    """A search-model answer: inline ([domain](url)) links, each covered by a nested url_citation annotation."""
    text = ""
    annotations = []
    for segment in answer.segments:
        text += ("" if not text else " ") + segment.sentence
        for url, title in segment.sources:
            cited = with_utm(url)
            link = f"([{domain_of(url)}]({cited}))"
            text += " " + link
            annotations.append({"type": "url_citation", "url_citation": {
                "end_index": len(text), "start_index": len(text) - len(link), "title": title, "url": cited}})
    # The dated version that answered, as the real API reports it.
    model = answer.model if _DATED.search(answer.model) else f"{answer.model}-2025-03-11"
    message = {"role": "assistant", "content": text, "refusal": None, "annotations": annotations}
    return chat_completion(answer, model, message, text)
