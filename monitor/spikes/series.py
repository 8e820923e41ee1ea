"""Timestamped series: phases from the clock, default detectors per resolution, and their union."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.spikes.base import Detection, Detector, Score, find_events, severity_for
from monitor.spikes.cusum import CusumDetector
from monitor.spikes.seasonal import SeasonalDetector, SeasonalParams

RESOLUTIONS = {"5min": dt.timedelta(minutes=5), "hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


@dataclass(frozen=True)
class Ensemble:
    """Several detectors over one series; a point's score is the highest of theirs."""

    detectors: tuple[Detector, ...]
    min_count: float = 5.0
    grace: int = 288  # points without an alarm before a new event may start
    name: str = "ensemble"

    def score(self, counts, totals=None, phases=None) -> list[Score | None]:
        runs = [d.score(counts, totals, phases) for d in self.detectors]
        out: list[Score | None] = []
        for row in zip(*runs):
            present = [s for s in row if s is not None]
            out.append(max(present, key=lambda s: s.value) if present else None)
        return out

    def alarms(self, counts, totals=None, phases=None, start: int = 0,
               min_count: float | None = None) -> list[Detection]:
        """Every point from `start` that alarms, ungrouped, for callers that keep the event themselves.

        A point alarms when it has data, reaches the minimum count, lies above its expected value and
        scores >= 1; the last guard keeps an EWMA still high after a peak from extending the event.
        """
        floor = self.min_count if min_count is None else min_count
        runs = [d.score(counts, totals, phases) for d in self.detectors]
        out: list[Detection] = []
        for t in range(max(start, 0), len(counts)):
            x = counts[t]
            pairs = [(run[t], d.name) for run, d in zip(runs, self.detectors) if run[t] is not None]
            if x is None or x < floor or not pairs:
                continue
            s, name = max(pairs, key=lambda p: p[0].value)
            if s.value >= 1.0 and x > s.expected:
                out.append(Detection(t, float(x), round(s.expected, 3), round(s.value, 3),
                                     severity_for(s.value, 1.0), name, t))
        return out

    def detect(self, counts, totals=None, phases=None, start: int = 0) -> list[Detection]:
        """One detection per event, naming the detector that scored highest at its start."""
        runs = [d.score(counts, totals, phases) for d in self.detectors]
        best: list[Score | None] = []
        names: list[str] = []
        for row in zip(*runs):
            pairs = [(s, d.name) for s, d in zip(row, self.detectors) if s is not None]
            s, name = max(pairs, key=lambda p: p[0].value) if pairs else (None, "")
            best.append(s)
            names.append(name)
        events = find_events(best, counts, min_count=self.min_count, grace=self.grace, start=start)
        return [Detection(e.index, e.observed, e.expected, e.score, e.severity, names[e.index], e.end)
                for e in events]


@dataclass(frozen=True)
class Preset:
    phases: int
    points_per_phase: int
    points_per_day: int
    phase_of: object = field(repr=False)


PRESETS = {
    "5min": Preset(24, 12, 288, lambda t: t.hour),
    "hour": Preset(24, 1, 24, lambda t: t.hour),
    "day": Preset(7, 1, 1, lambda t: t.weekday()),
}


def default_detector(resolution: str = "5min") -> Ensemble:
    """The default detectors for a resolution: the seasonal NB baseline and CUSUM/EWMA over it."""
    p = PRESETS[resolution]
    day = p.points_per_day
    if resolution == "day":
        # Day-of-week phases learn over weeks; the level follows a fortnight. The tail calibration
        # and h=6 / EWMA limit 4 keep bursty daily counts (negative binomial, size 1.5) near 0.5 %
        # alarming days while a +4 %/day build-up is still caught within about two weeks.
        seasonal = SeasonalParams(phases=7, points_per_phase=1, level_halflife=14, season_halflife=4,
                                  dispersion_halflife=28, warmup=21, calibration_halflife=28,
                                  calibration_cap=8.0)
        slow = SeasonalParams(phases=7, points_per_phase=1, level_halflife=42, season_halflife=8,
                              dispersion_halflife=56, warmup=21, calibration_halflife=28, calibration_cap=8.0)
        return Ensemble((SeasonalDetector(seasonal, threshold=4.0),
                         CusumDetector(slow, k=0.5, h=6.0, ewma_halflife=3, ewma_limit=4.0)),
                        min_count=5, grace=3)
    hour = max(day // 24, 1)
    seasonal = SeasonalParams(phases=p.phases, points_per_phase=p.points_per_phase, level_halflife=day,
                              season_halflife=4, dispersion_halflife=day, warmup=day, span=hour,
                              calibration_halflife=7 * day, calibration_cap=8.0)
    slow = SeasonalParams(phases=p.phases, points_per_phase=p.points_per_phase, level_halflife=3 * day,
                          season_halflife=8, dispersion_halflife=3 * day, warmup=day,
                          calibration_halflife=7 * day, calibration_cap=8.0)
    return Ensemble((SeasonalDetector(seasonal, threshold=6.0),
                     CusumDetector(slow, k=1.0, h=day / 2, ewma_halflife=day / 8, ewma_limit=10.0)),
                    min_count=5, grace=day // 2)


def phases_for(timestamps: Sequence[dt.datetime], resolution: str) -> list[int]:
    """The seasonal phase of each timestamp (hour of day, or day of week for daily series)."""
    phase_of = PRESETS[resolution].phase_of
    return [phase_of(t) for t in timestamps]


def regularise(timestamps: Sequence[dt.datetime], values: Sequence[float | None],
               resolution: str) -> tuple[list[dt.datetime], list[float | None]]:
    """Put points on a regular grid; a missing interval becomes None (no data), never zero."""
    if not timestamps:
        return [], []
    step = RESOLUTIONS[resolution]
    first = timestamps[0]
    slots: dict[int, float | None] = {}
    for t, v in zip(timestamps, values):
        slots[round((t - first) / step)] = v
    n = max(slots) + 1
    return [first + i * step for i in range(n)], [slots.get(i) for i in range(n)]


def detect_series(timestamps: Sequence[dt.datetime], values: Sequence[float | None],
                  resolution: str = "5min", totals: Sequence[float | None] | None = None,
                  detector: Ensemble | None = None) -> list[tuple[dt.datetime, Detection]]:
    """Detections of the default detector on a timestamped series (gaps allowed)."""
    grid, counts = regularise(timestamps, values, resolution)
    if totals is not None:
        _, totals = regularise(timestamps, totals, resolution)
    det = detector or default_detector(resolution)
    found = det.detect(counts, totals, phases_for(grid, resolution))
    return [(grid[d.index], d) for d in found]
