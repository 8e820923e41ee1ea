"""Proportions and changes: the Wilson interval, percent change, change in percentage points."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for successes/trials (95% by default); None when there are no trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, {trials}], got {successes}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # Clamp rounding noise at the ends (0/n and n/n give exact bounds 0 and 1).
    return max(0.0, centre - half), min(1.0, centre + half)


def percent_change(current: int | None, previous: int | None) -> float | None:
    """Percent change from previous to current; None when either is missing or previous is zero."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100


def points_change(current: float | None, previous: float | None) -> float | None:
    """Change of a share (0..1) in percentage points; None when either share is missing."""
    if current is None or previous is None:
        return None
    return (current - previous) * 100
