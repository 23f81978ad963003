"""How the report and the web view write a figure: a rate as "34.2%", a number as "2.5", "–" for none."""

from __future__ import annotations

from typing import Any


def value_of(value: Any) -> float | None:
    """A number, or the value of a rate object (`monitor.kpis.rate`)."""
    return value.get("value") if isinstance(value, dict) else value


def pct(value: Any) -> str:
    value = value_of(value)
    return "–" if value is None else f"{value * 100:.1f}%"


def number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"
