from __future__ import annotations

import pytest

from monitor.analysis import split_sentences, word_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Use it, e.g. for widgets. Done.", ["Use it, e.g. for widgets.", "Done."]),
        ("That is, i.e. the best. Yes.", ["That is, i.e. the best.", "Yes."]),
        ("Made in the U.S. since 1990. Really.", ["Made in the U.S. since 1990.", "Really."]),
        ("Version 3.5 is out. Upgrade.", ["Version 3.5 is out.", "Upgrade."]),
        ("Ask Dr. Roe and Acme Inc. today. Now.", ["Ask Dr. Roe and Acme Inc. today.", "Now."]),
        ("Climbers reach Mt. Everest in May. Few stay.", ["Climbers reach Mt. Everest in May.", "Few stay."]),
        ("Wait... what?! Yes.", ["Wait...", "what?!", "Yes."]),
        ('He said "go." Then left.', ['He said "go."', "Then left."]),
        ("No space.After dot", ["No space.After dot"]),
        ("第一句。第二句！第三句？第四句；第五句", ["第一句。", "第二句！", "第三句？", "第四句；", "第五句"]),
        ("他说：“很好。”然后走了。", ["他说：“很好。”", "然后走了。"]),
        ("Acme 很好。 Beta is fine. 再见", ["Acme 很好。", "Beta is fine.", "再见"]),
        (
            "# Best widgets\n\n- Acme: durable\n- Beta: cheap\n1. Install it. Then run.",
            ["# Best widgets", "- Acme: durable", "- Beta: cheap", "1. Install it.", "Then run."],
        ),
        ("Line one\r\nLine two", ["Line one", "Line two"]),
        ("Intro\n---\n```\ncode\n```", ["Intro", "code"]),
        ("   ", []),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == expected


def test_spans_are_trimmed_and_ordered() -> None:
    text = "  First one.   Second one.  \n\t Third.  "
    spans = split_sentences(text)
    assert spans == [(2, 12), (15, 26), (31, 37)]
    for start, end in spans:
        assert not text[start].isspace() and not text[end - 1].isspace()


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("Acme makes durable widgets.", 4),
        ("Acme's Acme-branded widgets", 3),
        ("Hello , world — ok", 3),
        ("我们的产品很好", 7),
        ("Acme的产品很好。", 6),
        ("Acme 是 B2B 供应商", 6),
        ("3.5 mm", 2),
        ("ＡＣＭＥ 製品", 3),
        ("감마 제품", 4),
        ("— ... !!!", 0),
        ("", 0),
    ],
)
def test_word_count(s: str, expected: int) -> None:
    assert word_count(s) == expected
