"""Small statistics helpers, pure."""

from __future__ import annotations

import math
import statistics

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a binomial proportion; None when there is no sample."""
    if n <= 0:
        return None
    successes = min(max(successes, 0), n)  # a share of weights (weighted share of voice) can round past n
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # exact at the ends: all or none observed (rounding would leave the value just outside)
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None
