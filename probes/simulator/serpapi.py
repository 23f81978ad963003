"""SerpApi's Google search wire format (GET {base_url}/search.json?engine=google&q=...).

Rendered like the real service: `search_metadata`, `search_parameters`, `organic_results` drawn from the
scenario's pages (brand, competitors, neutral), `related_questions`, and an `ai_overview` in one of the
shapes SerpApi sends:

- inline: `text_blocks` (a paragraph, a list of cited items, a closing paragraph) and `references`
  numbered from 0;
- deferred: only a `page_token` (and `serpapi_link`), for the prompts `deferred(prompt)` picks (about
  every other one, by hash); the follow-up `engine=google_ai_overview&page_token=T` gets the same
  answer's overview: the token encodes the prompt and the call index, which `earlier_call` decodes;
- none at all, for about one call in five (`shows_overview`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random

from probes.simulator.scenario import DemoEngine, Page, Scenario, SimulatedAnswer, domain_of, error_page

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/serpapi, like https://serpapi.com
# how the offline demo shows this kind (monitor.demo): engine id, model, list price per search, brand bias
DEMO = DemoEngine("google", "google", {"per_call": 0.015}, brand_bias=-0.05)
KIND = "serpapi"
TOKEN_PREFIX = "sim1."

__all__ = ["BASE_SUFFIX", "DEMO", "earlier_call", "failures", "handles", "model_of", "prompt_of", "render",
           "render_request"]


def handles(path: str) -> bool:
    return path in ("/search.json", "/search")


def prompt_of(path: str, body: dict) -> str:
    return str(body.get("q") or "")


def model_of(path: str, body: dict) -> str:
    return "google"


def earlier_call(path: str, body: dict) -> tuple[str, int] | None:
    """A deferred overview's follow-up names the call it belongs to in its page token."""
    if body.get("engine") != "google_ai_overview":
        return None
    return decode_token(str(body.get("page_token") or ""))


def encode_token(prompt: str, call_index: int) -> str:
    packed = json.dumps([prompt, call_index], ensure_ascii=False).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, int] | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    data = token[len(TOKEN_PREFIX):]
    try:
        prompt, call_index = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (ValueError, TypeError):
        return None
    return (prompt, call_index) if isinstance(prompt, str) and isinstance(call_index, int) else None


def _number(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def deferred(prompt: str) -> bool:
    """Whether Google loads this prompt's overview separately (about every other prompt)."""
    return _number("deferred", prompt) % 2 == 1


def shows_overview(answer: SimulatedAnswer) -> bool:
    """Whether this call's page shows an overview at all (about four calls in five)."""
    return _number("overview", answer.ident) % 5 != 0


# --- what an answer renders as -----------------------------------------------------------------


def overview_of(answer: SimulatedAnswer) -> dict:
    """The inline `ai_overview`: the opener, a list of the cited lines, the last line; references from 0."""
    segments = answer.segments
    numbers: dict[str, int] = {}
    references: list[dict] = []

    def indexes(sources: list[tuple[str, str]]) -> list[int]:
        for url, title in sources:
            if url not in numbers:
                numbers[url] = len(references)
                references.append({"title": title, "link": url, "snippet": title, "source": domain_of(url),
                                   "index": numbers[url]})
        return [numbers[url] for url, _ in sources]

    blocks: list[dict] = [{"type": "paragraph", "snippet": segments[0].sentence,
                           **_refs(indexes(segments[0].sources))}]
    middle, last = segments[1:-1], segments[-1] if len(segments) > 1 else None
    if middle:
        blocks.append({"type": "list", "list": [{"snippet": s.sentence, **_refs(indexes(s.sources))}
                                                for s in middle]})
    if last is not None:
        blocks.append({"type": "paragraph", "snippet": last.sentence, **_refs(indexes(last.sources))})
    return {"text_blocks": blocks, "references": references}


def _refs(indexes: list[int]) -> dict:
    return {"reference_indexes": indexes} if indexes else {}


def organic_of(answer: SimulatedAnswer) -> list[dict]:
    """Seven organic results from the scenario's pages, in an order fixed by the call."""
    scenario: Scenario = answer.scenario
    pages = [*scenario.brand.pages, *(p for site in scenario.competitors for p in site.pages), *scenario.neutral_pages]
    rng = random.Random(_number("organic", answer.ident))
    rng.shuffle(pages)
    return [{"position": rank, "title": title, "link": url, "displayed_link": f"https://{domain_of(url)}",
             "snippet": f"{title}. {answer.prompt.rstrip('?？')}", "source": domain_of(url)}
            for rank, (url, title) in enumerate(pages[:7], start=1)]


def metadata(answer: SimulatedAnswer) -> dict:
    return {"id": answer.ident, "status": "Success",
            "json_endpoint": f"https://serpapi.com/searches/{answer.ident[:16]}/{answer.ident}.json",
            "created_at": f"{answer.scenario.day} 06:00:00 UTC", "processed_at": f"{answer.scenario.day} 06:00:00 UTC",
            "total_time_taken": 1.37}


def page(answer: SimulatedAnswer, body: dict, overview: dict | None) -> dict:
    parameters = {"engine": "google", "q": answer.prompt, "google_domain": "google.com", "device": "desktop"}
    parameters.update({key: str(body[key]) for key in ("gl", "hl", "location") if body.get(key)})
    result = {"search_metadata": metadata(answer),
              "search_parameters": parameters,
              "search_information": {"query_displayed": answer.prompt, "total_results": 1_240_000,
                                     "time_taken_displayed": 0.31}}
    if overview is not None:
        result["ai_overview"] = overview
    result["related_questions"] = [
        {"question": f"Who makes the best {answer.prompt.rstrip('?？')}?", "type": "featured_snippet",
         "snippet": answer.segments[0].sentence},
    ]
    result["organic_results"] = organic_of(answer)
    return result


def render(answer: SimulatedAnswer) -> dict:
    """The page with its overview inline (what a request without a deferral gets)."""
    return page(answer, {}, overview_of(answer))


def render_request(answer: SimulatedAnswer, path: str, body: dict) -> dict:
    """The reply to this request: a follow-up gets the deferred overview; a search gets its page, with the
    overview inline, deferred behind a token, or absent."""
    if body.get("engine") == "google_ai_overview":
        return {"search_metadata": metadata(answer),
                "search_parameters": {"engine": "google_ai_overview", "page_token": str(body.get("page_token"))},
                "ai_overview": overview_of(answer)}
    if not shows_overview(answer):
        return page(answer, body, None)
    if deferred(answer.prompt):
        token = encode_token(answer.prompt, answer.call_index)
        return page(answer, body, {
            "page_token": token,
            "serpapi_link": f"https://serpapi.com/search.json?engine=google_ai_overview&page_token={token}"})
    return page(answer, body, overview_of(answer))


def failures(answer: SimulatedAnswer) -> list[Page]:
    """How a search fails (the simulator's outages): SerpApi's search error, `search_metadata.status` Error
    beside a top-level `error`, sent with HTTP 503 as its docs show."""
    return [error_page(503, {"search_metadata": {**metadata(answer), "status": "Error"},
                             "search_parameters": {"engine": "google", "q": answer.prompt},
                             "error": "We couldn't get valid results for this search. Please try again later."})]
