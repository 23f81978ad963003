"""Position-adjusted word count: markers credit the sentence they follow; prose spans the sentences they cover."""

from __future__ import annotations

import math

import pytest

from monitor.analysis.visibility import visibility_scores


def span_of(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def test_openai_style_links_credit_the_sentence_before_them() -> None:
    text = "Hengda makes API 6D ball valves. ([hengdavalve.com](https://hengdavalve.com/a)) Apex is cheaper. ([apexflow.com](https://apexflow.com/))"
    scores = visibility_scores(text, {
        "hengda": [span_of(text, "[hengdavalve.com](https://hengdavalve.com/a)")],
        "apex": [span_of(text, "[apexflow.com](https://apexflow.com/)")],
    })
    # sentence 0: 6 words, undamped; sentence 1: 3 words, damped by exp(-1/2)
    assert scores["hengda"] == pytest.approx(6.0)
    assert scores["apex"] == pytest.approx(3 * math.exp(-1 / 2))


def test_perplexity_markers_and_shared_sentences() -> None:
    text = "Hengda and Apex both export widely.[1][2] NorthStar focuses on cryogenic valves.[3]"
    scores = visibility_scores(text, {"a": [span_of(text, "[1]")], "b": [span_of(text, "[2]")],
                                      "c": [span_of(text, "[3]")]})
    assert scores["a"] == pytest.approx(6 / 2) and scores["b"] == pytest.approx(6 / 2)
    assert scores["c"] == pytest.approx(5 * math.exp(-1 / 2))


def test_gemini_style_prose_span_and_chinese_words() -> None:
    text = "恒达阀门出口到六十个国家。Apex Flow 是另一个选择。"
    first = span_of(text, "恒达阀门出口到六十个国家。")
    scores = visibility_scores(text, {"hengda": [first], "uncited": []})
    assert scores["hengda"] == pytest.approx(12.0)  # 12 CJK characters count as 12 words
    assert scores["uncited"] == 0.0


def test_out_of_range_and_empty_text_are_safe() -> None:
    assert visibility_scores("", {"a": [(0, 5)]}) == {"a": 0.0}
    assert visibility_scores("One sentence.", {"a": [(50, 60), (3, 3)]}) == {"a": 0.0}


@pytest.mark.parametrize("marker", ["[ref_{}]", "[{}]", "^[{}]^"])
def test_numbered_markers_after_the_prose_they_support_are_neither_words_nor_sentences(marker: str) -> None:
    # Qwen, GLM and ERNIE give spans over the prose; their markers follow the stop with no space
    first, second = "Hengda makes API 6D ball valves.", "Apex is cheaper."
    text = f"{first}{marker.format(1)} {second}{marker.format(2)}"
    scores = visibility_scores(text, {"hengda": [span_of(text, first)], "apex": [span_of(text, second)]})
    assert scores["hengda"] == pytest.approx(6.0)  # its own sentence, the marker not a word
    assert scores["apex"] == pytest.approx(3 * math.exp(-1 / 2))  # two sentences, not three


def test_a_marker_after_a_chinese_full_stop_is_not_a_word_of_the_next_sentence() -> None:
    first, second = "恒达阀门生产球阀。", "北极星专注低温阀门。"
    text = f"{first}[ref_1]{second}[ref_2]"
    scores = visibility_scores(text, {"a": [span_of(text, first)], "b": [span_of(text, second)]})
    assert scores["a"] == pytest.approx(8.0)
    assert scores["b"] == pytest.approx(9 * math.exp(-1 / 2))
