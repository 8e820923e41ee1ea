"""What every detector shares: per-point scores, the event rule, severity levels and detections.

A detector turns a count series (None = no data, never zero) into one `Score` per point, or None
where it cannot judge (no data, still warming up). `find_events` then applies the guards common to
all detectors: a minimum count, a threshold, and a grace period so that one event yields one
detection at its start, however many points it spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

SEVERITIES = ("warning", "high", "critical")


@dataclass(frozen=True)
class Score:
    """How unusual one point is: `value` >= 1 means at the detector's threshold."""

    expected: float
    value: float
    z: float


@dataclass(frozen=True)
class Detection:
    index: int
    observed: float
    expected: float
    score: float
    severity: str
    detector: str = "trailing"
    end: int | None = None  # last index of the event, when known


class Detector(Protocol):
    name: str

    def score(self, counts: Sequence[float | None], totals: Sequence[float | None] | None = None,
              phases: Sequence[int] | None = None) -> list[Score | None]:
        """One score per point; None where there is no data or no baseline yet."""
        ...


def severity_for(z: float, threshold: float) -> str:
    """warning from the threshold, high from twice it, critical from three and a half times it."""
    if z >= 3.5 * threshold:
        return "critical"
    if z >= 2 * threshold:
        return "high"
    return "warning"


def worse(a: str, b: str) -> str:
    """The more severe of two severity levels."""
    return max(a, b, key=SEVERITIES.index)


def find_events(scores: Sequence[Score | None], counts: Sequence[float | None], *, min_count: float,
                grace: int, start: int = 0, detector: str = "") -> list[Detection]:
    """One detection per event: alarms closer than `grace` points belong to the event before them.

    An alarm is a point with data, at least `min_count`, and a score value >= 1. Points without data
    neither extend nor end an event. The detection keeps the event's first index and its worst score.
    """
    found: list[Detection] = []
    last_alarm = -10**9
    for t in range(len(scores)):
        s, x = scores[t], counts[t]
        if s is None or x is None or x < min_count or s.value < 1.0:
            continue
        if found and t - last_alarm <= grace:
            prev = found[-1]
            if s.value > prev.score:
                found[-1] = Detection(prev.index, prev.observed, prev.expected, round(s.value, 3),
                                      worse(prev.severity, severity_for(s.value, 1.0)), detector, t)
            else:
                found[-1] = Detection(prev.index, prev.observed, prev.expected, prev.score,
                                      prev.severity, detector, t)
        else:
            found.append(Detection(t, float(x), round(s.expected, 3), round(s.value, 3),
                                   severity_for(s.value, 1.0), detector, t))
        last_alarm = t
    return [d for d in found if d.index >= start]
