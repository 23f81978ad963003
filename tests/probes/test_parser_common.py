"""Shared parser helpers: the identity of a cited page and the ordered list of sources."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from probes.parsers.common import SourceList, citation_key, count_or_none

# --- citation identity -----------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.hengdavalve.com/a?utm_source=openai", "https://www.hengdavalve.com/a"),
    ("https://WWW.HengdaValve.com/a", "https://www.hengdavalve.com/a"),
    ("https://www.hengdavalve.com/a#specs", "https://www.hengdavalve.com/a"),
    ("https://www.hengdavalve.com:443/a", "https://www.hengdavalve.com/a"),
    ("https://www.hengdavalve.com/a/", "https://www.hengdavalve.com/a"),
    ("https://www.hengdavalve.com", "https://www.hengdavalve.com/"),
    ("https://x.com/p?id=7&utm_medium=ai&gclid=abc&fbclid=z", "https://x.com/p?id=7"),
])
def testcitation_key_merges_the_same_page(a: str, b: str) -> None:
    assert citation_key(a) == citation_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.hengdavalve.com/p?id=7", "https://www.hengdavalve.com/p?id=8"),
    ("https://www.hengdavalve.com/A", "https://www.hengdavalve.com/a"),  # paths are case-sensitive
    ("http://www.hengdavalve.com/a", "https://www.hengdavalve.com/a"),
    ("https://hengdavalve.com/a", "https://www.hengdavalve.com/a"),
])
def testcitation_key_keeps_different_pages_apart(a: str, b: str) -> None:
    assert citation_key(a) != citation_key(b)


def test_sources_keep_first_position_and_gather_spans() -> None:
    sources = SourceList()
    sources.cite("https://a.com/x?utm_source=openai", "A", (10, 20))
    sources.cite("https://b.com/", None, (30, 40))
    sources.cite("https://a.com/x", "A again", (50, 60))
    sources.retrieve("https://c.com/", "C")
    sources.retrieve("https://b.com")  # cited already: not retrieved-only
    result = sources.citations()
    assert [(c.url, c.position, c.cited) for c in result] == [
        ("https://a.com/x?utm_source=openai", 1, True), ("https://b.com/", 2, True), ("https://c.com/", 3, False)]
    assert result[0].spans == [(10, 20), (50, 60)] and result[0].title == "A"


def test_retrieved_page_cited_later_counts_as_cited_once() -> None:
    sources = SourceList()
    sources.retrieve("https://a.com/x")
    sources.cite("https://a.com/x#frag", "A")
    assert [(c.position, c.cited) for c in sources.citations()] == [(1, True)]


def test_blank_urls_are_ignored() -> None:
    sources = SourceList()
    assert sources.cite("  ") is None and sources.cite(None) is None
    sources.retrieve("")
    assert sources.citations() == []


def test_parsers_import_no_network_database_or_notification_library() -> None:
    code = ("import sys, probes.parsers.common, probes.parsers.openai_responses; "
            "bad = {'httpx', 'openai', 'sqlalchemy', 'sqlmodel', 'apprise', 'storage', 'playwright'} & "
            "{m.split('.')[0] for m in sys.modules}; print(sorted(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "count"), [
    (1234, 1234), (0, 0), (2**31 - 1, 2**31 - 1), (2**31, None), (10**20, None), (-5, None), (True, None),
    ("12", None), (1.5, None),
])
def test_a_count_is_a_plausible_non_negative_integer(value: object, count: int | None) -> None:
    assert count_or_none(value) == count


def test_absurd_token_counts_from_an_engine_are_dropped() -> None:
    from probes.parsers.openai_responses import parse

    body = {"object": "response", "status": "completed", "model": "m", "output": [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi", "annotations": []}]}],
        "usage": {"input_tokens": 10**12, "output_tokens": 7}}
    answer = parse(json.dumps(body).encode())
    assert (answer.input_tokens, answer.output_tokens) == (None, 7)
