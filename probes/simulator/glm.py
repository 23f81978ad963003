"""Zhipu GLM chat completions wire format, with the web_search tool (POST {base_url}/chat/completions).

The request is an OpenAI-style chat one (`handles` and `prompt_of` are the `openai_chat` format's). The
answer marks its sources ``[ref_<n>]``, naming the results of the top-level ``web_search`` list (sent
because the probe asks ``search_result: true``) by their ``refer``, ``"ref_<n>"``; two results are
retrieved and never marked, as `probes.parsers.glm` reads them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from probes.simulator.openai_chat import handles, prompt_of
from probes.simulator.qwen import marks
from probes.simulator.scenario import SimulatedAnswer, domain_of, numbered_text

BASE_SUFFIX = "/api/paas/v4"  # the probe's base_url is http://127.0.0.1:PORT/glm/api/paas/v4, like open.bigmodel.cn's
DEFAULT_MODEL = "glm-4.6"

__all__ = ["BASE_SUFFIX", "handles", "model_of", "prompt_of", "render"]


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def render(answer: SimulatedAnswer) -> dict[str, Any]:
    """A GLM chat completion: the answer with [ref_n] markers, and `web_search` listing the results."""
    text, sources = numbered_text(answer, marks)
    day = answer.scenario.day
    results = [{"content": title, "icon": "", "link": url, "media": domain_of(url), "publish_date": day,
                "refer": f"ref_{number}", "title": title}
               for number, (url, title) in enumerate(sources, start=1)]
    ident = hashlib.sha256(answer.ident.encode()).hexdigest()[:30]  # Zhipu's ids: a timestamp and hex digits
    prompt_tokens, completion_tokens = 3000 + len(answer.prompt) // 2, max(1, len(text) // 2)
    return {
        "choices": [{"finish_reason": "stop", "index": 0,
                     "message": {"content": text, "role": "assistant"}}],
        "created": 1764547200,
        "id": ident,
        "model": answer.model,  # GLM reports the model name it was asked for
        "request_id": ident,
        "usage": {"completion_tokens": completion_tokens, "prompt_tokens": prompt_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0}, "total_tokens": prompt_tokens + completion_tokens},
        "web_search": results,
    }
