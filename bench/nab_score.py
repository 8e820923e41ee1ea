"""NAB's scoring (v1.1 sweeper), re-implemented: profiles, window scores, null/perfect normalisation.

Follows numenta/NAB nab/sweeper.py and nab/runner.py: the first 15 % of a file (at most 750 points)
is probationary and not scored. A detection inside a window earns tpWeight * S(pos) / S(-1), where
S(x) = 2 * sigmoid(-5x) - 1 and pos runs from -1 at the window's left edge to 0 at its right; only
the best (earliest) detection of a window counts, and a window without one costs fnWeight. A
detection outside every window costs fpWeight * S(d), d being the distance after the previous
window in units of its width (-1 before the first window). The corpus total is normalised as
100 * (score - null) / (perfect - null), with null = -fnWeight and perfect = tpWeight per window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def scaled_sigmoid(position: float) -> float:
    """NAB's S: 0.987 at a window's left edge, 0 at its right, towards -1 after it."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation(n: int, percent: float = 0.15) -> int:
    return int(min(math.floor(percent * n), percent * 5000))


@dataclass(frozen=True)
class FileScore:
    score: float
    windows: int    # scorable windows
    hit: int        # windows with a detection
    tp: int         # detections inside windows
    fp: int         # detections outside windows


def point_weights(timestamps: Sequence[str], windows: Sequence[tuple[str, str]],
                  profile: dict) -> list[tuple[float, int | None]]:
    """(weighted score if detected, window number or None) per point; window -1 = probationary."""
    index = {t: i for i, t in enumerate(timestamps)}
    spans = [(index[a], index[b]) for a, b in windows]
    max_tp = scaled_sigmoid(-1.0)
    prob = probation(len(timestamps))
    out: list[tuple[float, int | None]] = []
    w = 0
    prev_right, prev_width = None, None
    cur = None
    for i in range(len(timestamps)):
        if cur is None and w < len(spans) and i == spans[w][0]:
            cur = w
        if cur is not None:
            left, right = spans[cur]
            width = float(right - left + 1)
            weighted = scaled_sigmoid(-(right - i + 1) / width) * profile["tp"] / max_tp
        else:
            pos = 3.0 if prev_right is None else abs(prev_right - i) / float(prev_width - 1)
            weighted = scaled_sigmoid(pos) * profile["fp"]
        out.append((weighted, -1 if i < prob else cur))
        if cur is not None and i == spans[cur][1]:
            prev_right, prev_width = i, float(spans[cur][1] - spans[cur][0] + 1)
            cur, w = None, w + 1
    return out


def score_file(timestamps: Sequence[str], detected: Sequence[bool], windows: Sequence[tuple[str, str]],
               profile: dict) -> FileScore:
    """The raw NAB score of one file's detections (one bool per timestamp)."""
    weights = point_weights(timestamps, windows, profile)
    scorable = {win for _, win in weights if win is not None and win >= 0}
    best = {win: -profile["fn"] for win in scorable}
    fp_total, tp, fp = 0.0, 0, 0
    for (weighted, win), hit in zip(weights, detected):
        if not hit or win == -1:
            continue
        if win is None:
            fp_total += weighted
            fp += 1
        else:
            best[win] = max(best[win], weighted)
            tp += 1
    hits = sum(1 for win in scorable if best[win] > -profile["fn"])
    return FileScore(fp_total + sum(best.values()), len(scorable), hits, tp, fp)


def normalise(total: float, windows: int, profile: dict) -> float:
    """100 for the perfect detector, 0 for the null detector."""
    null, perfect = -profile["fn"] * windows, profile["tp"] * windows
    return 100.0 * (total - null) / (perfect - null)
