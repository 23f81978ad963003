"""Volcengine Ark Responses API wire format, Doubao with the web_search tool (POST {base_url}/api/v3/responses).

The request is a Responses one (`prompt_of` is the `openai_responses` format's). The body is Ark's: a
``reasoning`` item, one ``web_search_call`` item per query, then a message whose ``output_text`` carries
no markers and whose ``annotations`` (``url_citation``, no character offsets) list the pages used, in order
of first use; Ark's own members (``caching``, ``expire_at``, ``usage.tool_usage``) are there, as
`probes.parsers.doubao` recognizes them. Ark lists no page searched but left unused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from probes.simulator.openai_responses import prompt_of
from probes.simulator.scenario import SimulatedAnswer, domain_of, numbered_text

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/doubao, like https://ark.cn-beijing.volces.com
DEFAULT_MODEL = "doubao-seed-1-6-250615"
PATH = "/api/v3/responses"
CREATED = 1764547200

__all__ = ["BASE_SUFFIX", "handles", "model_of", "prompt_of", "render"]


def handles(path: str) -> bool:
    return path.endswith(PATH)


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def render(answer: SimulatedAnswer) -> dict[str, Any]:
    text, _ = numbered_text(answer, lambda numbers: "")  # the prose as the numbering engines write it, unmarked
    used = list(dict.fromkeys(source for segment in answer.segments for source in segment.sources))
    annotations = [{"type": "url_citation", "title": title, "url": url, "site_name": domain_of(url),
                    "publish_time": f"{answer.scenario.day} 08:00:00", "summary": title}
                   for url, title in used]
    digest = hashlib.sha256(answer.ident.encode()).hexdigest()
    queries = [answer.prompt] + ([f"{answer.prompt} 认证"] if len(used) > 2 else [])
    searches = [{"id": f"ws_{digest[:16]}{n}", "type": "web_search_call", "status": "completed",
                 "action": {"type": "search", "query": query}} for n, query in enumerate(queries)]
    reasoning = {"id": f"rs_{digest[:16]}", "type": "reasoning", "status": "completed",
                 "summary": [{"type": "summary_text", "text": "需要联网搜索最新信息。"}]}
    input_tokens, output_tokens = 2600 + len(answer.prompt) // 2, max(1, len(text) // 2)
    return {
        "created_at": CREATED,
        "id": f"resp_{digest[:40]}",
        "model": answer.model,
        "object": "response",
        "output": [reasoning, *searches, {
            "type": "message", "role": "assistant", "status": "completed", "id": f"msg_{digest[:24]}",
            "content": [{"type": "output_text", "text": text, "annotations": annotations}]}],
        "service_tier": "default",
        "status": "completed",
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "total_tokens": input_tokens + output_tokens, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": output_tokens // 3},
                  "tool_usage": {"web_search": len(queries)},
                  "tool_usage_details": {"web_search": {"search_engine": len(queries)}}},
        "caching": {"type": "disabled"},
        "store": True,
        "expire_at": CREATED + 259200,
    }
