"""Gemini generateContent wire format with the google_search tool (POST {base_url}/models/{model}:generateContent).

Rendered like the real service: one answer text part, `groundingChunks` whose
`uri` is a vertexaisearch.cloud.google.com redirect with the site's domain as
`title`, and `groundingSupports` whose segment offsets are UTF-8 byte offsets
(`startIndex` omitted when 0).
"""

from __future__ import annotations

import base64
import hashlib
import re

from probes.simulator.scenario import DemoEngine, Page, SimulatedAnswer, domain_of, error_page, retrieved_only

BASE_SUFFIX = "/v1beta"  # the probe's base_url is http://127.0.0.1:PORT/gemini/v1beta
# how the offline demo shows this kind (monitor.demo): engine id, model, list price, brand bias
DEMO = DemoEngine("gemini", "gemini-2.5-flash",
                  {"input_per_million": 0.30, "output_per_million": 2.50}, brand_bias=-0.1)
DEFAULT_MODEL = "gemini-2.5-flash"
REDIRECT_PREFIX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"

_PATH = re.compile(r"/models/(?P<model>[^/:]+):generateContent$")


def handles(path: str) -> bool:
    return _PATH.search(path) is not None


def prompt_of(path: str, body: dict) -> str:
    texts = []
    for content in body.get("contents") or []:
        if not isinstance(content, dict) or content.get("role", "user") != "user":
            continue
        for part in content.get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return " ".join(texts)


def model_of(path: str, body: dict) -> str:
    match = _PATH.search(path)
    return match.group("model") if match else DEFAULT_MODEL


def redirect_uri(ident: str, url: str) -> str:
    """An opaque grounding redirect link standing for `url`, stable per answer, like the real AUZIYQ... tokens."""
    digest = hashlib.sha256(f"{ident}|{url}".encode()).digest() * 3
    return REDIRECT_PREFIX + "AUZIYQ" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _entry_point(queries: list[str], ident: str) -> str:
    chips = "\n".join(
        f'    <a class="chip" href="{redirect_uri(ident, "search:" + q)}">{_escape(q)}</a>' for q in queries)
    return ("<style>\n.container {\n  align-items: center;\n  border-radius: 8px;\n  display: flex;\n}\n"
            ".chip {\n  display: inline-block;\n  border: solid 1px;\n  border-radius: 16px;\n}\n</style>\n"
            '<div class="container">\n  <div class="headline"></div>\n  <div class="carousel">\n'
            f"{chips}\n  </div>\n</div>\n")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render(answer: SimulatedAnswer) -> dict:
    """The generateContent body: the answer text and its grounding metadata."""
    segments, prompt, model, ident = answer.segments, answer.prompt, answer.model, answer.ident
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in prompt)
    separator = "" if chinese else " "
    text = ""
    chunk_of: dict[str, int] = {}  # one chunk per page, as the real service lists them
    chunks: list[dict] = []
    supports: list[dict] = []

    def chunk_index(url: str) -> int:
        if url not in chunk_of:
            chunk_of[url] = len(chunks)
            chunks.append({"web": {"uri": redirect_uri(ident, url), "title": domain_of(url)}})
        return chunk_of[url]

    for segment in segments:
        if text:
            text += separator
        start = len(text.encode("utf-8"))
        text += segment.sentence
        end = len(text.encode("utf-8"))
        if not segment.sources:
            continue
        indices = [chunk_index(url) for url, _ in segment.sources]
        span: dict = {"endIndex": end, "text": segment.sentence}
        if start:
            span["startIndex"] = start  # omitted when 0, like the real service
        supports.append({"groundingChunkIndices": indices, "segment": span})
    for url, _ in retrieved_only(answer):
        chunk_index(url)  # retrieved: a chunk no support uses

    queries = [prompt.strip() or "industrial valves", ""]  # the real service can send empty strings
    prompt_tokens = 8 + len(prompt) // 4
    output_tokens = max(1, len(text) // 4)
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "groundingMetadata": {
                    "groundingChunks": chunks,
                    "groundingSupports": supports,
                    "searchEntryPoint": {"renderedContent": _entry_point([q for q in queries if q], ident)},
                    "webSearchQueries": queries,
                },
                "index": 0,
            }
        ],
        "modelVersion": model,
        "responseId": base64.urlsafe_b64encode(bytes.fromhex(ident)).decode().rstrip("="),
        "usageMetadata": {
            "candidatesTokenCount": output_tokens,
            "promptTokenCount": prompt_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
            "thoughtsTokenCount": 96,
            "toolUsePromptTokenCount": 120,
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 120}],
            "totalTokenCount": prompt_tokens + output_tokens + 96 + 120,
        },
    }


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How the API fails (the simulator's outages): the model overloaded, and a quota whose RetryInfo asks
    for a wait that retries do not outlast."""
    return [
        error_page(503, {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                                   "status": "UNAVAILABLE"}}),
        error_page(429, {"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"}]}}),
    ]
