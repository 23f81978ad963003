"""SerpApi's Google AI Mode wire format (GET {base_url}/search.json?engine=google_ai_mode&q=...).

The answer at the top level, as SerpApi sends it: `text_blocks` and `references` shaped like an AI
Overview's (rendered by the `serpapi` format), `reconstructed_markdown` and a `subsequent_request_token`.
"""

from __future__ import annotations

from probes.simulator.scenario import SimulatedAnswer
from probes.simulator.serpapi import handles, metadata, overview_of, prompt_of

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/serpapi_ai_mode, like https://serpapi.com

__all__ = ["BASE_SUFFIX", "handles", "model_of", "prompt_of", "render"]


def model_of(path: str, body: dict) -> str:
    return "google_ai_mode"


def render(answer: SimulatedAnswer) -> dict:
    overview = overview_of(answer)
    markdown = []
    for block in overview["text_blocks"]:
        if block["type"] == "list":
            markdown.append("\n".join(f"* {item['snippet']}" for item in block["list"]))
        else:
            markdown.append(block["snippet"])
    return {
        "search_metadata": metadata(answer),
        "search_parameters": {"engine": "google_ai_mode", "q": answer.prompt},
        "text_blocks": overview["text_blocks"],
        "references": overview["references"],
        "reconstructed_markdown": "\n\n".join(markdown),
        "subsequent_request_token": f"sim-{answer.ident}",
    }
