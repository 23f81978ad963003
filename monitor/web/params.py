"""Query parameters, checked strictly: a bad one is a 400 naming it, never a guess or a 500."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, timedelta

from starlette.datastructures import QueryParams

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # as `citewatch metrics` (the period before must exist)
DEFAULT_DAYS = 7
MAX_PAGE = 1_000_000  # beyond any history; keeps the offset a number every database takes


class BadParam(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


def _day(query: QueryParams, name: str, default: date) -> date:
    value = query.get(name)
    if value is None:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadParam(name, f"{value!r} is not a date such as 2026-11-23") from None
    if len(value) != 10 or not FIRST_DAY <= day <= LAST_DAY:  # 10: only YYYY-MM-DD, not 20261123
        raise BadParam(name, f"{value!r}: expected a date YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}")
    return day


def period(query: QueryParams, today: date) -> tuple[date, date]:
    """since and until (inclusive); by default the last 7 full UTC days, ending yesterday."""
    yesterday = today - timedelta(days=1)
    until = _day(query, "until", yesterday)
    since = _day(query, "since", until - timedelta(days=DEFAULT_DAYS - 1))
    if until < since:
        raise BadParam("until", f"{until} is before since {since}")
    return since, until


def engines(query: QueryParams, known: Callable[[], Collection[str]]) -> list[str]:
    """The engine ids asked for (repeatable); one naming no engine is an error, not an empty table.
    `known` is called only when a filter is given (it may read the stored history)."""
    asked = [engine for engine in dict.fromkeys(query.getlist("engine")) if engine]  # "": the form's "all"
    if asked:
        names = set(known())
        unknown = [engine for engine in asked if engine not in names]
        if unknown:
            raise BadParam("engine", f"{unknown[0]!r} is not a configured or stored engine; known: "
                                     f"{', '.join(sorted(names)) or 'none'}")
    return asked


def page(query: QueryParams) -> int:
    value = query.get("page", "1")
    if not (value.isascii() and value.isdigit() and len(value) <= 7 and 1 <= int(value) <= MAX_PAGE):
        raise BadParam("page", f"{value!r}: expected a page number from 1")
    return int(value)
