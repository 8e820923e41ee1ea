"""EWMA and CUSUM over the seasonal model's residuals: slow build-ups that no single point reveals.

Both read the standardised residuals z of a seasonal baseline that adapts slowly (so a ramp is not
absorbed before it is noticed). CUSUM adds up what each z exceeds the allowance `k` by and alarms
when the sum passes `h`; an EWMA of z alarms when the smoothed residual stays above `ewma_limit`.
Each z is capped at `cap`, so one huge point is the seasonal detector's business, not theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.spikes.base import Score
from monitor.spikes.seasonal import SeasonalParams, track


@dataclass(frozen=True)
class CusumDetector:
    params: SeasonalParams = SeasonalParams()
    k: float = 1.0
    h: float = 12.0
    cap: float = 4.0
    ewma_halflife: float = 12.0
    ewma_limit: float = 2.5
    name: str = "cusum"

    def score(self, counts: Sequence[float | None], totals: Sequence[float | None] | None = None,
              phases: Sequence[int] | None = None) -> list[Score | None]:
        a = 1.0 - 0.5 ** (1.0 / self.ewma_halflife)
        # The EWMA's steady-state sd for unit-variance z: sqrt(a / (2 - a)).
        ewma_sd = (a / (2.0 - a)) ** 0.5
        s, m = 0.0, 0.0
        out: list[Score | None] = []
        for step in track(counts, totals, phases, self.params):
            if step is None:
                out.append(None)  # no data: the sums neither grow nor reset
                continue
            z = min(step.z, self.cap)
            s = max(0.0, s + z - self.k)
            m += a * (z - m)
            if not step.warm:
                s, m = 0.0, 0.0
                out.append(None)
                continue
            value = max(s / self.h, m / (self.ewma_limit * ewma_sd))
            out.append(Score(step.expected, value, step.z))
            if s >= self.h:
                s = 0.0  # restart after an alarm; the event rule groups what follows
        return out
