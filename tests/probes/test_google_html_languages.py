"""The overview is recognised by its heading in every language the issue names, as Google writes it, not only
by class names: the English fixture page with its heading translated reads the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewatch.raw import HTML, RawResult
from probes.parsers.google_html import parse

PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "google_html" / "overview_before.html"
HEADING = '<div class="Fzsovc" role="heading">AI Overview</div>'


def translated(heading: str) -> RawResult:
    page = PAGE.read_text(encoding="utf-8")
    assert HEADING in page
    return RawResult.single(page.replace(HEADING, HEADING.replace("AI Overview", heading)).encode(), HTML)


@pytest.mark.parametrize("heading", ["AI 概览", "AI 摘要", "Übersicht mit KI", "Aperçu IA", "Aperçu de l’IA",
                                     "Resumen creado con IA", "AI による概要"])
def test_a_translated_heading_reads_as_the_english_one(heading: str) -> None:
    english = parse(PAGE.read_bytes())
    answer = parse(translated(heading))
    assert answer.has_answer and answer.text == english.text
    assert [(c.url, c.position) for c in answer.citations] == [(c.url, c.position) for c in english.citations]
    assert answer.features == english.features


def test_a_block_with_an_unknown_heading_is_not_an_overview() -> None:
    answer = parse(translated("Things to know"))
    assert not answer.has_answer and answer.citations == [] and "ai_overview" not in answer.features
    assert [o.url for o in answer.organic] == [o.url for o in parse(PAGE.read_bytes()).organic]
