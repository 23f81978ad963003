from __future__ import annotations

import unicodedata

import pytest

from monitor.analysis import EntitySpec, MentionHit, find_mentions

ACME = EntitySpec(
    "Acme",
    "brand",
    aliases=("Acme Industrial", "阿克米", "艾克米", "艾克米工业", "Akemi", "アクメ"),
    domains=("acme.com",),
    people=("Jane Roe",),
    titles=("Widget Index 2024",),
)
BETA = EntitySpec("Beta Corp", "competitor", aliases=("Beta", "贝塔"))
GAMMA = EntitySpec("Gamma", "competitor", aliases=("伽马", "감마", "Ｇａｍｍａ Labs"))
ATT = EntitySpec("AT&T", "competitor")
ENTITIES = (ACME, BETA, GAMMA, ATT)

# (text, expected hits in rank order: (entity, alias, count, anchor)), where
# anchor is a substring whose FIRST occurrence in text is the first mention.
CASES: list[tuple[str, list[tuple[str, str, int, str]]]] = [
    # --- English: whole words, case, punctuation around the name
    ("Acme makes widgets.", [("Acme", "Acme", 1, "Acme")]),
    ("Widgets by Acme's team.", [("Acme", "Acme", 1, "Acme's")]),
    ("Widgets by Acme’s team.", [("Acme", "Acme", 1, "Acme’s")]),
    ("Try Acme-branded parts.", [("Acme", "Acme", 1, "Acme-")]),
    ("A vendor (Acme) ships.", [("Acme", "Acme", 1, "Acme)")]),
    ("ACME leads; acme follows.", [("Acme", "Acme", 2, "ACME")]),
    ("Acme, Acme, and acme again.", [("Acme", "Acme", 3, "Acme")]),
    ("Acmeville is a town.", []),
    ("PreAcme tools and Acmes.", []),
    ("Acme_tools is a package.", []),
    ("AT&T's network is big.", [("AT&T", "AT&T", 1, "AT&T")]),
    # --- overlapping aliases of one entity count once, longest wins
    ("Acme Industrial makes parts.", [("Acme", "Acme Industrial", 1, "Acme Industrial")]),
    (
        "Acme Industrial makes parts; Acme also sells.",
        [("Acme", "Acme Industrial", 2, "Acme Industrial")],
    ),
    ("Buy from Acme\n  Industrial now.", [("Acme", "Acme Industrial", 1, "Acme\n")]),
    ("Beta Corp leads, Beta follows.", [("Beta Corp", "Beta Corp", 2, "Beta Corp")]),
    # --- people and research titles count for the entity
    ("Jane Roe, the CEO, spoke.", [("Acme", "Jane Roe", 1, "Jane Roe")]),
    (
        "The Widget Index 2024 found that Acme leads.",
        [("Acme", "Widget Index 2024", 2, "Widget Index")],
    ),
    # --- rank by first mention; entities without a mention are left out
    (
        "Beta and Gamma trail Acme.",
        [("Beta Corp", "Beta", 1, "Beta"), ("Gamma", "Gamma", 1, "Gamma"), ("Acme", "Acme", 1, "Acme")],
    ),
    (
        "Gamma first, then Acme, then Gamma again.",
        [("Gamma", "Gamma", 2, "Gamma"), ("Acme", "Acme", 1, "Acme")],
    ),
    ("Nothing relevant here.", []),
    ("", []),
    # --- URLs, link targets, source labels and citation markers are not prose
    ("See https://acme.com/acme for details.", []),
    ("See https://example.com/acme-guide; Acme agrees.", [("Acme", "Acme", 1, "Acme agrees")]),
    ("Visit www.acme.com today.", []),
    ("Read [the Acme guide](https://acme.com/acme-guide).", [("Acme", "Acme", 1, "Acme guide")]),
    ("Widgets are durable ([acme.com](https://acme.com/x?utm_source=openai)).", []),
    ("Durable [https://acme.com/x](https://acme.com/x).", []),
    ("Best: Beta[1][2], then Acme [3].", [("Beta Corp", "Beta", 1, "Beta"), ("Acme", "Acme", 1, "Acme")]),
    # --- Chinese: CJK aliases match as substrings
    ("我们推荐阿克米的产品。", [("Acme", "阿克米", 1, "阿克米")]),
    ("阿克米公司和艾克米工业都很大。", [("Acme", "阿克米", 2, "阿克米")]),
    ("艾克米工业很大，艾克米也好。", [("Acme", "艾克米工业", 2, "艾克米工业")]),
    ("贝塔和阿克米。", [("Beta Corp", "贝塔", 1, "贝塔"), ("Acme", "阿克米", 1, "阿克米")]),
    ("Beta 和 贝塔。", [("Beta Corp", "Beta", 2, "Beta")]),
    # Latin alias glued to Chinese text still matches as a word ...
    ("我们推荐Acme的产品。", [("Acme", "Acme", 1, "Acme")]),
    ("Acme品牌很好。", [("Acme", "Acme", 1, "Acme")]),
    # ... but not inside a longer Latin word.
    ("我们推荐Acmeville的产品。", []),
    # Pinyin aliases are Latin aliases.
    ("Akemi gongsi hen hao.", [("Acme", "Akemi", 1, "Akemi")]),
    ("Akemiya is unrelated.", []),
    ("伽马和감마는 비슷하다.", [("Gamma", "伽马", 2, "伽马")]),
    # A URL glued to Chinese prose ends at the full-width comma.
    ("详见https://acme.com/zh，阿克米很好。", [("Acme", "阿克米", 1, "阿克米")]),
    ("阿克米【1】的产品[2]。", [("Acme", "阿克米", 1, "阿克米")]),
    # --- full-width and half-width forms, offsets into the original text
    ("ＡＣＭＥ的产品很好。", [("Acme", "Acme", 1, "ＡＣＭＥ")]),
    ("供应商（Acme）发货。", [("Acme", "Acme", 1, "Acme）")]),
    ("ＡＢＣ，Ａｃｍｅ’s parts.", [("Acme", "Acme", 1, "Ａｃｍｅ")]),
    ("ｱｸﾒの製品。", [("Acme", "アクメ", 1, "ｱｸﾒ")]),
    ("Gamma Labs ships.", [("Gamma", "Ｇａｍｍａ Labs", 1, "Gamma Labs")]),
    ("🚀🚀 Acme ships.", [("Acme", "Acme", 1, "Acme")]),
    # --- traditional and simplified script: an alias in one matches answers in the other
    ("艾克米工業的產品很好，阿克米也是。", [("Acme", "艾克米工业", 2, "艾克米工業")]),
    ("貝塔與伽馬，貝塔較便宜。", [("Beta Corp", "贝塔", 2, "貝塔"), ("Gamma", "伽马", 1, "伽馬")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_find_mentions(text: str, expected: list[tuple[str, str, int, str]]) -> None:
    hits = find_mentions(text, ENTITIES)
    want = [(e, a, c, text.index(anchor), i) for i, (e, a, c, anchor) in enumerate(expected, start=1)]
    assert [(h.entity, h.alias, h.count, h.first_offset, h.rank) for h in hits] == want


# The third of the prose a first mention falls in is counted in letters, digits and CJK characters, with
# links, URLs and citation markers left out: the same prose gives the same thirds whatever markup carries
# its citations.
PROSE = "Acme makes ball valves for pipelines{0}. Many buyers compare Beta Corp on price{1}. Gamma Labs is newer{2}."
MARKUPS = [
    ("", "", ""),
    (" ([acme.com](https://acme.com/valves?utm_source=openai))", " ([beta.com](https://beta.com/p))",
     " ([gamma.io](https://gamma.io/x?utm_source=openai&ref=long-tracking-parameter-value))"),
    ("[ref_1]", "[ref_2][ref_3]", "[ref_12]"),
    ("^[1]^", "^[1][2]^", "^[3]^"),
    ("[1]", "【2】", " https://gamma.io/a/very/long/path/indeed/that/goes/on/and/on"),
]


@pytest.mark.parametrize("markup", MARKUPS)
def test_thirds_are_measured_on_the_prose_whatever_markup_carries_the_citations(markup: tuple[str, ...]) -> None:
    hits = find_mentions(PROSE.format(*markup), ENTITIES)
    assert [(h.entity, h.third) for h in hits] == [("Acme", 1), ("Beta Corp", 2), ("Gamma", 3)]


def test_thirds_count_chinese_characters_and_not_spaces_or_punctuation() -> None:
    text = "阿克米，阀门……   厂家！！" + "很" * 6 + "贝塔" + "好" * 10 + "伽马。"
    thirds = {h.entity: h.third for h in find_mentions(text, ENTITIES)}
    assert thirds == {"Acme": 1, "Beta Corp": 2, "Gamma": 3}
    # an answer that is a single name is all first third
    assert [h.third for h in find_mentions("Acme", ENTITIES)] == [1]


def test_first_offset_points_at_the_alias_in_the_original_text() -> None:
    text = "ＡＢＣ（注）：详见 https://x.cn，然后ＡＣＭＥ和贝塔。"
    hits = {h.entity: h for h in find_mentions(text, ENTITIES)}
    acme = hits["Acme"]
    original = text[acme.first_offset : acme.first_offset + len("Acme")]
    assert unicodedata.normalize("NFKC", original).lower() == "acme"
    assert text[hits["Beta Corp"].first_offset :].startswith("贝塔")


def test_an_alias_written_in_traditional_script_matches_simplified_answers() -> None:
    hengda = EntitySpec("Hengda Valve", "brand", aliases=("恆達閥門",))
    (hit,) = find_mentions("我们推荐恒达阀门和其他厂家。", (hengda,))
    assert (hit.alias, hit.first_offset) == ("恆達閥門", 4)


def test_equal_first_offsets_keep_config_order() -> None:
    a = EntitySpec("A", "brand", aliases=("Widget",))
    b = EntitySpec("B", "competitor", aliases=("Widget",))
    assert [h.entity for h in find_mentions("Widget time", (b, a))] == ["B", "A"]
    assert [h.rank for h in find_mentions("Widget time", (b, a))] == [1, 2]


def test_entities_may_be_a_list_or_hold_lists() -> None:
    loose = EntitySpec("Loose", "brand", aliases=["Looso"])  # type: ignore[arg-type]
    hits = find_mentions("Looso and Acme", [loose, ACME])
    assert [(h.entity, h.count) for h in hits] == [("Loose", 1), ("Acme", 1)]


def test_blank_aliases_are_ignored() -> None:
    odd = EntitySpec("Odd", "brand", aliases=("", "   "))
    assert find_mentions("an Odd thing", (odd,)) == [
        MentionHit(entity="Odd", alias="Odd", count=1, first_offset=3, rank=1)
    ]


# (text, words in it, the words find_mentions sees): the others stand in a URL, a link target,
# a source label or a citation marker, which are not prose.
@pytest.mark.parametrize(
    ("text", "words", "seen"),
    [
        ("see https://a.com/x?y=1 now", ("see", "a", "com", "x", "y", "1", "now"), ("see", "now")),
        ("go www.acme.com.", ("go", "www", "acme", "com"), ("go",)),
        ("(see https://a.com/x_(y)).", ("see", "a", "x_", "y"), ("see",)),
        ("Beta[1][2] wins", ("Beta", "1", "2", "wins"), ("Beta", "wins")),
        ("x [12, 13] y [^4] z", ("x", "12", "13", "y", "4", "z"), ("x", "y", "z")),
        ("好【1】的", ("好", "1", "的"), ("好", "的")),
        (
            "[the Acme guide](https://a.com/g)",
            ("the", "Acme", "guide", "a", "com", "g"),
            ("the", "Acme", "guide"),
        ),
        (
            "([acme.com](https://acme.com/x?utm_source=openai))",
            ("acme", "com", "x", "utm_source", "openai"),
            (),
        ),
        ("[www.acme.com](https://acme.com)", ("www", "acme", "com"), ()),
        ("[Node.js](https://nodejs.org)", ("Node", "js", "nodejs", "org"), ("Node", "js")),
        (
            "[Foo](https://en.wikipedia.org/wiki/Foo_(bar)) ok",
            ("Foo", "wikipedia", "wiki", "bar", "ok"),
            ("Foo", "ok"),
        ),
        ("详见https://acme.com，好", ("详见", "acme", "com", "好"), ("详见", "好")),
        ("line https://a.com/x\nnext", ("line", "a", "com", "x", "next"), ("line", "next")),
        ("no links [here] or [1a]", ("links", "here", "1a"), ("links", "here", "1a")),
    ],
)
def test_urls_links_and_markers_are_not_prose(
    text: str, words: tuple[str, ...], seen: tuple[str, ...]
) -> None:
    hits = find_mentions(text, [EntitySpec(word, "brand") for word in words])
    expected = [(word, text.index(word)) for word in seen]
    assert [(h.entity, h.first_offset) for h in hits] == expected
