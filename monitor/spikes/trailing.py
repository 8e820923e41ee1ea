"""The trailing-baseline detector for daily series (the one the daily alerts use).

For each day, an expected count is the day's volume times the antisemitic
share of a trailing baseline (default 28 days, days with no data skipped), so a busier news day
or a new source does not fake a spike. The spread is Poisson widened by the overdispersion the
baseline itself shows (variance / mean of its counts, at least 1), which is the negative-binomial
idea without fitting one. A day is a spike when its count is at least `min_count` and its
z-score reaches `threshold`. Severity grows with z. The seasonal and CUSUM detectors beside it
serve sub-daily series and slow build-ups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.spikes.base import Detection, severity_for


@dataclass(frozen=True)
class SpikeParams:
    baseline: int = 28
    min_baseline_days: int = 7
    min_count: int = 5
    threshold: float = 3.0


def detect_spikes(
    counts: Sequence[float | None],
    totals: Sequence[float | None] | None = None,
    params: SpikeParams = SpikeParams(),
    start: int = 0,
) -> list[Detection]:
    """Detections for indices >= `start`; None in `counts` means no data (never zero)."""
    n = len(counts)
    totals = totals if totals is not None else [None] * n
    found: list[Detection] = []
    for t in range(max(start, 0), n):
        x = counts[t]
        if x is None:
            continue
        window = [
            (counts[i], totals[i])
            for i in range(max(0, t - params.baseline), t)
            if counts[i] is not None
        ]
        if len(window) < params.min_baseline_days:
            continue
        base_counts = [c for c, _ in window]
        mean = sum(base_counts) / len(base_counts)
        var = sum((c - mean) ** 2 for c in base_counts) / max(len(base_counts) - 1, 1)
        dispersion = max(1.0, var / mean) if mean > 0 else 1.0
        base_totals = [v for _, v in window if v]
        if totals[t] and base_totals and len(base_totals) == len(window):
            share = sum(base_counts) / sum(base_totals)
            expected = share * float(totals[t])
        else:
            expected = mean
        # Half a post of prior keeps a silent baseline from making every single post a spike.
        z = (x - expected) / math.sqrt(dispersion * max(expected, 0.5))
        if x >= params.min_count and z >= params.threshold:
            found.append(Detection(t, float(x), round(expected, 3), round(z, 3),
                                   severity_for(z, params.threshold)))
    return found
