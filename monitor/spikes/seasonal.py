"""A seasonal baseline with a negative-binomial spread, learnt online from past points only.

The expected count of a point is exposure x level x seasonal factor of its phase (hour of day,
day of week). Exposure is the point's total volume when totals are given, so the model then follows
the share and a busier day alone is no spike; without totals it is 1. The spread is negative
binomial, var = mu + alpha * mu**2, with alpha learnt from the residuals, so bursty series get wider
bands than Poisson would give. Points far outside the band update the model only up to the band's
edge (a winsorised update), so one spike does not teach the baseline that spikes are normal, while
a lasting level shift is still absorbed within a few half-lives.

Two refinements were measured on NAB's tweet series: the z of a point is taken over the sum of the
last `span` points (an hour of 5-minute counts), since news-driven rises last longer than the
single-bucket bursts that make real counts heavy-tailed; and z is divided by the running root mean
square of recent (capped) z values when that exceeds 1, a second calibration for tails heavier than
the negative binomial's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from monitor.spikes.base import Score


def _rate(halflife: float) -> float:
    """The EWMA weight whose influence halves after `halflife` updates."""
    return 1.0 - 0.5 ** (1.0 / max(halflife, 1e-9))


@dataclass(frozen=True)
class SeasonalParams:
    phases: int = 24               # distinct seasonal phases (24 hours of day, 7 days of week)
    level_halflife: float = 288.0  # points
    season_halflife: float = 4.0   # cycles (days for hour-of-day phases)
    points_per_phase: int = 12     # points sharing one phase per cycle (twelve 5-minute points an hour)
    dispersion_halflife: float = 288.0
    warmup: int = 288              # points with data before any score is given
    clip: float = 5.0              # level and season see an observation at most this many sds out
    dispersion_clip: float = 3.0   # the dispersion sees it at most this many sds out
    floor: float = 0.5             # a prior half count keeps a silent baseline from zero variance
    span: int = 1                  # points summed for the z of a point
    calibration_halflife: float = 0.0  # points; 0 turns the tail calibration off
    calibration_cap: float = 8.0


@dataclass
class _State:
    level: float | None = None
    factors: list[float] = field(default_factory=list)
    alpha: float = 0.1
    seen: int = 0


@dataclass(frozen=True)
class Step:
    expected: float  # of the point itself
    sd: float
    z: float         # over the last `span` points, calibrated
    warm: bool


def track(counts: Sequence[float | None], totals: Sequence[float | None] | None,
          phases: Sequence[int] | None, p: SeasonalParams) -> Iterator[Step | None]:
    """The one-step-ahead expectation, spread and z of each point; None where there is no data."""
    n = len(counts)
    phases = phases if phases is not None else [0] * n
    state = _State(factors=[1.0] * max(p.phases, 1))
    a_level, a_disp = _rate(p.level_halflife), _rate(p.dispersion_halflife)
    a_season = _rate(p.season_halflife * p.points_per_phase)
    a_cal = _rate(p.calibration_halflife) if p.calibration_halflife > 0 else 0.0
    mean_square = 1.0
    recent: deque[tuple[float, float, float]] = deque(maxlen=max(p.span, 1))
    for t in range(n):
        x = counts[t]
        e = 1.0 if totals is None else totals[t]
        if x is None or e is None or e <= 0:
            yield None
            continue
        ph = phases[t] % len(state.factors)
        if state.level is None:
            state.level = max(x / e, 1e-9)
        f = state.factors[ph]
        mu = max(e * state.level * f, 0.0)
        var = max(mu, p.floor) + state.alpha * mu * mu
        sd = math.sqrt(var)
        recent.append((x, mu, var))
        raw = (sum(r[0] for r in recent) - sum(r[1] for r in recent)) / math.sqrt(sum(r[2] for r in recent))
        z = raw / math.sqrt(max(mean_square, 1.0))
        warm = state.seen >= p.warmup
        yield Step(mu, sd, z, warm)
        mean_square += a_cal * (min(raw * raw, p.calibration_cap ** 2) - mean_square)
        # Learn from the point, winsorised to the band so outliers teach little.
        xc = min(max(x, mu - p.clip * sd), mu + p.clip * sd)
        base = e * max(f, 1e-6)
        state.level += a_level * (xc / base - state.level)
        state.level = max(state.level, 1e-9)
        if state.level > 0:
            target = xc / (e * state.level)
            state.factors[ph] += a_season * (target - f)
            state.factors[ph] = max(state.factors[ph], 1e-3)
        if mu > 0:
            xd = min(max(x, mu - p.dispersion_clip * sd), mu + p.dispersion_clip * sd)
            excess = ((xd - mu) ** 2 - mu) / (mu * mu)
            state.alpha = max(state.alpha + a_disp * (min(excess, 10.0) - state.alpha), 0.0)
        state.seen += 1


@dataclass(frozen=True)
class SeasonalDetector:
    """A point is a spike when its count is `threshold` negative-binomial sds above the seasonal baseline."""

    params: SeasonalParams = SeasonalParams()
    threshold: float = 4.0
    name: str = "seasonal"

    def score(self, counts: Sequence[float | None], totals: Sequence[float | None] | None = None,
              phases: Sequence[int] | None = None) -> list[Score | None]:
        out: list[Score | None] = []
        for step in track(counts, totals, phases, self.params):
            if step is None or not step.warm:
                out.append(None)
            else:
                out.append(Score(step.expected, step.z / self.threshold, step.z))
        return out
