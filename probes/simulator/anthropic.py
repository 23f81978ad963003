"""Anthropic Messages API wire format with the web_search server tool (POST {base_url}/v1/messages).

Mounted at /anthropic: the probe's base_url is http://127.0.0.1:PORT/anthropic,
so requests arrive at /anthropic/v1/messages.
"""

from __future__ import annotations

import base64
import hashlib

from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, error_page, retrieved_only

BASE_SUFFIX = ""  # the probe appends /v1/messages itself
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias
DEMO = DemoEngine("claude", "claude-sonnet-4-5",
                  {"per_call": 0.01, "input_per_million": 3.0, "output_per_million": 15.0}, brand_bias=0.05)

DEFAULT_MODEL = "claude-sonnet-4-5"
MODEL_DATE = "20250929"


def handles(path: str) -> bool:
    return path.endswith("/v1/messages")


def prompt_of(path: str, body: dict) -> str:
    """The first user message's text (a string, or the text parts of a content list)."""
    for message in body.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content", "")
        if isinstance(content, list):
            return " ".join(str(part.get("text", "")) for part in content
                            if isinstance(part, dict) and part.get("type") == "text")
        return str(content)
    return ""


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or DEFAULT_MODEL)


def _opaque(seed: str, size: int) -> str:
    """Stand-in for the service's encrypted_content / encrypted_index strings."""
    digest = b"".join(hashlib.sha256(f"{seed}|{i}".encode()).digest() for i in range(size // 32 + 1))
    return "Eq" + base64.b64encode(digest[:size]).decode()


def _dated(model: str) -> str:
    # The API answers with the dated version of an alias, e.g. claude-sonnet-4-5-20250929.
    return model if model[-8:].isdigit() else f"{model}-{MODEL_DATE}"


def render(answer: SimulatedAnswer) -> dict:
    """A Messages body: one search, its results, then text blocks; a cited sentence is its own block."""
    segments, prompt, model, ident = answer.segments, answer.prompt, answer.model, answer.ident
    tool_id = f"srvtoolu_01{ident}"
    cited = [(url, title) for s in segments for url, title in s.sources]
    extra = retrieved_only(answer)  # search results no text block cites
    seen: set[str] = set()
    results = []
    for url, title in cited + extra:
        if url in seen:
            continue
        seen.add(url)
        results.append({"type": "web_search_result", "title": title, "url": url,
                        "encrypted_content": _opaque(url, 180), "page_age": "2 weeks ago"})

    blocks: list[dict] = []
    for index, segment in enumerate(segments):
        if index:
            blocks.append({"type": "text", "text": " "})
        if not segment.sources:
            blocks.append({"type": "text", "text": segment.sentence})
            continue
        blocks.append({
            "type": "text",
            "text": segment.sentence,
            "citations": [
                {"type": "web_search_result_location", "url": url, "title": title,
                 "cited_text": f"{title}. {segment.sentence}"[:150],
                 "encrypted_index": _opaque(url + segment.sentence, 48)}
                for url, title in segment.sources
            ],
        })
    text_len = sum(len(b["text"]) for b in blocks)
    input_tokens = 2100 + len(prompt) // 4 + 60 * len(results)
    return {
        "id": f"msg_01{ident}",
        "type": "message",
        "role": "assistant",
        "model": _dated(model),
        "content": [
            {"type": "server_tool_use", "id": tool_id, "name": "web_search", "input": {"query": prompt}},
            {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": results},
            *blocks,
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": text_len // 4 + 20,
            "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
            "service_tier": "standard",
        },
    }


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How the API fails (the simulator's outages): overloaded (its own 529), and an internal error."""
    request_id = f"req_011{answer.ident}"
    return [
        error_page(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                         "request_id": request_id}),
        error_page(500, {"type": "error", "error": {"type": "api_error", "message": "Internal server error"},
                         "request_id": request_id}),
    ]
