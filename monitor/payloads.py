"""`citewatch parse`: a saved raw payload -> the JSON a user or supporter reads to check a parser."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from monitor.config import Config
from monitor.enrich import Tracking, citation_records, mention_records
from monitor.errors import UsageError
from probes import registry
from probes.base import ParseError


def parse_payload(raw: bytes, kind: str, config: Config | None, source: str) -> dict[str, Any]:
    """The parsed Answer as a dict; owners, content types and mentions filled in when a config is given."""
    try:
        engine_kind = registry.kind(kind)
    except KeyError as exc:
        raise UsageError(f"--kind: {exc.args[0]}") from None
    try:
        answer = engine_kind.parse(raw)
    except ParseError as exc:
        raise UsageError(f"{source}: not a {kind} payload: {exc}") from None
    tracking = Tracking.from_config(config) if config else Tracking(entities=())
    records = citation_records(answer, tracking)
    citations = [
        {
            "url": c.url,
            "position": c.position,
            "title": c.title,
            "owner": r.owner,
            "cited": c.cited,
            "visible": c.visible,
            "origin": c.origin,
            "domain": r.domain,
            "content_type": r.content_type,
            "spans": [list(span) for span in c.spans],
        }
        for c, r in zip(answer.citations, records, strict=True)
    ]
    return {
        "kind": kind,
        "parser_version": engine_kind.parser_version,
        "status": answer.status,
        "status_reason": answer.status_reason,
        "model": answer.model,
        "text": answer.text,
        "has_answer": answer.has_answer,
        "citations": citations,
        "mentions": [asdict(m) for m in mention_records(answer, tracking.entities)],
        "search_queries": answer.search_queries,
        "features": answer.features,
        "organic": [asdict(o) for o in answer.organic],
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
    }
