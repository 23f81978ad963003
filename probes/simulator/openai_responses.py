"""OpenAI Responses API wire format (POST {base_url}/responses)."""

from __future__ import annotations

from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, domain_of, error_page, retrieved_only

BASE_SUFFIX = "/v1"  # the probe's base_url is http://127.0.0.1:PORT/openai/v1
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias
DEMO = DemoEngine("chatgpt", "gpt-5-mini",
                  {"input_per_million": 0.25, "output_per_million": 2.0})


def handles(path: str) -> bool:
    return path.endswith("/responses")


def prompt_of(path: str, body: dict) -> str:
    value = body.get("input", "")
    if isinstance(value, list):  # a list of input messages
        value = " ".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return str(value)


def model_of(path: str, body: dict) -> str:
    return str(body.get("model") or "gpt-5-mini")


def render(answer: SimulatedAnswer) -> dict:
    """The Responses API body: a web_search_call item, then a message with url_citation annotations."""
    segments, prompt, model, ident = answer.segments, answer.prompt, answer.model, answer.ident
    text = ""
    annotations = []
    for segment in segments:
        text += ("" if not text else " ") + segment.sentence
        for url, title in segment.sources:
            cited_url = f"{url}?utm_source=openai"
            link = f"[{domain_of(url)}]({cited_url})"
            text += " (" + link + ")"
            start = len(text) - len(link) - 1
            annotations.append({"type": "url_citation", "start_index": start, "end_index": start + len(link),
                                "title": title, "url": cited_url})
    cited = [url for s in segments for url, _ in s.sources]
    extra = [url for url, _ in retrieved_only(answer)]  # searched, not cited
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": 1764547200,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": f"{model}-2025-08-07",  # the dated version that answered, as the real API reports it
        "output": [
            {
                "id": f"ws_{ident}",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": prompt,
                           "sources": [{"type": "url", "url": u} for u in cited + extra]},
            },
            {
                "id": f"msg_{ident}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}],
            },
        ],
        "tools": [{"type": "web_search"}],
        "usage": {"input_tokens": 120 + len(prompt) // 4, "output_tokens": len(text) // 4,
                  "total_tokens": 120 + len(prompt) // 4 + len(text) // 4},
    }


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How the API fails (the simulator's outages): a server error, and a quota error that retries never mend."""
    return [
        error_page(500, {"error": {"message": "The server had an error while processing your request. Sorry about "
                                              "that!", "type": "server_error", "param": None, "code": None}}),
        error_page(429, {"error": {"message": "You exceeded your current quota, please check your plan and billing "
                                              "details.", "type": "insufficient_quota", "param": None,
                                   "code": "insufficient_quota"}}),
    ]
