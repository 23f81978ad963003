"""Perplexity Sonar chat completions wire format (POST {base_url}/chat/completions).

Sonar takes OpenAI-style chat messages, so a request is read as a Chat Completions one
(`handles` and `prompt_of` are the `openai_chat` format's).
"""

from __future__ import annotations

import hashlib

from probes.simulator.openai_chat import handles, prompt_of
from probes.simulator.scenario import SimulatedAnswer, numbered_text

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/perplexity, like https://api.perplexity.ai

__all__ = ["BASE_SUFFIX", "handles", "model_of", "prompt_of", "render"]


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or "sonar")


def numbered_answer(answer: SimulatedAnswer) -> tuple[str, list[dict]]:
    """The answer text with [n] markers after each cited sentence, and the numbered source list
    (marker n is entry n-1), with two extra pages retrieved but never marked. Both Perplexity formats
    write answers this way (`scenario.numbered_text`, shared with the engines that number their sources)."""
    text, sources = numbered_text(answer)
    day = answer.scenario.day
    results = [{"title": title, "url": url, "date": day, "last_updated": day, "snippet": title, "source": "web"}
               for url, title in sources]
    return text, results


def render(answer: SimulatedAnswer) -> dict:
    """A Sonar body: the numbered answer, `citations` numbering the sources, and `search_results` in the
    same order."""
    prompt, model, ident = answer.prompt, answer.model, answer.ident
    text, results = numbered_answer(answer)
    digest = hashlib.sha256(ident.encode()).hexdigest()
    prompt_tokens, completion_tokens = 8 + len(prompt) // 4, len(text) // 4
    return {
        "id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        "model": model,  # Sonar reports the model name it was asked for
        "created": 1764547200,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "search_context_size": "low",
            "cost": {"input_tokens_cost": round(prompt_tokens / 1e6, 6),
                     "output_tokens_cost": round(completion_tokens / 1e6, 6),
                     "request_cost": 0.005,
                     "total_cost": round((prompt_tokens + completion_tokens) / 1e6 + 0.005, 6)},
        },
        "citations": [r["url"] for r in results],
        "search_results": results,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
