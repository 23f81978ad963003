"""Parser for Google AI Mode through DataForSEO's SERP API (`dataforseo_ai_mode`).

Input: the JSON body of ``POST /v3/serp/google/ai_mode/live/advanced``. The answer is one ``ai_overview``
item (the task's ``se_type`` is ``ai_mode``), read exactly as `probes.parsers.dataforseo` reads an AI
Overview; see that module for the format and the choices made. Here the answer is the page: the Answer's
feature is AI_MODE, and a result without the item is NO_ANSWER. Local businesses are cited through
``google.com/searchviewer`` links: those are kept as sources, titled by their reference (the business).

Pure: stdlib, `probes.base` and `probes.parsers.common` only.
"""

from __future__ import annotations

from typing import Any

from citewatch.raw import Raw
from probes.base import Answer
from probes.parsers.dataforseo import AI_MODE_SE_TYPE, parse_serp, se_type_of

# Bump when the output for the same raw payload changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1


def recognizes(body: dict[str, Any]) -> bool:
    """A DataForSEO Google AI Mode response (for `citewatch parse` without --kind)."""
    return se_type_of(body) == AI_MODE_SE_TYPE


def parse(raw: Raw) -> Answer:
    """Parse one AI Mode live advanced response into an `Answer`; raise `ParseError` on garbage."""
    return parse_serp(raw, ai_mode=True)
