"""The one percentile the benchmarks report: nearest rank over the sorted samples (no interpolation)."""

from __future__ import annotations

from collections.abc import Iterable


def nearest_rank(values: Iterable[float], q: float) -> float:
    """The `q` (0-1) percentile of `values` by nearest rank; NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")
