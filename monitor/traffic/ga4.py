"""GA4 CSV exports ("Traffic acquisition", "Landing page" reports and explorations) for sites without logs.

    read_ga4_csv(lines: Iterable[str]) -> list[Ga4Row]
    Ga4Row(day: date | None, source_view: 'session' | 'first_user', source, medium, landing_page,
           sessions: int, channel)
    Ga4FormatError(ValueError): names the line it could not read.

GA4 writes '#' comment lines (report name, property, date range) before each table, a header row, then the
rows; a file may hold several tables separated by blank lines. Recognised columns: "Session source /
medium" or "Session source" + "Session medium" (view 'session'), the same with "First user" (view
'first_user'), "Landing page + query string" or "Landing page", "Date" (YYYYMMDD), "Sessions" and
"Session default channel group" (or "... primary channel group", "First user default channel group"),
which newer GA4 properties set to "AI Assistant". A table with both views yields one row per view and
data row: the views describe the same sessions twice, so the caller keeps them apart, never sums them.
Totals rows ("Grand total", "Total") are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple


class Ga4Row(NamedTuple):
    day: date | None
    source_view: str  # 'session' | 'first_user'
    source: str
    medium: str
    landing_page: str
    sessions: int
    channel: str


class Ga4FormatError(ValueError):
    pass


_VIEWS = {"session": "Session", "first_user": "First user"}
_TOTALS = {"grand total", "total", "totals"}


def _columns(header: list[str], line_number: int) -> dict[str, object]:
    names = {name.strip().lower(): i for i, name in enumerate(header)}

    def find(*candidates: str) -> int | None:
        return next((names[c.lower()] for c in candidates if c.lower() in names), None)

    views = {}
    for view, prefix in _VIEWS.items():
        both = find(f"{prefix} source / medium")
        source, medium = find(f"{prefix} source"), find(f"{prefix} medium")
        if both is not None or source is not None:
            channel = find(f"{prefix} default channel group", f"{prefix} primary channel group")
            views[view] = (both, source, medium, channel)
    sessions = find("Sessions")
    if not views or sessions is None:
        raise Ga4FormatError(f"line {line_number}: a GA4 header needs a session or first-user source column "
                             f"and Sessions; found {', '.join(header)}")
    return {"views": views, "sessions": sessions, "date": find("Date"),
            "landing": find("Landing page + query string", "Landing page"),
            "channel": find("Default channel group")}


def _int(text: str, line_number: int) -> int:
    cleaned = text.strip().replace(",", "").replace("\u00a0", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise Ga4FormatError(f"line {line_number}: Sessions is not a number: {text!r}") from None
    if value < 0 or value != int(value):
        raise Ga4FormatError(f"line {line_number}: Sessions is not a whole number: {text!r}")
    return int(value)


def _day(text: str, line_number: int) -> date:
    cleaned = text.strip()
    try:
        if len(cleaned) == 8 and cleaned.isdigit():
            return date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
        return date.fromisoformat(cleaned)
    except ValueError:
        raise Ga4FormatError(f"line {line_number}: Date is not YYYYMMDD: {text!r}") from None


def read_ga4_csv(lines: Iterable[str]) -> list[Ga4Row]:
    rows: list[Ga4Row] = []
    columns: dict[str, object] | None = None
    for line_number, line in enumerate(lines, 1):
        text = line.lstrip("\ufeff").rstrip("\r\n")
        if text.startswith("#"):
            continue
        if not text.strip():
            columns = None  # a blank line ends a table; the next header starts another
            continue
        cells = next(csv.reader([text]))
        if columns is None:
            columns = _columns(cells, line_number)
            continue
        rows.extend(_rows(cells, columns, line_number))
    return rows


def _rows(cells: list[str], columns: dict[str, object], line_number: int) -> list[Ga4Row]:
    def cell(index: object) -> str:
        if index is None:
            return ""
        assert isinstance(index, int)
        if index >= len(cells):
            raise Ga4FormatError(f"line {line_number}: {len(cells)} cells, fewer than the header's")
        return cells[index].strip()

    if cells and cells[0].strip().lower() in _TOTALS:
        return []
    day = _day(cell(columns["date"]), line_number) if columns["date"] is not None else None
    sessions = _int(cell(columns["sessions"]), line_number)
    landing = cell(columns["landing"])
    result = []
    views = columns["views"]
    assert isinstance(views, dict)
    for view, (both, source_at, medium_at, channel_at) in views.items():
        if both is not None:
            source, _, medium = cell(both).partition(" / ")
        else:
            source, medium = cell(source_at), cell(medium_at)
        channel = cell(channel_at) or cell(columns["channel"])
        result.append(Ga4Row(day, view, source.strip(), medium.strip(), landing, sessions, channel))
    return result
