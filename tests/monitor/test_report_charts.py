"""The report's charts (`monitor.report.charts`): inline SVG that is small, deterministic, safe with untrusted
labels, readable in Chinese, scalable to a phone, and never an exception on empty data."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import pytest

from monitor.report import charts
from tests.conftest import skip_or_fail

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]
WEEKS = [f"2025-W{week:02d}" for week in range(10, 22)]
ENGINES = ["ChatGPT", "Perplexity", "通义千问 (qwen)", "Gemini", "豆包", "DeepSeek", "Claude"]
POSITIONS = [str(position) for position in range(1, 10)] + ["10+"]


def trend(engines: list[str] = ENGINES) -> dict[str, list[float | None]]:
    """12 weeks of shares per engine, with gaps."""
    return {name: [None if (week + i) % 5 == 0 else ((week * 7 + i * 3) % 11) / 10 for week in range(12)]
            for i, name in enumerate(engines)}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in parse(svg).iter(f"{SVG}text")]


def text_elements(svg: str) -> list[ET.Element]:
    return list(parse(svg).iter(f"{SVG}text"))


def y_of(element: ET.Element) -> float:
    return float(element.get("y", "nan"))


def colours_in_order(svg: str, attribute: str) -> list[str]:
    """The palette colours as the SVG first uses them as `attribute` (stroke or fill) of a path; black is
    also the axes' colour, left out."""
    seen: list[str] = []
    for style in re.findall(r'<path [^>]*style="([^"]*)"', svg):
        match = re.search(rf"(?:^|; ){attribute}: (#[0-9a-f]{{6}})", style)
        if match and match[1] in charts.PALETTE and match[1] not in (*seen, "#000000"):
            seen.append(match[1])
    return seen


def test_a_line_chart_is_inline_svg_with_its_text_as_text() -> None:
    svg = charts.line_chart(WEEKS, trend(), title="Inclusion rate", y_label="Share of answers")
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<!--" not in svg
    assert "<metadata" not in svg and "Matplotlib v" not in svg  # no creator, no date
    shown = texts(svg)
    assert {"2025-W10", "2025-W21", "ChatGPT", "通义千问 (qwen)", "Inclusion rate", "Share of answers"} <= set(shown)
    assert "DejaVuSans-" not in svg  # no glyph outlines embedded


def test_every_text_declares_latin_fonts_then_chinese_ones() -> None:
    svg = charts.bar_chart(POSITIONS, {"通义千问": [0.1] * 10}, title="引用位置", value_label="占比")
    for element in text_elements(svg):
        family = re.search(r"font-family: ([^;]*)", element.get("style", ""))
        assert family, element.get("style")
        names = [name.strip().strip("'\"") for name in family[1].split(",")]
        assert names[0] == "DejaVu Sans" and names[-1] == "sans-serif"
        assert names.index("Noto Sans CJK SC") < names.index("PingFang SC") < names.index("Microsoft YaHei")
        assert names.index("DejaVu Sans") < names.index("Noto Sans CJK SC")


def test_chinese_labels_render_without_missing_glyph_warnings() -> None:
    if charts.cjk_font() is None:
        skip_or_fail("no CJK font installed for matplotlib (apt-get install fonts-noto-cjk)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph ... missing from font(s)" is a UserWarning
        line = charts.line_chart(WEEKS, trend(), title="AI 搜索可见度：包含率", y_label="包含率")
        bars = charts.bar_chart(["通义千问", "豆包", "文心一言"], {"产品页": [0.5, 0.2, 0.1], "论坛": [0.5, 0.8, 0.9]},
                                title="引用的内容类型", value_label="占比", stacked=True, horizontal=True)
    assert "包含率" in texts(line) and "论坛" in texts(bars)


def test_cjk_font_names_the_installed_family_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    found = charts.cjk_font()
    installed = {entry.name for entry in matplotlib.font_manager.fontManager.ttflist}
    assert found is None or found in installed

    class NoFonts:
        ttflist: list[object] = []

    monkeypatch.setattr(charts, "fontManager", NoFonts())
    assert charts.cjk_font() is None
    with warnings.catch_warnings():  # without a CJK font the chart still renders (the browser finds one)
        warnings.simplefilter("ignore")
        assert "豆包" in texts(charts.bar_chart(["豆包"], {"a": [0.5]}, title="t", value_label="v"))


HOSTILE = ["$5 valve", "a_b^c", "<script>alert(1)</script>", "\"&'", "$\\frac{1}{2}$"]


def test_untrusted_labels_are_literal_text_never_mathtext_or_markup() -> None:
    title = '<img src=x onerror=alert(1)> & "quotes"'
    line = charts.line_chart(["w1", "w2"], {name: [0.1, 0.2] for name in HOSTILE}, title=title, y_label="$y$")
    bars = charts.bar_chart(HOSTILE, {"<b>engine</b>": [0.1] * len(HOSTILE)}, title=title, value_label="%&")
    for svg in (line, bars):
        root = parse(svg)  # well-formed XML: everything escaped
        assert not [element for element in root.iter() if element.tag.split("}")[-1] in ("script", "img", "b")]
        assert "<script" not in svg and "<img" not in svg
        shown = " ".join(texts(svg))
        for label in HOSTILE:
            assert label in shown
        assert root[0].tag == f"{SVG}title" and root[0].text == title
    assert "$y$" in texts(line) and "<b>engine</b>" in texts(bars)


def test_invisible_characters_are_shown_and_control_characters_cannot_break_the_xml() -> None:
    svg = charts.line_chart(["w1"], {"moc.live\u202e\x00\x1b": [0.5]}, title="t\x07", y_label="y")
    shown = texts(svg)
    assert "moc.live⟨U+202E⟩⟨U+0000⟩" in " ".join(shown)
    assert parse(svg)[0].text == "t⟨U+0007⟩"


def test_the_same_input_gives_the_same_bytes() -> None:
    first = charts.line_chart(WEEKS, trend(), title="Inclusion", y_label="Share")
    assert charts.line_chart(WEEKS, trend(), title="Inclusion", y_label="Share") == first
    bars = charts.bar_chart(POSITIONS, {"a": [0.1] * 10, "b": [0.2] * 10}, title="Positions", value_label="Share")
    assert charts.bar_chart(POSITIONS, {"a": [0.1] * 10, "b": [0.2] * 10}, title="Positions",
                            value_label="Share") == bars


def test_two_charts_on_one_page_share_no_id() -> None:
    """All the report's charts sit in one HTML document: an id repeated there would let one chart's clip path
    or marker stand in for another's."""
    line = charts.line_chart(WEEKS, trend(), title="Inclusion", y_label="Share")
    other = charts.line_chart(WEEKS, trend(ENGINES[:3]), title="Share of voice", y_label="Share")
    ids = [{element.get("id") for element in parse(svg).iter() if element.get("id")} for svg in (line, other)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


def test_charts_render_the_same_from_several_threads() -> None:
    def draw(_: int) -> str:
        return charts.line_chart(WEEKS, trend(), title="Inclusion", y_label="Share")

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(draw, range(8))) == {draw(0)}


def test_the_chart_scales_to_its_container() -> None:
    root = parse(charts.bar_chart(["a", "b"], {"x": [0.2, 0.4]}, title="t", value_label="v"))
    assert root.get("width") == "100%" and root.get("height") is None
    width, height = (float(number) for number in root.get("viewBox", "").split()[2:])
    assert width > 0 and height > 0
    assert "height: auto" in root.get("style", "")


def test_the_title_is_the_first_child_for_screen_readers() -> None:
    svg = charts.line_chart(WEEKS, trend(), title="Inclusion <rate> & more", y_label="Share")
    root = parse(svg)
    assert root.get("role") == "img"
    assert root[0].tag == f"{SVG}title" and root[0].text == "Inclusion <rate> & more"
    assert "<title>Inclusion &lt;rate&gt; &amp; more</title>" in svg


def test_series_keep_their_okabe_ito_colour_by_position_in_every_chart() -> None:
    assert charts.PALETTE[:3] == ("#0072b2", "#e69f00", "#009e73")
    names = ["ChatGPT", "Perplexity", "Gemini"]
    line = charts.line_chart(WEEKS, trend(names), title="t", y_label="y")
    bars = charts.bar_chart(POSITIONS, {name: [0.1] * 10 for name in names}, title="t", value_label="v")
    mix = charts.bar_chart(["e1", "e2"], {name: [0.3, 0.3] for name in names}, title="t", value_label="v",
                           stacked=True, horizontal=True)
    assert colours_in_order(line, "stroke") == list(charts.PALETTE[:3])
    assert colours_in_order(bars, "fill") == colours_in_order(mix, "fill") == list(charts.PALETTE[:3])


def test_the_legend_sits_below_the_plot_not_on_the_data() -> None:
    svg = charts.line_chart(WEEKS, trend(), title="t", y_label="y")
    elements = text_elements(svg)
    legend = [element for element in elements if element.text in ENGINES]
    ticks = [element for element in elements if element.text in WEEKS]
    assert len(legend) == len(ENGINES) and len(ticks) == len(WEEKS)
    assert min(map(y_of, legend)) > max(map(y_of, ticks))  # SVG y grows downwards


def test_long_category_labels_wrap_or_slant_instead_of_overlapping() -> None:
    long = "industrial ball valve manufacturer"
    few = charts.bar_chart([long, "b", "c", "d"], {"x": [0.1] * 4}, title="t", value_label="v")
    lines = [text for text in texts(few) if len(text) > 1 and text in long]
    assert len(lines) > 1 and " ".join(lines) == long  # wrapped at spaces
    many = charts.bar_chart([f"{long} {n}" for n in range(10)], {"x": [0.1] * 10}, title="t", value_label="v")
    slanted = [element for element in text_elements(many) if "industrial" in (element.text or "")]
    assert len(slanted) == 10 and all("rotate(-45" in element.get("transform", "") for element in slanted)
    side = charts.bar_chart([long, "b"], {"x": [0.5, 0.5]}, title="t", value_label="v", stacked=True,
                            horizontal=True)
    assert ["industrial ball valve", "manufacturer"] == [text for text in texts(side) if len(text) > 1 and text in long]


def test_horizontal_bars_list_categories_from_the_top_in_order() -> None:
    svg = charts.bar_chart(["first", "second", "third"], {"a": [0.5, 0.6, 0.7], "b": [0.5, 0.4, 0.3]},
                           title="t", value_label="v", stacked=True, horizontal=True)
    y = {element.text: y_of(element) for element in text_elements(svg)}
    assert y["first"] < y["second"] < y["third"]


def test_percent_axes_read_as_percentages() -> None:
    line = texts(charts.line_chart(WEEKS, trend(), title="t", y_label="y"))
    assert {"0%", "20%", "40%", "60%", "80%", "100%"} <= set(line)
    bars = texts(charts.bar_chart(POSITIONS, {"a": [0.05 * n for n in range(10)]}, title="t", value_label="v"))
    assert "40%" in bars
    plain = texts(charts.line_chart(["w1", "w2"], {"median": [3.0, 4.5]}, title="t", y_label="position",
                                    percent=False))
    assert not [text for text in plain if text.endswith("%")]


def test_missing_weeks_break_the_line_and_a_lone_point_keeps_its_marker() -> None:
    svg = charts.line_chart(["w1", "w2", "w3", "w4", "w5"], {"gappy": [0.1, 0.2, None, 0.3, 0.4],
                                                             "lone": [None, 0.5, None, None, None]},
                            title="t", y_label="y")
    gappy = re.findall(r'<path d="([^"]*)" clip-path="[^"]*" style="fill: none; stroke: #0072b2', svg)
    assert len(gappy) == 1 and gappy[0].count("M") == 2  # two segments: the gap is not bridged
    lone = re.findall(r'<use [^>]*style="fill: #e69f00', svg)
    assert len(lone) == 2  # the point itself and its legend key


@pytest.mark.parametrize("draw", [
    lambda: charts.line_chart([], {}, title="Empty <chart>", y_label="y"),
    lambda: charts.line_chart(WEEKS, {"a": [None] * 12, "b": [None] * 12}, title="Empty <chart>", y_label="y"),
    lambda: charts.bar_chart([], {"a": []}, title="Empty <chart>", value_label="v"),
    lambda: charts.bar_chart(POSITIONS, {}, title="Empty <chart>", value_label="v", stacked=True, horizontal=True),
])
def test_empty_input_is_a_small_svg_saying_so(draw) -> None:  # type: ignore[no-untyped-def]
    svg = draw()
    assert svg.startswith("<svg ") and len(svg) < 5_000
    assert texts(svg) == ["Empty <chart>", charts.NO_DATA]
    assert parse(svg)[0].text == "Empty <chart>"


def test_the_empty_message_can_be_in_the_report_language_under_a_long_title() -> None:
    title = "What the engines cite (all citations by content type) 引用的内容类型"
    svg = charts.bar_chart([], {}, title=title, value_label="占比", empty_text="本周期没有观测数据。")
    assert texts(svg)[-1] == "本周期没有观测数据。"
    assert " ".join(texts(svg)[:-1]) == title  # wrapped, never cut


def test_series_and_labels_of_different_lengths_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'a' has 2 values for 3 labels"):
        charts.bar_chart(["x", "y", "z"], {"a": [0.1, 0.2]}, title="t", value_label="v")


def test_a_twelve_week_seven_engine_chart_stays_small() -> None:
    svg = charts.line_chart(WEEKS, trend(), title="Inclusion rate per engine", y_label="Inclusion rate")
    assert len(svg.encode()) < 60_000


def test_matplotlib_settings_are_left_as_they_were() -> None:
    before = dict(matplotlib.rcParams)
    charts.line_chart(WEEKS, trend(), title="t", y_label="y")
    charts.bar_chart(["a"], {"b": [0.5]}, title="t", value_label="v", stacked=True, horizontal=True)
    assert dict(matplotlib.rcParams) == before


def test_no_pyplot_is_imported() -> None:
    """pyplot keeps global figures and may pick a GUI backend: the charts never load it."""
    code = ("import sys; from monitor.report import charts; charts.line_chart(['w'], {'a': [0.5]}, title='t', "
            "y_label='y'); charts.bar_chart(['c'], {'a': [0.5]}, title='t', value_label='v'); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
