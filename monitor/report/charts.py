"""The weekly report's charts: matplotlib figures as inline SVG markup for the self-contained report.html.

Pure functions, plain data in and a string out (`<svg ...>`, no XML declaration or DOCTYPE). Text stays
<text> (small, searchable; Chinese drawn by the reader's fonts), untrusted labels are escaped and never read
as mathtext, the same input gives the same bytes, and a chart scales down to its container. No pyplot: a
Figure on the SVG canvas, every setting through `matplotlib.rc_context`.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator, MultipleLocator, PercentFormatter

from monitor.markdown_text import show_invisible

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; yellow, faint on white, comes last.
# A series' colour (and a line's marker) follows its position, so an engine keeps its colour across charts.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000", "#f0e442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
NO_DATA = "No data to draw."

_LATIN = ("DejaVu Sans", "Verdana", "Arial")
_CJK = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Micro Hei", "PingFang SC",
        "Microsoft YaHei")
# The reader's browser picks per character: Latin fonts first, then CJK ones for Chinese. matplotlib itself
# lays text out with the installed subset only (it logs a warning for every listed family it cannot find).
_CSS_FONTS = ", ".join([*(f"'{name}'" for name in _LATIN + _CJK), "sans-serif"])

_WIDTH = 6.0  # inches: a 432 pt viewBox, so 10 pt text is still ~8 px on a 360 px wide phone
_PLOT_WIDTH = _WIDTH * 72 * 0.85  # points, roughly: the figure less the value axis' labels
_LINE = 0.17  # inches: one line of 10 pt text
_SIDE_LABEL = 130  # points: how wide a category label down the side (or slanted) may be before it wraps
_MAX_LABEL = 40  # characters: a longer scraped label is cut short so it cannot crowd out the plot
_RC = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths
    "text.parse_math": False,  # "$5 valve" is a label, not mathtext
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}
# rc_context changes matplotlib's global settings while it is open: one chart at a time in this process.
_LOCK = threading.Lock()
_ROOT = re.compile(r'<svg ([^>]*?)width="([\d.]+)pt" height="[\d.]+pt"([^>]*)>')
_TEXT_STYLE = re.compile(r'<text style="[^"]*"')  # matplotlib's own attribute: scraped text cannot match it
_FAMILY = re.compile(r"font-family: [^;\"]*")
_GROUP_ID = re.compile(r'<g id="[^"]*"')


def cjk_font() -> str | None:
    """The installed font family matplotlib uses for Chinese text, or None where none is installed."""
    installed = {entry.name for entry in fontManager.ttflist}
    return next((name for name in _CJK if name in installed), None)


def line_chart(x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
               y_label: str, percent: bool = True, empty_text: str = NO_DATA) -> str:
    """One line per series over `x_labels` (e.g. weeks); None is no data (the line breaks there, a lone point
    still shows as its marker). `percent`: values are shares, on a fixed 0%..100% axis so weeks compare."""
    labels, rows = _prepare(x_labels, series)
    if not _has_data(labels, rows):
        return _empty(title, empty_text)
    names = [name for name, _ in rows]
    with _drawing(("line", labels, rows, title, y_label, percent)):
        fig, ax = _figure(title, 2.8 + _LINE * _legend_rows(names))
        for i, (name, values) in enumerate(rows):
            ax.plot(range(len(labels)), values, label=name, color=_colour(i), marker=MARKERS[i % len(MARKERS)],
                    markersize=4, linewidth=1.8)
        fig.set_figheight(fig.get_figheight() + _categories(ax.xaxis, labels, _PLOT_WIDTH / len(labels)))
        ax.set_ylabel(_text(y_label))
        if percent:
            ax.set_ylim(-0.03, 1.03)  # a little room so markers at 0% and 100% are not cut in half
            ax.yaxis.set_major_locator(MultipleLocator(0.2))
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        _legend(fig, ax, names)
        return _svg(fig, title)


def bar_chart(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
              value_label: str, percent: bool = True, stacked: bool = False, horizontal: bool = False,
              empty_text: str = NO_DATA) -> str:
    """Grouped (or stacked) bars: one bar per series in each category; None counts as no bar.
    `horizontal` puts the categories down the side, in the given order from the top."""
    labels, rows = _prepare(categories, series)
    if not _has_data(labels, rows):
        return _empty(title, empty_text)
    names = [name for name, _ in rows]
    values = np.nan_to_num(np.array([row for _, row in rows], dtype=float))
    n, m = len(labels), len(rows)
    with _drawing(("bar", labels, rows, title, value_label, percent, stacked, horizontal)):
        fig, ax = _figure(title, 2.8 + _LINE * _legend_rows(names))
        width = 0.8 if stacked else 0.8 / m
        positions, base = np.arange(n), np.zeros(n)
        for i, name in enumerate(names):
            offset = positions if stacked else positions + (i - (m - 1) / 2) * width
            draw = ax.barh if horizontal else ax.bar
            draw(offset, values[i], width, base if stacked else 0, label=name, color=_colour(i))
            if stacked:
                base = base + values[i]
        value_axis = ax.xaxis if horizontal else ax.yaxis
        if horizontal:
            side = [_wrap(label, _SIDE_LABEL, 3) or label for label in labels]
            ax.yaxis.set_ticks(range(n), side)
            ax.invert_yaxis()  # the first category on top
            lines = max(label.count("\n") for label in side) + 1
            band = max(0.3 if stacked else 0.12 + 0.16 * m, 0.1 + _LINE * lines)  # inches per category
            fig.set_figheight(1.2 + band * n + _LINE * _legend_rows(names))
            ax.set_xlabel(_text(value_label))
        else:
            fig.set_figheight(fig.get_figheight() + _categories(ax.xaxis, labels, _PLOT_WIDTH / n))
            ax.set_ylabel(_text(value_label))
        if percent:
            top = float(base.max() if stacked else values.max())
            (ax.set_xlim if horizontal else ax.set_ylim)(min(0.0, float(values.min())), max(0.05, top * 1.05))
            value_axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))  # whole percents
            value_axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.grid(axis="x" if horizontal else "y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        _legend(fig, ax, names)
        return _svg(fig, title)


def _text(value: object) -> str:
    """Untrusted text on one line, with characters that would hide or disguise it shown as code points."""
    return show_invisible(" ".join(str(value).split()))


def _short(value: object) -> str:
    text = _text(value)
    return text if len(text) <= _MAX_LABEL else text[:_MAX_LABEL - 1] + "…"


def _width(text: str) -> float:
    """The text's width in points at the labels' size, measured with the fonts matplotlib lays it out in
    (so only within `_drawing`)."""
    return text_to_path.get_text_width_height_descent(text, FontProperties(), ismath=False)[0]


def _wrap(text: str, width: float, max_lines: int) -> str | None:
    """The text on at most `max_lines` lines no wider than `width` points, broken at spaces; None when it
    cannot be (a word too long, or too many lines)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _width(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    fits = len(lines) <= max_lines and all(_width(line) <= width for line in lines)
    return "\n".join(lines) if fits else None


def _prepare(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]
             ) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Labels cleaned and shortened, values as floats with NaN for no data (NaN breaks a line)."""
    shown = [_short(label) for label in labels]
    rows = [(_short(name), [math.nan if value is None else float(value) for value in values])
            for name, values in series.items()]
    for name, values in rows:
        if shown and len(values) != len(shown):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(shown)} labels")
    return shown, rows


def _has_data(labels: list[str], rows: list[tuple[str, list[float]]]) -> bool:
    return bool(labels) and any(not math.isnan(value) for _, values in rows for value in values)


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@contextmanager
def _drawing(content: object) -> Iterator[None]:
    """matplotlib's settings for one chart. The hash salt comes from the chart's content: the same input gives
    the same ids, and two charts on one page never share an id for different clip paths or markers."""
    cjk = cjk_font()
    salt = hashlib.sha256(repr(content).encode()).hexdigest()[:16]
    rc = {**_RC, "svg.hashsalt": salt, "font.family": ["DejaVu Sans", cjk] if cjk else ["DejaVu Sans"]}
    with _LOCK, matplotlib.rc_context(rc):
        yield


def _figure(title: str, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(_WIDTH, height), layout="constrained")
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    fig.suptitle(_title(title), fontsize=12, fontweight="bold")
    return fig, ax


def _title(title: str) -> str:
    """The title on up to two lines across the figure (measured at 10 pt: 12 pt bold is ~1.3 times wider)."""
    return _wrap(_text(title), _WIDTH * 72 * 0.95 / 1.3, 2) or _text(title)


def _categories(axis: Axis, labels: list[str], slot: float) -> float:
    """Category labels along the bottom that never overlap: as they are when they fit their slot (points),
    else wrapped at spaces, else slanted 45° on up to two lines. Returns how much taller (inches) they are
    than one upright line, for the figure to grow by instead of squashing the plot."""
    upright = [_wrap(label, slot * 0.95, 3) for label in labels]
    if all(upright):
        axis.set_ticks(range(len(labels)), upright)
        return _LINE * max(label.count("\n") for label in upright if label)
    slanted = [_wrap(label, _SIDE_LABEL, 2) or label for label in labels]
    axis.set_ticks(range(len(labels)), slanted, rotation=45, ha="right", rotation_mode="anchor")
    return max(_width(line) for label in slanted for line in label.split("\n")) * 0.71 / 72 - _LINE


def _legend_rows(names: list[str]) -> int:
    return math.ceil(len(names) / _legend_columns(names))


def _legend_columns(names: list[str]) -> int:
    widest = max(_width(name) for name in names) + 50  # the key, the gaps
    return max(1, min(len(names), int(_WIDTH * 72 * 0.95 / widest)))


def _legend(fig: Figure, ax: Axes, names: list[str]) -> None:
    """Below the plot, so it never covers data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=_legend_columns(names))


def _empty(title: str, message: str) -> str:
    """The title and a message saying there is nothing to draw, in place of a chart."""
    with _drawing(("empty", title, message)):
        heading = _title(title)
        fig = Figure(figsize=(_WIDTH, 0.8 + 0.2 * heading.count("\n")), layout="constrained")
        FigureCanvasSVG(fig)
        fig.suptitle(heading, fontsize=12, fontweight="bold")
        fig.text(0.5, 0.3, _text(message), ha="center", va="center", color="#555555")
        return _svg(fig, title)


def _svg(fig: Figure, title: str) -> str:
    """The figure as inline SVG: no prolog, no metadata, width 100% of the container (never wider than
    drawn) with the height from the viewBox, the title as its accessible name."""
    out = io.StringIO()
    fig.canvas.print_figure(out, format="svg", metadata={"Creator": None, "Date": None, "Format": None,
                                                         "Type": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = _ROOT.sub(lambda m: f'<svg {m[1]}width="100%" style="max-width: {m[2]}pt; height: auto" role="img"'
                              f'{m[3]}><title>{escape(_text(title))}</title>', svg, count=1)
    svg = _TEXT_STYLE.sub(lambda m: _FAMILY.sub(f"font-family: {_CSS_FONTS}", m[0]), svg)
    return _GROUP_ID.sub("<g", svg)  # ids like "axes_1" would repeat across the page's charts
