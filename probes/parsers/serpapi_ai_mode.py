"""Parser for SerpApi's Google AI Mode (engine=google_ai_mode).

Input: the JSON body of ``GET /search.json?engine=google_ai_mode``. Output: a `probes.base.Answer`.

The answer is at the top level: ``text_blocks`` and ``references`` in the
shapes of an AI Overview (`probes.parsers.serpapi` reads both the same way:
text, positions, spans), beside ``reconstructed_markdown`` (the same answer as
Markdown), ``subsequent_request_token`` (to continue the conversation) and
features such as ``shopping_results``, ``local_results`` and ``inline_images``.

Choices: an answer with text is OK and shows the AI_MODE feature. Without
``text_blocks``, ``reconstructed_markdown`` stands in (references listed, no
spans). Errors read as for engine=google: a service error is ERROR, "Google
hasn't returned any results" is OK with no answer, and a body with no answer
and no error is ERROR "empty result", never "no answer".

Pure: stdlib, `probes.base` and `probes.parsers` only.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import Raw
from probes.base import AI_MODE, Answer
from probes.parsers.common import load_json_object
from probes.parsers.serpapi import (
    EMPTY_RESULT,
    FEATURE_KEYS,
    Overview,
    engine_of,
    features_of,
    organic_results,
    read_overview,
    reference_citations,
    service_failure,
)

PARSER_VERSION = 1

# AI Mode has no overview of its own to list: the answer is the page.
_MODE_FEATURE_KEYS = {key: feature for key, feature in FEATURE_KEYS.items() if key != "ai_overview"}


def recognizes(body: dict[str, Any]) -> bool:
    """A SerpApi AI Mode answer: its engine says so, or (engine unsaid) blocks at the top level."""
    engine = engine_of(body)
    if engine is not None:
        return engine == "google_ai_mode"
    return isinstance(body.get("search_metadata"), dict) and isinstance(body.get("text_blocks"), list)


def parse(raw: Raw) -> Answer:
    """Parse one SerpApi AI Mode body into an `Answer`; raise `ParseError` on garbage."""
    body = load_json_object(raw, "a SerpApi Google AI Mode answer")
    failure = service_failure(body)
    if failure is not None:
        return failure

    read = read_overview(body.get("text_blocks"), body.get("references"))
    if not read.text:
        read = _markdown_answer(body)
    organic = organic_results(body.get("organic_results"))
    features = features_of(body, _MODE_FEATURE_KEYS)
    if not read.text:
        return Answer(text="", organic=organic, features=features, status="error", status_reason=EMPTY_RESULT)
    return Answer(text=read.text, citations=read.citations, organic=organic, features=[AI_MODE, *features])


def _markdown_answer(body: dict[str, Any]) -> Overview:
    """The answer from `reconstructed_markdown` when no block has text: the references listed, no spans."""
    markdown = body.get("reconstructed_markdown")
    if not isinstance(markdown, str) or not markdown.strip():
        return Overview()
    return Overview(markdown.strip(), reference_citations(body.get("references")))
