"""Opaque tokens are elided before a payload is stored, and the parsers read the payload alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citewatch.opaque import PREFIX, elide_opaque
from probes import registry

FIXTURES = Path(__file__).parent / "fixtures"


def test_tokens_become_short_stand_ins_and_the_rest_stays() -> None:
    token = "EqQBCqEB" + "x9Pq3r0l" * 20
    raw = json.dumps({"type": "web_search_result", "url": "https://a.example/", "encrypted_content": token,
                      "thoughtSignature": token[::-1], "signature": "short", "text": token}).encode()
    elided = json.loads(elide_opaque(raw))
    assert elided["encrypted_content"].startswith(PREFIX.decode()) and elided["encrypted_content"].endswith(":168")
    assert elided["thoughtSignature"] != elided["encrypted_content"]  # a digest of each token
    assert (elided["url"], elided["signature"], elided["text"]) == ("https://a.example/", "short", token)
    assert elide_opaque(b'{"answer": "no tokens"}') == b'{"answer": "no tokens"}'
    assert elide_opaque(elide_opaque(raw)) == elide_opaque(raw)


@pytest.mark.parametrize(("kind", "name"), [("anthropic", "hengda_ball_valve_dup_sources.json"),
                                            ("anthropic", "hengda_empty_answer.json"),
                                            ("gemini", "hengda_zh_gemini3_drift.json")])
def test_parsers_read_an_elided_payload_as_the_original(kind: str, name: str) -> None:
    raw = (FIXTURES / kind / name).read_bytes()
    elided = elide_opaque(raw)
    assert len(elided) < len(raw)
    parse = registry.kind(kind).parse
    assert parse(elided) == parse(raw)
