"""Baidu Qianfan AI Search wire format, ERNIE over Baidu search (POST {base_url}/ai_search/chat/completions).

The request is an OpenAI-style chat one (`prompt_of` is the `openai_chat` format's). The probe asks
``enable_corner_markers``: the answer marks its sources ``^[n]^``, naming the ``references`` (``id``
from 1, ``type: "web"``), with two references retrieved and never marked, as `probes.parsers.ernie`
reads them. The body names no model, as the real one does not.
"""

from __future__ import annotations

import hashlib
from typing import Any

from probes.simulator.openai_chat import prompt_of
from probes.simulator.scenario import SimulatedAnswer, domain_of, numbered_text

BASE_SUFFIX = "/v2"  # the probe's base_url is http://127.0.0.1:PORT/ernie/v2, like https://qianfan.baidubce.com/v2
DEFAULT_MODEL = "ernie-4.5-turbo-32k"

__all__ = ["BASE_SUFFIX", "handles", "model_of", "prompt_of", "render"]


def handles(path: str) -> bool:
    return path.endswith("/ai_search/chat/completions")


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def corner_marks(numbers: list[int]) -> str:
    """Corner markers: "^[1]^", several as "^[1][3]^"; nothing for no source."""
    return "^" + "".join(f"[{n}]" for n in numbers) + "^" if numbers else ""


def render(answer: SimulatedAnswer) -> dict[str, Any]:
    """An AI Search body: the answer with corner markers, the web `references` it names, `is_safe`."""
    text, sources = numbered_text(answer, corner_marks)
    day = f"{answer.scenario.day} 00:00:00"
    references = [{"id": number, "url": url, "title": title, "date": day, "content": title, "icon": None,
                   "web_anchor": title, "website": domain_of(url), "type": "web", "image": None, "video": None,
                   "is_aladdin": False}
                  for number, (url, title) in enumerate(sources, start=1)]
    digest = hashlib.sha256(answer.ident.encode()).hexdigest()
    prompt_tokens, completion_tokens = 2800 + len(answer.prompt) // 2, max(1, len(text) // 2)
    return {
        "request_id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
        "references": references,
        "is_safe": True,
        "followup_queries": [],
    }
