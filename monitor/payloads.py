"""`citewatch parse`: a saved raw payload -> the JSON a user or supporter reads to check a parser."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from citewatch.errors import ParseError, UnknownEngineKind, UsageError
from citewatch.raw import HTML, JSON, RawResult
from monitor.enrich import Tracking, citation_records, mention_records, organic_records
from probes import registry

if TYPE_CHECKING:
    from monitor.config import Config


def streamed_format(raw: bytes) -> str | None:
    """What kind of stream a saved body is ("server-sent events", "JSON lines"), or None for a whole body."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if not lines:
        return None
    if lines[0].startswith((b"data:", b"event:", b"id:", b":")):
        return "server-sent events"
    if len(lines) > 1:
        try:
            json.loads(lines[0]), json.loads(lines[1])
        except ValueError:
            return None
        return "JSON lines, one chunk each"
    return None


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def detect_kind(body: dict[str, Any] | None, raw: bytes, source: str) -> str:
    """The engine kind a payload comes from (a decoded JSON body, else a saved page), where only one kind's
    parser recognizes it."""
    matches = registry.recognizing(body) if body is not None else registry.recognizing_page(raw)
    if body is None and not matches:
        raise UsageError(f"{source}: neither a JSON object nor a page a parser recognizes, so no engine kind "
                         "can be detected; give --kind")
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"{source}: the payload could come from {' or '.join(matches)}; say which with --kind")
    raise UsageError(f"{source}: no engine kind recognizes the payload; say which with --kind "
                     f"(available: {', '.join(registry.available_names())})")


def _refuse_another_kinds(body: dict[str, Any] | None, kind: str, source: str) -> None:
    """A payload that another kind's parser recognizes, and the given kind's does not, is refused: read
    with the wrong parser it would pass for an error or an answer without sources."""
    if body is None or registry.KINDS[kind].recognizes(body):
        return
    others = registry.recognizing(body)
    if others:
        raise UsageError(f"{source}: looks like a payload of kind {' or '.join(others)}, not {kind}; give that "
                         "--kind, or leave --kind out to detect it")


def parse_payload(raw: bytes, kind: str | None, config: Config | None, source: str) -> dict[str, Any]:
    """The parsed Answer as a dict; owners, content types and mentions filled in when a config is given.
    Without a kind, it is detected from the payload (the dict's "kind" says which)."""
    stream = streamed_format(raw)
    if stream is not None:
        raise UsageError(f"{source}: a streamed response ({stream}); citewatch parses only whole, non-streamed "
                         "response bodies, which is what its probes request: save the body of a request made "
                         "without stream: true")
    body = _json_object(raw)
    if kind is None:
        kind = detect_kind(body, raw, source)
    else:
        try:
            registry.kind(kind)
        except UnknownEngineKind as exc:
            raise UsageError(f"--kind: {exc}") from None
        _refuse_another_kinds(body, kind, source)
    engine_kind = registry.kind(kind)
    result = RawResult.single(raw, JSON if body is not None else HTML)
    try:
        answer = engine_kind.parse(result)
    except ParseError as exc:
        raise UsageError(f"{source}: not a payload of kind {kind}: {exc}") from None
    tracking = Tracking.from_config(config) if config else Tracking(entities=())
    records = citation_records(answer, tracking)
    organic = [
        {"url": o.url, "rank": o.rank, "title": o.title, "owner": r.owner, "snippet": o.snippet,
         "domain": r.domain, "content_type": r.content_type}
        for o, r in zip(answer.organic, organic_records(answer, tracking), strict=True)
    ]
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
        "organic": organic,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
        "cost": answer.cost,
    }
